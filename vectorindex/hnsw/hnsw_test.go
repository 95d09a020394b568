package hnsw

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/lookalike/lookalike/vectorindex/vectorgen"
)

// key and meta stand for the product key and filter metadata.
type key struct {
	Shop int64
	N    int32
}

type meta struct{ Available bool }

type codec struct{}

func (codec) Append(b []byte, k key, m meta) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(k.Shop))
	b = binary.LittleEndian.AppendUint32(b, uint32(k.N))
	if m.Available {
		return append(b, 1)
	}
	return append(b, 0)
}

func (codec) Read(b []byte) (key, meta, int, error) {
	if len(b) < 13 {
		return key{}, meta{}, 0, errors.New("short entry")
	}
	return key{int64(binary.LittleEndian.Uint64(b)), int32(binary.LittleEndian.Uint32(b[8:]))}, meta{b[12] == 1}, 13, nil
}

func config(dim int) Config[key, meta] {
	return Config[key, meta]{Dim: dim, Group: func(k key) int64 { return k.Shop }, Codec: codec{}}
}

// fixture is a built index over generated clustered vectors: vector i has
// key {Shop: 1 + i%100, N: i} (each shop holds 1 %) and is available when i is even (50 %).
type fixture struct {
	base, queries vectorgen.Set
	x             *Index[key, meta]
}

// spread makes the generated clusters overlap, so that a weaker graph or
// search shows as lost recall.
const spread = 2

func keyOf(i int) key   { return key{Shop: int64(1 + i%100), N: int32(i)} }
func metaOf(i int) meta { return meta{Available: i%2 == 0} }
func build(t testing.TB, cfg Config[key, meta], base vectorgen.Set) *Index[key, meta] {
	x, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	parallel(base.Len(), func(i int) {
		if err := x.Upsert(keyOf(i), base.At(i), metaOf(i)); err != nil {
			t.Error(err)
		}
	})
	return x
}

func newFixture(t testing.TB, n, dim int, cfg Config[key, meta]) *fixture {
	f := &fixture{
		base:    vectorgen.Clustered(n, dim, n/50, spread, 7),
		queries: vectorgen.Queries(200, dim, n/50, spread, 7),
	}
	f.x = build(t, cfg, f.base)
	return f
}

// recall searches every query with f and compares with the exact top 10
// of the vectors keep accepts.
func (f *fixture) recall(t *testing.T, filter Filter[key, meta], keep func(i int) bool) float64 {
	truth := vectorgen.GroundTruth(f.base, f.queries, 10, keep)
	got := make([][]int32, f.queries.Len())
	for qi := range got {
		hits, err := f.x.Search(f.queries.At(qi), 10, filter)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if keep != nil && !keep(int(h.Key.N)) {
				t.Fatalf("hit %+v does not match the filter", h.Key)
			}
			got[qi] = append(got[qi], h.Key.N)
		}
	}
	return vectorgen.Recall(truth, got)
}

func TestRecallWithAndWithoutFilters(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 5000
	}
	cfg := config(512)
	cfg.ExactBelow = 1000 // the 50 % filter goes through the graph, 1 % is scanned
	f := newFixture(t, n, 512, cfg)
	avail := true
	for _, tc := range []struct {
		name   string
		filter Filter[key, meta]
		keep   func(i int) bool
	}{
		{"all", Filter[key, meta]{}, nil},
		{"shop 1 %", Filter[key, meta]{Group: 7}, func(i int) bool { return keyOf(i).Shop == 7 }},
		{"predicate 1 %", Filter[key, meta]{Match: func(k key, _ meta) bool { return k.N%100 == 3 }}, func(i int) bool { return i%100 == 3 }},
		{"available 50 %", Filter[key, meta]{Match: func(_ key, m meta) bool { return m.Available == avail }}, func(i int) bool { return metaOf(i).Available }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := f.recall(t, tc.filter, tc.keep); r < 0.95 {
				t.Errorf("recall@10 = %.3f, want ≥ 0.95", r)
			} else {
				t.Logf("recall@10 = %.3f", r)
			}
		})
	}
	if f.x.Len() != n {
		t.Errorf("Len = %d, want %d", f.x.Len(), n)
	}
	if hits, err := f.x.Search(f.queries.At(0), 10, Filter[key, meta]{Group: 1000}); err != nil || len(hits) != 0 {
		t.Errorf("a shop without vectors: %v, %v", hits, err)
	}
}

