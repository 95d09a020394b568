// Package vectorindex finds the nearest product vectors to a query vector.
//
// Flat is the embedded implementation: an exact, in-memory brute-force scan
// over one contiguous []float32 slab, with the filters (shop, availability,
// price, height) applied before the top-k selection. It holds no durable state: the
// store owns the vectors and the index is rebuilt from it at start.
package vectorindex

import (
	"fmt"
	"runtime"
	"sort"
	"sync"

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

// Hit is one search result; Score is the dot product (cosine similarity for
// unit vectors).
type Hit struct {
	Key   Key
	Score float32
}

// Flat is an exact in-memory index. It is safe for concurrent use.
type Flat struct {
	dim int

	mu    sync.RWMutex
	data  []float32 // len(keys)*dim
	keys  []Key
	metas []Meta
	slot  map[Key]int
}

// NewFlat returns an empty index for vectors of length dim.
func NewFlat(dim int) *Flat {
	return &Flat{dim: dim, slot: make(map[Key]int)}
}

// Dim returns the vector length.
func (x *Flat) Dim() int { return x.dim }

// Len returns the number of vectors.
func (x *Flat) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.keys)
}

// Upsert adds or replaces the vector and metadata of k.
func (x *Flat) Upsert(k Key, vec []float32, m Meta) error {
	if len(vec) != x.dim {
		return fmt.Errorf("vector has %d dimensions, index has %d", len(vec), x.dim)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if i, ok := x.slot[k]; ok {
		copy(x.data[i*x.dim:(i+1)*x.dim], vec)
		x.metas[i] = m
		return nil
	}
	x.slot[k] = len(x.keys)
	x.keys = append(x.keys, k)
	x.metas = append(x.metas, m)
	x.data = append(x.data, vec...)
	return nil
}

// SetMeta updates the metadata of k and reports whether k is present.
func (x *Flat) SetMeta(k Key, m Meta) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	i, ok := x.slot[k]
	if ok {
		x.metas[i] = m
	}
	return ok
}

// Delete removes k if present.
func (x *Flat) Delete(k Key) {
	x.mu.Lock()
	defer x.mu.Unlock()
	i, ok := x.slot[k]
	if !ok {
		return
	}
	last := len(x.keys) - 1
	if i != last {
		x.keys[i] = x.keys[last]
		x.metas[i] = x.metas[last]
		copy(x.data[i*x.dim:(i+1)*x.dim], x.data[last*x.dim:(last+1)*x.dim])
		x.slot[x.keys[i]] = i
	}
	x.keys = x.keys[:last]
	x.metas = x.metas[:last]
	x.data = x.data[:last*x.dim]
	delete(x.slot, k)
}

// Vector returns a copy of k's vector.
func (x *Flat) Vector(k Key) ([]float32, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i, ok := x.slot[k]
	if !ok {
		return nil, false
	}
	return append([]float32(nil), x.data[i*x.dim:(i+1)*x.dim]...), true
}

// Search returns up to k hits matching f, best first.
func (x *Flat) Search(q []float32, k int, f Filter) ([]Hit, error) {
	if len(q) != x.dim {
		return nil, fmt.Errorf("query has %d dimensions, index has %d", len(q), x.dim)
	}
	if k <= 0 {
		return nil, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.keys)
	parts := min(runtime.GOMAXPROCS(0), n/parallelMin)
	var top topK
	if parts <= 1 {
		top = x.scan(q, k, &f, 0, n)
	} else {
		// Large indexes: scan slices in parallel, then merge the partial tops.
		tops := make([]topK, parts)
		var wg sync.WaitGroup
		for p := 0; p < parts; p++ {
			wg.Add(1)
			go func(p int) {
				defer wg.Done()
				tops[p] = x.scan(q, k, &f, p*n/parts, (p+1)*n/parts)
			}(p)
		}
		wg.Wait()
		top = tops[0]
		for _, t := range tops[1:] {
			for _, h := range t {
				top.offer(h, k)
			}
		}
	}
	sort.Slice(top, func(a, b int) bool {
		if top[a].Score != top[b].Score {
			return top[a].Score > top[b].Score
		}
		if top[a].Key.ShopID != top[b].Key.ShopID {
			return top[a].Key.ShopID < top[b].Key.ShopID
		}
		return top[a].Key.ProductID < top[b].Key.ProductID
	})
	return top, nil
}

// parallelMin is how many vectors a goroutine scans at least: below it the
// goroutines cost more than they save.
const parallelMin = 8192

// scan keeps the best k of vectors [from, to) that match f.
func (x *Flat) scan(q []float32, k int, f *Filter, from, to int) topK {
	top := make(topK, 0, k)
	dim := x.dim
	for i := from; i < to; i++ {
		key := x.keys[i]
		if !f.Match(key, x.metas[i]) {
			continue
		}
		top.offer(Hit{key, Dot(q, x.data[i*dim:(i+1)*dim:(i+1)*dim])}, k)
	}
	return top
}

// offer adds h if it is among the best k so far.
func (h *topK) offer(x Hit, k int) {
	if len(*h) < k {
		h.push(x)
	} else if x.Score > (*h)[0].Score {
		(*h)[0] = x
		h.down(0)
	}
}

// Dot is the inner product of two equal-length vectors.
func Dot(a, b []float32) float32 {
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

// topK is a min-heap on Score.
type topK []Hit

func (h *topK) push(x Hit) {
	*h = append(*h, x)
	i := len(*h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if (*h)[p].Score <= (*h)[i].Score {
			break
		}
		(*h)[p], (*h)[i] = (*h)[i], (*h)[p]
		i = p
	}
}

func (h topK) down(i int) {
	for {
		l, small := 2*i+1, i
		if l < len(h) && h[l].Score < h[small].Score {
			small = l
		}
		if r := l + 1; r < len(h) && h[r].Score < h[small].Score {
			small = r
		}
		if small == i {
			return
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
}

// Keys returns every key in the index, in no particular order.
func (x *Flat) Keys() []Key {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return append([]Key(nil), x.keys...)
}
