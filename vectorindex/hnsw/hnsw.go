// Package hnsw is an approximate nearest-neighbour index for unit vectors
// ranked by inner product: a hierarchical navigable small world graph
// (Malkov & Yashunin; the search loop and the neighbour-selection heuristic
// as in hnswlib) over int8 codes, with the best candidates re-ranked on the
// full float32 vectors. Unlike hnswlib, the upper layers are searched with
// a small beam (16 when inserting, 32 when searching) instead of a greedy
// walk, which at a million vectors in many groups of clusters otherwise
// strands a query, and the graph's links, in the wrong group.
//
// Memory: the Go heap holds the codes (one byte per dimension), the links
// (2M at layer 0, M per upper layer) and the keys and metadata; the float32
// vectors live in an append-only file mapped into memory (Config.Dir, or an
// unlinked temporary file), so at 512 dimensions the heap costs well under
// 1 KB per vector.
//
// Filters: a filter whose matching set is small (a group of at most
// Config.ExactBelow vectors, or a predicate estimated by sampling to match
// that few) is answered by an exact scan of the matching vectors; otherwise
// the graph is traversed through every node, only matching ones entering the
// result set, with ef enlarged by the inverse of the estimated selectivity.
//
// Deletes leave tombstones, which are still traversed but never returned;
// when they reach Config.RepairRatio of the live nodes (a repair then runs
// in the background) or on Repair, the neighbours of deleted nodes are
// relinked with the heuristic and the tombstones' ids are reused. Replacing a key inserts a new node and
// tombstones the old one.
//
// The graph is saved beside the vector file by Save (atomic rename,
// CRC-32C checksummed, versioned header) and read back by Load, which
// reports a missing, stale or corrupt file so the caller rebuilds.
//
// All methods are safe for concurrent use; Upsert calls from several
// goroutines insert in parallel (a one-word lock per node, beside its
// layer-0 links).
package hnsw

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// Config configures an index. Zero fields take the defaults shown.
type Config[K comparable, M any] struct {
	Dim            int // vector length (required)
	M              int // links per node at upper layers, 2·M at layer 0 (24)
	EfConstruction int // candidate list size when inserting (96)
	EfSearch       int // candidate list size when searching; at least k (64)
	// ExactBelow: filters matching at most this many vectors are answered
	// by an exact scan of them (20000).
	ExactBelow int
	// TrainSize: the quantizer is learned from the first TrainSize vectors;
	// until then the index is an exact scan (1000).
	TrainSize int
	// RepairRatio: tombstones per live node that trigger a repair (0.1).
	RepairRatio float64
	// Dir holds the vector file and the saved graph; "" keeps the vectors in
	// an unlinked temporary file (nothing to Save or Load).
	Dir string
	// Group, if set, puts each key in a group (such as a shop) that
	// Filter.Group selects without looking at the others.
	Group func(K) int64
	// Codec writes keys and metadata into the saved graph.
	Codec Codec[K, M]
	Seed  uint64 // of the level draws (1)
}

// Codec encodes one key and its metadata for Save and Load.
type Codec[K comparable, M any] interface {
	Append(b []byte, k K, m M) []byte
	// Read decodes an entry from the start of b and returns its length.
	Read(b []byte) (K, M, int, error)
}

// Filter restricts a search. The zero Filter matches everything.
type Filter[K comparable, M any] struct {
	Group int64           // with Config.Group set: only this group (0: any)
	Match func(K, M) bool // nil: any
}

// Hit is one result; Score is the exact inner product.
type Hit[K comparable] struct {
	Key   K
	Score float32
}

// Files in Config.Dir.
const (
	VectorFile = "vectors.f32"
	GraphFile  = "graph.hnsw"
)

