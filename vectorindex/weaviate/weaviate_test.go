package weaviate

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/vectorindex/indextest"
	"github.com/lookalike/lookalike/vectorindex/weaviate/weaviatetest"
)

func TestMain(m *testing.M) { weaviatetest.Main(m) }

var classSeq atomic.Int64

// open returns an index of a fresh class (dropped when t ends) on the test
// server, with cfg's other fields.
func open(t testing.TB, cfg Config) *Index {
	t.Helper()
	cfg.URL = weaviatetest.URL(t)
	if cfg.Model == "" {
		cfg.Model = "test-model"
	}
	cfg.Log = slog.New(slog.DiscardHandler)
	if cfg.Prefix == "" {
		cfg.Prefix = fmt.Sprintf("T%d_%s", classSeq.Add(1), strings.NewReplacer("/", "_").Replace(t.Name()))
	}
	x, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		x.Close()
		if err := x.Drop(context.Background()); err != nil && !isNotFound(err) {
			t.Errorf("drop class %s: %v", x.Class(), err)
		}
	})
	return x
}

func unit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		n += float64(v[i]) * float64(v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

func key(shop int64, id int) vectorindex.Key {
	return vectorindex.Key{ShopID: shop, ProductID: catalog.ProductIDOf(int64(id))}
}

// A second index on the same class (another replica) sees the first one's
// writes, and a new one after Close finds them still there: the vectors live
// in Weaviate, not in the process.
func TestSharedAndDurable(t *testing.T) {
	a := open(t, Config{Dim: 8})
	rng := rand.New(rand.NewSource(1))
	v := unit(rng, 8)
	if err := a.Upsert(key(1, 7), "p1", v, vectorindex.Meta{Available: true}); err != nil {
		t.Fatal(err)
	}
	b, err := New(context.Background(), Config{URL: a.cfg.URL, Class: a.Class(), Model: "test-model", Dim: 8})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := b.Search(v, 5, vectorindex.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Key != key(1, 7) || hits[0].Photo != "p1" || math.Abs(float64(hits[0].Score)-1) > 1e-5 {
		t.Fatalf("the other replica found %+v, want product 1/7 photo p1 at score 1", hits)
	}
	if err := b.Delete(key(1, 7)); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if n := a.Len(); n != 0 {
		t.Fatalf("after the other replica deleted the product, Len = %d", n)
	}
	if got := a.Capabilities(); !got.Shared || got.Exact {
		t.Fatalf("Capabilities = %+v, want shared, approximate", got)
	}
	if err := b.Upsert(key(1, 1), "x", v, vectorindex.Meta{}); err != ErrClosed {
		t.Fatalf("Upsert after Close: %v, want ErrClosed", err)
	}
}

// Each model has a class of its own; a class holding vectors of another
// length is refused at start rather than failing every write.
func TestClassPerModelAndDimension(t *testing.T) {
	a := open(t, Config{Dim: 4, Model: "model-a"})
	b := open(t, Config{Dim: 4, Model: "model-b", Prefix: a.cfg.Prefix})
	if a.Class() == b.Class() {
		t.Fatalf("two models share class %s", a.Class())
	}
	if got := ClassName("Lookalike", "clip ViT-B/32"); got != ClassName("Lookalike", "clip ViT-B/32") || strings.ContainsAny(got, " /-") {
		t.Fatalf("ClassName = %q", got)
	}
	v := []float32{1, 0, 0, 0}
	if err := a.Upsert(key(1, 1), "p", v, vectorindex.Meta{}); err != nil {
		t.Fatal(err)
	}
	if hits, err := b.Search(v, 3, vectorindex.Filter{}); err != nil || len(hits) != 0 {
		t.Fatalf("model b's index found %v (%v)", hits, err)
	}
	_, err := New(context.Background(), Config{URL: a.cfg.URL, Class: a.Class(), Model: "model-a", Dim: 5})
	if err == nil || !strings.Contains(err.Error(), "4 dimensions") {
		t.Fatalf("opening a 4-d class for 5-d vectors: %v", err)
	}
}

// Upserts from many goroutines go to Weaviate in shared gRPC batches, and
// every one of them lands.
func TestConcurrentUpsertsShareBatches(t *testing.T) {
	x := open(t, Config{Dim: 16})
	var batches atomic.Int64
	x.onBatch = func(n int) { batches.Add(1) }
	const workers, each = 16, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for i := range each {
				if err := x.Upsert(key(int64(w+1), i), "p", unit(rng, 16), vectorindex.Meta{Available: true}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := x.Len(); n != workers*each {
		t.Fatalf("Len = %d after %d upserts", n, workers*each)
	}
	if b := batches.Load(); b >= workers*each {
		t.Fatalf("%d upserts took %d batches: none were grouped", workers*each, b)
	}
	t.Logf("%d upserts in %d batches", workers*each, batches.Load())
}

// The filter runs inside Weaviate: a shop holding 5 of 2,000 products is
// found whole, in one query, though its photos are the farthest from the
// query; an index that fetched the nearest photos and filtered them
// afterwards would need to fetch all 2,000.
func TestFilterPushedDown(t *testing.T) {
	x := open(t, Config{Dim: 8})
	rng := rand.New(rand.NewSource(2))
	q := unit(rng, 8)
	var wg sync.WaitGroup
	errs := make(chan error, 2000)
	for i := range 2000 {
		shop, v := int64(1), unit(rng, 8)
		if i%400 == 0 {
			shop = 2
			for j := range v {
				v[j] = -q[j] // the farthest photos there are
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- x.Upsert(key(shop, i), "p", v, vectorindex.Meta{Available: true})
		}()
		if i%64 == 63 {
			wg.Wait()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	queries := 0
	x.onQuery = func(limit, got int) { queries++ }
	hits, err := x.Search(q, 10, vectorindex.Filter{ShopID: 2})
	if err != nil {
		t.Fatal(err)
	}
	if queries != 1 {
		t.Fatalf("the shop 2 search took %d queries, want 1 with the filter in Weaviate", queries)
	}
	if len(hits) != 5 {
		t.Fatalf("shop 2 search found %d products, want its 5: %v", len(hits), hits)
	}
	for _, h := range hits {
		if h.Key.ShopID != 2 {
			t.Fatalf("hit %v is not in shop 2", h)
		}
	}
}

// Upserting one photo gives the product's other photos its metadata, and
// SetMeta reaches every photo: a filter never finds a product by a photo
// that kept old metadata.
func TestMetaOnEveryPhoto(t *testing.T) {
	x := open(t, Config{Dim: 4})
	k := key(3, 9)
	a, b := []float32{1, 0, 0, 0}, []float32{0, 1, 0, 0}
	yes, no := true, false
	if err := x.Upsert(k, "a", a, vectorindex.Meta{Available: true}); err != nil {
		t.Fatal(err)
	}
	if err := x.Upsert(k, "b", b, vectorindex.Meta{Available: false}); err != nil {
		t.Fatal(err)
	}
	if hits, err := x.Search(a, 5, vectorindex.Filter{Available: &yes}); err != nil || len(hits) != 0 {
		t.Fatalf("available search after the product became sold out: %v (%v)", hits, err)
	}
	if hits, err := x.Search(a, 5, vectorindex.Filter{Available: &no}); err != nil || len(hits) != 1 || hits[0].Photo != "a" {
		t.Fatalf("sold-out search: %v (%v), want photo a", hits, err)
	}
	if err := x.SetMeta(k, vectorindex.Meta{Available: true, HasPrice: true, PriceMinor: 500, Currency: "KZT"}); err != nil {
		t.Fatal(err)
	}
	lo, hi := int64(500), int64(500)
	hits, err := x.Search(b, 5, vectorindex.Filter{Available: &yes, PriceMin: &lo, PriceMax: &hi, Currency: "KZT"})
	if err != nil || len(hits) != 1 || hits[0].Photo != "b" {
		t.Fatalf("search by the new metadata: %v (%v), want photo b", hits, err)
	}
	if err := x.SetMeta(key(3, 10), vectorindex.Meta{Available: true}); err != nil {
		t.Fatal(err)
	}
	if n := x.Len(); n != 2 {
		t.Fatalf("SetMeta of an absent product changed Len to %d", n)
	}
	if err := x.DeletePhoto(k, "a"); err != nil {
		t.Fatal(err)
	}
	if ph, err := x.Photos(k); err != nil || len(ph) != 1 || ph[0] != "b" {
		t.Fatalf("Photos after deleting a: %v (%v)", ph, err)
	}
}

// The conformance suite of vectorindex.Index, against a real
// weaviate-server.
func TestConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T, dim int) vectorindex.Index {
		return open(t, Config{Dim: dim})
	})
}
