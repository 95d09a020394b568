package vectorindex

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/lookalike/lookalike/catalog"
)

func randUnit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		n += float64(v[i] * v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

// photoVecs are a product's vectors by photo.
type photoVecs map[string][]float32

// bruteForce is the reference the index must agree with: each product once,
// scored by its best photo.
func bruteForce(vecs map[Key]photoVecs, metas map[Key]Meta, q []float32, k int, f Filter) []Hit {
	var all []Hit
	for key, photos := range vecs {
		if !f.Match(key, metas[key]) {
			continue
		}
		h := Hit{Key: key, Score: -2}
		for photo, v := range photos {
			if s := Dot(q, v); s > h.Score {
				h.Score, h.Photo = s, photo
			}
		}
		all = append(all, h)
	}
	sort.Slice(all, func(a, b int) bool { return all[a].Score > all[b].Score })
	if len(all) > k {
		all = all[:k]
	}
	return all
}

func TestFlatMatchesBruteForceWithFilters(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const dim = 37
	x := NewFlat(dim)
	vecs := map[Key]photoVecs{}
	metas := map[Key]Meta{}
	photos := 0
	for i := 0; i < 600; i++ {
		k := Key{ShopID: int64(1 + i%3), ProductID: catalog.ProductIDOf(int64(i))}
		m := Meta{Available: i%4 != 0, HasPrice: i%5 != 0, PriceMinor: int64(rng.Intn(10000)) * 100}
		vecs[k], metas[k] = photoVecs{}, m
		for j := 0; j <= i%4; j++ { // one to four photos
			v := randUnit(rng, dim)
			if err := x.Upsert(k, strconv.Itoa(j), v, m); err != nil {
				t.Fatal(err)
			}
			vecs[k][strconv.Itoa(j)] = v
			photos++
		}
	}
	// Deletes and replacements exercise the swap-remove bookkeeping.
	for i := 0; i < 600; i += 7 {
		k := Key{ShopID: int64(1 + i%3), ProductID: catalog.ProductIDOf(int64(i))}
		x.Delete(k)
		photos -= len(vecs[k])
		delete(vecs, k)
	}
	for i := 1; i < 600; i += 11 {
		k := Key{ShopID: int64(1 + i%3), ProductID: catalog.ProductIDOf(int64(i))}
		if _, ok := vecs[k]; !ok {
			continue
		}
		v := randUnit(rng, dim)
		m := metas[k]
		m.Available = !m.Available
		x.Upsert(k, "0", v, m)
		vecs[k]["0"], metas[k] = v, m
	}
	// Removing photos one by one; the last one takes the product out.
	for i := 3; i < 600; i += 5 {
		k := Key{ShopID: int64(1 + i%3), ProductID: catalog.ProductIDOf(int64(i))}
		if _, ok := vecs[k]; !ok {
			continue
		}
		x.DeletePhoto(k, "0")
		photos--
		if delete(vecs[k], "0"); len(vecs[k]) == 0 {
			delete(vecs, k)
		}
	}
	if x.Len() != photos || x.Products() != len(vecs) {
		t.Fatalf("Len = %d, Products = %d; want %d, %d", x.Len(), x.Products(), photos, len(vecs))
	}
	for k, pv := range vecs {
		if got, _ := x.Photos(k); len(got) != len(pv) {
			t.Fatalf("Photos(%v) = %v, want %d", k, got, len(pv))
		}
	}
	yes := true
	lo, hi := int64(200000), int64(700000)
	filters := []Filter{
		{},
		{ShopID: 2},
		{Available: &yes},
		{ShopID: 1, Available: &yes, PriceMin: &lo, PriceMax: &hi},
		{PriceMax: &lo},
		{Exclude: &Key{1, "3"}},
	}
	for fi, f := range filters {
		for trial := 0; trial < 20; trial++ {
			q := randUnit(rng, dim)
			got, err := x.Search(q, 10, f)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteForce(vecs, metas, q, 10, f)
			if len(got) != len(want) {
				t.Fatalf("filter %d: %d hits, want %d", fi, len(got), len(want))
			}
			for i := range got {
				if got[i].Key != want[i].Key || got[i].Photo != want[i].Photo {
					t.Fatalf("filter %d hit %d: %v, want %v", fi, i, got[i], want[i])
				}
				if !f.Match(got[i].Key, metas[got[i].Key]) {
					t.Fatalf("filter %d: hit %v does not match", fi, got[i].Key)
				}
			}
		}
	}
}

func TestFlatSetMetaAndVector(t *testing.T) {
	x := NewFlat(2)
	k := Key{1, "1"}
	if err := x.SetMeta(k, Meta{}); err != nil || x.Len() != 0 {
		t.Fatal("SetMeta on a missing key:", err, x.Len())
	}
	x.Upsert(k, "a", []float32{1, 0}, Meta{Available: true})
	no := false
	if hits, _ := x.Search([]float32{1, 0}, 5, Filter{Available: &no}); len(hits) != 0 {
		t.Fatalf("unavailable filter returned %v", hits)
	}
	x.SetMeta(k, Meta{Available: false})
	if hits, _ := x.Search([]float32{1, 0}, 5, Filter{Available: &no}); len(hits) != 1 {
		t.Fatalf("after SetMeta: %v", hits)
	}
	v, ok := x.Vector(k, "a")
	if !ok || v[0] != 1 {
		t.Fatalf("Vector = %v %v", v, ok)
	}
	if _, ok := x.Vector(k, "b"); ok {
		t.Fatal("Vector of a photo not in the index")
	}
	if err := x.Upsert(k, "a", []float32{1}, Meta{}); err == nil {
		t.Fatal("wrong dimension accepted")
	}
	if _, err := x.Search([]float32{1}, 1, Filter{}); err == nil {
		t.Fatal("wrong query dimension accepted")
	}
}

func TestFlatConcurrent(t *testing.T) {
	x := NewFlat(8)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for i := 0; i < 300; i++ {
				k := Key{1, catalog.ProductIDOf(int64(rng.Intn(50)))}
				switch rng.Intn(3) {
				case 0:
					x.Upsert(k, strconv.Itoa(rng.Intn(3)), randUnit(rng, 8), Meta{Available: true})
				case 1:
					if rng.Intn(2) == 0 {
						x.Delete(k)
					} else {
						x.DeletePhoto(k, strconv.Itoa(rng.Intn(3)))
					}
				default:
					x.Search(randUnit(rng, 8), 5, Filter{})
				}
			}
		}(g)
	}
	wg.Wait()
	if x.Products() > 50 || x.Len() > 150 {
		t.Fatalf("Len = %d, Products = %d after ops on 50 keys of 3 photos", x.Len(), x.Products())
	}
}

