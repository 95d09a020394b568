package verify

import (
	"context"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
)

// fakeStore holds one live product and the vectors of its photos.
type fakeStore struct {
	p    catalog.Product
	vecs map[string][]float32
}

func (f *fakeStore) ScanLive(ctx context.Context, fn func(c catalog.Check) error) error {
	return fn(catalog.Check{Product: f.p})
}
func (f *fakeStore) Requeue(ctx context.Context, k catalog.Key, now time.Time) error { return nil }
func (f *fakeStore) Embedding(ctx context.Context, sha, model string) ([]float32, bool, error) {
	v, ok := f.vecs[sha]
	return v, ok, nil
}
func (f *fakeStore) Get(ctx context.Context, k catalog.Key) (catalog.Product, error) { return f.p, nil }

// Verification goes photo by photo: an indexed photo missing from the index
// is loaded, a vector of a photo the product no longer has is stray.
func TestVerifyPhotos(t *testing.T) {
	k := catalog.Key{ShopID: 1, ProductID: "7"}
	p := catalog.Product{Key: k, Model: "m"}
	p.SetPhotos([]catalog.Photo{{URL: "a", SHA256: "sa", State: catalog.PhotoIndexed}, {URL: "b", SHA256: "sb", State: catalog.PhotoIndexed}})
	p.Model = "m"
	st := &fakeStore{p: p, vecs: map[string][]float32{"sa": {1, 0}, "sb": {0, 1}}}
	idx := vectorindex.NewFlat(2)
	vk := vectorindex.Key(k)
	idx.Upsert(vk, "sa", []float32{1, 0}, vectorindex.Meta{})
	idx.Upsert(vk, "sold", []float32{0.6, 0.8}, vectorindex.Meta{}) // a photo the product no longer has
	rep, err := Run(context.Background(), st, idx, nil, "m", vectorindex.MetaOf, false)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, pr := range rep.Problems {
		kinds[pr.Kind]++
	}
	if len(rep.Problems) != 2 || kinds[NotInIndex] != 1 || kinds[StrayVector] != 1 || rep.Vectors != 2 {
		t.Fatalf("report: %+v", rep)
	}
	if rep, err = Run(context.Background(), st, idx, nil, "m", vectorindex.MetaOf, true); err != nil || rep.Repaired != 2 {
		t.Fatalf("repair: %+v %v", rep, err)
	}
	if rep, _ = Run(context.Background(), st, idx, nil, "m", vectorindex.MetaOf, false); len(rep.Problems) != 0 || idx.Len() != 2 {
		photos, _ := idx.Photos(vk)
		t.Fatalf("after repair: %+v, %d vectors (%v)", rep, idx.Len(), photos)
	}
}
