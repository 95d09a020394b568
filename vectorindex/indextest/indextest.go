// Package indextest is the conformance suite of vectorindex.Index: every
// implementation's tests call Run with a constructor of empty indexes.
//
// What it checks: filters (shop, availability, inclusive price bounds in
// the filter's currency only, height, exclusion) against a brute-force
// reference; a product scoring as its best photo and naming it; replacing
// a photo's vector and a product's metadata (on all its photos); deleting a
// photo and a product; equal scores in key order; vector-length errors
// that change nothing; searches and upserts from many goroutines (run with
// -race); and for an index that is not Exact, recall@10 of products ≥ 0.95
// against the exact answer, unfiltered, with a shop filter keeping 1 % and
// an availability filter keeping 50 % of the vectors.
package indextest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/vectorindex/vectorgen"
)

// New returns an empty index of vectors of length dim; Run closes it.
type New func(t *testing.T, dim int) vectorindex.Index

// Options tune Run for an implementation.
type Options struct {
	// RecallN is the number of vectors of the recall test (4000).
	RecallN int
}

// Run runs the suite.
func Run(t *testing.T, newIndex New) { RunWith(t, newIndex, Options{}) }

// RunWith runs the suite with options.
func RunWith(t *testing.T, newIndex New, o Options) {
	open := func(t *testing.T, dim int) vectorindex.Index {
		x := newIndex(t, dim)
		t.Cleanup(func() {
			if err := x.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return x
	}
	t.Run("Filters", func(t *testing.T) { testFilters(t, open) })
	t.Run("PriceBoundsAndCurrency", func(t *testing.T) { testPrices(t, open) })
	t.Run("BestPhoto", func(t *testing.T) { testBestPhoto(t, open) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, open) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open) })
	t.Run("Ties", func(t *testing.T) { testTies(t, open) })
	t.Run("DimensionErrors", func(t *testing.T) { testDimensions(t, open) })
	t.Run("Parallel", func(t *testing.T) { testParallel(t, open) })
	t.Run("Recall", func(t *testing.T) {
		x := open(t, 2)
		if x.Capabilities().Exact {
			t.Skip("an exact index: the other tests compare it with the exact answer")
		}
		testRecall(t, open, o.RecallN)
	})
}

func key(shop int64, n int) vectorindex.Key {
	return vectorindex.Key{ShopID: shop, ProductID: catalog.ProductIDOf(int64(n))}
}

func unit(v ...float32) []float32 {
	var s float32
	for _, x := range v {
		s += x * x
	}
	s = float32(math.Sqrt(float64(s)))
	for i := range v {
		v[i] /= s
	}
	return v
}

func randUnit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return unit(v...)
}

func upsert(t *testing.T, x vectorindex.Index, k vectorindex.Key, photo string, v []float32, m vectorindex.Meta) {
	t.Helper()
	if err := x.Upsert(k, photo, v, m); err != nil {
		t.Fatalf("Upsert(%v, %s): %v", k, photo, err)
	}
}

func search(t *testing.T, x vectorindex.Index, q []float32, n int, f vectorindex.Filter) []vectorindex.Hit {
	t.Helper()
	hits, err := x.Search(q, n, f)
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	return hits
}

func keysOf(hits []vectorindex.Hit) []vectorindex.Key {
	out := make([]vectorindex.Key, len(hits))
	for i, h := range hits {
		out[i] = h.Key
	}
	return out
}

// model is the reference: what the index should hold.
type model struct {
	vecs  map[vectorindex.Key]map[string][]float32
	metas map[vectorindex.Key]vectorindex.Meta
}

func newModel() *model {
	return &model{vecs: map[vectorindex.Key]map[string][]float32{}, metas: map[vectorindex.Key]vectorindex.Meta{}}
}

func (m *model) upsert(t *testing.T, x vectorindex.Index, k vectorindex.Key, photo string, v []float32, meta vectorindex.Meta) {
	t.Helper()
	upsert(t, x, k, photo, v, meta)
	if m.vecs[k] == nil {
		m.vecs[k] = map[string][]float32{}
	}
	m.vecs[k][photo], m.metas[k] = v, meta
}

