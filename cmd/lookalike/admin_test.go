package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image/jpeg"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

func TestAdminFailedRetryAndVerify(t *testing.T) {
	images := newImageServer(t)
	dir := t.TempDir()
	srv := startServer(t, dir, nil)
	auth := map[string]string{"Authorization": "Bearer " + testAdmin}

	classes := []string{"daisy", "dandelion", "roses", "sunflowers"}
	for i, c := range classes {
		srv.webhook(fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":%q,"image":"%s/img/%s.jpg"}}`, i+1, c, images.URL, c))
	}
	srv.webhook(`{"event_type":"product.created","product_data":{"id":50,"title":"gone","image":"` + images.URL + `/img/later.jpg"}}`)
	srv.waitFor("4 vectors and one failure", func() bool {
		st := srv.stats()
		return num(st["vectors"]) == 4 && num(st["queue"].(map[string]any)["failed"]) == 1
	})

	// The failed list names the product and the reason.
	r := srv.do("GET", "/api/v1/admin/failed", auth, nil)
	if r.status != 200 || num(r.body["count"]) != 1 {
		t.Fatalf("failed list: %d %s", r.status, r.raw)
	}
	f := r.body["failed"].([]any)[0].(map[string]any)
	if num(f["product_id"]) != 50 || f["error"] != "Failed to fetch image: 404 Not Found" {
		t.Fatalf("failed item: %v", f)
	}
	if r := srv.do("GET", "/api/v1/admin/failed", nil, nil); r.status != 401 || r.body["status"] != "error" {
		t.Fatalf("failed list without token: %d %s", r.status, r.raw)
	}

	// The image appears; retrying all failed products indexes it.
	images.mu.Lock()
	images.files["/img/later.jpg"] = readPhoto(t, "tulips")
	images.mu.Unlock()
	r = srv.do("POST", "/api/v1/admin/retry-failed", auth, nil)
	if r.status != 202 || num(r.body["count"]) != 1 {
		t.Fatalf("retry-failed: %d %s", r.status, r.raw)
	}
	srv.waitFor("5 vectors", func() bool { return num(srv.stats()["vectors"]) == 5 })
	if r := srv.postJSON("/api/v1/admin/retry", map[string]any{"product_id": 77}, auth); r.status != 404 {
		t.Fatalf("retry unknown: %d %s", r.status, r.raw)
	}
	if r := srv.postJSON("/api/v1/admin/retry", map[string]any{"product_id": 1}, auth); r.status != 202 {
		t.Fatalf("retry one: %d %s", r.status, r.raw)
	}
	srv.waitFor("5 vectors again", func() bool { return num(srv.stats()["vectors"]) == 5 })

	// A clean system verifies clean.
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string {
		return map[string]string{"LOOKALIKE_SERVER": srv.url, "LOOKALIKE_ADMIN_TOKEN": testAdmin}[k]
	}}
	if err := m.Run(context.Background(), []string{"verify"}); err != nil || !strings.Contains(out.String(), "no problems") {
		t.Fatalf("verify on a clean system: %v\n%s", err, out.String())
	}

	// Break things behind the server's back.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "lookalike.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sha2, sha3 string
	db.QueryRow("SELECT image_sha256 FROM products WHERE product_id = 2").Scan(&sha2)
	db.QueryRow("SELECT image_sha256 FROM products WHERE product_id = 3").Scan(&sha3)
	mustExec(t, db, "DELETE FROM embeddings WHERE image_sha256 = ?", sha2)
	mustExec(t, db, "UPDATE products SET index_state = 'pending' WHERE product_id = 4")
	if err := os.WriteFile(filepath.Join(dir, "images", sha3[:2], sha3), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	err = m.Run(context.Background(), []string{"verify"})
	report := out.String()
	if err == nil || !strings.Contains(report, "product 2: missing_vector") || !strings.Contains(report, "product 3: image_mismatch") ||
		!strings.Contains(report, "product 4: stuck_pending") {
		t.Fatalf("verify did not find the damage (err %v):\n%s", err, report)
	}
	out.Reset()
	if err := m.Run(context.Background(), []string{"verify", "--repair"}); err != nil {
		t.Fatalf("verify --repair: %v\n%s", err, out.String())
	}
	srv.waitFor("repairs to finish", func() bool {
		st := srv.stats()
		q := st["queue"].(map[string]any)
		return num(st["vectors"]) == 5 && num(q["pending"]) == 0 && num(q["running"]) == 0
	})
	out.Reset()
	if err := m.Run(context.Background(), []string{"verify"}); err != nil {
		t.Fatalf("verify after repair: %v\n%s", err, out.String())
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func TestThumbnailsAndOverview(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	srv.webhook(`{"event_type":"product.created","product_data":{"id":1,"title":"r","image":"` + images.URL + `/img/roses.jpg"}}`)
	p := srv.waitIndexed(1, 1)
	sha := p["index"].(map[string]any)["image_sha256"].(string)
	r := srv.searchPhoto(readPhoto(t, "roses"), nil)
	if res := r.body["results"].([]any); len(res) != 1 || res[0].(map[string]any)["image_sha256"] != sha {
		t.Fatalf("search result lacks image_sha256: %s", r.raw)
	}
	resp, err := http.Get(srv.url + "/images/" + sha + "?w=160")
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(resp.Body)
	resp.Body.Close()
	if err != nil || img.Bounds().Dx() != 160 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("thumbnail: %v %v %q", err, img, resp.Header.Get("Cache-Control"))
	}
	req, _ := http.NewRequest("GET", srv.url+"/images/"+sha+"?w=160", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 304 {
		t.Fatalf("conditional request: %v %v", err, resp.StatusCode)
	}
	if r := srv.getJSON("/images/" + strings.Repeat("0", 64)); r.status != 404 {
		t.Fatalf("unknown image: %d", r.status)
	}
	o := srv.do("GET", "/api/v1/admin/overview", map[string]string{"Authorization": "Bearer " + testAdmin}, nil)
	wh := o.body["webhooks"].(map[string]any)
	if o.status != 200 || num(wh["count"]) != 1 || len(wh["minutes"].([]any)) != 60 || num(o.body["searches"].(map[string]any)["count"]) != 1 {
		t.Fatalf("overview: %d %.500s", o.status, o.raw)
	}
}

func TestPruneOrphans(t *testing.T) {
	images := newImageServer(t)
	dir := t.TempDir()
	srv := startServer(t, dir, nil)
	srv.webhook(`{"event_type":"product.created","product_data":{"id":1,"image":"` + images.URL + `/img/roses.jpg"}}`)
	old := srv.waitIndexed(1, 1)["index"].(map[string]any)["image_sha256"].(string)
	if resp, err := http.Get(srv.url + "/images/" + old + "?w=160"); err == nil { // a cached thumbnail
		resp.Body.Close()
	}
	srv.webhook(`{"event_type":"product.updated","product_data":{"id":1,"image":"` + images.URL + `/img/tulips.jpg"}}`)
	cur := srv.waitIndexed(1, 1)["index"].(map[string]any)["image_sha256"].(string)
	if cur == old {
		t.Fatal("image did not change")
	}
	srv.app.Prune(context.Background(), 0)
	if _, err := os.Stat(filepath.Join(dir, "images", old[:2], old)); !os.IsNotExist(err) {
		t.Fatalf("the replaced image is still stored: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "thumbs", "160", old[:2], old+".jpg")); !os.IsNotExist(err) {
		t.Fatalf("its thumbnail is still cached: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "images", cur[:2], cur)); err != nil {
		t.Fatalf("the current image was removed: %v", err)
	}
	out, err := cli(t, srv, "verify")
	if err != nil {
		t.Fatalf("verify after pruning: %v\n%s", err, out)
	}
	// The old image's vector is gone too: using that photo again embeds it afresh.
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "lookalike.db")+"?_pragma=busy_timeout(10000)")
	defer db.Close()
	var n int
	db.QueryRow("SELECT count(*) FROM embeddings WHERE image_sha256 = ?", old).Scan(&n)
	if n != 0 {
		t.Fatalf("%d vectors of the replaced image kept", n)
	}
}
