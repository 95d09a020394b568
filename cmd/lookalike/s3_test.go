package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/lookalike/lookalike/app"
	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/blob/s3blob"
	"github.com/lookalike/lookalike/blob/s3blob/s3test"
	"github.com/lookalike/lookalike/postgres/pgtest"
)

// TestImagesInS3: with LOOKALIKE_BLOB_URL on a real S3 server (versitygw),
// a webhook's photo is fetched, stored as an object in the bucket (not in
// the data directory), searchable, served at /images/{sha} with its
// thumbnail cached in the bucket too; verify reads it back clean; backup
// copies it out of the bucket; the
// bucket carries the data directory marker, so a server with another
// database on the same bucket refuses to start; pruning removes an orphan
// object.
func TestImagesInS3(t *testing.T) {
	vgw := s3test.Start(t)
	vgw.Env(t)
	bucket := vgw.Bucket(t)
	blobURL := vgw.URL(bucket, "shop")
	images := newImageServer(t)
	dir := t.TempDir()
	srv := startServer(t, dir, map[string]string{"LOOKALIKE_BLOB_URL": blobURL})
	if r := srv.webhook(createBody(1, "Букет roses", "2 500 ₸", images.URL+"/img/roses.jpg", "")); r.status != 200 {
		t.Fatalf("webhook: %d %s", r.status, r.raw)
	}
	p := srv.waitIndexed(8, 1)
	idx := p["index"].(map[string]any)
	if idx["state"] != "indexed" {
		t.Fatalf("product: %v", p)
	}
	sha := idx["image_sha256"].(string)

	object := vgw.ObjectPath(bucket, "shop/images/"+sha[:2]+"/"+sha)
	if b, err := os.ReadFile(object); err != nil || !bytes.Equal(b, readPhoto(t, "roses")) {
		t.Fatalf("the photo is not the object %s: %v", object, err)
	}
	if n, _ := blob.Count(context.Background(), blob.Cache(filepath.Join(dir, "images"), "")); n != 0 {
		t.Fatalf("%d photos in the data directory, want them only in the bucket", n)
	}

	r := srv.searchPhoto(rephotograph(t, readPhoto(t, "roses")), map[string]string{"shop_id": "8"})
	if res, _ := r.body["results"].([]any); r.status != 200 || len(res) == 0 || res[0].(map[string]any)["image_sha256"] != sha {
		t.Fatalf("search: %d %.400s", r.status, r.raw)
	}

	resp, err := http.Get(srv.url + "/images/" + sha + "?w=320")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/images: %d %s", resp.StatusCode, body)
	}
	if img, err := jpeg.Decode(bytes.NewReader(body)); err != nil || img.Bounds().Dx() != 320 {
		t.Fatalf("thumbnail: %v", err)
	}
	if b, err := os.ReadFile(vgw.ObjectPath(bucket, "shop/thumbs/320/"+sha[:2]+"/"+sha+".jpg")); err != nil || !bytes.Equal(b, body) {
		t.Fatalf("the thumbnail is not cached in the bucket: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "thumbs", "320", sha[:2], sha+".jpg")); err != nil {
		t.Fatalf("the thumbnail is not cached in the data directory: %v", err)
	}

	rep, err := srv.app.Verify(context.Background(), false)
	if err != nil || len(rep.Problems) != 0 || rep.Indexed != 1 {
		t.Fatalf("verify: %+v %v", rep, err)
	}

	// An orphan object (older than minAge 0) goes; the photo stays.
	bkt, err := s3blob.Open(context.Background(), blobURL)
	if err != nil {
		t.Fatal(err)
	}
	orphan := []byte("no product refers to this")
	if err := bkt.Images().Put(context.Background(), blob.Sum(orphan), orphan); err != nil {
		t.Fatal(err)
	}
	srv.app.Prune(context.Background(), 0)
	if _, err := bkt.Images().Get(context.Background(), blob.Sum(orphan)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("orphan object not pruned: %v", err)
	}
	if _, err := os.Stat(object); err != nil {
		t.Fatalf("the product's photo was pruned: %v", err)
	}

	// backup reads the photos from the bucket into a self-contained copy.
	dest := filepath.Join(t.TempDir(), "backup")
	var out bytes.Buffer
	env := map[string]string{"LOOKALIKE_BLOB_URL": blobURL}
	bm := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }}
	if err := bm.Run(context.Background(), []string{"backup", "--data-dir", dir, dest}); err != nil {
		t.Fatalf("backup: %v\n%s", err, out.String())
	}
	if b, err := os.ReadFile(filepath.Join(dest, "images", sha[:2], sha)); err != nil || !bytes.Equal(b, readPhoto(t, "roses")) {
		t.Fatalf("the backup lacks the photo: %v\n%s", err, out.String())
	}

	id, err := bkt.Images().ID(context.Background())
	if err != nil || len(id) != 32 {
		t.Fatalf("marker object: %q %v", id, err)
	}
	srv.stop()
	// Another data directory (a new database) on the same bucket must not
	// start: its housekeeping would delete the photos.
	cfg := app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), BlobURL: blobURL}
	if a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); !errors.Is(err, app.ErrForeignImages) {
		if a != nil {
			a.Stop(context.Background())
		}
		t.Fatalf("a new database on the bucket: %v, want ErrForeignImages", err)
	}
	// The same data directory starts again and serves the photo.
	srv = startServer(t, dir, map[string]string{"LOOKALIKE_BLOB_URL": blobURL})
	if resp, err := http.Get(srv.url + "/images/" + sha + "?w=160"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after restart: %v %v", err, resp)
	}
}