// search is the exact answer: each matching product once with its best
// photo, best first, equal scores in key order.
func (m *model) search(q []float32, n int, f vectorindex.Filter) []vectorindex.Hit {
	var all []vectorindex.Hit
	for k := range m.vecs {
		if f.Match(k, m.metas[k]) {
			all = append(all, m.best(q, k))
		}
	}
	vectorindex.SortHits(all)
	return all[:min(n, len(all))]
}

// best is k's hit for q: its best photo (the first by name of equal ones).
func (m *model) best(q []float32, k vectorindex.Key) vectorindex.Hit {
	photos := m.vecs[k]
	h := vectorindex.Hit{Key: k, Score: float32(math.Inf(-1))}
	names := make([]string, 0, len(photos))
	for ph := range photos {
		names = append(names, ph)
	}
	sort.Strings(names)
	for _, ph := range names {
		if s := vectorindex.Dot(q, photos[ph]); s > h.Score {
			h.Score, h.Photo = s, ph
		}
	}
	return h
}

// same checks got against the exact want: the same products in the same
// order with the same photos and scores (up to float rounding), except
// that products of scores within rounding of each other may swap.
func same(t *testing.T, what string, got, want []vectorindex.Hit) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d hits, want %d\n got %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range got {
		if math.Abs(float64(got[i].Score-want[i].Score)) > 1e-4 {
			t.Fatalf("%s: hit %d scores %v, want %v\n got %v\nwant %v", what, i, got[i].Score, want[i].Score, got, want)
		}
		if got[i].Key != want[i].Key && math.Abs(float64(want[i].Score-scoreOf(want, got[i].Key))) > 1e-4 {
			t.Fatalf("%s: hit %d is %v, want %v\n got %v\nwant %v", what, i, got[i].Key, want[i].Key, got, want)
		}
		if got[i].Key == want[i].Key && got[i].Photo != want[i].Photo {
			t.Fatalf("%s: hit %d names photo %s of %v, want %s", what, i, got[i].Photo, got[i].Key, want[i].Photo)
		}
	}
}

func scoreOf(hits []vectorindex.Hit, k vectorindex.Key) float32 {
	for _, h := range hits {
		if h.Key == k {
			return h.Score
		}
	}
	return float32(math.Inf(-1))
}

// testFilters compares filtered searches of 240 products of one to three
// photos with the exact answer: the same for an exact index; for an
// approximate one every hit right (filter, score, photo) and 90 % of the
// best found.
func testFilters(t *testing.T, open New) {
	const dim = 16
	x := open(t, dim)
	rng := rand.New(rand.NewPCG(1, 2))
	m := newModel()
	for i := 0; i < 240; i++ {
		k := key(int64(1+i%3), i)
		meta := vectorindex.Meta{Available: i%2 == 0}
		if i%5 != 0 {
			meta.HasPrice, meta.PriceMinor, meta.Currency = true, int64(rng.IntN(100))*100, "KZT"
		}
		if i%4 != 0 {
			meta.HasHeight, meta.HeightCM = true, float64(20+rng.IntN(60))
		}
		for j := 0; j <= i%3; j++ {
			m.upsert(t, x, k, "p"+strconv.Itoa(j), randUnit(rng, dim), meta)
		}
	}
	exact := x.Capabilities().Exact
	yes, no := true, false
	lo, hi := int64(2000), int64(6000)
	hmin, hmax := 30.0, 50.0
	ex := key(2, 1)
	for _, f := range []vectorindex.Filter{
		{},
		{ShopID: 2},
		{ShopID: 9},
		{Available: &yes},
		{Available: &no},
		{PriceMin: &lo, Currency: "KZT"},
		{PriceMax: &hi, Currency: "KZT"},
		{ShopID: 1, Available: &yes, PriceMin: &lo, PriceMax: &hi, Currency: "KZT"},
		{HeightMin: &hmin, HeightMax: &hmax},
		{Exclude: &ex},
	} {
		found, total := 0, 0
		for trial := 0; trial < 10; trial++ {
			q := randUnit(rng, dim)
			got := search(t, x, q, 10, f)
			want := m.search(q, 10, f)
			what := fmt.Sprintf("filter %+v", f)
			for _, h := range got {
				if !f.Match(h.Key, m.metas[h.Key]) {
					t.Fatalf("%s: hit %v does not match it", what, h.Key)
				}
			}
			if exact {
				same(t, what, got, want)
				continue
			}
			// Approximate: each hit right, most of the best found.
			for _, h := range got {
				if b := m.best(q, h.Key); math.Abs(float64(b.Score-h.Score)) > 1e-4 || b.Photo != h.Photo {
					t.Fatalf("%s: hit %v, want photo %s scoring %v", what, h, b.Photo, b.Score)
				}
			}
			found += overlap(got, want)
			total += len(want)
		}
		if total > 0 && float64(found) < 0.9*float64(total) {
			t.Errorf("filter %+v: found %d of the best %d", f, found, total)
		}
	}
}

