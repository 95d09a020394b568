package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lookalike/lookalike/app"
	"github.com/lookalike/lookalike/datadir"
)

// serveErr runs `lookalike serve` in-process on dataDir and returns its
// error; the test fails if the server starts.
func serveErr(t *testing.T, dataDir string, env map[string]string) error {
	t.Helper()
	base := map[string]string{"LOOKALIKE_ADDR": "127.0.0.1:0", "LOOKALIKE_DATA_DIR": dataDir, "WEBHOOK_SECRET": testSecret}
	for k, v := range env {
		base[k] = v
	}
	logs := &syncBuffer{}
	m := &Main{Stdout: logs, Stderr: logs, Getenv: func(k string) string { return base[k] },
		Started: func(*app.App) { t.Errorf("serve started on %s; want it refused", dataDir) }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := m.Run(ctx, []string{"serve"})
	if err == nil {
		t.Fatalf("serve returned no error\n%s", logs.String())
	}
	return err
}

// indexedDataDir runs a server that stores the photos of n products, and
// stops it.
func indexedDataDir(t *testing.T, n int) string {
	t.Helper()
	images := newImageServer(t)
	dir := t.TempDir()
	s := startServer(t, dir, nil)
	classes := []string{"daisy", "dandelion", "roses", "sunflowers", "tulips"}
	for i := 1; i <= n; i++ {
		s.webhook(fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"b%d","price":1000,"image":%q}}`,
			i, i, images.URL+"/img/"+classes[i%len(classes)]+".jpg"))
	}
	for i := 1; i <= n; i++ {
		s.waitIndexed(1, i)
	}
	s.stop()
	return dir
}

func countImages(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && len(e.Name()) == 64 {
			n++
		}
		return nil
	})
	return n
}

// An emptied or deleted database beside stored photos refuses to start
// (before, it started empty and housekeeping deleted every photo);
// --reset-images moves the photos aside and starts over.
func TestEmptiedDatabaseKeepsPhotos(t *testing.T) {
	dir := indexedDataDir(t, 5)
	imgs := filepath.Join(dir, "images")
	if n := countImages(t, imgs); n != 5 {
		t.Fatalf("%d stored photos, want 5", n)
	}
	db := filepath.Join(dir, "lookalike.db")
	saved, _ := os.ReadFile(db)
	for _, damage := range []func() error{func() error { return os.Truncate(db, 0) }, func() error { return os.Remove(db) }} {
		if err := damage(); err != nil {
			t.Fatal(err)
		}
		os.Remove(db + "-wal")
		os.Remove(db + "-shm")
		err := serveErr(t, dir, nil)
		if !errors.Is(err, app.ErrForeignImages) || !strings.Contains(err.Error(), "--reset-images") || !strings.Contains(err.Error(), "lookalike restore") {
			t.Fatalf("err = %v; want the photos protected, with how to proceed", err)
		}
		if n := countImages(t, imgs); n != 5 {
			t.Fatalf("%d photos left after a refused start", n)
		}
	}

	// The right database back: it starts.
	os.Remove(db)
	os.WriteFile(db, saved, 0o644)
	s := startServer(t, dir, nil)
	s.stop()

	// Another database (another data directory's id) beside these photos.
	other := t.TempDir()
	startServer(t, other, nil).stop()
	copyFile(t, filepath.Join(other, "lookalike.db"), db)
	if err := serveErr(t, dir, nil); !errors.Is(err, app.ErrForeignImages) {
		t.Fatalf("a database of another data directory: %v", err)
	}

	s = startServer(t, dir, map[string]string{"LOOKALIKE_RESET_IMAGES": "true"})
	s.stop()
	moved, _ := filepath.Glob(filepath.Join(dir, "images.orphaned-*"))
	if len(moved) != 1 || countImages(t, moved[0]) != 5 || countImages(t, imgs) != 0 {
		t.Fatalf("reset: moved %v, %d photos in images/", moved, countImages(t, imgs))
	}
}

// A data directory from before the id marker is adopted when its database
// knows its photos.
func TestExistingDataDirIsAdopted(t *testing.T) {
	dir := indexedDataDir(t, 2)
	marker := filepath.Join(dir, "images", ".lookalike-id")
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("no marker written: %v", err)
	}
	os.Remove(marker)
	s := startServer(t, dir, nil)
	s.stop()
	if b, err := os.ReadFile(marker); err != nil || len(strings.TrimSpace(string(b))) != 32 {
		t.Fatalf("marker not adopted: %q %v", b, err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A second server on the same data directory exits at once, naming the
// first one's PID; once the first is killed, the lock is free again.
func TestSecondServerOnSameDataDirExits(t *testing.T) {
	bin := lookalikeBinary(t)
	env := map[string]string{"LOOKALIKE_DATA_DIR": t.TempDir(), "WEBHOOK_SECRET": testSecret}
	first := startProc(t, bin, freePort(t), env)
	defer first.kill()

	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "LOOKALIKE_ADDR="+freePort(t), "LOOKALIKE_DATA_DIR="+env["LOOKALIKE_DATA_DIR"], "WEBHOOK_SECRET="+testSecret)
	t0 := time.Now()
	time.AfterFunc(15*time.Second, func() { cmd.Process.Kill() }) // a second server that starts would never return
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("second server: %v\n%s", err, out)
	}
	if pid := strconv.Itoa(first.cmd.Process.Pid); !strings.Contains(string(out), "process "+pid) {
		t.Fatalf("message does not name the holder's PID %s:\n%s", pid, out)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("second server took %s to give up", d)
	}
	first.kill()
	second := startProc(t, bin, freePort(t), env)
	second.kill()
}

// overwritePages writes random bytes over every page of a database file but
// the first (the schema page).
func overwritePages(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if st.Size() < 16*4096 {
		t.Fatalf("database of %d bytes is too small to corrupt meaningfully", st.Size())
	}
	page := make([]byte, 4096)
	rng := rand.New(rand.NewSource(7))
	for off := int64(4096); off < st.Size(); off += 4096 {
		rng.Read(page)
		f.WriteAt(page, off)
	}
}

// catalogueDataDir stores n products (no photos) and stops the server.
func catalogueDataDir(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s := startServer(t, dir, map[string]string{"LOOKALIKE_LOG_LEVEL": "warn"})
	for i := 1; i <= n; i++ {
		if r := s.webhook(fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"Букет номер %d, длинное название","price":%d}}`, i, i, 1000+i)); r.status != 200 {
			t.Fatalf("webhook: %d %s", r.status, r.raw)
		}
	}
	s.stop()
	return dir
}

