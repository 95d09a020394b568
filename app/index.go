package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/vectorindex/hnsw"
	"github.com/lookalike/lookalike/vectorindex/weaviate"
)

// The in-memory index: which one, and the HNSW graph's life on disk.
//
// LOOKALIKE_INDEX=auto (the default) chooses at start: the exact scan
// (vectorindex.Flat) below AutoHNSWVectors indexed photos, HNSW above;
// flat or hnsw force one. With HNSW the graph and its float32 vectors live
// in <data dir>/index/<model>/; Stop saves the graph and records a random
// token in the settings table, which the next start compares with the
// saved graph's and clears before anything else is written: a graph is
// loaded only if nothing wrote to the database since it was saved (a crash,
// a restore or a run with another index leave no token, or another one).
// Otherwise the exact scan serves while the graph is built in the
// background from the store, and is then swapped in.
const (
	IndexAuto = "auto"
	IndexFlat = "flat"
	IndexHNSW = "hnsw"
	// IndexWeaviate: LOOKALIKE_VECTOR_URL, the vectors in Weaviate.
	IndexWeaviate = "weaviate"

	// AutoHNSWVectors is where auto switches to HNSW: an exact scan of 50k
	// 512-d vectors takes about 3 ms on one core, and HNSW's graph costs
	// build time.
	AutoHNSWVectors = 50_000

	indexDir          = "index"
	settingIndexGraph = "index_graph" // the token of the graph Stop saved
)

// BeforeIndexSwap, when set (by tests), runs in a background build after
// the graph is built and before it replaces the exact scan.
var BeforeIndexSwap func()

// indexState is what the app knows about its index beyond the engine.
type indexState struct {
	// mu orders the change hook against the swap of a graph built in the
	// background: changes made while it builds are noted in touched and
	// replayed on it before it serves.
	mu      sync.Mutex
	touched map[vectorindex.Key]bool // nil: no build running
	build   int                      // the running build's number
	kind    string                   // IndexFlat, IndexHNSW or IndexWeaviate, as chosen at start
	state   string                   // "exact", "loaded", "building", "built"; with Weaviate "reconciling", "shared"

	reconciled *Reconciliation // with Weaviate: the start's reconciliation, when done
}

// IndexStatus is the index part of /stats.
type IndexStatus struct {
	Kind    string `json:"kind"`    // chosen: flat or hnsw
	Serving string `json:"serving"` // the index answering searches now
	State   string `json:"state"`   // exact, loaded (a saved graph), building (the exact scan serves meanwhile), built
	Vectors int    `json:"vectors"`
	// Reconciled: with Weaviate, what the reconciliation at start found.
	Reconciled *Reconciliation `json:"reconciled,omitempty"`
}

func (a *App) indexStatus() any {
	a.ix.mu.Lock()
	defer a.ix.mu.Unlock()
	idx := a.engine.Load().index
	serving := IndexFlat
	switch idx.(type) {
	case *hnsw.Products:
		serving = IndexHNSW
	case *weaviate.Index:
		serving = IndexWeaviate
	}
	return IndexStatus{Kind: a.ix.kind, Serving: serving, State: a.ix.state, Vectors: idx.Len(), Reconciled: a.ix.reconciled}
}

// chooseIndex is the index LOOKALIKE_INDEX=setting means for a catalogue
// of photos indexed photos.
func chooseIndex(setting string, photos int64) string {
	if setting != IndexAuto {
		return setting
	}
	if photos >= AutoHNSWVectors {
		return IndexHNSW
	}
	return IndexFlat
}

// newIndex is the one place that chooses where model's vectors live: in
// Weaviate with LOOKALIKE_VECTOR_URL (shared, durable: see sharedindex.go),
// otherwise an empty exact in-memory index that startIndex fills (and may
// replace with HNSW).
func (a *App) newIndex(ctx context.Context, model string, dim int) (vectorindex.Index, error) {
	if a.cfg.VectorURL != "" {
		return a.openWeaviate(ctx, model, dim)
	}
	return vectorindex.NewFlat(dim), nil
}

// graphDir is where model's HNSW graph and vectors live.
func (a *App) graphDir(model string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '_'
	}, model)
	return filepath.Join(a.cfg.DataDir, indexDir, safe)
}

func (a *App) graphConfig(model string, dim int) hnsw.ProductConfig {
	return hnsw.ProductConfig{Dim: dim, Dir: a.graphDir(model)}
}

