// Package vectorindex finds the nearest product vectors to a query vector.
//
// Flat is the embedded implementation: an exact, in-memory brute-force scan
// over one contiguous []float32 slab holding one vector per photo of each
// product, with the filters (shop, availability, price, height) applied to
// products before the top-k selection of products, each scored by its best
// photo. It holds no durable state: the
// store owns the vectors and the index is rebuilt from it at start.
package vectorindex

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/viterin/vek/vek32"

	"github.com/lookalike/lookalike/catalog"
)

// Key identifies a product.
type Key struct {
	ShopID    int64
	ProductID catalog.ProductID
}

// Meta is what filters look at.
type Meta struct {
	Available  bool
	HasPrice   bool
	PriceMinor int64  // in minor units of Currency
	Currency   string // ISO 4217 code of the price
	HasHeight  bool
	HeightCM   float64
}

// MetaOf is the filters' view of a product.
func MetaOf(p *catalog.Product) Meta {
	m := Meta{Available: p.Available}
	if p.Price != nil {
		m.HasPrice, m.PriceMinor, m.Currency = true, p.Price.Minor, p.Price.CurrencyCode()
	}
	if p.HeightCM != nil {
		m.HasHeight, m.HeightCM = true, *p.HeightCM
	}
	return m
}

// Filter restricts a search. Zero values mean "any".
type Filter struct {
	ShopID    int64 // 0: every shop
	Available *bool
	PriceMin  *int64 // minor units of Currency, inclusive
	PriceMax  *int64 // minor units of Currency, inclusive
	// Currency is the ISO 4217 code PriceMin and PriceMax are in. With a
	// price bound set, only products priced in it match: prices in two
	// currencies are never compared.
	Currency string
	// HeightMin and HeightMax bound the height in centimetres, inclusive;
	// with either set, products of unknown height do not match.
	HeightMin *float64
	HeightMax *float64
	Exclude   *Key // e.g. the product a "more like this" query starts from
}

// Match reports whether the product k with metadata m passes f.
func (f *Filter) Match(k Key, m Meta) bool {
	if f.ShopID != 0 && k.ShopID != f.ShopID {
		return false
	}
	if f.Available != nil && m.Available != *f.Available {
		return false
	}
	if (f.PriceMin != nil || f.PriceMax != nil) && (!m.HasPrice || m.Currency != f.Currency) {
		return false
	}
	if f.PriceMin != nil && m.PriceMinor < *f.PriceMin {
		return false
	}
	if f.PriceMax != nil && m.PriceMinor > *f.PriceMax {
		return false
	}
	if (f.HeightMin != nil || f.HeightMax != nil) && !m.HasHeight {
		return false
	}
	if f.HeightMin != nil && m.HeightCM < *f.HeightMin {
		return false
	}
	if f.HeightMax != nil && m.HeightCM > *f.HeightMax {
		return false
	}
	if f.Exclude != nil && *f.Exclude == k {
		return false
	}
	return true
}

// Hit is one search result: a product, the photo of it that matched best
// (its image hash) and that photo's score, the dot product (cosine
// similarity for unit vectors).
type Hit struct {
	Key   Key
	Photo string
	Score float32
}

var _ Index = (*Flat)(nil)

// Flat is an exact in-memory Index of products, each with one vector per
// photo. It is safe for concurrent use.
type Flat struct {
	dim int

	mu sync.RWMutex
	// The vectors, one per (product, photo).
	data  []float32 // len(owner)*dim
	owner []int32   // the product slot of each vector
	photo []string  // the image hash of each vector
	// The products.
	keys  []Key
	metas []Meta
	vecs  [][]int32 // the vector slots of each product
	slot  map[Key]int32
}

// NewFlat returns an empty index for vectors of length dim.
func NewFlat(dim int) *Flat {
	return &Flat{dim: dim, slot: make(map[Key]int32)}
}

// Dim returns the vector length.
func (x *Flat) Dim() int { return x.dim }

// Len returns the number of vectors (photos).
func (x *Flat) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.owner)
}

// Products returns the number of products.
func (x *Flat) Products() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.keys)
}

// Upsert adds or replaces the vector of photo (an image hash) of product k,
// and sets k's metadata.
func (x *Flat) Upsert(k Key, photo string, vec []float32, m Meta) error {
	if len(vec) != x.dim {
		return fmt.Errorf("vector has %d dimensions, index has %d", len(vec), x.dim)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	p, ok := x.slot[k]
	if !ok {
		p = int32(len(x.keys))
		x.slot[k] = p
		x.keys = append(x.keys, k)
		x.metas = append(x.metas, m)
		x.vecs = append(x.vecs, nil)
	}
	x.metas[p] = m
	if i := x.find(p, photo); i >= 0 {
		copy(x.data[i*x.dim:(i+1)*x.dim], vec)
		return nil
	}
	x.vecs[p] = append(x.vecs[p], int32(len(x.owner)))
	x.owner = append(x.owner, p)
	x.photo = append(x.photo, photo)
	x.data = append(x.data, vec...)
	return nil
}

// find returns the vector slot of photo of product slot p, or -1.
func (x *Flat) find(p int32, photo string) int {
	for _, i := range x.vecs[p] {
		if x.photo[i] == photo {
			return int(i)
		}
	}
	return -1
}

// SetMeta updates the metadata of k, if present.
func (x *Flat) SetMeta(k Key, m Meta) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if p, ok := x.slot[k]; ok {
		x.metas[p] = m
	}
	return nil
}