// Random bytes over interior pages of a stopped server's database: the
// real binary refuses to start and says how to recover (before, it started
// and /readyz said 200).
func TestCorruptDatabaseRefusesToStart(t *testing.T) {
	dir := catalogueDataDir(t, 400)
	overwritePages(t, filepath.Join(dir, "lookalike.db"))
	cmd := exec.Command(lookalikeBinary(t), "serve")
	cmd.Env = append(os.Environ(), "LOOKALIKE_ADDR="+freePort(t), "LOOKALIKE_DATA_DIR="+dir, "WEBHOOK_SECRET="+testSecret)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("serve on a corrupt database: %v\n%s", err, out)
	}
	for _, want := range []string{"is damaged", "refusing to start", "lookalike restore", ".recover"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("message lacks %q:\n%s", want, out)
		}
	}
}

// Damage found while running: /readyz 503 with the reason, webhooks and
// admin writes 503 with a JSON error, and one loud log line, not one per
// request.
func TestCorruptionAtRunTime(t *testing.T) {
	dir := catalogueDataDir(t, 400)
	s := startServer(t, dir, map[string]string{"LOOKALIKE_LOG_LEVEL": "info"})
	if r := s.getJSON("/readyz"); r.status != 200 {
		t.Fatalf("readyz before: %d %s", r.status, r.raw)
	}
	overwritePages(t, filepath.Join(dir, "lookalike.db"))
	r := s.webhook(`{"event_type":"product.updated","product_data":{"id":200,"title":"новое"}}`)
	if r.status != 503 || r.body["status"] != "error" || !strings.Contains(r.raw, "corrupt") {
		t.Fatalf("webhook on a damaged database: %d %s", r.status, r.raw)
	}
	for range 3 {
		r = s.getJSON("/readyz")
		if r.status != 503 || !strings.Contains(r.raw, "corrupt") {
			t.Fatalf("readyz: %d %s", r.status, r.raw)
		}
		if w := s.webhook(`{"event_type":"product.updated","product_data":{"id":3,"title":"x"}}`); w.status != 503 || !strings.Contains(w.raw, "refusing writes") {
			t.Fatalf("later webhook: %d %s", w.status, w.raw)
		}
		if a := s.do("POST", "/api/v1/admin/retry-failed", map[string]string{"Authorization": "Bearer " + testAdmin}, nil); a.status != 503 {
			t.Fatalf("admin write: %d %s", a.status, a.raw)
		}
	}
	if n := strings.Count(s.logs.String(), "DATABASE DAMAGED"); n != 1 {
		t.Fatalf("%d loud log lines, want 1:\n%s", n, s.logs.String())
	}
}