// overlap counts the products of want that got holds.
func overlap(got, want []vectorindex.Hit) int {
	n := 0
	for _, w := range want {
		if slices.ContainsFunc(got, func(h vectorindex.Hit) bool { return h.Key == w.Key }) {
			n++
		}
	}
	return n
}

// testPrices: price bounds include the bounds themselves and only match
// products priced in the filter's currency; products without a price
// match only searches without a price bound.
func testPrices(t *testing.T, open New) {
	x := open(t, 2)
	q := unit(1, 0)
	price := func(minor int64, cur string) vectorindex.Meta {
		return vectorindex.Meta{Available: true, HasPrice: true, PriceMinor: minor, Currency: cur}
	}
	upsert(t, x, key(1, 1), "a", unit(1, 0.1), price(100, "KZT"))
	upsert(t, x, key(1, 2), "a", unit(1, 0.2), price(200, "KZT"))
	upsert(t, x, key(1, 3), "a", unit(1, 0.3), price(300, "KZT"))
	upsert(t, x, key(1, 4), "a", unit(1, 0.4), price(200, "USD"))
	upsert(t, x, key(1, 5), "a", unit(1, 0.5), vectorindex.Meta{Available: true})
	lo, hi := int64(100), int64(200)
	cases := []struct {
		f    vectorindex.Filter
		want []vectorindex.Key
	}{
		{vectorindex.Filter{PriceMin: &lo, PriceMax: &hi, Currency: "KZT"}, []vectorindex.Key{key(1, 1), key(1, 2)}},
		{vectorindex.Filter{PriceMin: &hi, PriceMax: &hi, Currency: "KZT"}, []vectorindex.Key{key(1, 2)}},
		{vectorindex.Filter{PriceMin: &hi, Currency: "USD"}, []vectorindex.Key{key(1, 4)}},
		{vectorindex.Filter{PriceMax: &hi, Currency: "EUR"}, []vectorindex.Key{}},
		{vectorindex.Filter{}, []vectorindex.Key{key(1, 1), key(1, 2), key(1, 3), key(1, 4), key(1, 5)}},
	}
	for _, c := range cases {
		if got := keysOf(search(t, x, q, 10, c.f)); !slices.Equal(got, c.want) {
			t.Errorf("filter min %v max %v %s: %v, want %v", ptr(c.f.PriceMin), ptr(c.f.PriceMax), c.f.Currency, got, c.want)
		}
	}
}