// Delete removes product k, all its photos, if present.
func (x *Flat) Delete(k Key) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	p, ok := x.slot[k]
	if !ok {
		return nil
	}
	for len(x.vecs[p]) > 0 {
		x.removeVector(int(x.vecs[p][0]))
	}
	x.removeProduct(p)
	return nil
}

// DeletePhoto removes one photo's vector of product k; a product left
// without photos leaves the index.
func (x *Flat) DeletePhoto(k Key, photo string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	p, ok := x.slot[k]
	if !ok {
		return nil
	}
	if i := x.find(p, photo); i >= 0 {
		x.removeVector(i)
	}
	if len(x.vecs[p]) == 0 {
		x.removeProduct(p)
	}
	return nil
}

// removeVector drops vector slot i, moving the last vector into it.
func (x *Flat) removeVector(i int) {
	p := x.owner[i]
	list := x.vecs[p]
	for j, v := range list {
		if int(v) == i {
			list[j] = list[len(list)-1]
			x.vecs[p] = list[:len(list)-1]
			break
		}
	}
	last := len(x.owner) - 1
	if i != last {
		copy(x.data[i*x.dim:(i+1)*x.dim], x.data[last*x.dim:(last+1)*x.dim])
		x.owner[i], x.photo[i] = x.owner[last], x.photo[last]
		moved := x.vecs[x.owner[i]]
		for j, v := range moved {
			if int(v) == last {
				moved[j] = int32(i)
				break
			}
		}
	}
	x.owner, x.photo, x.data = x.owner[:last], x.photo[:last], x.data[:last*x.dim]
}

// removeProduct drops product slot p (which has no vectors left), moving
// the last product into it.
func (x *Flat) removeProduct(p int32) {
	last := int32(len(x.keys) - 1)
	delete(x.slot, x.keys[p])
	if p != last {
		x.keys[p], x.metas[p], x.vecs[p] = x.keys[last], x.metas[last], x.vecs[last]
		x.slot[x.keys[p]] = p
		for _, v := range x.vecs[p] {
			x.owner[v] = p
		}
	}
	x.keys, x.metas, x.vecs = x.keys[:last], x.metas[:last], x.vecs[:last]
}

// Photos returns the image hashes of k's photos in the index.
func (x *Flat) Photos(k Key) ([]string, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, ok := x.slot[k]
	if !ok {
		return nil, nil
	}
	return x.photosOf(p), nil
}

func (x *Flat) photosOf(p int32) []string {
	out := make([]string, len(x.vecs[p]))
	for j, v := range x.vecs[p] {
		out[j] = x.photo[v]
	}
	return out
}

// Each calls fn with every product and its photos until fn returns false.
func (x *Flat) Each(fn func(k Key, photos []string) bool) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for p, k := range x.keys {
		if !fn(k, x.photosOf(int32(p))) {
			break
		}
	}
	return nil
}

// Capabilities: an exact scan in this process.
func (x *Flat) Capabilities() Capabilities { return Capabilities{Exact: true} }

// Close does nothing: the vectors are on the heap.
func (x *Flat) Close() error { return nil }

// Vector returns a copy of the vector of photo of k.
func (x *Flat) Vector(k Key, photo string) ([]float32, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, ok := x.slot[k]
	if !ok {
		return nil, false
	}
	i := x.find(p, photo)
	if i < 0 {
		return nil, false
	}
	return append([]float32(nil), x.data[i*x.dim:(i+1)*x.dim]...), true
}