// Housekeeping removes nothing when a pass would take most of the photos
// (the database lost track of them), and leaves photos alone while a
// backup runs.
func TestHousekeepingRefusesMassPrune(t *testing.T) {
	images := newImageServer(t)
	classes := []string{"daisy", "dandelion", "roses", "sunflowers", "tulips"}
	dir := t.TempDir()
	s := startServer(t, dir, nil)
	const n = 12
	shas := map[int]string{}
	for i := 1; i <= n; i++ {
		images.mu.Lock()
		images.files[fmt.Sprintf("/img/p%d.jpg", i)] = cropped(t, images.files["/img/"+classes[i%5]+".jpg"], 1+i/5)
		images.mu.Unlock()
		s.webhook(fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"b","image":"%s/img/p%d.jpg"}}`, i, images.URL, i))
	}
	for i := 1; i <= n; i++ {
		shas[i] = s.waitIndexed(1, i)["index"].(map[string]any)["image_sha256"].(string)
	}
	s.stop()
	imgs := filepath.Join(dir, "images")
	old := time.Now().Add(-2 * time.Hour)
	filepath.WalkDir(imgs, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "lookalike.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE product_images SET sha256 = ''"); err != nil { // the database forgets its photos
		t.Fatal(err)
	}
	s = startServer(t, dir, nil)
	s.app.Prune(context.Background(), time.Hour)
	if c := countImages(t, imgs); c != n {
		t.Fatalf("housekeeping removed %d of %d photos the database forgot", n-c, n)
	}
	if !strings.Contains(s.logs.String(), "HOUSEKEEPING REFUSED TO PRUNE IMAGES") {
		t.Fatalf("no loud log line:\n%s", s.logs.String())
	}
	// The pass housekeeping makes at start refuses too (or, overlapping
	// the one above, skips images); it must be over before the database
	// learns its photos again below, or it would prune those not yet
	// restored.
	s.waitFor("the start's housekeeping pass", func() bool {
		logs := s.logs.String()
		return strings.Count(logs, "HOUSEKEEPING REFUSED TO PRUNE IMAGES")+strings.Count(logs, "image pruning skipped this pass") >= 2
	})

	// One real orphan: kept while a backup holds its lock, removed after.
	for i := 2; i <= n; i++ {
		if _, err := db.Exec("UPDATE product_images SET sha256 = ? WHERE product_id = ?", shas[i], strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	release, err := datadir.HoldForBackup(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.app.Prune(context.Background(), time.Hour)
	if c := countImages(t, imgs); c != n {
		t.Fatalf("a photo was pruned during a backup (%d left)", c)
	}
	release()
	s.app.Prune(context.Background(), time.Hour)
	if c := countImages(t, imgs); c != n-1 {
		t.Fatalf("%d photos after pruning one orphan, want %d", c, n-1)
	}
	if _, err := os.Stat(filepath.Join(imgs, shas[1][:2], shas[1])); !os.IsNotExist(err) {
		t.Fatalf("the orphan is still there: %v", err)
	}
}
