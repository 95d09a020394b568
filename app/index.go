package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
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
// in <data dir>/index/<model>/. Stop, and every graphSaveEvery while
// changes come, save the graph with its mark: the change feed's row up to
// which every change is in it (seq, key and time, so that a restored
// database whose feed has another row at that seq is told apart). A start
// whose feed still holds that row loads the graph and replays the feed
// after it, so a crash, a run with another index or another replica's
// changes cost only the replay; when the row is gone (pruned after
// changeRetention, a restored database) or the graph or vector file is
// damaged, the exact scan serves while the graph is built in the
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

	indexDir  = "index"
	markFile  = "graph.mark" // beside hnsw.GraphFile: the feed row the graph is current with
	saveEvery = 10 * time.Minute
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
// loads a saved graph and replays the feed since it was saved, or loads
// the exact scan and starts building the graph in the background. The feed
// must have been started (startFeed).
func (a *App) startIndex(ctx context.Context) error {
	eng := a.engine.Load()
	if eng.index.Capabilities().Shared {
		a.reconcileInBackground(eng)
		return nil
	}
	model := eng.embedder.Model()
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
		a.bg.Add(1)
		go a.saveEveryWhile()
		t0 := time.Now()
		g, seq, err := a.loadGraph(ctx, model, eng.embedder.Dim())
		if err == nil {
			eng.index.Close()
			a.engine.Store(&engine{embedder: eng.embedder, index: g})
			a.ix.state = "loaded"
			a.feed.mu.Lock()
			a.feed.after = seq // replay what the graph lacks
			a.feed.mu.Unlock()
			replayed := 0
			for {
				n, err := a.catchUp(ctx)
				if err != nil {
					return err
				}
				if replayed += n; n < feedPage {
					break
				}
			}
			log.Info("index loaded from the saved graph", "vectors", g.Len(), "changes_replayed", replayed, "dir", a.graphDir(model), "ms", time.Since(t0).Milliseconds())
			return nil
		}
		log.Info("no usable saved graph: the exact scan serves while the graph is built", "reason", err)
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

// graphMark is what a saved graph is current with: every change of the
// feed up to Seq is in it; ShopID, ProductID and At are that row's, which a
// restored database's row of the same seq would not share.
type graphMark struct {
	Seq       int64  `json:"seq"`
	ShopID    int64  `json:"shop_id"`
	ProductID string `json:"product_id"`
	At        int64  `json:"at_us"`
}

// token is what the graph file is saved with, so that a mark and a graph
// that do not belong together are refused.
func (m graphMark) token() uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%d\x00%s\x00%d", m.Seq, m.ShopID, m.ProductID, m.At)
	return h.Sum64()
}

// markAt reads the feed's row seq as a mark; false when the feed does not
// hold it (pruned, or never there).
func (a *App) markAt(ctx context.Context, seq int64) (graphMark, bool, error) {
	if seq <= 0 {
		return graphMark{}, false, nil
	}
	cs, _, err := a.store.Changes(ctx, seq-1, 1)
	if err != nil || len(cs) == 0 || cs[0].Seq != seq {
		return graphMark{}, false, err
	}
	c := cs[0]
	return graphMark{Seq: seq, ShopID: c.Key.ShopID, ProductID: string(c.Key.ProductID), At: c.At.UnixMicro()}, true, nil
}

// loadGraph opens model's saved graph if the feed still holds the row it
// was saved at, and returns that row's seq.
func (a *App) loadGraph(ctx context.Context, model string, dim int) (*hnsw.Products, int64, error) {
	b, err := os.ReadFile(filepath.Join(a.graphDir(model), markFile))
	if err != nil {
		return nil, 0, fmt.Errorf("no saved graph: %w", err)
	}
	var saved graphMark
	if err := json.Unmarshal(b, &saved); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", markFile, err)
	}
	now, ok, err := a.markAt(ctx, saved.Seq)
	if err != nil {
		return nil, 0, err
	}
	if !ok || now != saved {
		return nil, 0, fmt.Errorf("the change feed no longer holds the change %d the graph was saved at (pruned, or another database)", saved.Seq)
	}
	g, err := hnsw.LoadProducts(a.graphConfig(model, dim), saved.token())
	return g, saved.Seq, err
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
	swapped, err = a.catchUpSwap(ctx, build, eng, &engine{embedder: eng.embedder, index: g}, "built")
	if !swapped {
		return err // nil: a model switch replaced eng meanwhile
	}
	eng.index.Close()
	log.Info("index built: the graph serves", "vectors", g.Len(), "ms", time.Since(t0).Milliseconds())
	return nil
}

