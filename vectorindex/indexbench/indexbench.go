// Package indexbench is "lookalike bench index": it builds each index over
// the same base vectors (generated clustered ones or an .fvecs file),
// computes the exact top 10 of every query, and reports build rate, heap
// bytes per vector, recall@10 and query latency on one and on all cores.
package indexbench

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/vectorindex/hnsw"
	"github.com/lookalike/lookalike/vectorindex/vectorgen"
)

// Options are the bench's inputs.
type Options struct {
	Indexes     []string // "flat", "hnsw"
	N           int      // generated base vectors
	Dim         int
	Queries     int
	Clusters    int     // 0: N/100
	Groups      int     // > 0: the cluster centres in this many groups (vectorgen.ClusteredInGroups)
	Spread      float64 // noise of generated vectors relative to their centre (see vectorgen.Clustered)
	Seed        uint64
	VectorsPath string // .fvecs base vectors instead of generated ones
	QueriesPath string // .fvecs queries (with VectorsPath)
	Neighbors   string // .ivecs file for the last index's top 10 per query
	// Shops > 0 also measures each index with a shop filter: vector i is in
	// shop 1 + i%Shops, query j searches shop 1 + j%Shops.
	Shops       int
	M           int // HNSW settings (0: the package defaults)
	EfConstruct int
	EfSearch    int
	// MoreEf: the HNSW index is also searched with each of these efSearch
	// values, on the same graph (lines "hnsw ef=N").
	MoreEf []int
	JSON   bool
	// CPUProfile, if set, is the prefix of CPU profiles (pprof) of each
	// index's build (PREFIX.<index>.build) and unfiltered searches on one
	// core (PREFIX.<index>.search).
	CPUProfile string
	Log        io.Writer // progress; nil: none
}

