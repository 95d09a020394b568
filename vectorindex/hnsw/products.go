package hnsw

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
)

// PhotoKey names one node of Products: a product's photo (image hash).
type PhotoKey struct {
	Key   vectorindex.Key
	Photo string
}

// ProductConfig configures Products: an Index of photos, each node
// carrying its product's metadata. Group and Codec are set by Products
// (groups are shops).
type ProductConfig = Config[PhotoKey, vectorindex.Meta]

// Products is a vectorindex.Index over an HNSW graph with one node per
// (product, photo): a search fetches more photos than products asked for
// and keeps each product's best, fetching again while photos of the same
// products crowd out the others. The products' metadata are copied into
// each of their nodes, so filters are applied in the graph (see Index).
type Products struct {
	x     *Index[PhotoKey, vectorindex.Meta]
	seed  maphash.Seed
	locks [64]sync.Mutex // one product's changes run one at a time

	mu     sync.RWMutex
	photos map[vectorindex.Key][]string
	metas  map[vectorindex.Key]vectorindex.Meta
}

var _ vectorindex.Index = (*Products)(nil)

func forProducts(c *ProductConfig) {
	c.Group = func(k PhotoKey) int64 { return k.Key.ShopID }
	c.Codec = photoCodec{}
}

// NewProducts returns an empty index (see New for cfg.Dir).
func NewProducts(cfg ProductConfig) (*Products, error) {
	forProducts(&cfg)
	x, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return wrap(x), nil
}

// LoadProducts opens the index saved in cfg.Dir with token (see Load and
// its errors).
func LoadProducts(cfg ProductConfig, token uint64) (*Products, error) {
	forProducts(&cfg)
	x, err := Load(cfg, token)
	if err != nil {
		return nil, err
	}
	p := wrap(x)
	x.All(func(k PhotoKey, m vectorindex.Meta) bool {
		p.photos[k.Key] = append(p.photos[k.Key], k.Photo)
		p.metas[k.Key] = m
		return true
	})
	return p, nil
}

func wrap(x *Index[PhotoKey, vectorindex.Meta]) *Products {
	return &Products{x: x, seed: maphash.MakeSeed(), photos: map[vectorindex.Key][]string{}, metas: map[vectorindex.Key]vectorindex.Meta{}}
}

// Graph is the HNSW index of photos underneath (for Save, Repair, Retrain
// and Clamped).
func (p *Products) Graph() *Index[PhotoKey, vectorindex.Meta] { return p.x }

// Save saves the graph (see Index.Save).
func (p *Products) Save(token uint64) error { return p.x.Save(token) }

func (p *Products) lock(k vectorindex.Key) func() {
	mu := &p.locks[maphash.Comparable(p.seed, k)%uint64(len(p.locks))]
	mu.Lock()
	return mu.Unlock
}

// Dim returns the vector length.
func (p *Products) Dim() int { return p.x.Dim() }

// Len returns the number of photos.
func (p *Products) Len() int { return p.x.Len() }

// Products returns the number of products.
func (p *Products) Products() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.photos)
}

// Upsert adds or replaces the vector of photo of k and sets k's metadata
// on all its photos.
func (p *Products) Upsert(k vectorindex.Key, photo string, vec []float32, m vectorindex.Meta) error {
	if len(vec) != p.x.Dim() {
		return fmt.Errorf("vector has %d dimensions, index has %d", len(vec), p.x.Dim())
	}
	defer p.lock(k)()
	p.mu.RLock()
	photos, old := p.photos[k], p.metas[k]
	p.mu.RUnlock()
	if err := p.x.Upsert(PhotoKey{k, photo}, vec, m); err != nil {
		return err
	}
	if old != m {
		for _, ph := range photos {
			if ph != photo {
				p.x.SetMeta(PhotoKey{k, ph}, m)
			}
		}
	}
	p.mu.Lock()
	if !slices.Contains(photos, photo) {
		p.photos[k] = append(p.photos[k], photo)
	}
	p.metas[k] = m
	p.mu.Unlock()
	return nil
}

// SetMeta replaces k's metadata, if k is present.
func (p *Products) SetMeta(k vectorindex.Key, m vectorindex.Meta) error {
	defer p.lock(k)()
	p.mu.RLock()
	photos, old := p.photos[k], p.metas[k]
	p.mu.RUnlock()
	if len(photos) == 0 || old == m {
		return nil
	}
	for _, ph := range photos {
		p.x.SetMeta(PhotoKey{k, ph}, m)
	}
	p.mu.Lock()
	p.metas[k] = m
	p.mu.Unlock()
	return nil
}

// Delete removes k and all its photos.
func (p *Products) Delete(k vectorindex.Key) error {
	defer p.lock(k)()
	p.mu.Lock()
	photos := p.photos[k]
	delete(p.photos, k)
	delete(p.metas, k)
	p.mu.Unlock()
	for _, ph := range photos {
		p.x.Delete(PhotoKey{k, ph})
	}
	return nil
}