// startIndex fills the engine's index at start: it chooses the kind,
// loads a current saved graph, or loads the exact scan and starts building
// the graph in the background.
func (a *App) startIndex(ctx context.Context) error {
	eng := a.engine.Load()
	if eng.index.Capabilities().Shared {
		a.reconcileInBackground(eng)
		return nil
	}
	model := eng.embedder.Model()
	var token string
	if !a.sharedDatabase() {
		var err error
		if token, err = a.store.Setting(ctx, settingIndexGraph); err != nil {
			return err
		}
		if token != "" { // from here on the database moves away from the saved graph
			if err := a.store.SetSettings(ctx, map[string]string{settingIndexGraph: ""}); err != nil {
				return err
			}
		}
	}
	kind := a.cfg.Index
	if kind == IndexAuto {
		st, err := a.store.Stats(ctx, model)
		if err != nil {
			return err
		}
		kind = chooseIndex(kind, st.PhotosIndexed)
	}
	a.ix.kind = kind
	log := a.log.With("subsystem", "index", "index", kind)
	if kind == IndexHNSW {
		t0 := time.Now()
		g, err := a.loadGraph(model, eng.embedder.Dim(), token)
		if err == nil {
			eng.index.Close()
			a.engine.Store(&engine{embedder: eng.embedder, index: g})
			a.ix.state = "loaded"
			log.Info("index loaded from the saved graph", "vectors", g.Len(), "dir", a.graphDir(model), "ms", time.Since(t0).Milliseconds())
			return nil
		}
		log.Info("no current saved graph: the exact scan serves while the graph is built", "reason", err)
	}
	if err := a.loadIndex(ctx, model, eng.index); err != nil {
		return err
	}
	a.ix.state = "exact"
	if kind == IndexHNSW {
		a.buildInBackground(eng)
	}
	return nil
}

// sharedDatabase: other replicas write to the database, so no token in it
// can say that a graph saved here is current (that needs the change
// feed's sequence): graphs are built at every start and not saved.
func (a *App) sharedDatabase() bool { return a.cfg.DatabaseURL != "" }

// loadGraph opens the graph Stop saved with token.
func (a *App) loadGraph(model string, dim int, token string) (*hnsw.Products, error) {
	if a.sharedDatabase() {
		return nil, errors.New("a shared database (LOOKALIKE_DATABASE_URL): graphs are built at start")
	}
	t, err := strconv.ParseUint(token, 10, 64)
	if token == "" || err != nil {
		return nil, errors.New("the database has changed since a graph was saved (or none was)")
	}
	return hnsw.LoadProducts(a.graphConfig(model, dim), t)
}

// buildInBackground builds an HNSW graph of eng's model from the store and
// swaps it in for eng's index (the exact scan) when done; Stop cancels it.
func (a *App) buildInBackground(eng *engine) {
	a.ix.mu.Lock()
	a.ix.build++
	build := a.ix.build
	a.ix.touched = map[vectorindex.Key]bool{}
	a.ix.state = "building"
	a.ix.mu.Unlock()
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		ctx, cancel := a.bgContext()
		defer cancel()
		if err := a.build(ctx, eng, build); err != nil {
			a.ix.mu.Lock()
			if a.ix.build == build {
				a.ix.touched, a.ix.state = nil, "exact"
			}
			a.ix.mu.Unlock()
			if ctx.Err() == nil {
				a.log.Error("index: building the graph failed; the exact scan keeps serving", "subsystem", "index", "err", err)
			}
		}
	}()
}

func (a *App) build(ctx context.Context, eng *engine, build int) error {
	t0 := time.Now()
	model := eng.embedder.Model()
	log := a.log.With("subsystem", "index", "index", IndexHNSW)
	g, err := hnsw.NewProducts(a.graphConfig(model, eng.embedder.Dim()))
	if err != nil {
		return err
	}
	swapped := false
	defer func() {
		if !swapped {
			g.Close()
		}
	}()
	if err := a.loadParallel(ctx, model, g, nil); err != nil {
		return err
	}
	log.Info("graph built; applying the changes made meanwhile", "vectors", g.Len(), "ms", time.Since(t0).Milliseconds())
	if BeforeIndexSwap != nil {
		BeforeIndexSwap()
	}
	// Replay the products changed since the load began, re-read from the
	// store, until none changed during a round; then swap, holding the hook.
	for {
		a.ix.mu.Lock()
		if a.ix.build != build || a.engine.Load() != eng { // a model switch replaced it meanwhile
			a.ix.mu.Unlock()
			return nil
		}
		keys := a.ix.touched
		if len(keys) == 0 {
			a.engine.Store(&engine{embedder: eng.embedder, index: g})
			a.ix.touched, a.ix.state = nil, "built"
			a.ix.mu.Unlock()
			swapped = true
			eng.index.Close()
			log.Info("index built: the graph serves", "vectors", g.Len(), "ms", time.Since(t0).Milliseconds())
			return nil
		}
		a.ix.touched = map[vectorindex.Key]bool{}
		a.ix.mu.Unlock()
		if err := a.replay(ctx, g, model, keys); err != nil {
			return err
		}
	}
}

