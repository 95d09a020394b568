package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/store"
)

// oldSchema is the SQL of the schema before text product ids: migrations
// 0001-0003, recorded as applied.
func oldSchema(t testing.TB) []string {
	t.Helper()
	stmts := []string{`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`}
	for _, v := range []string{"0001_init", "0002_ordering_dedup", "0003_settings"} {
		body, err := migrations.ReadFile("migrations/" + v + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(body), `INSERT INTO schema_migrations VALUES ('`+v+`', 1)`)
	}
	return stmts
}

// oldDatabase creates, at path, a database of the schema before text
// product ids (migrations 0001-0003 only), holding what the old code wrote:
// integer product ids in products, jobs and webhook deliveries.
func oldDatabase(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := oldSchema(t)
	now := t0.UnixMicro()
	vec := store.EncodeVector([]float32{0.6, 0.8})
	stmts = append(stmts,
		`INSERT INTO settings VALUES ('model', 'm')`,
		// 888888 indexed; 10 pending with a job; 9 failed; 7 deleted.
		`INSERT INTO products (shop_id, product_id, title, price_minor, currency, price_raw, image_url, extra, created_at, updated_at,
			index_state, indexed_at, image_sha256, model, generation, source_version)
			VALUES (8, 888888, 'Розы', 250000, 'KZT', '2 500 ₸', 'https://x/a.jpg', '{"section":"roses"}', ?1, ?1, 'indexed', ?1, 'aa', 'm', 1, 5)`,
		`INSERT INTO products (shop_id, product_id, title, image_url, created_at, updated_at, index_state, generation)
			VALUES (8, 10, 'Тюльпаны', 'https://x/b.jpg', ?1, ?1, 'pending', 2)`,
		`INSERT INTO products (shop_id, product_id, title, image_url, created_at, updated_at, index_state, index_error, generation)
			VALUES (8, 9, 'Пропал', 'https://x/404.jpg', ?1, ?1, 'failed', 'Failed to fetch image: 404 Not Found', 1)`,
		`INSERT INTO products (shop_id, product_id, title, created_at, updated_at, deleted_at, index_state)
			VALUES (8, 7, 'Удалён', ?1, ?1, ?1, 'no_image')`,
		`INSERT INTO embeddings VALUES ('aa', 'm', 2, ?2, ?1)`,
		`INSERT INTO jobs (id, shop_id, product_id, generation, state, attempt, run_at, created_at, updated_at)
			VALUES (41, 8, 10, 2, 'available', 0, ?1, ?1, ?1)`,
		`INSERT INTO jobs (id, shop_id, product_id, generation, state, attempt, run_at, last_error, created_at, updated_at)
			VALUES (42, 8, 9, 1, 'failed', 3, ?1, 'Failed to fetch image: 404 Not Found', ?1, ?1)`,
		`INSERT INTO webhook_deliveries VALUES ('msg_1', 8, 888888, 'created', 1, 1, ?1)`,
	)
	for _, s := range stmts {
		if _, err := db.Exec(s, now, vec); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// A database of the old schema is migrated in place when the new code
// opens it: every product, job, vector and delivery is still there, under
// the same ids, and works.
func TestMigrateIntegerProductIDsToText(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	oldDatabase(t, path)
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var n int
	for _, table := range []string{"products", "jobs", "webhook_deliveries"} {
		if err := drv(s).r.QueryRow("SELECT count(*) FROM " + table + " WHERE typeof(product_id) != 'text'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s: %d non-text product ids, %v", table, n, err)
		}
	}
	p, err := s.Get(ctx, catalog.Key{ShopID: 8, ProductID: "888888"})
	if err != nil || p.Title != "Розы" || p.Price == nil || p.Price.Minor != 250000 || p.IndexState != catalog.StateIndexed ||
		p.ImageSHA256 != "aa" || p.SourceVersion == nil || *p.SourceVersion != 5 || string(p.Extra["section"]) != `"roses"` || !p.CreatedAt.Equal(t0) {
		t.Fatalf("888888 after migration: %+v, %v", p, err)
	}
	// Each single photo became the main photo, in the product's state (0006).
	for id, want := range map[catalog.ProductID][]catalog.Photo{
		"888888": {{URL: "https://x/a.jpg", SHA256: "aa", State: catalog.PhotoIndexed}},
		"10":     {{URL: "https://x/b.jpg", State: catalog.PhotoPending}},
		"9":      {{URL: "https://x/404.jpg", State: catalog.PhotoFailed, Error: "Failed to fetch image: 404 Not Found"}},
		"7":      nil,
	} {
		p, err := s.Get(ctx, catalog.Key{ShopID: 8, ProductID: id})
		if err != nil || !reflect.DeepEqual(p.Photos, want) {
			t.Fatalf("photos of %s after migration: %+v, %v; want %+v", id, p.Photos, err, want)
		}
	}
	if p, err := s.Get(ctx, catalog.Key{ShopID: 8, ProductID: "7"}); err != nil || p.DeletedAt == nil {
		t.Fatalf("the deleted product: %+v, %v", p, err)
	}
	loaded := map[catalog.ProductID][]float32{}
	if err := s.LoadIndex(ctx, "m", func(p catalog.Product, _ string, vec []float32) error { loaded[p.ProductID] = vec; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded["888888"][1] != 0.8 {
		t.Fatalf("index after migration: %v", loaded)
	}
	st, err := s.Stats(ctx, "m")
	if err != nil || st.Vectors != 1 || st.ActiveProducts != 3 || st.Deleted != 1 || st.Pending != 1 || st.Failed != 1 || st.PhotosIndexed != 1 || st.PhotosTotal != 3 {
		t.Fatalf("stats after migration: %+v, %v", st, err)
	}
	if f, err := s.ListFailed(ctx, 8, 10); err != nil || len(f) != 1 || f[0].ProductID != "9" || f[0].Attempts != 3 {
		t.Fatalf("failed after migration: %+v, %v", f, err)
	}
	if l, more, err := s.List(ctx, ListOptions{ShopID: 8, Limit: 10}); err != nil || len(l) != 3 || more {
		t.Fatalf("list after migration: %d %v %v", len(l), more, err)
	}

	// The queued job runs and completes under its old row id.
	j, err := s.Claim(ctx, t0.Add(time.Second), time.Minute)
	if err != nil || j == nil || j.ID != 41 || j.Key != (catalog.Key{ShopID: 8, ProductID: "10"}) || j.Generation != 2 || jobURL(j) != "https://x/b.jpg" {
		t.Fatalf("claim after migration: %+v, %v", j, err)
	}
	if err := complete(ctx, s, j, "bb", "m", []float32{1, 0}, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	// A redelivered webhook gets its first reply and changes nothing.
	res, err := s.ApplyEvent(ctx, event(t, `{"event_type":"product.updated","product_data":{"id":888888,"title":"x"}}`),
		ApplyOptions{ShopID: 8, DeliveryID: "msg_1"})
	if err != nil || !res.Duplicate || res.Action != catalog.ActionCreated {
		t.Fatalf("redelivery after migration: %+v, %v", res, err)
	}
	// The id sent as a string names the migrated product; a code is a new one.
	res, err = s.ApplyEvent(ctx, event(t, `{"event_type":"product.updated","product_data":{"id":"888888","price":"3 000 ₸"}}`), ApplyOptions{ShopID: 8})
	if err != nil || res.Action != catalog.ActionUpdated || res.ReindexTriggered {
		t.Fatalf(`"888888" after migration: %+v, %v`, res, err)
	}
	res, err = s.ApplyEvent(ctx, event(t, `{"event_type":"product.created","product_data":{"id":"00000085340_1","title":"1С"}}`), ApplyOptions{ShopID: 8})
	if err != nil || res.Action != catalog.ActionCreated {
		t.Fatalf("a code id after migration: %+v, %v", res, err)
	}
	if _, err := s.Get(ctx, catalog.Key{ShopID: 8, ProductID: "00000085340_1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Requeue(ctx, catalog.Key{ShopID: 8, ProductID: "9"}, t0.Add(3*time.Second)); err != nil {
		t.Fatalf("requeue after migration: %v", err)
	}
	s.Close()

	// Opening again applies nothing twice.
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Get(ctx, catalog.Key{ShopID: 8, ProductID: "00000085340_1"}); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
}

// BenchmarkMigrateTextProductIDs times migration 0004 on an old database
// of 100,000 products (half with a pending job, each with a delivery).
func BenchmarkMigrateTextProductIDs(b *testing.B) {
	const n = 100_000
	b.StopTimer()
	for range b.N {
		path := filepath.Join(b.TempDir(), "old.db")
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			b.Fatal(err)
		}
		stmts := append(oldSchema(b), `WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM i WHERE x < ?1)
			INSERT INTO products (shop_id, product_id, title, price_minor, currency, price_raw, image_url, extra, created_at, updated_at, index_state, generation)
			SELECT 8, x, 'Букет ' || x, 250000, 'KZT', '2 500 ₸', 'https://x/' || x || '.jpg', '{"section":"roses"}', 1, 1, 'indexed', 1 FROM i`,
			`INSERT INTO jobs (shop_id, product_id, generation, state, run_at, created_at, updated_at)
			SELECT shop_id, product_id, 1, 'available', 1, 1, 1 FROM products WHERE product_id % 2 = 0`,
			`INSERT INTO webhook_deliveries SELECT 'msg_' || product_id, shop_id, product_id, 'created', 1, 1, 1 FROM products`)
		for _, s := range stmts {
			if _, err := db.Exec(s, n); err != nil {
				b.Fatal(err)
			}
		}
		db.Close()
		b.StartTimer()
		s, err := Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
	}
}
