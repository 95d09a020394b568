package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/blob/s3blob/s3test"
	"github.com/lookalike/lookalike/postgres/pgtest"
)

// TestMain stops the PostgreSQL cluster that tests here may start.
func TestMain(m *testing.M) { pgtest.Main(m) }

var pgClasses = []string{"daisy", "roses", "tulips"}

// feedClasses posts one product per class and waits until all are searchable.
func feedClasses(t *testing.T, s *server, images *imageServer) {
	t.Helper()
	for i, class := range pgClasses {
		if r := s.webhook(createBody(i+1, "Букет "+class, "2 500 ₸", images.URL+"/img/"+class+".jpg", "")); r.status != 200 {
			t.Fatalf("create %s: %d %s", class, r.status, r.raw)
		}
	}
	s.waitFor("3 vectors", func() bool { return num(s.stats()["vectors"]) == 3 })
}

// searchable checks that a shopper's photo of each class finds its product first.
func searchable(t *testing.T, s *server) {
	t.Helper()
	for i, class := range pgClasses {
		r := s.searchPhoto(rephotograph(t, readPhoto(t, class)), map[string]string{"shop_id": "8"})
		res, _ := r.body["results"].([]any)
		if r.status != 200 || len(res) == 0 || num(res[0].(map[string]any)["product_id"]) != float64(i+1) {
			t.Fatalf("search with a re-photographed %s: %d %s", class, r.status, r.raw)
		}
	}
}

func product(t *testing.T, s *server, id int) map[string]any {
	t.Helper()
	r := s.getJSON(fmt.Sprintf("/api/v1/products/%d?shop_id=8", id))
	if r.status != 200 {
		t.Fatalf("product %d: %d %s", id, r.status, r.raw)
	}
	return r.body
}

// With LOOKALIKE_DATABASE_URL the catalogue, queue and vectors live in
// PostgreSQL, not in the data directory: a server started again finds every
// product indexed and searchable without fetching a photo again.
func TestServeOnPostgres(t *testing.T) {
	images := newImageServer(t)
	dir := t.TempDir()
	env := map[string]string{"LOOKALIKE_DATABASE_URL": pgtest.DB(t)}
	s := startServer(t, dir, env)
	feedClasses(t, s, images)
	searchable(t, s)
	before := product(t, s, 2)
	s.stop()
	if _, err := os.Stat(filepath.Join(dir, "lookalike.db")); !os.IsNotExist(err) {
		t.Fatalf("a SQLite database was made beside PostgreSQL: %v", err)
	}

	fetched := images.total()
	s = startServer(t, dir, env)
	defer s.stop()
	if got := product(t, s, 2); !reflect.DeepEqual(got, before) {
		t.Fatalf("after a restart:\n%v\nwas\n%v", got, before)
	}
	searchable(t, s)
	if images.total() != fetched {
		t.Fatalf("%d photo fetches after the restart", images.total()-fetched)
	}
}

// lookalike migrate moves a data directory that ran on SQLite to
// PostgreSQL; a server on PostgreSQL then serves the same products, as
// searchable, without fetching or embedding anything again.
func TestMigrateThenServe(t *testing.T) {
	images := newImageServer(t)
	dir := t.TempDir()
	s := startServer(t, dir, nil)
	feedClasses(t, s, images)
	var before []map[string]any
	for i := range pgClasses {
		before = append(before, product(t, s, i+1))
	}
	s.stop()

	url := pgtest.DB(t)
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), []string{"migrate", "--data-dir", dir, "--to", url}); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "counts verified") || !strings.Contains(out.String(), "products") {
		t.Fatalf("migrate said:\n%s", out.String())
	}

	// A new data directory: whatever the server shows comes from PostgreSQL.
	fetched := images.total()
	s = startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_DATABASE_URL": url})
	defer s.stop()
	for i := range pgClasses {
		if got := product(t, s, i+1); !reflect.DeepEqual(got, before[i]) {
			t.Fatalf("product %d on PostgreSQL:\n%v\non SQLite\n%v", i+1, got, before[i])
		}
	}
	searchable(t, s)
	if images.total() != fetched {
		t.Fatalf("%d photo fetches after the move", images.total()-fetched)
	}
}

// With the catalogue in PostgreSQL and the photos in S3 (a real
// versitygw) the data directory holds only caches: two servers start on
// one, and what a webhook to one brings, the other serves, photo included.
func TestReplicasShareDataDir(t *testing.T) {
	vgw := s3test.Start(t)
	vgw.Env(t)
	images := newImageServer(t)
	env := map[string]string{"LOOKALIKE_DATABASE_URL": pgtest.DB(t), "LOOKALIKE_BLOB_URL": vgw.URL(vgw.Bucket(t), "shop")}
	dir := t.TempDir()
	a, b := startServer(t, dir, env), startServer(t, dir, env)
	defer a.stop()
	defer b.stop()
	if r := a.webhook(createBody(1, "Букет roses", "2 500 ₸", images.URL+"/img/roses.jpg", "")); r.status != 200 {
		t.Fatalf("webhook: %d %s", r.status, r.raw)
	}
	sha := a.waitIndexed(8, 1)["index"].(map[string]any)["image_sha256"].(string)
	if p := product(t, b, 1); p["index"].(map[string]any)["image_sha256"] != sha {
		t.Fatalf("the other server shows %v", p)
	}
	resp, err := http.Get(b.url + "/images/" + sha)
	if err != nil {
		t.Fatal(err)
	}
	photo, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(photo) == 0 {
		t.Fatalf("/images/%s from the other server: %d, %d bytes", sha, resp.StatusCode, len(photo))
	}
}

func TestMigrateNeedsDestination(t *testing.T) {
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	err := m.Run(context.Background(), []string{"migrate", "--data-dir", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "--to") {
		t.Fatalf("migrate without --to: %v", err)
	}
}