// BenchmarkFlatSearch measures one query over catalogues of 1,000 to
// 100,000 512-d vectors (CLIP), with the default availability filter, with
// the dot product the index uses (simd where the CPU has AVX2) and with the
// plain Go one (go), side by side in one run.
func BenchmarkFlatSearch(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			x := NewFlat(512)
			for i := 0; i < n; i++ {
				x.Upsert(Key{1, catalog.ProductIDOf(int64(i))}, "0", randUnit(rng, 512), Meta{Available: i%10 != 0})
			}
			q := randUnit(rng, 512)
			yes := true
			chosen := dot
			for _, v := range []struct {
				name string
				dot  func(a, b []float32) float32
			}{{"go", dotGo}, {"simd", chosen}} {
				b.Run(v.name, func(b *testing.B) {
					dot = v.dot
					defer func() { dot = chosen }()
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						x.Search(q, 10, Filter{ShopID: 1, Available: &yes})
					}
				})
			}
		})
	}
}

// The SIMD dot product agrees with the plain one, on lengths that are and
// are not multiples of the SIMD width, relative to the sum of the products'
// magnitudes (the scale of float32 rounding).
func TestDotSIMDMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, n := range []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 511, 512, 513, 1000} {
		for trial := 0; trial < 20; trial++ {
			a, b := make([]float32, n), make([]float32, n+trial%2) // b may be longer
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			var scale float64
			for i := range a {
				scale += math.Abs(float64(a[i]) * float64(b[i]))
			}
			got, want := dotSIMD(a, b), dotGo(a, b)
			if d := math.Abs(float64(got) - float64(want)); d > 1e-5*scale {
				t.Fatalf("n=%d: simd %v, go %v (|diff| %g > 1e-5 x %g)", n, got, want, d, scale)
			}
			if Dot(a, b) != dot(a, b) {
				t.Fatalf("n=%d: Dot does not use the chosen dot product", n)
			}
		}
	}
}

