package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lookalike/lookalike/api"
	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/embed/clip"
	"github.com/lookalike/lookalike/imagedecode"
	"github.com/lookalike/lookalike/store"
	"github.com/lookalike/lookalike/vectorindex"
)

// engine is the model that answers searches and the in-memory index of its
// vectors. It is replaced whole when the catalogue moves to another model.
type engine struct {
	embedder embed.Embedder
	index    vectorindex.Index
}

// Settings keys recording the index's model.
const (
	settingModel    = "model"
	settingModelDir = "model_dir"
)

// loadModel loads the built-in descriptor (dir == "") or a CLIP model.
func (a *App) loadModel(dir string) (embed.Embedder, error) {
	if dir == "" {
		return builtin.New(), nil
	}
	e, err := clip.Load(dir, clip.Options{LibraryPath: a.cfg.ORTLibrary, Threads: a.cfg.EmbedThreads})
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	a.closers = append(a.closers, e.Close)
	return e.Interface(), nil
}

// loadByName loads the model the index was built with.
func (a *App) loadByName(name, dir string) (embed.Embedder, error) {
	if e, ok := builtin.ByName(name); ok { // this version or an older one
		return e, nil
	}
	if dir == "" {
		return nil, fmt.Errorf("the index's model %s was not loaded from a known directory", name)
	}
	e, err := a.loadModel(dir)
	if err != nil {
		return nil, err
	}
	if e.Model() != name {
		return nil, fmt.Errorf("%s now holds model %s, not the index's %s", dir, e.Model(), name)
	}
	return e, nil
}

func (a *App) closeModels() {
	for _, c := range a.closers {
		c()
	}
	a.closers = nil
}

// chooseModels decides which model answers searches now. When the
// configured model differs from the one the index was built with, the old
// one keeps answering while the catalogue is re-embedded in the background
// (a.target); when the configured one fails to load, the old one stays.
func (a *App) chooseModels(ctx context.Context) (embed.Embedder, error) {
	active, err := a.store.Setting(ctx, settingModel)
	if err != nil {
		return nil, err
	}
	activeDir, err := a.store.Setting(ctx, settingModelDir)
	if err != nil {
		return nil, err
	}
	if active == "" { // an index from before settings were kept: ask the data
		counts, err := a.store.IndexedModels(ctx)
		if err != nil {
			return nil, err
		}
		var best int64
		for m, n := range counts {
			if n > best {
				active, best = m, n
			}
		}
	}
	target, terr := a.loadModel(a.cfg.ModelDir)
	record := func(e embed.Embedder, dir string) error {
		return a.store.SetSettings(ctx, map[string]string{settingModel: e.Model(), settingModelDir: dir})
	}
	switch {
	case terr != nil && active == "":
		return nil, terr
	case terr != nil:
		old, oerr := a.loadByName(active, activeDir)
		if oerr != nil {
			return nil, fmt.Errorf("%w; and the index's model %s cannot be loaded either: %v", terr, active, oerr)
		}
		a.log.Error("the configured model failed to load; keeping the index's model", "subsystem", "model", "err", terr, "model", old.Model())
		if err := record(old, activeDir); err != nil {
			return nil, err
		}
		return old, nil
	case active == "" || active == target.Model():
		if err := record(target, a.cfg.ModelDir); err != nil {
			return nil, err
		}
		a.log.Info("model", "subsystem", "model", "model", target.Model(), "dimensions", target.Dim(), "text", embed.CanEmbedText(target))
		return target, nil
	}
	a.target = target
	a.mig.set(active, target.Model())
	old, oerr := a.loadByName(active, activeDir)
	if oerr != nil {
		// Serve the new model at once; products join its index as they are
		// re-embedded from the stored images.
		a.log.Warn("cannot load the index's model to answer searches while the catalogue moves to the new one; searches use the new model and find products as they are re-embedded",
			"subsystem", "model", "index_model", active, "err", oerr)
		return target, nil
	}
	a.log.Info("model changed: re-embedding the catalogue in the background; searches use the old model until it is done",
		"subsystem", "model", "from", active, "to", target.Model())
	return old, nil
}

