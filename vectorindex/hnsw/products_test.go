package hnsw_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/vectorindex/hnsw"
	"github.com/lookalike/lookalike/vectorindex/indextest"
	"github.com/lookalike/lookalike/vectorindex/vectorgen"
)

// TestProductsConformance runs the suite over the HNSW graph with the
// quantizer trained early (so that small tests use the graph too) and
// exact scans only below 500 vectors (so that the 50 % filter traverses
// the graph). efSearch is 128: the suite's 64-d clusters are harder than
// 512-d embeddings, and the default 64 (tuned on those, see bench index)
// gives about 0.95 here.
func TestProductsConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T, dim int) vectorindex.Index {
		x, err := hnsw.NewProducts(hnsw.ProductConfig{Dim: dim, TrainSize: 100, ExactBelow: 500, EfSearch: 128})
		if err != nil {
			t.Fatal(err)
		}
		return x
	})
}

// TestProductsSaveLoad: a saved index loads with its products, photos and
// metadata (every field the filters read), and answers as before.
func TestProductsSaveLoad(t *testing.T) {
	const dim = 16
	dir := t.TempDir()
	cfg := hnsw.ProductConfig{Dim: dim, TrainSize: 50, Dir: dir}
	x, err := hnsw.NewProducts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := vectorgen.Clustered(300, dim, 10, 1, 3)
	metaOf := func(i int) vectorindex.Meta {
		return vectorindex.Meta{Available: i%2 == 0, HasPrice: i%3 == 0, PriceMinor: int64(i) * 100, Currency: "KZT", HasHeight: i%5 == 0, HeightCM: float64(i) / 2}
	}
	keyOf := func(i int) vectorindex.Key {
		return vectorindex.Key{ShopID: int64(1 + i%4), ProductID: catalog.ProductID("id-" + string(rune('a'+i%26)) + catalog.ProductIDOf(int64(i/2)).String())}
	}
	for i := 0; i < base.Len(); i++ { // two photos per product
		if err := x.Upsert(keyOf(i&^1), []string{"front", "back"}[i%2], base.At(i), metaOf(i&^1)); err != nil {
			t.Fatal(err)
		}
	}
	x.Delete(keyOf(10))
	lo := int64(3000)
	yes := true
	f := vectorindex.Filter{PriceMin: &lo, Currency: "KZT", Available: &yes}
	before, _ := x.Search(base.At(7), 10, f)
	if err := x.Save(42); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if _, err := hnsw.LoadProducts(cfg, 43); !errors.Is(err, hnsw.ErrStale) {
		t.Fatalf("another token: %v, want ErrStale", err)
	}
	y, err := hnsw.LoadProducts(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	after, _ := y.Search(base.At(7), 10, f)
	if len(before) == 0 || !slices.Equal(before, after) {
		t.Fatalf("after Load: %v, before %v", after, before)
	}
	if y.Len() != 298 || y.Products() != 149 {
		t.Fatalf("Len %d, Products %d after Load", y.Len(), y.Products())
	}
	photos, _ := y.Photos(keyOf(20))
	if slices.Sort(photos); !slices.Equal(photos, []string{"back", "front"}) {
		t.Fatalf("Photos = %v", photos)
	}
	// The metadata came back: re-tagging through one photo reaches the other.
	y.Upsert(keyOf(20), "front", base.At(20), vectorindex.Meta{})
	hits, _ := y.Search(base.At(21), 300, vectorindex.Filter{Available: &yes})
	for _, h := range hits {
		if h.Key == keyOf(20) {
			t.Fatalf("re-tagged product still available through its other photo: %v", h)
		}
	}
}