// DeletePhoto removes one photo of k; k leaves with its last photo.
func (p *Products) DeletePhoto(k vectorindex.Key, photo string) error {
	defer p.lock(k)()
	p.x.Delete(PhotoKey{k, photo})
	p.mu.Lock()
	defer p.mu.Unlock()
	photos := p.photos[k]
	if i := slices.Index(photos, photo); i >= 0 {
		photos = slices.Delete(slices.Clone(photos), i, i+1)
	}
	if len(photos) == 0 {
		delete(p.photos, k)
		delete(p.metas, k)
	} else {
		p.photos[k] = photos
	}
	return nil
}

// Photos returns k's photos.
func (p *Products) Photos(k vectorindex.Key) ([]string, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.photos[k]), nil
}

// Each calls fn with every product and its photos until fn returns false.
func (p *Products) Each(fn func(k vectorindex.Key, photos []string) bool) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for k, photos := range p.photos {
		if !fn(k, slices.Clone(photos)) {
			break
		}
	}
	return nil
}

// Capabilities: approximate, in this process.
func (p *Products) Capabilities() vectorindex.Capabilities { return vectorindex.Capabilities{} }

// Close closes the graph (a saved one stays on disk).
func (p *Products) Close() error { return p.x.Close() }

// Search returns up to n products matching f, best first, each scored by
// its best photo.
func (p *Products) Search(q []float32, n int, f vectorindex.Filter) ([]vectorindex.Hit, error) {
	if len(q) != p.x.Dim() {
		return nil, fmt.Errorf("query has %d dimensions, index has %d", len(q), p.x.Dim())
	}
	if n <= 0 {
		return nil, nil
	}
	hf := Filter[PhotoKey, vectorindex.Meta]{Group: f.ShopID}
	rest := f
	rest.ShopID = 0 // the group does that
	if rest != (vectorindex.Filter{}) {
		hf.Match = func(k PhotoKey, m vectorindex.Meta) bool { return f.Match(k.Key, m) }
	}
	// Fetch photos for about n products (more when products have several
	// photos), and again for more while fewer distinct products came back.
	photos, products := p.x.Len(), max(p.Products(), 1)
	fetch := n
	if photos > products {
		fetch = n * (photos + products - 1) / products
	}
	for {
		hits, err := p.x.Search(q, fetch, hf)
		if err != nil {
			return nil, err
		}
		out := fuse(hits, n)
		if len(out) >= n || len(hits) < fetch || fetch >= photos {
			return out, nil
		}
		fetch = min(4*fetch, photos)
	}
}

// fuse keeps each product's best photo (hits are best first) and returns
// up to n products, best first, equal scores in key order.
func fuse(hits []Hit[PhotoKey], n int) []vectorindex.Hit {
	seen := make(map[vectorindex.Key]bool, len(hits))
	out := make([]vectorindex.Hit, 0, min(n, len(hits)))
	for _, h := range hits {
		if seen[h.Key.Key] {
			continue
		}
		seen[h.Key.Key] = true
		out = append(out, vectorindex.Hit{Key: h.Key.Key, Photo: h.Key.Photo, Score: h.Score})
	}
	vectorindex.SortHits(out)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// photoCodec writes a PhotoKey and its metadata into a saved graph.
type photoCodec struct{}

func (photoCodec) Append(b []byte, k PhotoKey, m vectorindex.Meta) []byte {
	le := binary.LittleEndian
	b = le.AppendUint64(b, uint64(k.Key.ShopID))
	b = appendString(b, string(k.Key.ProductID))
	b = appendString(b, k.Photo)
	var flags byte
	if m.Available {
		flags |= 1
	}
	if m.HasPrice {
		flags |= 2
	}
	if m.HasHeight {
		flags |= 4
	}
	b = append(b, flags)
	b = le.AppendUint64(b, uint64(m.PriceMinor))
	b = appendString(b, m.Currency)
	return le.AppendUint64(b, math.Float64bits(m.HeightCM))
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errShortEntry = errors.New("entry cut short")

func (photoCodec) Read(b []byte) (PhotoKey, vectorindex.Meta, int, error) {
	var k PhotoKey
	var m vectorindex.Meta
	le := binary.LittleEndian
	at := 0
	u64 := func() uint64 {
		if at+8 > len(b) {
			at = len(b) + 1
			return 0
		}
		at += 8
		return le.Uint64(b[at-8:])
	}
	str := func() string {
		if at > len(b) {
			return ""
		}
		n, w := binary.Uvarint(b[at:])
		if w <= 0 || uint64(len(b)-at-w) < n {
			at = len(b) + 1
			return ""
		}
		at += w + int(n)
		return string(b[at-int(n) : at])
	}
	k.Key.ShopID = int64(u64())
	k.Key.ProductID = catalog.ProductID(str())
	k.Photo = str()
	if at >= len(b) {
		return k, m, 0, errShortEntry
	}
	flags := b[at]
	at++
	m.Available, m.HasPrice, m.HasHeight = flags&1 != 0, flags&2 != 0, flags&4 != 0
	m.PriceMinor = int64(u64())
	m.Currency = str()
	m.HeightCM = math.Float64frombits(u64())
	if at > len(b) {
		return k, m, 0, errShortEntry
	}
	return k, m, at, nil
}