// catchUpSwap replays on next's index the products changed since build
// began (a.ix.touched), re-read from the store, until none changed during
// a round; then next serves instead of from, swapped holding the hook's
// lock so that no change slips between. false (next unused): a newer build
// or a model switch replaced from meanwhile.
func (a *App) catchUpSwap(ctx context.Context, build int, from, next *engine, state string) (bool, error) {
	for {
		a.ix.mu.Lock()
		if a.ix.build != build || a.engine.Load() != from {
			a.ix.mu.Unlock()
			return false, nil
		}
		keys := a.ix.touched
		if len(keys) == 0 {
			a.engine.Store(next)
			a.ix.touched, a.ix.state = nil, state
			a.ix.mu.Unlock()
			return true, nil
		}
		a.ix.touched = map[vectorindex.Key]bool{}
		a.ix.mu.Unlock()
		if err := a.replay(ctx, next.index, next.embedder.Model(), keys); err != nil {
			return false, err
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

// saveIndex saves the serving HNSW graph at Stop (the feed and the
// writers have stopped) and closes the index.
func (a *App) saveIndex(ctx context.Context) error {
	idx := a.engine.Load().index
	defer idx.Close()
	if _, ok := idx.(*hnsw.Products); !ok {
		return nil
	}
	_, err := a.saveGraph(ctx)
	return err
}

// saveGraph saves the serving HNSW graph with the mark of the feed's
// position now and returns the seq saved at (0: nothing saved: no graph
// serves, or the feed is empty). Changes applied while it saves may be in
// the graph too; a load replays them again, which changes nothing.
func (a *App) saveGraph(ctx context.Context) (int64, error) {
	eng := a.engine.Load()
	g, ok := eng.index.(*hnsw.Products)
	if !ok {
		return 0, nil
	}
	a.feed.mu.Lock()
	seq := a.feed.after // every change up to it is applied
	a.feed.mu.Unlock()
	mark, ok, err := a.markAt(ctx, seq)
	if err != nil || !ok {
		return 0, err
	}
	t0 := time.Now()
	if err := g.Save(mark.token()); err != nil {
		return 0, fmt.Errorf("index: save graph: %w", err)
	}
	b, _ := json.Marshal(mark)
	dir := a.graphDir(eng.embedder.Model())
	tmp := filepath.Join(dir, markFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return 0, fmt.Errorf("index: save graph mark: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, markFile)); err != nil {
		return 0, fmt.Errorf("index: save graph mark: %w", err)
	}
	a.log.Info("index graph saved", "subsystem", "index", "vectors", g.Len(), "seq", seq, "dir", dir, "ms", time.Since(t0).Milliseconds())
	return seq, nil
}

// saveEveryWhile saves the graph every saveEvery while changes come, so
// that a crash costs a replay of the feed rather than a rebuild.
func (a *App) saveEveryWhile() {
	defer a.bg.Done()
	ctx, cancel := a.bgContext()
	defer cancel()
	t := time.NewTicker(saveEvery)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.feed.mu.Lock()
		seq := a.feed.after
		a.feed.mu.Unlock()
		if seq == last {
			continue
		}
		if saved, err := a.saveGraph(ctx); err != nil {
			a.log.Error("index: periodic save", "subsystem", "index", "err", err)
		} else if saved > 0 {
			last = saved
		}
	}
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
	a.retire(old, eng)
}

// retire closes old's index a minute after eng replaced it (when searches
// that took it are done), removes saved graphs of other models and, with
// HNSW chosen, builds eng's graph in the background.
func (a *App) retire(old, eng *engine) {
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