// TestReplicasShareTheBucket: three replicas on one PostgreSQL database and
// one bucket, started at once on a new database, leave the marker object
// equal to the database's id (that they agree under any interleaving is
// InitSetting's, tested in storetest), so any of them starts again once
// photos are stored; a photo stored through one replica and its thumbnail
// are served by another whose data directory is empty.
func TestReplicasShareTheBucket(t *testing.T) {
	db := pgtest.DB(t)
	vgw := s3test.Start(t)
	vgw.Env(t)
	bucket := vgw.Bucket(t)
	blobURL := vgw.URL(bucket, "fleet")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	errs := make(chan error, 3)
	apps := make(chan *app.App, 3)
	for range 3 {
		go func() {
			a, err := app.New(context.Background(), app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: db, BlobURL: blobURL}, quiet)
			errs <- err
			apps <- a
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("replica start: %v", err)
		}
		a := <-apps
		a.Stop(context.Background())
	}
	bkt, err := s3blob.Open(context.Background(), blobURL)
	if err != nil {
		t.Fatal(err)
	}
	marker, err := bkt.Images().ID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sqldb, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	var id string
	if err := sqldb.QueryRow("SELECT value FROM settings WHERE key = 'data_dir_id'").Scan(&id); err != nil || id == "" || id != marker {
		t.Fatalf("the database's id %q (%v), the bucket's marker %q: replicas started at once must agree", id, err, marker)
	}

	images := newImageServer(t)
	env := map[string]string{"LOOKALIKE_DATABASE_URL": db, "LOOKALIKE_BLOB_URL": blobURL}
	a := startServer(t, t.TempDir(), env)
	if r := a.webhook(createBody(5, "Букет tulips", "3 000 ₸", images.URL+"/img/tulips.jpg", "")); r.status != 200 {
		t.Fatalf("webhook: %d %s", r.status, r.raw)
	}
	sha := a.waitIndexed(8, 5)["index"].(map[string]any)["image_sha256"].(string)
	thumbA := get(t, a.url+"/images/"+sha+"?w=160")
	a.stop()

	bDir := t.TempDir()
	b := startServer(t, bDir, env) // would refuse to start if the marker did not match
	if thumbB := get(t, b.url+"/images/"+sha+"?w=160"); !bytes.Equal(thumbB, thumbA) {
		t.Fatal("the other replica made its own thumbnail instead of using the bucket's")
	}
	if _, err := os.Stat(filepath.Join(bDir, "images")); !os.IsNotExist(err) {
		t.Fatalf("the replica keeps photos in its data directory: %v", err)
	}
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// lookalike migrate --to postgres://… --blob-url s3://… moves a SQLite data
// directory's catalogue to PostgreSQL and its photos into the bucket; a
// server on both, in a new data directory, serves the same products as
// searchable, and their photos, without fetching anything again.
func TestMigrateToPostgresAndS3(t *testing.T) {
	vgw := s3test.Start(t)
	vgw.Env(t)
	blobURL := vgw.URL(vgw.Bucket(t), "moved")
	images := newImageServer(t)
	dir := t.TempDir()
	s := startServer(t, dir, nil)
	feedClasses(t, s, images)
	sha := product(t, s, 1)["index"].(map[string]any)["image_sha256"].(string)
	s.stop()

	db := pgtest.DB(t)
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), []string{"migrate", "--data-dir", dir, "--to", db, "--blob-url", blobURL}); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	bkt, err := s3blob.Open(context.Background(), blobURL)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := blob.Count(context.Background(), bkt.Images()); err != nil || n != int64(len(pgClasses)) {
		t.Fatalf("%d photos in the bucket (%v), want %d\n%s", n, err, len(pgClasses), out.String())
	}

	fetched := images.total()
	s = startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_DATABASE_URL": db, "LOOKALIKE_BLOB_URL": blobURL})
	defer s.stop()
	searchable(t, s)
	get(t, s.url+"/images/"+sha+"?w=160")
	if rep, err := s.app.Verify(context.Background(), false); err != nil || len(rep.Problems) != 0 {
		t.Fatalf("verify after the move: %+v %v", rep, err)
	}
	if images.total() != fetched {
		t.Fatalf("%d photo fetches after the move", images.total()-fetched)
	}
}