// TestGraphFilterKeepsRecall forces the 50 % filter through the graph with
// a small ef, where collecting only matching nodes while traversing all is
// what keeps the recall.
func TestGraphFilterKeepsRecall(t *testing.T) {
	cfg := config(64)
	cfg.ExactBelow = -1 // never scan
	f := newFixture(t, 4000, 64, cfg)
	keep := func(i int) bool { return i%2 == 0 }
	if r := f.recall(t, Filter[key, meta]{Match: func(k key, _ meta) bool { return k.N%2 == 0 }}, keep); r < 0.95 {
		t.Errorf("recall@10 = %.3f, want ≥ 0.95", r)
	}
}

func TestUntrainedIndexIsExact(t *testing.T) {
	cfg := config(32)
	cfg.TrainSize = 1000
	f := newFixture(t, 500, 32, cfg)
	if f.x.trained {
		t.Fatal("trained on fewer than TrainSize vectors")
	}
	if r := f.recall(t, Filter[key, meta]{}, nil); r != 1 {
		t.Errorf("recall@10 = %.3f, want 1 below TrainSize", r)
	}
}

func TestDimensionErrors(t *testing.T) {
	x, err := New(config(8))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Upsert(key{1, 1}, make([]float32, 7), meta{}); err == nil {
		t.Error("Upsert took a 7-d vector into an 8-d index")
	}
	if _, err := x.Search(make([]float32, 9), 10, Filter[key, meta]{}); err == nil {
		t.Error("Search took a 9-d query")
	}
	if _, err := New(config(0)); err == nil {
		t.Error("New took dimension 0")
	}
}

func TestDeleteReplaceAndRepair(t *testing.T) {
	const n, dim = 3000, 48
	cfg := config(dim)
	cfg.TrainSize = 500
	cfg.RepairRatio = 1e9 // repair only when asked
	base := vectorgen.Clustered(n, dim, 60, spread, 3)
	x := build(t, cfg, base)
	// Delete a third, replace a tenth with other vectors.
	other := vectorgen.Queries(n, dim, 60, spread, 3)
	deleted := map[int32]bool{}
	for i := 0; i < n; i += 3 {
		if !x.Delete(keyOf(i)) {
			t.Fatalf("Delete(%d) = false", i)
		}
		deleted[int32(i)] = true
	}
	if x.Delete(keyOf(0)) {
		t.Error("deleting twice reported true")
	}
	replaced := 0
	for i := 1; i < n; i += 10 {
		if deleted[int32(i)] {
			continue
		}
		if err := x.Upsert(keyOf(i), other.At(i), metaOf(i)); err != nil {
			t.Fatal(err)
		}
		replaced++
	}
	check := func(stage string) {
		t.Helper()
		if want := n - len(deleted); x.Len() != want {
			t.Errorf("%s: Len = %d, want %d", stage, x.Len(), want)
		}
		found := 0
		for i := 1; i < n; i += 10 {
			if deleted[int32(i)] {
				continue
			}
			hits, err := x.Search(other.At(i), 10, Filter[key, meta]{})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				if deleted[h.Key.N] {
					t.Fatalf("%s: deleted %d returned", stage, h.Key.N)
				}
			}
			if len(hits) > 0 && hits[0].Key == keyOf(i) && hits[0].Score > 0.999 {
				found++
			}
			// The old vector is gone: searching for it does not find i with its old score.
			hits, _ = x.Search(base.At(i), 1, Filter[key, meta]{})
			if len(hits) > 0 && hits[0].Key == keyOf(i) && hits[0].Score > 0.999 {
				t.Fatalf("%s: %d still found by its replaced vector", stage, i)
			}
		}
		if want := replaced * 95 / 100; found < want {
			t.Errorf("%s: %d replaced vectors found first, want ≥ %d", stage, found, want)
		}
	}
	check("tombstoned")
	if x.Tombstones() != len(deleted)+replaced {
		t.Errorf("Tombstones = %d, want %d", x.Tombstones(), len(deleted)+replaced)
	}
	grown := x.next.Load()
	x.Repair()
	if x.Tombstones() != 0 {
		t.Errorf("after Repair: Tombstones = %d", x.Tombstones())
	}
	check("repaired")
	// Freed ids are reused.
	for i := 0; i < n; i += 3 {
		if err := x.Upsert(keyOf(i), base.At(i), metaOf(i)); err != nil {
			t.Fatal(err)
		}
		delete(deleted, int32(i))
	}
	if x.next.Load() != grown {
		t.Errorf("ids handed out grew from %d to %d: freed ids not reused", grown, x.next.Load())
	}
	// Recall against the exact top 10 of the current vectors.
	cur := vectorgen.Set{Dim: dim, Data: append([]float32(nil), base.Data...)}
	for i := 1; i < n; i += 10 {
		if i%3 != 0 {
			copy(cur.At(i), other.At(i))
		}
	}
	queries := vectorgen.Queries(200, dim, 60, spread, 9)
	truth := vectorgen.GroundTruth(cur, queries, 10, nil)
	got := make([][]int32, queries.Len())
	for qi := range got {
		hits, _ := x.Search(queries.At(qi), 10, Filter[key, meta]{})
		for _, h := range hits {
			got[qi] = append(got[qi], h.Key.N)
		}
	}
	if r := vectorgen.Recall(truth, got); r < 0.95 {
		t.Errorf("recall@10 after repair and reinsert = %.3f", r)
	}
}