// replay makes idx hold the products keys as the store has them now.
func (a *App) replay(ctx context.Context, idx vectorindex.Index, model string, keys map[vectorindex.Key]bool) error {
	for k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := a.store.Get(ctx, catalog.Key(k))
		if errors.Is(err, catalog.ErrNotFound) {
			idx.Delete(k)
			continue
		}
		if err != nil {
			return err
		}
		a.apply(idx, model, p, nil)
	}
	return nil
}

// loadParallel loads model's vectors from the store into idx with an
// upsert per core (for a shared index, sharedLoaders at once, which its
// client groups into batches); keep, if set, says which to load (it runs
// on one goroutine).
func (a *App) loadParallel(ctx context.Context, model string, idx vectorindex.Index, keep func(k vectorindex.Key, sha string) bool) error {
	type item struct {
		k    vectorindex.Key
		sha  string
		vec  []float32
		meta vectorindex.Meta
	}
	work := make(chan item, 256)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	workers := runtime.GOMAXPROCS(0)
	if idx.Capabilities().Shared {
		workers = sharedLoaders
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if err := idx.Upsert(it.k, it.sha, it.vec, it.meta); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	err := a.store.LoadIndex(ctx, model, func(p catalog.Product, sha string, vec []float32) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if k := vectorindex.Key(p.Key); keep == nil || keep(k, sha) {
			work <- item{k: k, sha: sha, vec: vec, meta: vectorindex.MetaOf(&p)}
		}
		return nil
	})
	close(work)
	wg.Wait()
	if err != nil {
		return err
	}
	return first
}

// saveIndex saves an HNSW graph serving at Stop (nothing is written to the
// store any more) and records its token.
func (a *App) saveIndex(ctx context.Context) error {
	eng := a.engine.Load()
	g, ok := eng.index.(*hnsw.Products)
	if !ok || a.sharedDatabase() {
		return eng.index.Close()
	}
	defer g.Close()
	t0 := time.Now()
	token := rand.Uint64() | 1
	if err := g.Save(token); err != nil {
		return fmt.Errorf("index: save graph: %w", err)
	}
	if err := a.store.SetSettings(ctx, map[string]string{settingIndexGraph: strconv.FormatUint(token, 10)}); err != nil {
		return fmt.Errorf("index: record saved graph: %w", err)
	}
	a.log.Info("index graph saved", "subsystem", "index", "vectors", g.Len(), "dir", a.graphDir(eng.embedder.Model()), "ms", time.Since(t0).Milliseconds())
	return nil
}

// switchEngine serves a new model with eng (its exact index loaded) after
// a model switch: with HNSW chosen its graph is built in the background.
// The old index is closed a minute later, when searches that took it are
// done; saved graphs of other models are removed.
func (a *App) switchEngine(eng *engine) {
	a.ix.mu.Lock()
	old := a.engine.Swap(eng)
	a.ix.touched, a.ix.state = nil, "exact"
	if eng.index.Capabilities().Shared {
		a.ix.build++ // a reconciliation of the old model's class stops
		a.ix.state = "shared"
	}
	a.ix.mu.Unlock()
	time.AfterFunc(time.Minute, func() { old.index.Close() })
	a.removeGraphsExcept(eng.embedder.Model())
	if a.ix.kind == IndexHNSW {
		a.buildInBackground(eng)
	}
}

// removeGraphsExcept deletes saved graphs of models other than model.
func (a *App) removeGraphsExcept(model string) {
	keep := a.graphDir(model)
	dirs, _ := filepath.Glob(filepath.Join(a.cfg.DataDir, indexDir, "*"))
	for _, d := range dirs {
		if d != keep {
			os.RemoveAll(d)
		}
	}
}
