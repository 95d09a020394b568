package hnsw

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// The saved graph: a header (magic, format version, dimension, M, the
// caller's token, node count, entry point, quantizer, CRC-32C of the vector
// file's used part), one record per node id (state, level, links per layer,
// key and metadata through Config.Codec), then the CRC-32C of everything
// before it. The codes are not saved: Load encodes the vectors again.
const (
	graphMagic   = "LKHNSW\r\n"
	graphVersion = 1
)

// Errors from Load, to be tested with errors.Is; the caller rebuilds.
var (
	ErrMissing = errors.New("hnsw: no saved graph")                             // also matches fs.ErrNotExist
	ErrStale   = errors.New("hnsw: saved graph does not match")                 // other token, settings, format version or vectors
	ErrCorrupt = errors.New("hnsw: saved graph is damaged (checksum mismatch)") // bad checksum or structure
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// vectorCRC is the CRC-32C of the vectors of ids [0, n).
func (x *Index[K, M]) vectorCRC(n uint32) uint32 {
	var sum uint32
	per := int64(x.dim) * 4
	for c, ch := range *x.chunks.Load() {
		first := uint32(c) * chunkSize
		if first >= n {
			break
		}
		used := int64(min(n-first, chunkSize)) * per
		sum = crc32.Update(sum, castagnoli, ch.mapped[:used])
	}
	return sum
}

// Save writes the graph to Config.Dir (a temporary file renamed over the
// old one, both synced) with token, which Load must be given to accept it:
// the caller's version of the data, so that a graph older than the store is
// not loaded. It holds the index exclusively while it writes.
func (x *Index[K, M]) Save(token uint64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return ErrClosed
	}
	if x.cfg.Dir == "" || x.cfg.Codec == nil {
		return errors.New("hnsw: Save needs Config.Dir and Config.Codec")
	}
	if err := x.vf.f.Sync(); err != nil {
		return fmt.Errorf("hnsw: sync vectors: %w", err)
	}
	path := filepath.Join(x.cfg.Dir, GraphFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("hnsw: save graph: %w", err)
	}
	err = x.writeGraph(f, token)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("hnsw: save graph: %w", err)
	}
	if d, err := os.Open(x.cfg.Dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

type crcWriter struct {
	w *bufio.Writer
	h hash.Hash32
	b []byte
}

func (w *crcWriter) flush() error {
	w.h.Write(w.b)
	_, err := w.w.Write(w.b)
	w.b = w.b[:0]
	return err
}

func (x *Index[K, M]) writeGraph(f io.Writer, token uint64) error {
	w := &crcWriter{w: bufio.NewWriterSize(f, 1<<20), h: crc32.New(castagnoli)}
	le := binary.LittleEndian
	n := x.next.Load()
	b := append(w.b, graphMagic...)
	b = le.AppendUint32(b, graphVersion)
	b = le.AppendUint32(b, uint32(x.dim))
	b = le.AppendUint32(b, uint32(x.m))
	b = le.AppendUint64(b, token)
	b = le.AppendUint32(b, n)
	b = le.AppendUint32(b, x.ep)
	b = le.AppendUint32(b, uint32(int32(x.maxLevel)))
	trained := byte(0)
	if x.trained {
		trained = 1
	}
	b = append(b, trained)
	b = le.AppendUint32(b, math.Float32bits(x.q.scale))
	for i := 0; i < x.dim; i++ {
		c := float32(0)
		if x.trained {
			c = x.q.center[i]
		}
		b = le.AppendUint32(b, math.Float32bits(c))
	}
	b = le.AppendUint32(b, x.vectorCRC(n))
	w.b = b
	for id := uint32(0); id < n; id++ {
		c, s := x.chunk(id)
		st := c.state[s].Load()
		w.b = append(w.b, byte(st))
		if st != stateFree {
			lvl := int(c.level[s])
			w.b = append(w.b, byte(lvl))
			for l := 0; l <= lvl; l++ {
				ls := x.links(id, l)
				w.b = le.AppendUint16(w.b, uint16(ls[0]))
				for _, nb := range ls[1 : 1+ls[0]] {
					w.b = le.AppendUint32(w.b, nb)
				}
			}
			if st == stateLive {
				at := len(w.b)
				w.b = le.AppendUint32(w.b, 0)
				w.b = x.cfg.Codec.Append(w.b, c.keys[s], c.metas[s])
				le.PutUint32(w.b[at:], uint32(len(w.b)-at-4))
			}
		}
		if len(w.b) >= 1<<16 {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.b = le.AppendUint32(w.b, w.h.Sum32())
	if _, err := w.w.Write(w.b); err != nil {
		return err
	}
	return w.w.Flush()
}

// Load opens the index saved in cfg.Dir by Save with the same token. A
// missing graph is ErrMissing, one saved with another token, M, dimension
// or format, or whose vector file changed since, is ErrStale, and a damaged
// one is ErrCorrupt; then the caller builds a new index with New.
func Load[K comparable, M any](cfg Config[K, M], token uint64) (*Index[K, M], error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if cfg.Dir == "" || cfg.Codec == nil {
		return nil, errors.New("hnsw: Load needs Config.Dir and Config.Codec")
	}
	path := filepath.Join(cfg.Dir, GraphFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrMissing, err)
	}
	if err != nil {
		return nil, fmt.Errorf("hnsw: load graph: %w", err)
	}
	if len(data) < len(graphMagic)+8 || string(data[:len(graphMagic)]) != graphMagic {
		return nil, fmt.Errorf("%w: %s is not a saved graph", ErrCorrupt, path)
	}
	le := binary.LittleEndian
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != le.Uint32(data[len(data)-4:]) {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, path)
	}
	r := reader{b: body[len(graphMagic):]}
	if v := r.u32(); v != graphVersion {
		return nil, fmt.Errorf("%w: %s has format version %d, want %d", ErrStale, path, v, graphVersion)
	}
	if d, m := r.u32(), r.u32(); int(d) != cfg.Dim || int(m) != cfg.M {
		return nil, fmt.Errorf("%w: %s has dimension %d and M %d, want %d and %d", ErrStale, path, d, m, cfg.Dim, cfg.M)
	}
	if t := r.u64(); t != token {
		return nil, fmt.Errorf("%w: %s was saved at version %d of the data, now %d", ErrStale, path, t, token)
	}
	n, ep, maxLevel := r.u32(), r.u32(), int(int32(r.u32()))
	vf, err := os.OpenFile(filepath.Join(cfg.Dir, VectorFile), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no vector file beside %s", ErrStale, path)
	}
	if err != nil {
		return nil, fmt.Errorf("hnsw: load vectors: %w", err)
	}
	st, err := vf.Stat()
	if err != nil {
		vf.Close()
		return nil, fmt.Errorf("hnsw: load vectors: %w", err)
	}
	if st.Size() < int64(n)*int64(cfg.Dim)*4 {
		vf.Close()
		return nil, fmt.Errorf("%w: vector file holds fewer vectors than %s", ErrStale, path)
	}
	x := newIndex(cfg, vf, st.Size())
	if err := x.readGraph(&r, n, ep, maxLevel); err != nil {
		x.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	if r.err == nil && x.vectorCRC(n) != r.crc {
		x.Close()
		return nil, fmt.Errorf("%w: vector file changed since %s was saved", ErrStale, path)
	}
	return x, nil
}

type reader struct {
	b   []byte
	err error
	crc uint32
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errors.New("cut short")
		return make([]byte, n)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}
func (r *reader) u8() byte    { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }

func (x *Index[K, M]) readGraph(r *reader, n, ep uint32, maxLevel int) error {
	x.trained = r.u8() == 1
	x.q.scale = math.Float32frombits(r.u32())
	x.q.center = make([]float32, x.dim)
	raw := r.take(4 * x.dim)
	for i := range x.q.center {
		x.q.center[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		x.q.cc += x.q.center[i] * x.q.center[i]
	}
	r.crc = r.u32()
	if r.err != nil {
		return r.err
	}
	if n > 0 {
		if err := x.ensureChunk(n - 1); err != nil {
			return err
		}
	}
	x.next.Store(n)
	if maxLevel >= 0 && ep >= n {
		return fmt.Errorf("entry point %d of %d nodes", ep, n)
	}
	x.ep, x.maxLevel = ep, maxLevel
	for id := uint32(0); id < n; id++ {
		c, s := x.chunk(id)
		st := uint32(r.u8())
		if st == stateFree {
			x.free = append(x.free, id)
			continue
		}
		if st != stateLive && st != stateDeleted {
			return fmt.Errorf("node %d has state %d", id, st)
		}
		lvl := int(r.u8())
		c.level[s] = uint8(lvl)
		if lvl > 0 {
			c.upper[s] = make([]uint32, lvl*(x.m+1))
		}
		for l := 0; l <= lvl; l++ {
			ls := x.links(id, l)
			cnt := int(r.u16())
			if cnt > len(ls)-1 {
				return fmt.Errorf("node %d has %d links at layer %d", id, cnt, l)
			}
			ls[0] = uint32(cnt)
			for i := 1; i <= cnt; i++ {
				if ls[i] = r.u32(); ls[i] >= n {
					return fmt.Errorf("node %d links to %d of %d", id, ls[i], n)
				}
			}
		}
		if st == stateLive {
			entry := r.take(int(r.u32()))
			if r.err != nil {
				return r.err
			}
			k, m, used, err := x.cfg.Codec.Read(entry)
			if err != nil || used != len(entry) {
				return fmt.Errorf("node %d: key: %v", id, err)
			}
			c.keys[s], c.metas[s] = k, m
			if x.cfg.Group != nil {
				c.groups[s] = x.cfg.Group(k)
			}
			if _, dup := x.ids[k]; dup {
				return fmt.Errorf("node %d: key twice", id)
			}
			x.ids[k] = id
			x.joinGroup(id)
		} else {
			x.dead++
		}
		c.state[s].Store(st)
		if r.err != nil {
			return r.err
		}
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%d bytes after the last node", len(r.b))
	}
	if x.trained {
		parallel(int(n), func(i int) {
			if x.state(uint32(i)) != stateFree {
				x.encode(uint32(i))
			}
		})
	}
	return nil
}
