package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/datadir"
	"github.com/lookalike/lookalike/postgres"
	"github.com/lookalike/lookalike/postgres/pgtest"
	"github.com/lookalike/lookalike/sqlite"
	"github.com/lookalike/lookalike/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const model = "builtin-test"

var quiet = slog.New(slog.DiscardHandler)

// source makes a data directory with n products of two photos each: the
// even ones indexed (vectors, photos on disk), the odd ones with a job
// still pending, one of them deleted; deliveries and settings recorded.
func source(t *testing.T, n int) (dir string, photos []string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, datadir.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	images, err := blob.Open(filepath.Join(dir, datadir.ImagesDir))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSettings(ctx, map[string]string{"data_dir_id": "src-id", "model": model}); err != nil {
		t.Fatal(err)
	}
	if err := images.SetID(ctx, "src-id"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		body := fmt.Sprintf(`{"event_type":"product.updated","product_data":{"id":%d,"title":"Rose %d","price":"%d","version":%d,
			"image":"https://shop.example/%d/a.jpg","images":["https://shop.example/%d/b.jpg"],"colour":"red"}}`, i, i, 100*i, i, i, i)
		ev, err := catalog.ParseEvent([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyEvent(ctx, ev, catalog.ApplyOptions{ShopID: 1, DeliveryID: fmt.Sprint("msg_", i), Now: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; ; i++ {
		j, err := s.Claim(ctx, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if j == nil {
			break
		}
		if i%2 == 1 {
			continue // left running: its lease is void after the move
		}
		var rs []catalog.PhotoResult
		for k, ph := range j.Photos {
			b := []byte(fmt.Sprintf("photo %s %d", j.Key.ProductID, k))
			sha := blob.Sum(b)
			if err := images.Put(ctx, sha, b); err != nil {
				t.Fatal(err)
			}
			photos = append(photos, sha)
			rs = append(rs, catalog.PhotoResult{URL: ph.URL, SHA256: sha, Vector: []float32{float32(i), float32(k), 0.5}})
		}
		if _, err := s.Settle(ctx, j, model, rs, false, time.Time{}, t0); err != nil {
			t.Fatal(err)
		}
	}
	del, _ := catalog.ParseEvent([]byte(`{"event_type":"product.deleted","product_data":{"id":2,"version":99}}`))
	if _, err := s.ApplyEvent(ctx, del, catalog.ApplyOptions{ShopID: 1, Now: t0}); err != nil {
		t.Fatal(err)
	}
	return dir, photos
}

func openPG(t *testing.T, url string) *store.Store {
	t.Helper()
	d, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// products lists every product (deleted ones too) with its photos.
func products(t *testing.T, s *store.Store) []catalog.Product {
	t.Helper()
	ps, _, err := s.List(context.Background(), catalog.ListOptions{ShopID: 1, Deleted: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if ps[i], err = s.Get(context.Background(), ps[i].Key); err != nil {
			t.Fatal(err)
		}
	}
	return ps
}

// A migrated catalogue reads back equal, product by product and vector by
// vector; its jobs carry on (a running one is due again, new job ids follow
// the copied ones); every photo is in the new image store with the data
// directory's id; the counts match.
func TestToPostgres(t *testing.T) {
	ctx := context.Background()
	dir, photos := source(t, 9)
	url := pgtest.DB(t)
	to, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ToPostgres(ctx, Options{Log: quiet, DataDir: dir, DatabaseURL: url, Blobs: to})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Tables {
		if c.Source != c.Dest || c.Copied != c.Source || (c.Source == 0 && c.Name != "jobs") {
			t.Errorf("%+v", c)
		}
	}
	if p := rep.Photos; p == nil || p.Source != int64(len(photos)) || p.Copied != p.Source || p.Dest != p.Source {
		t.Errorf("photos %+v, want %d", p, len(photos))
	}

	src, err := sqlite.Open(ctx, filepath.Join(dir, datadir.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := openPG(t, url)
	want, got := products(t, src), products(t, dst)
	if len(want) != 9 || !reflect.DeepEqual(got, want) {
		t.Fatalf("products differ:\nSQLite     %+v\nPostgreSQL %+v", want, got)
	}
	for _, p := range want {
		for _, ph := range p.Photos {
			if ph.SHA256 == "" {
				continue
			}
			v1, _, _ := src.Embedding(ctx, ph.SHA256, model)
			v2, ok, err := dst.Embedding(ctx, ph.SHA256, model)
			if !ok || err != nil || !reflect.DeepEqual(v1, v2) {
				t.Fatalf("vector of %s: %v, want %v (%v)", ph.SHA256, v2, v1, err)
			}
		}
	}
	for _, sha := range photos {
		if _, err := to.Get(ctx, sha); err != nil {
			t.Fatalf("photo %s not copied: %v", sha, err)
		}
	}
	if id, _ := to.ID(ctx); id != "src-id" {
		t.Fatalf("image store id %q", id)
	}
	if v, _ := dst.Setting(ctx, "data_dir_id"); v != "src-id" {
		t.Fatalf("data_dir_id %q", v)
	}
	// The jobs left running on SQLite are claimable at once.
	claimed := 0
	for {
		j, err := dst.Claim(ctx, time.Now(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if j == nil {
			break
		}
		claimed++
	}
	if st, _ := src.Stats(ctx, model); claimed == 0 || int64(claimed) != st.Running+st.Pending {
		t.Fatalf("claimed %d of the copied jobs (%+v)", claimed, st)
	}
	// A new product's job gets an id after the copied ones.
	ev, _ := catalog.ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":100,"image":"https://shop.example/100.jpg"}}`))
	if _, err := dst.ApplyEvent(ctx, ev, catalog.ApplyOptions{ShopID: 1}); err != nil {
		t.Fatalf("a new job after the move: %v", err)
	}
	// A redelivered webhook is still recognised.
	ev, _ = catalog.ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":1,"title":"changed"}}`))
	if res, err := dst.ApplyEvent(ctx, ev, catalog.ApplyOptions{ShopID: 1, DeliveryID: "msg_1"}); err != nil || !res.Duplicate {
		t.Fatalf("redelivery after the move: %+v %v", res, err)
	}
	if p, _ := dst.Get(ctx, catalog.Key{ShopID: 1, ProductID: "1"}); p.Title != "Rose 1" {
		t.Fatalf("a redelivered webhook changed the product: %q", p.Title)
	}
}

// A run cut short is finished by running again: nothing is copied twice,
// and the counts match.
func TestResume(t *testing.T) {
	ctx := context.Background()
	dir, photos := source(t, 12)
	url := pgtest.DB(t)
	to, _ := blob.Open(t.TempDir())
	_, err := ToPostgres(ctx, Options{Log: quiet, DataDir: dir, DatabaseURL: url, Blobs: to, Batch: 3, stopAfter: 4})
	if err == nil {
		t.Fatal("the cut-short run succeeded")
	}
	rep, err := ToPostgres(ctx, Options{Log: quiet, DataDir: dir, DatabaseURL: url, Blobs: to, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	skipped := false
	for _, c := range rep.Tables {
		if c.Source != c.Dest {
			t.Errorf("%+v", c)
		}
		skipped = skipped || c.Copied < c.Source
	}
	if !skipped {
		t.Fatal("the second run copied everything again: the first copied nothing?")
	}
	if rep.Photos.Dest != int64(len(photos)) {
		t.Fatalf("photos %+v", rep.Photos)
	}
	again, err := ToPostgres(ctx, Options{Log: quiet, DataDir: dir, DatabaseURL: url, Blobs: to})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range append(again.Tables, *again.Photos) {
		if c.Copied != 0 {
			t.Errorf("a finished migration run again copied %+v", c)
		}
	}
}

// The destination of another data directory is refused, and so is a data
// directory a server is running on.
func TestRefuses(t *testing.T) {
	ctx := context.Background()
	dir, _ := source(t, 2)
	url := pgtest.DB(t)
	other := openPG(t, url)
	if err := other.SetSettings(ctx, map[string]string{"data_dir_id": "other-id"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ToPostgres(ctx, Options{Log: quiet, DataDir: dir, DatabaseURL: url}); !errors.Is(err, ErrForeignDestination) {
		t.Fatalf("into another directory's database: %v", err)
	}
	to, _ := blob.Open(t.TempDir())
	to.SetID(ctx, "other-id")
	if _, err := ToPostgres(ctx, Options{Log: quiet, DataDir: dir, DatabaseURL: pgtest.DB(t), Blobs: to}); !errors.Is(err, ErrForeignDestination) {
		t.Fatalf("into another directory's image store: %v", err)
	}
	lock, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := ToPostgres(ctx, Options{Log: quiet, DataDir: dir, DatabaseURL: pgtest.DB(t)}); err == nil {
		t.Fatal("migrated a data directory in use")
	}
	if _, err := ToPostgres(ctx, Options{Log: quiet, DataDir: t.TempDir(), DatabaseURL: pgtest.DB(t)}); err == nil {
		t.Fatal("migrated an empty directory")
	}
}