func (a *App) loadIndex(ctx context.Context, model string, idx vectorindex.Index) error {
	if idx.Capabilities().Shared { // a round trip per vector: many at once
		return a.loadParallel(ctx, model, idx, nil)
	}
	return a.store.LoadIndex(ctx, model, func(p catalog.Product, sha string, vec []float32) error {
		return idx.Upsert(vectorindex.Key(p.Key), sha, vec, vectorindex.MetaOf(&p))
	})
}

// apiEngine gives the API the current model and index, consistently.
func (a *App) apiEngine() api.Engine {
	eng := a.engine.Load()
	return api.Engine{Embedder: eng.embedder, Index: eng.index, Migration: a.mig.status, IndexStatus: a.indexStatus}
}

// migration reports a background move of the catalogue to another model.
type migration struct {
	mu                   sync.Mutex
	active               bool
	leading              bool // this replica is committing the switch
	from, to             string
	total, done, skipped int
	started              time.Time
	err                  string
}

// setLeading notes that this replica's switch is committing: the change
// feed's row of it is this replica's own, its index rebuilt by the switch.
func (m *migration) setLeading(v bool) {
	m.mu.Lock()
	m.leading = v
	m.mu.Unlock()
}

// isActive says this replica still expects the catalogue to move to
// another model (its index may lack the moved products even when it
// serves the new model already).
func (m *migration) isActive() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active
}

func (m *migration) isLeading() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leading
}

// finish notes that the catalogue is on the new model.
func (m *migration) finish() {
	m.mu.Lock()
	m.active = false
	m.mu.Unlock()
}

func (m *migration) set(from, to string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active, m.from, m.to, m.started = true, from, to, time.Now()
}

func (m *migration) status() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.active {
		return nil
	}
	return map[string]any{"from": m.from, "to": m.to, "images_total": m.total, "images_done": m.done,
		"images_missing": m.skipped, "started_at": m.started.UTC(), "error": m.err}
}

// MigrationRetry is how often a replica that is to move the catalogue to
// its model, but found another replica holding the migration's leader
// lock, tries again: a leader that stopped (killed, its connection lost)
// leaves the work to the others.
var MigrationRetry = 30 * time.Second

// MigrationPass, when set (by tests), runs at the start of each migration
// pass that holds the leader lock, under the pass's context; an error stops
// the pass.
var MigrationPass func(ctx context.Context) error