func TestAutomaticRepair(t *testing.T) {
	cfg := config(16)
	cfg.TrainSize = 200
	x := build(t, cfg, vectorgen.Clustered(2000, 16, 20, spread, 5))
	for i := 0; i < 1000; i++ {
		x.Delete(keyOf(i))
	}
	x.repairs.Wait()
	// 10 % of max(live, 1000) tombstones trigger a repair.
	if x.Tombstones() >= 200 {
		t.Errorf("Tombstones = %d after 1000 deletes, want a repair to have run", x.Tombstones())
	}
	hits, _ := x.Search(vectorgen.Queries(1, 16, 20, spread, 5).At(0), 10, Filter[key, meta]{})
	if len(hits) != 10 {
		t.Errorf("%d hits after repair, want 10", len(hits))
	}
}

func TestSaveLoad(t *testing.T) {
	const n, dim = 2*chunkSize + 100, 64 // three chunks
	cfg := config(dim)
	cfg.Dir = t.TempDir()
	cfg.TrainSize = 500
	base := vectorgen.Clustered(n, dim, 60, spread, 11)
	x := build(t, cfg, base)
	for i := 0; i < 100; i++ {
		x.Delete(keyOf(i)) // tombstones survive the round trip
	}
	queries := vectorgen.Queries(50, dim, 60, spread, 11)
	search := func(x *Index[key, meta]) string {
		var out string
		for qi := 0; qi < queries.Len(); qi++ {
			hits, err := x.Search(queries.At(qi), 10, Filter[key, meta]{Group: 3})
			if err != nil {
				t.Fatal(err)
			}
			hits2, _ := x.Search(queries.At(qi), 10, Filter[key, meta]{})
			out += fmt.Sprint(hits, hits2)
		}
		return out
	}
	want := search(x)
	if _, err := Load(cfg, 42); !errors.Is(err, ErrMissing) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load before Save: %v, want ErrMissing", err)
	}
	if err := x.Save(42); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	y, err := Load(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	if got := search(y); got != want {
		t.Error("search results differ after Load")
	}
	if y.Len() != n-100 || y.Tombstones() != 100 {
		t.Errorf("loaded Len %d, Tombstones %d; want %d, 100", y.Len(), y.Tombstones(), n-100)
	}
	// The loaded index takes new vectors.
	if err := y.Upsert(key{Shop: 3, N: 99999}, queries.At(0), meta{}); err != nil {
		t.Fatal(err)
	}
	if hits, _ := y.Search(queries.At(0), 1, Filter[key, meta]{}); len(hits) != 1 || hits[0].Key.N != 99999 {
		t.Errorf("new vector after Load not found: %v", hits)
	}
	y.Close()
	if err := y.Save(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Save after Close: %v", err)
	}

	if _, err := Load(cfg, 43); !errors.Is(err, ErrStale) {
		t.Errorf("Load with another token: %v, want ErrStale", err)
	}
	other := cfg
	other.M = 8
	if _, err := Load(other, 42); !errors.Is(err, ErrStale) {
		t.Errorf("Load with another M: %v, want ErrStale", err)
	}
}