// Large indexes are scanned in parallel; the merge must give the same hits.
func TestFlatParallelScanMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	const dim, n = 8, 3 * parallelMin
	x := NewFlat(dim)
	vecs := map[Key]photoVecs{}
	metas := map[Key]Meta{}
	for i := 0; i < n; i++ {
		k := Key{ShopID: 1, ProductID: catalog.ProductIDOf(int64(i / 2))} // two photos each
		v := randUnit(rng, dim)
		m := Meta{Available: i%3 != 0}
		x.Upsert(k, strconv.Itoa(i%2), v, m)
		if vecs[k] == nil {
			vecs[k] = photoVecs{}
		}
		vecs[k][strconv.Itoa(i%2)], metas[k] = v, m
	}
	yes := true
	for trial := 0; trial < 10; trial++ {
		q := randUnit(rng, dim)
		for _, f := range []Filter{{}, {Available: &yes}} {
			got, _ := x.Search(q, 25, f)
			want := bruteForce(vecs, metas, q, 25, f)
			for i := range want {
				if got[i].Key != want[i].Key || got[i].Photo != want[i].Photo {
					t.Fatalf("hit %d: %v, want %v", i, got[i], want[i])
				}
			}
		}
	}
}

// A price bound applies to products priced in the filter's currency only:
// 2 000 RUB is not "under 3 000" in a tenge search, and 1 500 yen is
// compared with yen bounds, never with tenge ones.
func TestFlatPriceFilterCurrency(t *testing.T) {
	x := NewFlat(2)
	x.Upsert(Key{1, "1"}, "a", []float32{1, 0}, Meta{Available: true, HasPrice: true, PriceMinor: 200000, Currency: "KZT"})
	x.Upsert(Key{1, "2"}, "a", []float32{1, 0}, Meta{Available: true, HasPrice: true, PriceMinor: 200000, Currency: "RUB"})
	x.Upsert(Key{1, "3"}, "a", []float32{1, 0}, Meta{Available: true, HasPrice: true, PriceMinor: 1500, Currency: "JPY"})
	x.Upsert(Key{1, "4"}, "a", []float32{1, 0}, Meta{Available: true})
	ids := func(f Filter) []catalog.ProductID {
		hits, err := x.Search([]float32{1, 0}, 10, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []catalog.ProductID
		for _, h := range hits {
			out = append(out, h.Key.ProductID)
		}
		return out
	}
	p := func(v int64) *int64 { return &v }
	for _, c := range []struct {
		f    Filter
		want string
	}{
		{Filter{PriceMax: p(300000), Currency: "KZT"}, "[1]"},
		{Filter{PriceMin: p(100000), Currency: "RUB"}, "[2]"},
		{Filter{PriceMax: p(2000), Currency: "JPY"}, "[3]"},
		{Filter{PriceMax: p(2000), Currency: "KZT"}, "[]"},
		{Filter{PriceMin: p(0), Currency: "UAH"}, "[]"},
		{Filter{Currency: "KZT"}, "[1 2 3 4]"}, // no bound: currency does not filter
	} {
		if got := fmt.Sprint(ids(c.f)); got != c.want {
			t.Errorf("%+v: %s, want %s", c.f, got, c.want)
		}
	}
}

// Photos of a product that score the same: the hit names the one indexed
// first, however the parallel scan splits the vectors.
func TestFlatParallelScanTiesPickFirstPhoto(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	const dim, np = 4, 2 * parallelMin
	x := NewFlat(dim)
	vecs := make([][]float32, np)
	for _, photo := range []string{"first", "second"} {
		for i := range vecs {
			if vecs[i] == nil {
				vecs[i] = randUnit(rng, dim)
			}
			x.Upsert(Key{1, catalog.ProductIDOf(int64(i))}, photo, vecs[i], Meta{})
		}
	}
	for trial := 0; trial < 20; trial++ {
		got, _ := x.Search(randUnit(rng, dim), 50, Filter{})
		for _, h := range got {
			if h.Photo != "first" {
				t.Fatalf("hit %v names photo %q, want the first indexed", h.Key, h.Photo)
			}
		}
	}
}