// Result is one index's line.
type Result struct {
	Index         string  `json:"index"`
	N             int     `json:"n"`
	Dim           int     `json:"dim"`
	RecallAt10    float64 `json:"recall_at_10"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
	P50AllCoresMs float64 `json:"p50_all_cores_ms"`
	P99AllCoresMs float64 `json:"p99_all_cores_ms"`
	QPSAllCores   float64 `json:"qps_all_cores"`
	Cores         int     `json:"cores"`
	BuildPerS     float64 `json:"build_per_s"`
	BuildPerCPUs  float64 `json:"build_per_cpu_s"` // vectors per second of process CPU time, which a loaded machine does not hide
	HeapPerVector float64 `json:"heap_bytes_per_vector"`
	SpeedupVsFlat float64 `json:"speedup_vs_flat,omitempty"`
	SaveS         float64 `json:"save_s,omitempty"` // HNSW: Save of the graph
	LoadS         float64 `json:"load_s,omitempty"` // HNSW: Load, until searchable again
	neighbours    [][]int32
}

// searcher is one built index.
type searcher interface {
	search(q []float32, shop int64) ([]int32, error) // shop 0: any
	close()
}

// Run runs the bench and prints one line (or JSON object) per index.
func Run(o Options, stdout io.Writer) ([]Result, error) {
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	base, queries, err := load(o)
	if err != nil {
		return nil, err
	}
	for _, name := range o.Indexes {
		if name != "flat" && name != "hnsw" {
			return nil, fmt.Errorf("unknown index %q (have: flat, hnsw)", name)
		}
	}
	logf("exact top 10 of %d queries over %d×%d vectors", queries.Len(), base.Len(), base.Dim)
	truth := vectorgen.GroundTruth(base, queries, 10, nil)
	var shopTruth [][]int32
	if o.Shops > 0 {
		shopTruth = make([][]int32, queries.Len())
		for shop := 0; shop < o.Shops; shop++ {
			var sub vectorgen.Set
			sub.Dim = queries.Dim
			var at []int
			for qi := shop; qi < queries.Len(); qi += o.Shops {
				sub.Data = append(sub.Data, queries.At(qi)...)
				at = append(at, qi)
			}
			if len(at) == 0 {
				break
			}
			for j, row := range vectorgen.GroundTruth(base, sub, 10, func(i int) bool { return i%o.Shops == shop }) {
				shopTruth[at[j]] = row
			}
		}
	}
	var results []Result
	flatP50 := map[string]float64{} // by what follows the index's name: "" or " shop 1/N"
	for _, name := range o.Indexes {
		logf("building %s", name)
		rs, err := measure(name, o, base, queries, truth, shopTruth)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if name == "flat" {
				flatP50[strings.TrimPrefix(r.Index, name)] = r.P50ms
			}
		}
		results = append(results, rs...)
	}
	// The speed-up over the exact scan of the same search (flat may run last).
	for i, r := range results {
		name, _, _ := strings.Cut(r.Index, " ")
		filter := strings.TrimPrefix(r.Index, name)
		if at := strings.Index(filter, " ef="); at >= 0 {
			filter = filter[:at]
		}
		if p50 := flatP50[filter]; p50 > 0 && r.P50ms > 0 {
			results[i].SpeedupVsFlat = p50 / r.P50ms
		}
	}
	// --neighbors: the last index's unfiltered search.
	last := results[len(results)-1]
	for _, r := range results {
		if !strings.Contains(r.Index, " ") {
			last = r
		}
	}
	if o.Neighbors != "" && len(results) > 0 {
		if err := vectorgen.WriteIvecs(o.Neighbors, last.neighbours); err != nil {
			return nil, err
		}
	}
	print(stdout, results, o.JSON)
	return results, nil
}

func load(o Options) (base, queries vectorgen.Set, err error) {
	if o.VectorsPath != "" {
		if o.QueriesPath == "" {
			return base, queries, fmt.Errorf("--vectors needs --queries")
		}
		if base, err = vectorgen.ReadFvecs(o.VectorsPath, o.N); err != nil {
			return base, queries, err
		}
		if queries, err = vectorgen.ReadFvecs(o.QueriesPath, o.Queries); err != nil {
			return base, queries, err
		}
		if queries.Dim != base.Dim {
			return base, queries, fmt.Errorf("queries have %d dimensions, vectors %d", queries.Dim, base.Dim)
		}
		return base, queries, nil
	}
	if o.N <= 0 || o.Dim <= 0 || o.Queries <= 0 {
		return base, queries, fmt.Errorf("need n, dim and queries > 0")
	}
	if o.Spread <= 0 {
		o.Spread = 1
	}
	clusters := o.Clusters
	if clusters <= 0 {
		clusters = max(1, o.N/100)
	}
	return vectorgen.ClusteredInGroups(o.N, o.Dim, clusters, o.Groups, o.Spread, o.Seed),
		vectorgen.QueriesInGroups(o.Queries, o.Dim, clusters, o.Groups, o.Spread, o.Seed), nil
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func measure(name string, o Options, base, queries vectorgen.Set, truth, shopTruth [][]int32) ([]Result, error) {
	r := Result{Index: name, N: base.Len(), Dim: base.Dim, Cores: runtime.GOMAXPROCS(0)}
	before := heapInUse()
	stop, err := startProfile(o.CPUProfile, name+".build")
	if err != nil {
		return nil, err
	}
	start, cpu := time.Now(), cpuTime()
	s, err := build(name, o, base)
	stop()
	if err != nil {
		return nil, err
	}
	defer s.close()
	r.BuildPerS = float64(base.Len()) / time.Since(start).Seconds()
	r.BuildPerCPUs = float64(base.Len()) / (cpuTime() - cpu).Seconds()
	r.HeapPerVector = float64(int64(heapInUse())-int64(before)) / float64(base.Len())
	if h, ok := s.(*hnswSearcher); ok {
		if r.SaveS, r.LoadS, err = h.reload(); err != nil {
			return nil, err
		}
	}
	if stop, err = startProfile(o.CPUProfile, name+".search"); err != nil {
		return nil, err
	}
	err = queryPass(&r, s, queries, truth, func(int) int64 { return 0 })
	stop()
	if err != nil {
		return nil, err
	}
	out := []Result{r}
	if shopTruth != nil {
		f := r
		f.Index = fmt.Sprintf("%s shop 1/%d", name, o.Shops)
		if err := queryPass(&f, s, queries, shopTruth, func(qi int) int64 { return int64(1 + qi%o.Shops) }); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if h, ok := s.(*hnswSearcher); ok {
		for _, ef := range o.MoreEf {
			h.ef = ef
			f := r
			f.Index = fmt.Sprintf("%s ef=%d", name, ef)
			if err := queryPass(&f, s, queries, truth, func(int) int64 { return 0 }); err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// queryPass searches every query (within shopOf(query), 0: all) on one
// core and then on all, into r.
func queryPass(r *Result, s searcher, queries vectorgen.Set, truth [][]int32, shopOf func(qi int) int64) error {
	// One core: queries one after another.
	lat := make([]time.Duration, queries.Len())
	r.neighbours = make([][]int32, queries.Len())
	for i := range lat {
		t := time.Now()
		got, err := s.search(queries.At(i), shopOf(i))
		lat[i] = time.Since(t)
		if err != nil {
			return err
		}
		r.neighbours[i] = got
	}
	r.RecallAt10 = vectorgen.Recall(truth, r.neighbours)
	r.P50ms, r.P99ms = percentiles(lat)

	// All cores: as many searching goroutines as cores.
	all := make([]time.Duration, queries.Len())
	t0 := time.Now()
	vectorgen.Parallel(queries.Len(), func(i int) {
		t := time.Now()
		s.search(queries.At(i), shopOf(i))
		all[i] = time.Since(t)
	})
	r.QPSAllCores = float64(queries.Len()) / time.Since(t0).Seconds()
	r.P50AllCoresMs, r.P99AllCoresMs = percentiles(all)
	return nil
}

// startProfile starts a CPU profile into prefix.what (no prefix: none) and
// returns what stops it.
func startProfile(prefix, what string) (stop func(), err error) {
	if prefix == "" {
		return func() {}, nil
	}
	f, err := os.Create(prefix + "." + what)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentiles(lat []time.Duration) (p50, p99 float64) {
	s := slices.Clone(lat)
	slices.Sort(s)
	at := func(p float64) float64 {
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Nanoseconds()) / 1e6
	}
	return at(0.50), at(0.99)
}

func build(name string, o Options, base vectorgen.Set) (searcher, error) {
	shopOf := func(i int) int64 {
		if o.Shops <= 0 {
			return 1
		}
		return int64(1 + i%o.Shops)
	}
	switch name {
	case "flat":
		x := vectorindex.NewFlat(base.Dim)
		for i := 0; i < base.Len(); i++ {
			k := vectorindex.Key{ShopID: shopOf(i), ProductID: catalog.ProductIDOf(int64(i) + 1)}
			if err := x.Upsert(k, "", base.At(i), vectorindex.Meta{}); err != nil {
				return nil, err
			}
		}
		return flatSearcher{x}, nil
	default:
		dir, err := os.MkdirTemp("", "bench-hnsw-")
		if err != nil {
			return nil, err
		}
		cfg := hnsw.Config[int32, struct{}]{
			Dim: base.Dim, M: o.M, EfConstruction: o.EfConstruct, EfSearch: o.EfSearch, Dir: dir, Codec: posCodec{},
			Group: func(k int32) int64 { return shopOf(int(k)) },
		}
		x, err := hnsw.New(cfg)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		var mu sync.Mutex
		var first error
		vectorgen.Parallel(base.Len(), func(i int) {
			if err := x.Upsert(int32(i), base.At(i), struct{}{}); err != nil {
				mu.Lock()
				first = err
				mu.Unlock()
			}
		})
		if first != nil {
			x.Close()
			os.RemoveAll(dir)
			return nil, first
		}
		return &hnswSearcher{x: x, cfg: cfg}, nil
	}
}

type flatSearcher struct{ x *vectorindex.Flat }

func (s flatSearcher) search(q []float32, shop int64) ([]int32, error) {
	hits, err := s.x.Search(q, 10, vectorindex.Filter{ShopID: shop})
	out := make([]int32, len(hits))
	for i, h := range hits {
		n, _ := strconv.Atoi(h.Key.ProductID.String())
		out[i] = int32(n - 1)
	}
	return out, err
}

func (flatSearcher) close() {}

type hnswSearcher struct {
	x   *hnsw.Index[int32, struct{}]
	cfg hnsw.Config[int32, struct{}]
	ef  int // 0: cfg's
}

// reload saves the graph, closes the index and loads it again, as a
// restart would.
func (s *hnswSearcher) reload() (save, load float64, err error) {
	t := time.Now()
	if err := s.x.Save(1); err != nil {
		return 0, 0, err
	}
	s.x.Close()
	save = time.Since(t).Seconds()
	t = time.Now()
	if s.x, err = hnsw.Load(s.cfg, 1); err != nil {
		return 0, 0, err
	}
	return save, time.Since(t).Seconds(), nil
}

// posCodec saves a vector's position as its key.
type posCodec struct{}

func (posCodec) Append(b []byte, k int32, _ struct{}) []byte {
	return binary.LittleEndian.AppendUint32(b, uint32(k))
}

func (posCodec) Read(b []byte) (int32, struct{}, int, error) {
	if len(b) < 4 {
		return 0, struct{}{}, 0, fmt.Errorf("key of %d bytes", len(b))
	}
	return int32(binary.LittleEndian.Uint32(b)), struct{}{}, 4, nil
}

func (s *hnswSearcher) search(q []float32, shop int64) ([]int32, error) {
	hits, err := s.x.SearchEf(q, 10, hnsw.Filter[int32, struct{}]{Group: shop}, s.ef)
	out := make([]int32, len(hits))
	for i, h := range hits {
		out[i] = h.Key
	}
	return out, err
}

func (s *hnswSearcher) close() {
	s.x.Close()
	os.RemoveAll(s.cfg.Dir)
}

func print(w io.Writer, results []Result, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range results {
			enc.Encode(r)
		}
		return
	}
	fmt.Fprintf(w, "%-15s %9s %5s %10s %9s %9s %13s %13s %10s %12s %12s %9s\n",
		"index", "n", "dim", "recall@10", "p50 ms", "p99 ms", "p50 ms (all)", "p99 ms (all)", "qps (all)", "build/s", "build/cpu-s", "heap B/v")
	for _, r := range results {
		fmt.Fprintf(w, "%-15s %9d %5d %10.4f %9.3f %9.3f %13.3f %13.3f %10.0f %12.0f %12.0f %9.0f",
			r.Index, r.N, r.Dim, r.RecallAt10, r.P50ms, r.P99ms, r.P50AllCoresMs, r.P99AllCoresMs, r.QPSAllCores, r.BuildPerS, r.BuildPerCPUs, r.HeapPerVector)
		if r.SpeedupVsFlat > 0 && !strings.HasPrefix(r.Index, "flat") {
			fmt.Fprintf(w, "  %.1f× flat", r.SpeedupVsFlat)
		}
		if r.LoadS > 0 {
			fmt.Fprintf(w, "  save %.2f s, load %.2f s", r.SaveS, r.LoadS)
		}
		fmt.Fprintln(w)
	}
}