// Search returns up to k products matching f, best first, each once: a
// product scores as its best photo.
func (x *Flat) Search(q []float32, k int, f Filter) ([]Hit, error) {
	if len(q) != x.dim {
		return nil, fmt.Errorf("query has %d dimensions, index has %d", len(q), x.dim)
	}
	if k <= 0 {
		return nil, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	np, n := len(x.keys), len(x.owner)
	// The filters look at products; best holds each product's best photo.
	// Large indexes are scanned in parts, one per core, each scoring a
	// slice of the vectors into its own bests (part 0 into best and bestV);
	// the filters and the merge are split over the products the same way.
	parts := max(1, min(runtime.GOMAXPROCS(0), n/parallelMin))
	match := make([]bool, np)
	bests := make([][]float32, parts)
	bestVs := make([][]int32, parts)
	for i := range bests {
		bests[i], bestVs[i] = make([]float32, np), make([]int32, np)
	}
	inParts(parts, func(i int) {
		for p := i * np / parts; p < (i+1)*np/parts; p++ {
			match[p] = f.Match(x.keys[p], x.metas[p])
			for _, bv := range bestVs {
				bv[p] = -1
			}
		}
	})
	// The vectors are taken in chunks as the parts get to them, so a core
	// busy with other work takes fewer.
	var next atomic.Int64
	inParts(parts, func(i int) {
		for {
			from := int(next.Add(scanChunk)) - scanChunk
			if from >= n {
				return
			}
			x.scan(q, match, bests[i], bestVs[i], from, min(from+scanChunk, n))
		}
	})
	best, bestV := bests[0], bestVs[0]
	if parts > 1 {
		inParts(parts, func(i int) {
			for p := i * np / parts; p < (i+1)*np/parts; p++ {
				for j := 1; j < parts; j++ { // the earlier vector wins ties
					if v, s := bestVs[j][p], bests[j][p]; v >= 0 && (bestV[p] < 0 || s > best[p] || s == best[p] && v < bestV[p]) {
						best[p], bestV[p] = bests[j][p], v
					}
				}
			}
		})
	}
	top := make(topK, 0, k)
	for p, v := range bestV {
		if v >= 0 {
			top.offer(Hit{Key: x.keys[p], Photo: x.photo[v], Score: best[p]}, k)
		}
	}
	SortHits(top)
	return top, nil
}

// inParts runs fn(0) … fn(parts-1), each but the last in a goroutine of its
// own, and waits for them.
func inParts(parts int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < parts-1; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	fn(parts - 1)
	wg.Wait()
}

// scanChunk is how many vectors a part of a parallel scan takes at a time.
const scanChunk = 2048

// parallelMin is how many vectors a goroutine scans at least: below it the
// goroutines cost more than they save.
const parallelMin = 8192

// scan scores vectors [from, to) of matching products, keeping each
// product's best in best and bestV (the vector slot; -1: none yet).
func (x *Flat) scan(q []float32, match []bool, best []float32, bestV []int32, from, to int) {
	dim := x.dim
	for i := from; i < to; i++ {
		p := x.owner[i]
		if !match[p] {
			continue
		}
		s := dot(q, x.data[i*dim:(i+1)*dim:(i+1)*dim])
		if bestV[p] < 0 || s > best[p] {
			best[p], bestV[p] = s, int32(i)
		}
	}
}

// worse reports whether a ranks after b (so that equal scores cut at k
// keep the same products whatever order they were added in).
func worse(a, b Hit) bool { return Before(b, a) }

// Before reports whether a ranks before b: a higher score, or an equal one
// and a lower key (shop, then product id).
func Before(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	if a.Key.ShopID != b.Key.ShopID {
		return a.Key.ShopID < b.Key.ShopID
	}
	return a.Key.ProductID < b.Key.ProductID
}

// SortHits orders hits best first, equal scores in key order (Before).
func SortHits(h []Hit) { sort.Slice(h, func(a, b int) bool { return Before(h[a], h[b]) }) }

// offer adds h if it is among the best k so far.
func (h *topK) offer(x Hit, k int) {
	if len(*h) < k {
		h.push(x)
	} else if worse((*h)[0], x) {
		(*h)[0] = x
		h.down(0)
	}
}

// Dot is the inner product of two vectors; b may be longer than a. It uses
// SIMD (AVX2 with FMA, through vek) where the CPU has it, else plain Go.
func Dot(a, b []float32) float32 { return dot(a, b) }

// dot is the dot product Dot and the scan use, chosen once at start (the
// benchmark switches it to compare the two).
var dot = dotGo

func init() {
	if vek32.Info().Acceleration {
		dot = dotSIMD
	}
}

// dotSIMD is vek's AVX2 dot product. vek falls back on a one-accumulator Go
// loop on CPUs without AVX2, slower than dotGo, so it is chosen only where
// it is accelerated.
func dotSIMD(a, b []float32) float32 {
	if len(a) == 0 {
		return 0 // vek panics on empty vectors
	}
	return vek32.Dot(a, b[:len(a)])
}

// dotGo is the plain Go dot product, four accumulators wide.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// topK is a heap of hits, the worst on top.
type topK []Hit

func (h *topK) push(x Hit) {
	*h = append(*h, x)
	i := len(*h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !worse((*h)[i], (*h)[p]) {
			break
		}
		(*h)[p], (*h)[i] = (*h)[i], (*h)[p]
		i = p
	}
}

func (h topK) down(i int) {
	for {
		l, small := 2*i+1, i
		if l < len(h) && worse(h[l], h[small]) {
			small = l
		}
		if r := l + 1; r < len(h) && worse(h[r], h[small]) {
			small = r
		}
		if small == i {
			return
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
}