func ptr(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// testBestPhoto: a product with three photos appears once, scored by and
// naming the photo nearest the query.
func testBestPhoto(t *testing.T, open New) {
	x := open(t, 3)
	meta := vectorindex.Meta{Available: true}
	upsert(t, x, key(1, 1), "x", unit(1, 0, 0), meta)
	upsert(t, x, key(1, 1), "y", unit(0, 1, 0), meta)
	upsert(t, x, key(1, 1), "z", unit(0, 0, 1), meta)
	upsert(t, x, key(1, 2), "w", unit(1, 1, 0), meta)
	if x.Len() != 4 {
		t.Fatalf("Len = %d, want 4 photos", x.Len())
	}
	for _, c := range []struct {
		q     []float32
		photo string
	}{{unit(0, 1, 0.1), "y"}, {unit(0.1, 0, 1), "z"}, {unit(1, 0, 0.1), "x"}} {
		hits := search(t, x, c.q, 10, vectorindex.Filter{})
		if len(hits) != 2 || hits[0].Key != key(1, 1) || hits[0].Photo != c.photo {
			t.Fatalf("query %v: %v, want product 1 once, by photo %s, first", c.q, hits, c.photo)
		}
		if want := vectorindex.Dot(c.q, map[string][]float32{"x": unit(1, 0, 0), "y": unit(0, 1, 0), "z": unit(0, 0, 1)}[c.photo]); math.Abs(float64(hits[0].Score-want)) > 1e-5 {
			t.Fatalf("score %v, want %v", hits[0].Score, want)
		}
	}
	photos, err := x.Photos(key(1, 1))
	if slices.Sort(photos); err != nil || !slices.Equal(photos, []string{"x", "y", "z"}) {
		t.Fatalf("Photos = %v, %v", photos, err)
	}
}

// testReplace: upserting a photo again replaces its vector; upserting any
// photo sets the metadata of the whole product; SetMeta too, and does
// nothing for an absent product.
func testReplace(t *testing.T, open New) {
	x := open(t, 2)
	yes := true
	avail := vectorindex.Filter{Available: &yes}
	upsert(t, x, key(1, 1), "a", unit(1, 0), vectorindex.Meta{Available: true})
	upsert(t, x, key(1, 1), "b", unit(0, 1), vectorindex.Meta{Available: true})
	upsert(t, x, key(1, 2), "a", unit(1, 1), vectorindex.Meta{Available: true})
	upsert(t, x, key(1, 1), "a", unit(-1, 0), vectorindex.Meta{Available: true})
	if x.Len() != 3 {
		t.Fatalf("Len = %d after replacing a vector, want 3", x.Len())
	}
	hits := search(t, x, unit(-1, 0.01), 10, vectorindex.Filter{})
	if len(hits) != 2 || hits[0].Key != key(1, 1) || hits[0].Photo != "a" || hits[0].Score < 0.99 {
		t.Fatalf("after replacing photo a: %v", hits)
	}
	if hits := search(t, x, unit(1, 0), 1, vectorindex.Filter{}); hits[0].Key != key(1, 2) {
		t.Fatalf("the replaced vector still answers: %v", hits)
	}
	// New metadata through photo b applies to photo a as well.
	upsert(t, x, key(1, 1), "b", unit(0, 1), vectorindex.Meta{Available: false})
	if hits := search(t, x, unit(-1, 0), 10, avail); !slices.Equal(keysOf(hits), []vectorindex.Key{key(1, 2)}) {
		t.Fatalf("available after the product was marked sold out: %v", hits)
	}
	if err := x.SetMeta(key(1, 1), vectorindex.Meta{Available: true}); err != nil {
		t.Fatal(err)
	}
	if hits := search(t, x, unit(-1, 0), 10, avail); len(hits) != 2 || hits[0].Key != key(1, 1) || hits[0].Photo != "a" {
		t.Fatalf("after SetMeta available: %v", hits)
	}
	if err := x.SetMeta(key(1, 9), vectorindex.Meta{Available: true}); err != nil || x.Len() != 3 {
		t.Fatalf("SetMeta of an absent product: %v, Len %d", err, x.Len())
	}
	if hits := search(t, x, unit(1, 0), 10, vectorindex.Filter{}); len(hits) != 2 {
		t.Fatalf("SetMeta of an absent product added it: %v", hits)
	}
}

// testDelete: deleting a photo leaves the product with its others (the hit
// naming one of them); deleting the last photo, or the product, removes it.
func testDelete(t *testing.T, open New) {
	x := open(t, 2)
	meta := vectorindex.Meta{Available: true}
	upsert(t, x, key(1, 1), "a", unit(1, 0), meta)
	upsert(t, x, key(1, 1), "b", unit(0, 1), meta)
	upsert(t, x, key(1, 2), "a", unit(1, 1), meta)
	upsert(t, x, key(2, 3), "c", unit(1, -1), meta)
	if err := x.DeletePhoto(key(1, 1), "a"); err != nil {
		t.Fatal(err)
	}
	if err := x.DeletePhoto(key(1, 1), "nope"); err != nil {
		t.Fatal(err)
	}
	hits := search(t, x, unit(1, 0), 10, vectorindex.Filter{})
	if len(hits) != 3 || hits[2].Key != key(1, 1) || hits[2].Photo != "b" {
		t.Fatalf("after deleting photo a: %v", hits)
	}
	if photos, _ := x.Photos(key(1, 1)); !slices.Equal(photos, []string{"b"}) || x.Len() != 3 {
		t.Fatalf("Photos = %v, Len %d", photos, x.Len())
	}
	if err := x.DeletePhoto(key(1, 1), "b"); err != nil {
		t.Fatal(err)
	}
	if err := x.Delete(key(2, 3)); err != nil {
		t.Fatal(err)
	}
	if err := x.Delete(key(7, 7)); err != nil {
		t.Fatal(err)
	}
	if hits := search(t, x, unit(1, 0), 10, vectorindex.Filter{}); !slices.Equal(keysOf(hits), []vectorindex.Key{key(1, 2)}) || x.Len() != 1 {
		t.Fatalf("after deleting: %v, Len %d", hits, x.Len())
	}
	if hits := search(t, x, unit(1, 0), 10, vectorindex.Filter{ShopID: 2}); len(hits) != 0 {
		t.Fatalf("a deleted shop's product: %v", hits)
	}
	var each []vectorindex.Key
	if err := x.Each(func(k vectorindex.Key, photos []string) bool {
		each = append(each, k)
		return true
	}); err != nil || !slices.Equal(each, []vectorindex.Key{key(1, 2)}) {
		t.Fatalf("Each: %v, %v", each, err)
	}
	if photos, _ := x.Photos(key(1, 1)); len(photos) != 0 {
		t.Fatalf("Photos of a deleted product: %v", photos)
	}
	// Back after a delete.
	upsert(t, x, key(2, 3), "c", unit(1, -1), meta)
	if hits := search(t, x, unit(1, -1), 1, vectorindex.Filter{}); len(hits) != 1 || hits[0].Key != key(2, 3) {
		t.Fatalf("upserted again after a delete: %v", hits)
	}
}

// testTies: products with equal scores come in key order (shop, then
// product id); an exact index keeps the lowest keys when ties overflow n.
func testTies(t *testing.T, open New) {
	x := open(t, 2)
	v := unit(1, 1)
	var want []vectorindex.Key
	for _, k := range []vectorindex.Key{key(2, 1), key(1, 30), key(1, 4), key(2, 0), key(1, 5)} {
		upsert(t, x, k, "a", v, vectorindex.Meta{Available: true})
	}
	want = []vectorindex.Key{key(1, 30), key(1, 4), key(1, 5), key(2, 0), key(2, 1)} // ids compare as text
	if got := keysOf(search(t, x, unit(1, 0.9), 10, vectorindex.Filter{})); !slices.Equal(got, want) {
		t.Fatalf("ties: %v, want %v", got, want)
	}
	if x.Capabilities().Exact {
		if got := keysOf(search(t, x, unit(1, 0.9), 3, vectorindex.Filter{})); !slices.Equal(got, want[:3]) {
			t.Fatalf("ties cut at 3: %v, want %v", got, want[:3])
		}
	}
	if hits := search(t, x, v, 0, vectorindex.Filter{}); len(hits) != 0 {
		t.Fatalf("n = 0: %v", hits)
	}
}

// testDimensions: a vector or query of another length is an error and
// changes nothing.
func testDimensions(t *testing.T, open New) {
	x := open(t, 4)
	if x.Dim() != 4 {
		t.Fatalf("Dim = %d", x.Dim())
	}
	upsert(t, x, key(1, 1), "a", unit(1, 0, 0, 0), vectorindex.Meta{})
	for _, v := range [][]float32{nil, {1, 0, 0}, {1, 0, 0, 0, 0}} {
		if err := x.Upsert(key(1, 2), "a", v, vectorindex.Meta{}); err == nil {
			t.Fatalf("a vector of %d dimensions accepted", len(v))
		}
		if err := x.Upsert(key(1, 1), "a", v, vectorindex.Meta{}); err == nil {
			t.Fatalf("a replacement of %d dimensions accepted", len(v))
		}
		if _, err := x.Search(v, 5, vectorindex.Filter{}); err == nil {
			t.Fatalf("a query of %d dimensions accepted", len(v))
		}
	}
	if x.Len() != 1 {
		t.Fatalf("Len = %d after refused upserts", x.Len())
	}
	if hits := search(t, x, unit(1, 0, 0, 0), 5, vectorindex.Filter{}); len(hits) != 1 || hits[0].Score < 0.999 {
		t.Fatalf("after refused upserts: %v", hits)
	}
}

// testParallel upserts, replaces, re-tags, deletes and searches from
// several goroutines at once (run with -race), then checks the end state.
func testParallel(t *testing.T, open New) {
	const dim, workers, per = 8, 4, 150
	x := open(t, dim)
	var wg sync.WaitGroup
	final := make([]*model, workers)
	for w := 0; w < workers; w++ {
		wg.Add(2)
		go func() { // writer w owns shop w+1
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			m := newModel()
			for i := 0; i < per; i++ {
				k := key(int64(w+1), i)
				v := randUnit(rng, dim)
				meta := vectorindex.Meta{Available: i%2 == 0}
				if err := x.Upsert(k, "a", v, meta); err != nil {
					t.Error(err)
					return
				}
				m.vecs[k], m.metas[k] = map[string][]float32{"a": v}, meta
				if i%3 == 0 {
					v2 := randUnit(rng, dim)
					if err := x.Upsert(k, "b", v2, meta); err != nil {
						t.Error(err)
						return
					}
					m.vecs[k]["b"] = v2
				}
				if i%5 == 0 {
					meta.Available = !meta.Available
					if err := x.SetMeta(k, meta); err != nil {
						t.Error(err)
						return
					}
					m.metas[k] = meta
				}
				if i%7 == 0 {
					old := key(int64(w+1), i/2)
					if err := x.Delete(old); err != nil {
						t.Error(err)
						return
					}
					delete(m.vecs, old)
					delete(m.metas, old)
				}
			}
			final[w] = m
		}()
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			yes := true
			for i := 0; i < 200; i++ {
				f := vectorindex.Filter{}
				switch i % 3 {
				case 1:
					f.ShopID = int64(1 + i%workers)
				case 2:
					f.Available = &yes
				}
				hits, err := x.Search(randUnit(rng, dim), 10, f)
				if err != nil {
					t.Error(err)
					return
				}
				if f.ShopID != 0 {
					for _, h := range hits {
						if h.Key.ShopID != f.ShopID {
							t.Errorf("shop %d filter returned %v", f.ShopID, h.Key)
							return
						}
					}
				}
				x.Len()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	all := newModel()
	photos := 0
	for _, m := range final {
		for k, v := range m.vecs {
			all.vecs[k], all.metas[k] = v, m.metas[k]
			photos += len(v)
		}
	}
	if x.Len() != photos {
		t.Fatalf("Len = %d, want %d", x.Len(), photos)
	}
	n := 0
	if err := x.Each(func(k vectorindex.Key, ph []string) bool {
		n++
		if len(ph) != len(all.vecs[k]) {
			t.Errorf("Each: %v has photos %v, want %d", k, ph, len(all.vecs[k]))
		}
		return true
	}); err != nil || n != len(all.vecs) {
		t.Fatalf("Each saw %d products, want %d (%v)", n, len(all.vecs), err)
	}
	// Every product is found by its own photo, with its final metadata.
	yes := true
	for k, ph := range all.vecs {
		f := vectorindex.Filter{ShopID: k.ShopID}
		if all.metas[k].Available {
			f.Available = &yes
		}
		hits := search(t, x, ph["a"], 1, f)
		if len(hits) != 1 || hits[0].Key != k || hits[0].Score < 0.999 {
			t.Fatalf("%v by its own photo: %v", k, hits)
		}
	}
}

// testRecall builds n vectors of clustered 64-d data as products of one to
// three photos (in 100 shops; half of the products available) and compares
// the products found with the exact answer.
func testRecall(t *testing.T, open New, n int) {
	if n == 0 {
		n = 4000
	}
	const dim, queries = 64, 100
	base := vectorgen.Clustered(n, dim, n/50, 2, 7)
	qs := vectorgen.Queries(queries, dim, n/50, 2, 7)
	x := open(t, dim)
	m := newModel()
	// Vectors i, i+1, … belong to one product: three photos for every
	// fifth product, two for every third, one for the others.
	type entry struct {
		k     vectorindex.Key
		photo string
		v     []float32
		meta  vectorindex.Meta
	}
	var entries []entry
	for i, p := 0, 0; i < n; p++ {
		photos := 1
		if p%5 == 0 {
			photos = 3
		} else if p%3 == 0 {
			photos = 2
		}
		k := key(int64(1+p%100), p)
		meta := vectorindex.Meta{Available: p%2 == 0}
		for j := 0; j < photos && i < n; j, i = j+1, i+1 {
			entries = append(entries, entry{k, "p" + strconv.Itoa(j), base.At(i), meta})
			if m.vecs[k] == nil {
				m.vecs[k] = map[string][]float32{}
			}
			m.vecs[k]["p"+strconv.Itoa(j)], m.metas[k] = base.At(i), meta
		}
	}
	vectorgen.Parallel(len(entries), func(i int) {
		e := entries[i]
		if err := x.Upsert(e.k, e.photo, e.v, e.meta); err != nil {
			t.Error(err)
		}
	})
	if t.Failed() {
		return
	}
	yes := true
	for _, c := range []struct {
		name string
		f    func(qi int) vectorindex.Filter
	}{
		{"all", func(int) vectorindex.Filter { return vectorindex.Filter{} }},
		{"shop 1 %", func(qi int) vectorindex.Filter { return vectorindex.Filter{ShopID: int64(1 + qi%100)} }},
		{"available 50 %", func(int) vectorindex.Filter { return vectorindex.Filter{Available: &yes} }},
	} {
		var found, total int
		for qi := 0; qi < queries; qi++ {
			f := c.f(qi)
			want := m.search(qs.At(qi), 10, f)
			got := search(t, x, qs.At(qi), 10, f)
			seen := map[vectorindex.Key]bool{}
			for _, h := range got {
				if !f.Match(h.Key, m.metas[h.Key]) || seen[h.Key] {
					t.Fatalf("%s: hit %v does not match the filter or comes twice", c.name, h.Key)
				}
				seen[h.Key] = true
			}
			for _, h := range want {
				if seen[h.Key] {
					found++
				}
			}
			total += len(want)
		}
		r := float64(found) / float64(total)
		if r < 0.95 {
			t.Errorf("%s: recall@10 = %.4f, want ≥ 0.95", c.name, r)
		} else {
			t.Logf("%s: recall@10 = %.4f", c.name, r)
		}
	}
}