// migrate moves the catalogue to target, once in the fleet: the replica
// holding the leader lock "model-migration" re-embeds and switches (pass);
// the others try the lock again every MigrationRetry until the switch is
// done, by them or by another replica (then they follow it: followSwitch).
func (a *App) migrate(target embed.Embedder) {
	defer a.bg.Done()
	ctx, cancel := a.bgContext()
	defer cancel()
	log := a.log.With("subsystem", "model", "to", target.Model())
	t := time.NewTicker(MigrationRetry)
	defer t.Stop()
	told := false
	for {
		// The switch writes the catalogue's model: once it is target, the
		// work is done, here or by another replica (whose change may not
		// have reached the feed yet: follow it now).
		model, err := a.store.Setting(ctx, settingModel)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.Error("model migration: read the settings", "err", err)
			}
		case model == target.Model():
			a.follow(ctx, model)
			if a.engine.Load().embedder.Model() == model {
				return
			}
		default:
			lctx, leader, ok, err := a.store.TryLeader(ctx, "model-migration")
			switch {
			case err != nil:
				log.Error("model migration: taking the leader lock", "err", err)
			case !ok:
				if !told {
					log.Info("another replica is moving the catalogue to the new model; this one serves the old one until it is done", "retry_every", MigrationRetry.String())
					told = true
				}
			default:
				done := a.pass(lctx, target, log)
				leader()
				if done {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pass re-embeds every indexed image with the target model from the
// stored copies, then switches the index over in one transaction: no
// search ever compares vectors of two models. ctx is the leadership's: a
// lost lock stops the pass. It reports whether the switch is done.
func (a *App) pass(ctx context.Context, target embed.Embedder, log *slog.Logger) bool {
	fail := func(err error) bool {
		switch {
		case errors.Is(context.Cause(ctx), store.ErrLeadershipLost):
			log.Error("re-embedding stopped: the leader lock was lost; another replica carries it on (vectors made so far are kept)", "err", context.Cause(ctx))
		case ctx.Err() != nil: // stopping
			return false
		default:
			log.Error("re-embedding stopped", "err", err, "retry_in", MigrationRetry.String())
		}
		a.mig.mu.Lock()
		a.mig.err = err.Error()
		a.mig.mu.Unlock()
		return false
	}
	if MigrationPass != nil {
		if err := MigrationPass(ctx); err != nil {
			return fail(err)
		}
	}
	// Embed what is missing; then pause the workers, embed what they added
	// meanwhile, and switch.
	if err := a.embedMissing(ctx, target, log); err != nil {
		return fail(err)
	}
	a.workerMu.Lock()
	defer a.workerMu.Unlock()
	if a.stopping {
		return false
	}
	if err := a.worker.Stop(ctx); err != nil {
		return fail(err)
	}
	defer a.worker.Start(context.Background())
	if err := a.embedMissing(ctx, target, log); err != nil {
		return fail(err)
	}
	var loadErr error
	a.mig.setLeading(true) // the feed's row of this switch is this replica's
	defer a.mig.setLeading(false)
	moved, queued, err := a.store.SwitchModel(ctx, target.Model(),
		map[string]string{settingModel: target.Model(), settingModelDir: a.cfg.ModelDir, store.SettingServingModel: target.Model()}, time.Now(), func() {
			idx, err := a.newIndex(context.Background(), target.Model(), target.Dim())
			if loadErr = err; err == nil {
				loadErr = a.loadIndex(context.Background(), target.Model(), idx)
			}
			if loadErr == nil {
				a.worker.SetEmbedder(target) // before any other write: a reindex-one in flight cannot slip an old vector in after
				a.switchEngine(&engine{embedder: target, index: idx})
			}
		})
	if err == nil {
		err = loadErr
	}
	if err != nil {
		return fail(err)
	}
	a.mig.finish()
	log.Info("model switched", "products", moved, "requeued", queued, "took", time.Since(a.mig.started).Round(time.Millisecond).String())
	return true
}

// embedMissing computes target-model vectors for indexed images that lack
// one, from the stored copies.
func (a *App) embedMissing(ctx context.Context, target embed.Embedder, log *slog.Logger) error {
	shas, err := a.store.MissingEmbeddings(ctx, target.Model())
	if err != nil {
		return err
	}
	a.mig.mu.Lock()
	a.mig.total = a.mig.done + a.mig.skipped + len(shas)
	a.mig.mu.Unlock()
	last := time.Now()
	for _, sha := range shas {
		if err := ctx.Err(); err != nil {
			return err
		}
		skipped := false
		b, err := a.blobs.Get(ctx, sha)
		if err == nil {
			var vec []float32
			img, derr := imagedecode.DecodeContext(ctx, b, imagedecode.Limits{MaxPixels: a.cfg.MaxImagePixels, MinSide: embed.DecodeSide(target),
				Budget: a.decodeBudget, Timeout: a.cfg.DecodeTimeout})
			if derr == nil {
				vec, err = target.EmbedImage(ctx, img.Image)
				img.Release()
				if err == nil {
					err = a.store.PutEmbedding(ctx, sha, target.Model(), vec, time.Now())
				}
				if err != nil {
					return err
				}
			} else {
				skipped = true
			}
		} else {
			skipped = true // reindexed from its URL after the switch
		}
		a.mig.mu.Lock()
		if skipped {
			a.mig.skipped++
		} else {
			a.mig.done++
		}
		done, total := a.mig.done+a.mig.skipped, a.mig.total
		a.mig.mu.Unlock()
		if time.Since(last) > 5*time.Second {
			log.Info("re-embedding", "done", done, "total", total)
			last = time.Now()
		}
	}
	return nil
}
