package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
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