func TestLoadDetectsDamage(t *testing.T) {
	cfg := config(32)
	cfg.Dir = t.TempDir()
	cfg.TrainSize = 300
	x := build(t, cfg, vectorgen.Clustered(1000, 32, 20, spread, 1))
	if err := x.Save(1); err != nil {
		t.Fatal(err)
	}
	x.Close()
	graph := filepath.Join(cfg.Dir, GraphFile)
	good, err := os.ReadFile(graph)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		file []byte
		want error
	}{
		{"flipped byte", flip(good, len(good)/2), ErrCorrupt},
		{"cut short", good[:len(good)-100], ErrCorrupt},
		{"empty", nil, ErrCorrupt},
		{"other file", []byte("not a graph at all, just text"), ErrCorrupt},
	} {
		if err := os.WriteFile(graph, tc.file, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(cfg, 1); !errors.Is(err, tc.want) {
			t.Errorf("%s: Load = %v, want %v", tc.name, err, tc.want)
		}
	}
	os.WriteFile(graph, good, 0o644)
	vecs := filepath.Join(cfg.Dir, VectorFile)
	v, _ := os.ReadFile(vecs)
	os.WriteFile(vecs, flip(v, 100), 0o644)
	if _, err := Load(cfg, 1); !errors.Is(err, ErrStale) {
		t.Errorf("damaged vector file: Load = %v, want ErrStale", err)
	}
	os.WriteFile(vecs, v, 0o644)
	y, err := Load(cfg, 1)
	if err != nil {
		t.Fatalf("restored files: %v", err)
	}
	y.Close()
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

// TestConcurrentUse inserts, replaces, deletes, re-tags and searches from
// several goroutines at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	const n, dim = 3000, 16
	cfg := config(dim)
	cfg.TrainSize = 300
	cfg.RepairRatio = 0.05
	x, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	base := vectorgen.Clustered(n, dim, 30, spread, 2)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if err := x.Upsert(keyOf(i), base.At(i), metaOf(i)); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 0 {
					x.Delete(keyOf(i / 2))
				}
				if i%11 == 0 {
					x.SetMeta(keyOf(i), meta{Available: true})
				}
			}
		}(w)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				f := Filter[key, meta]{}
				switch i % 3 {
				case 1:
					f.Group = int64(1 + i%100)
				case 2:
					f.Match = func(_ key, m meta) bool { return m.Available }
				}
				if _, err := x.Search(base.At((i*31+w)%n), 10, f); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	x.Repair()
	got := 0
	x.All(func(key, meta) bool { got++; return true })
	if got != x.Len() {
		t.Errorf("All yields %d, Len %d", got, x.Len())
	}
}

// TestHeapPerVector checks the Go heap cost of a 512-d vector: codes, links,
// key and metadata, not the float32 vector (in the mapped file).
func TestHeapPerVector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 8192 vectors of 512 dimensions")
	}
	const n = 2 * chunkSize
	base := vectorgen.Clustered(n, 512, n/50, spread, 4)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	x := build(t, config(512), base)
	per := float64(int64(heap())-int64(before)) / n
	runtime.KeepAlive(base)
	if per > 1024 {
		t.Errorf("heap per vector %.0f bytes, want ≤ 1024", per)
	}
	t.Logf("heap per 512-d vector: %.0f bytes", per)
	runtime.KeepAlive(x)
}

// TestRetrain learns the quantizer on a first batch of narrow vectors, adds
// wider ones (clamped codes), and checks that Retrain widens the range and
// keeps the search right.
func TestRetrain(t *testing.T) {
	const dim = 32
	cfg := config(dim)
	cfg.TrainSize = 300
	x, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	narrow := vectorgen.Clustered(300, dim, 1, 0.3, 8) // one tight cluster
	wide := vectorgen.Clustered(3000, dim, 60, spread, 8)
	for i := 0; i < narrow.Len(); i++ {
		x.Upsert(key{Shop: 1, N: int32(100000 + i)}, narrow.At(i), meta{})
	}
	parallel(wide.Len(), func(i int) { x.Upsert(keyOf(i), wide.At(i), metaOf(i)) })
	all := vectorgen.Set{Dim: dim, Data: append(append([]float32(nil), wide.Data...), narrow.Data...)}
	queries := vectorgen.Queries(200, dim, 60, spread, 8)
	truth := vectorgen.GroundTruth(all, queries, 10, nil)
	recall := func() float64 {
		got := make([][]int32, queries.Len())
		for qi := range got {
			hits, _ := x.Search(queries.At(qi), 10, Filter[key, meta]{})
			for _, h := range hits {
				n := h.Key.N
				if n >= 100000 {
					n = int32(wide.Len()) + n - 100000
				}
				got[qi] = append(got[qi], n)
			}
		}
		return vectorgen.Recall(truth, got)
	}
	r0 := recall()
	if x.Clamped() < 0.01 {
		t.Errorf("Clamped = %.4f, want the wide vectors' clamping to show", x.Clamped())
	}
	before := x.q.scale
	x.Retrain()
	if x.q.scale <= before {
		t.Errorf("scale %g after Retrain, was %g: range not widened", x.q.scale, before)
	}
	if r := recall(); r < 0.95 {
		t.Errorf("recall@10 after Retrain = %.3f (before %.3f)", r, r0)
	}
	if x.Clamped() != 0 {
		t.Errorf("Clamped = %.4f after Retrain", x.Clamped())
	}
}