// Index is an HNSW index. Create it with New or Load.
type Index[K comparable, M any] struct {
	cfg    Config[K, M]
	dim    int
	m, m0  int
	mL     float64
	efCons int

	// mu is held shared by inserts and searches, exclusively by training,
	// repair, SetMeta, Save and Close.
	mu      sync.RWMutex
	q       quantizer
	trained bool
	closed  bool

	chunks  atomic.Pointer[[]*chunk[K, M]]
	vf      vecFile
	allocMu sync.Mutex
	next    atomic.Uint32 // ids [0, next) have been handed out
	free    []uint32
	rng     *rand.Rand

	epMu     sync.Mutex
	ep       uint32
	maxLevel int // -1: empty graph

	keyMu  sync.RWMutex
	ids    map[K]uint32
	groups map[int64][]uint32
	dead   int // tombstones

	clamped, encoded atomic.Int64 // vector components clamped by / given to the quantizer

	repairing atomic.Bool
	repairs   sync.WaitGroup // background repairs

	ctxPool sync.Pool
}

// ErrClosed is returned by an index after Close.
var ErrClosed = errors.New("hnsw: index closed")

func (c *Config[K, M]) defaults() error {
	if c.Dim <= 0 {
		return fmt.Errorf("hnsw: dimension %d", c.Dim)
	}
	if c.M <= 0 {
		c.M = 24
	}
	if c.M < 2 || c.M > 1000 {
		return fmt.Errorf("hnsw: M %d out of range 2..1000", c.M)
	}
	if c.EfConstruction <= 0 {
		c.EfConstruction = 96
	}
	if c.EfSearch <= 0 {
		c.EfSearch = 64
	}
	if c.ExactBelow == 0 {
		c.ExactBelow = 20000
	}
	if c.TrainSize <= 0 {
		c.TrainSize = 1000
	}
	if c.RepairRatio <= 0 {
		c.RepairRatio = 0.1
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return nil
}

// New returns an empty index; with cfg.Dir set it starts a new vector file
// there (an existing one is truncated).
func New[K comparable, M any](cfg Config[K, M]) (*Index[K, M], error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	var f *os.File
	var err error
	if cfg.Dir == "" {
		f, err = os.CreateTemp("", "hnsw-vectors-*")
		if err == nil {
			os.Remove(f.Name())
		}
	} else {
		if err = os.MkdirAll(cfg.Dir, 0o755); err == nil {
			f, err = os.OpenFile(filepath.Join(cfg.Dir, VectorFile), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("hnsw: vector file: %w", err)
	}
	return newIndex(cfg, f, 0), nil
}

func newIndex[K comparable, M any](cfg Config[K, M], f *os.File, size int64) *Index[K, M] {
	x := &Index[K, M]{
		cfg: cfg, dim: cfg.Dim, m: cfg.M, m0: 2 * cfg.M,
		mL: 1 / math.Log(float64(cfg.M)), efCons: cfg.EfConstruction,
		vf:       vecFile{f: f, size: size},
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
		maxLevel: -1,
		ids:      make(map[K]uint32),
		groups:   make(map[int64][]uint32),
	}
	empty := []*chunk[K, M]{}
	x.chunks.Store(&empty)
	return x
}

func logf(u float64) float64 { return math.Log(u) }

// Dim returns the vector length.
func (x *Index[K, M]) Dim() int { return x.dim }

// Len returns the number of keys.
func (x *Index[K, M]) Len() int {
	x.keyMu.RLock()
	defer x.keyMu.RUnlock()
	return len(x.ids)
}

// Tombstones returns the number of deleted nodes not yet repaired.
func (x *Index[K, M]) Tombstones() int {
	x.keyMu.RLock()
	defer x.keyMu.RUnlock()
	return x.dead
}

// Upsert adds or replaces the vector and metadata of k.
func (x *Index[K, M]) Upsert(k K, vec []float32, m M) error {
	if len(vec) != x.dim {
		return fmt.Errorf("vector has %d dimensions, index has %d", len(vec), x.dim)
	}
	x.mu.RLock()
	if x.closed {
		x.mu.RUnlock()
		return ErrClosed
	}
	if !x.trained {
		x.mu.RUnlock()
		return x.upsertUntrained(k, vec, m)
	}
	id, err := x.place(k, vec, m, stateHidden)
	if err != nil {
		x.mu.RUnlock()
		return err
	}
	x.insert(id)
	x.publish(k, id)
	repair := x.needsRepair()
	x.mu.RUnlock()
	if repair {
		x.repairInBackground()
	}
	return nil
}

// place allocates a node and writes everything but its links.
func (x *Index[K, M]) place(k K, vec []float32, m M, st uint32) (uint32, error) {
	id, err := x.alloc()
	if err != nil {
		return 0, err
	}
	c, s := x.chunk(id)
	copy(c.vecs[s*x.dim:(s+1)*x.dim], vec)
	c.keys[s], c.metas[s] = k, m
	if x.cfg.Group != nil {
		c.groups[s] = x.cfg.Group(k)
	}
	if x.trained {
		x.encode(id)
	}
	c.state[s].Store(st)
	return id, nil
}

// encode computes the codes of node id from its vector.
func (x *Index[K, M]) encode(id uint32) {
	c, s := x.chunk(id)
	var clamped int
	c.bias[s], clamped = x.q.encode(c.codes[s*x.dim:(s+1)*x.dim], c.vecs[s*x.dim:(s+1)*x.dim])
	x.clamped.Add(int64(clamped))
	x.encoded.Add(int64(x.dim))
}

// publish makes id the live node of k, tombstoning the one it replaces.
func (x *Index[K, M]) publish(k K, id uint32) {
	x.keyMu.Lock()
	defer x.keyMu.Unlock()
	if old, ok := x.ids[k]; ok {
		x.leaveGroup(old)
		x.setState(old, stateDeleted)
		x.dead++
	}
	x.ids[k] = id
	x.joinGroup(id)
	x.setState(id, stateLive)
}

func (x *Index[K, M]) joinGroup(id uint32) {
	if x.cfg.Group == nil {
		return
	}
	c, s := x.chunk(id)
	g := c.groups[s]
	c.groupPos[s] = uint32(len(x.groups[g]))
	x.groups[g] = append(x.groups[g], id)
}

func (x *Index[K, M]) leaveGroup(id uint32) {
	if x.cfg.Group == nil {
		return
	}
	c, s := x.chunk(id)
	g := c.groups[s]
	list := x.groups[g]
	pos := c.groupPos[s]
	last := list[len(list)-1]
	list[pos] = last
	lc, ls := x.chunk(last)
	lc.groupPos[ls] = pos
	list = list[:len(list)-1]
	if len(list) == 0 {
		delete(x.groups, g)
	} else {
		x.groups[g] = list
	}
}

// repairInBackground starts a Repair unless one is running.
func (x *Index[K, M]) repairInBackground() {
	if !x.repairing.CompareAndSwap(false, true) {
		return
	}
	x.repairs.Add(1)
	go func() {
		defer x.repairs.Done()
		for {
			x.Repair()
			x.repairing.Store(false)
			// Deletes made while it ran may have asked for another.
			if !x.needsRepair() || !x.repairing.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

func (x *Index[K, M]) needsRepair() bool {
	x.keyMu.RLock()
	defer x.keyMu.RUnlock()
	return x.dead > 0 && float64(x.dead) >= x.cfg.RepairRatio*float64(max(len(x.ids), 1000))
}

// upsertUntrained adds a node before the quantizer is trained: no graph yet.
func (x *Index[K, M]) upsertUntrained(k K, vec []float32, m M) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return ErrClosed
	}
	if x.trained { // trained meanwhile
		id, err := x.place(k, vec, m, stateHidden)
		if err != nil {
			return err
		}
		x.insert(id)
		x.publish(k, id)
		return nil
	}
	id, err := x.place(k, vec, m, stateHidden)
	if err != nil {
		return err
	}
	x.keyMu.Lock()
	old, ok := x.ids[k]
	if ok { // in no graph yet: free it now
		x.leaveGroup(old)
		delete(x.ids, k)
	}
	x.keyMu.Unlock()
	if ok {
		x.freeNode(old)
	}
	x.publish(k, id)
	if len(x.ids) >= x.cfg.TrainSize {
		x.train()
	}
	return nil
}

// freeNode returns id to the free list (exclusive lock held).
func (x *Index[K, M]) freeNode(id uint32) {
	c, s := x.chunk(id)
	c.state[s].Store(stateFree)
	c.upper[s] = nil
	clear(x.links(id, 0))
	var zk K
	var zm M
	c.keys[s], c.metas[s] = zk, zm
	x.allocMu.Lock()
	x.free = append(x.free, id)
	x.allocMu.Unlock()
}

// train learns the quantizer from the vectors held, encodes them and builds
// the graph over the live ones in parallel (exclusive lock held).
func (x *Index[K, M]) train() {
	x.q = trainQuantizer(x.dim, func(yield func([]float32) bool) {
		for id := uint32(0); id < x.next.Load(); id++ {
			if x.state(id) == stateLive && !yield(x.vec(id)) {
				return
			}
		}
	})
	x.trained = true
	var live []uint32
	for id := uint32(0); id < x.next.Load(); id++ {
		switch x.state(id) {
		case stateLive:
			x.encode(id)
			live = append(live, id)
		case stateDeleted:
			x.freeNode(id)
			x.keyMu.Lock()
			x.dead--
			x.keyMu.Unlock()
		}
	}
	parallel(len(live), func(i int) { x.insert(live[i]) })
}

// parallel calls f(0..n-1) on all cores.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Retrain learns the quantizer again from the live vectors and rebuilds
// the graph over the new codes (in parallel, holding the index
// exclusively), for when the vectors have drifted out of the range learned
// from the first TrainSize ones: codes outside it are clamped, which
// misleads both the links made since and the searches. Clamped reports how
// often that happens.
func (x *Index[K, M]) Retrain() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.trained || x.closed {
		return
	}
	n := x.next.Load()
	for id := uint32(0); id < n; id++ {
		c, s := x.chunk(id)
		c.upper[s] = nil
		clear(x.links(id, 0))
	}
	x.ep, x.maxLevel = 0, -1
	x.clamped.Store(0)
	x.encoded.Store(0)
	x.train()
}

// Clamped returns the fraction of vector components encoded since the
// quantizer was trained that fell outside its range.
func (x *Index[K, M]) Clamped() float64 {
	if n := x.encoded.Load(); n > 0 {
		return float64(x.clamped.Load()) / float64(n)
	}
	return 0
}

// SetMeta replaces the metadata of k and reports whether k is present.
func (x *Index[K, M]) SetMeta(k K, m M) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	id, ok := x.ids[k]
	if ok {
		c, s := x.chunk(id)
		c.metas[s] = m
	}
	return ok
}

// Delete removes k and reports whether it was present.
func (x *Index[K, M]) Delete(k K) bool {
	x.mu.RLock()
	if x.closed {
		x.mu.RUnlock()
		return false
	}
	x.keyMu.Lock()
	id, ok := x.ids[k]
	if ok {
		delete(x.ids, k)
		x.leaveGroup(id)
		x.setState(id, stateDeleted)
		x.dead++
	}
	x.keyMu.Unlock()
	repair := ok && x.needsRepair()
	x.mu.RUnlock()
	if repair {
		x.repairInBackground()
	}
	return ok
}

// Vector returns a copy of k's vector.
func (x *Index[K, M]) Vector(k K) ([]float32, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	x.keyMu.RLock()
	id, ok := x.ids[k]
	x.keyMu.RUnlock()
	if !ok {
		return nil, false
	}
	return append([]float32(nil), x.vec(id)...), true
}

// All calls yield with every key and its metadata, in no particular order,
// until it returns false. It must not call the index's methods.
func (x *Index[K, M]) All(yield func(K, M) bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	x.keyMu.RLock()
	defer x.keyMu.RUnlock()
	for _, id := range x.ids {
		c, s := x.chunk(id)
		if !yield(c.keys[s], c.metas[s]) {
			return
		}
	}
}

// Close waits for a background repair, then releases the vector file
// mapping. A saved graph stays on disk.
func (x *Index[K, M]) Close() error {
	x.repairs.Wait()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	err := x.closeChunks()
	if cerr := x.vf.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// sortHits orders hits best first, ties by internal id.
func sortHits(items []item) {
	sort.Slice(items, func(a, b int) bool {
		if items[a].d != items[b].d {
			return items[a].d < items[b].d
		}
		return items[a].id < items[b].id
	})
}
