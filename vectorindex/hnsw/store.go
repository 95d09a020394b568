package hnsw

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Node states. A node is traversed in every state but free; only live
// nodes are returned.
const (
	stateFree    uint32 = iota // id on the free list
	stateLive                  // searchable
	stateDeleted               // tombstone: still linked, skipped in results, freed by repair
	stateHidden                // being inserted; becomes live when linked
)

const (
	chunkBits = 12
	chunkSize = 1 << chunkBits // nodes per chunk (and per mapped region of the vector file)
)

// chunk holds chunkSize nodes. Everything but the links is written before a
// node is reachable and not changed while it is (metadata only under the
// index's exclusive lock); links are guarded by the node's mutex.
type chunk[K comparable, M any] struct {
	codes    []int8 // chunkSize*dim
	bias     []float32
	level    []uint8
	state    []atomic.Uint32
	links0   []uint32   // chunkSize*(m0+2): the node's lock, count, then ids
	upper    [][]uint32 // level*(m+1) per node: layers 1..level
	keys     []K
	metas    []M
	groups   []int64 // only with Config.Group
	groupPos []uint32
	vecs     []float32 // chunkSize*dim float32 in the mapped vector file
	mapped   []byte
}

// vecFile is the append-only file of full float32 vectors, slot i at byte
// i*dim*4, mapped into memory one chunk at a time (outside the Go heap).
type vecFile struct {
	f    *os.File
	size int64
}

func (x *Index[K, M]) chunkBytes() int64 { return int64(chunkSize) * int64(x.dim) * 4 }

// newChunk maps the chunk's region of the vector file, growing the file.
func (x *Index[K, M]) newChunk(i int) (*chunk[K, M], error) {
	cb := x.chunkBytes()
	off := int64(i) * cb
	if x.vf.size < off+cb {
		if err := x.vf.f.Truncate(off + cb); err != nil {
			return nil, fmt.Errorf("hnsw: grow vector file: %w", err)
		}
		x.vf.size = off + cb
	}
	mapped, err := syscall.Mmap(int(x.vf.f.Fd()), off, int(cb), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("hnsw: map vector file: %w", err)
	}
	c := &chunk[K, M]{
		codes:  make([]int8, chunkSize*x.dim),
		bias:   make([]float32, chunkSize),
		level:  make([]uint8, chunkSize),
		state:  make([]atomic.Uint32, chunkSize),
		links0: make([]uint32, chunkSize*(x.m0+2)),
		upper:  make([][]uint32, chunkSize),
		keys:   make([]K, chunkSize),
		metas:  make([]M, chunkSize),
		vecs:   unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(mapped))), chunkSize*x.dim),
		mapped: mapped,
	}
	if x.cfg.Group != nil {
		c.groups = make([]int64, chunkSize)
		c.groupPos = make([]uint32, chunkSize)
	}
	return c, nil
}

func (x *Index[K, M]) chunk(id uint32) (*chunk[K, M], int) {
	cs := *x.chunks.Load()
	return cs[id>>chunkBits], int(id & (chunkSize - 1))
}

func (x *Index[K, M]) codes(id uint32) ([]int8, float32) {
	c, s := x.chunk(id)
	return c.codes[s*x.dim : (s+1)*x.dim : (s+1)*x.dim], c.bias[s]
}

func (x *Index[K, M]) vec(id uint32) []float32 {
	c, s := x.chunk(id)
	return c.vecs[s*x.dim : (s+1)*x.dim : (s+1)*x.dim]
}

func (x *Index[K, M]) state(id uint32) uint32 {
	c, s := x.chunk(id)
	return c.state[s].Load()
}

func (x *Index[K, M]) setState(id uint32, st uint32) {
	c, s := x.chunk(id)
	c.state[s].Store(st)
}

// links returns node id's list at layer l: a count, then up to the layer's
// maximum of ids. The caller holds the node's lock or the exclusive lock.
func (x *Index[K, M]) links(id uint32, l int) []uint32 {
	c, s := x.chunk(id)
	if l == 0 {
		st := x.m0 + 2
		return c.links0[s*st+1 : (s+1)*st : (s+1)*st]
	}
	return c.upper[s][(l-1)*(x.m+1) : l*(x.m+1) : l*(x.m+1)]
}

// lock returns node id's lock, which guards its links at every layer. It
// is the word before the node's layer-0 list, so that taking it brings the
// list's first ids into the cache too.
func (x *Index[K, M]) lock(id uint32) *spinLock {
	c, s := x.chunk(id)
	return (*spinLock)(unsafe.Pointer(&c.links0[s*(x.m0+2)]))
}

// spinLock is a mutex in one word: links are held for a few hundred
// nanoseconds at most, so a waiter spins, yielding the processor after a
// while.
type spinLock struct{ v atomic.Uint32 }

func (l *spinLock) Lock() {
	for i := 0; !l.v.CompareAndSwap(0, 1); i++ {
		if i >= 16 {
			runtime.Gosched()
		}
	}
}

func (l *spinLock) Unlock() { l.v.Store(0) }

// alloc hands out an id, reusing freed ones, and maps a new chunk when needed.
func (x *Index[K, M]) alloc() (uint32, error) {
	x.allocMu.Lock()
	defer x.allocMu.Unlock()
	if n := len(x.free); n > 0 {
		id := x.free[n-1]
		x.free = x.free[:n-1]
		return id, nil
	}
	id := x.next.Load()
	if id == 1<<32-1 {
		return 0, fmt.Errorf("hnsw: index full")
	}
	if err := x.ensureChunk(id); err != nil {
		return 0, err
	}
	x.next.Add(1)
	return id, nil
}

// ensureChunk makes sure id's chunk exists (allocMu held or exclusive).
func (x *Index[K, M]) ensureChunk(id uint32) error {
	cs := *x.chunks.Load()
	c := int(id >> chunkBits)
	if c < len(cs) {
		return nil
	}
	grown := cs[:len(cs):len(cs)]
	for i := len(cs); i <= c; i++ {
		ch, err := x.newChunk(i)
		if err != nil {
			return err
		}
		grown = append(grown, ch)
		x.chunks.Store(&grown)
	}
	return nil
}

// randomLevel draws a node's top layer: floor(-ln(U)·mL).
func (x *Index[K, M]) randomLevel() int {
	x.allocMu.Lock()
	u := x.rng.Float64()
	x.allocMu.Unlock()
	if u == 0 {
		u = 1e-300
	}
	l := int(-logf(u) * x.mL)
	return min(l, 31)
}

// closeChunks unmaps the vector file.
func (x *Index[K, M]) closeChunks() error {
	var first error
	for _, c := range *x.chunks.Load() {
		if err := syscall.Munmap(c.mapped); err != nil && first == nil {
			first = err
		}
		c.vecs, c.mapped = nil, nil
	}
	empty := []*chunk[K, M]{}
	x.chunks.Store(&empty)
	return first
}
