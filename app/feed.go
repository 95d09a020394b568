package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/store"
	"github.com/lookalike/lookalike/vectorindex"
)

// The in-memory index follows the store through its change feed: every
// change committed by any process on the database is a row there, and
// tailFeed re-reads each changed product and applies it (idempotently).
// Changes made through this process's store are applied at once, right
// after their commit (the store's change hook), so a webhook's reply
// already finds its change in the index here; the feed brings the others
// (another replica's webhooks and jobs). Each product remembers the seq of
// the change last applied to it, so an older one never overwrites a newer.

// feedPoll is how often the feed is read when nothing woke it (the
// driver's wake-up may not reach across processes).
const feedPoll = time.Second

// feedGather is how long the feed waits after a wake-up before reading,
// so that the changes committed meanwhile come in the same page.
const feedGather = 25 * time.Millisecond

// feedPage is how many changes one read takes.
const feedPage = 500

type feed struct {
	mu      sync.Mutex
	applied map[vectorindex.Key]int64 // the seq of the change last applied to each product
	after   int64                     // the feed is read after this seq
}

// claim reports whether a change of seq to k is newer than what the index
// has, and if so records it as applied; call with mu held.
func (f *feed) claim(k vectorindex.Key, seq int64) bool {
	if seq <= f.applied[k] {
		return false
	}
	if f.applied == nil {
		f.applied = map[vectorindex.Key]int64{}
	}
	f.applied[k] = seq
	return true
}

// onChange is the store's change hook: a change made through this
// process, applied right after its commit.
func (a *App) onChange(seq int64, p catalog.Product, vecs map[string][]float32) {
	a.feed.mu.Lock()
	defer a.feed.mu.Unlock()
	if a.feed.claim(vectorindex.Key(p.Key), seq) {
		a.applyToIndex(p, vecs)
	}
}

// startFeed sets where the feed is read from: call it before the index is
// loaded, so that every change after the load is read again.
func (a *App) startFeed(ctx context.Context) error {
	seq, err := a.store.LastChange(ctx)
	if err != nil {
		return err
	}
	a.feed.mu.Lock()
	a.feed.after = seq
	a.feed.mu.Unlock()
	return nil
}

// tailFeed applies the feed's changes to the index until stop is closed.
func (a *App) tailFeed() {
	defer a.bg.Done()
	ctx, cancel := a.bgContext()
	defer cancel()
	t := time.NewTicker(feedPoll)
	defer t.Stop()
	for {
		n, err := a.catchUp(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Error("read the change feed", "subsystem", "index", "err", err)
		}
		if n == feedPage {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-a.store.ChangesAvailable():
			// Let the changes of a burst gather: a page costs two reads
			// however many changes it holds, and a busy fleet wakes every
			// replica after every few commits.
			select {
			case <-ctx.Done():
				return
			case <-time.After(feedGather):
			}
		case <-t.C:
		}
	}
}

// catchUp applies one page of the feed and returns how many changes it
// held.
func (a *App) catchUp(ctx context.Context) (int, error) {
	a.feed.mu.Lock()
	after := a.feed.after
	a.feed.mu.Unlock()
	changes, next, err := a.store.Changes(ctx, after, feedPage)
	if err != nil {
		return 0, err
	}
	// The products changed, each with its newest change of the page, read
	// together (outside the lock: the hook runs on the store's writer);
	// what is read is at least as new as each change, which has committed.
	newest := map[catalog.Key]int64{}
	var keys []catalog.Key
	for _, c := range changes {
		if c.Key == (catalog.Key{}) {
			a.modelSwitched(ctx) // the process that made it rebuilt its index
			continue
		}
		a.feed.mu.Lock()
		stale := c.Seq <= a.feed.applied[vectorindex.Key(c.Key)]
		a.feed.mu.Unlock()
		if stale {
			continue // applied already (this process made it, or a newer one)
		}
		if _, ok := newest[c.Key]; !ok {
			keys = append(keys, c.Key)
		}
		newest[c.Key] = max(newest[c.Key], c.Seq)
	}
	if len(keys) > 0 {
		ps, err := a.store.GetMany(ctx, keys)
		if err != nil {
			return 0, err
		}
		for _, k := range keys {
			p, ok := ps[k]
			if !ok {
				p = catalog.Product{Key: k} // never stored (a rolled-back tombstone): not searchable
			}
			a.feed.mu.Lock()
			if a.feed.claim(vectorindex.Key(k), newest[k]) {
				a.applyToIndex(p, nil)
			}
			a.feed.mu.Unlock()
		}
	}
	a.feed.mu.Lock()
	a.feed.after = next
	a.feed.mu.Unlock()
	return len(changes), nil
}

// modelSwitched is told of a model switch in the feed. The process that
// made it has rebuilt its index; another one follows it in the background
// (the feed goes on meanwhile): it loads the new model's vectors into a new
// index and serves the new model with it (followSwitch).
func (a *App) modelSwitched(ctx context.Context) {
	if a.mig.isLeading() {
		return // this process is the one switching: the switch rebuilds its index
	}
	serving, err := a.store.Setting(ctx, store.SettingServingModel)
	if err != nil || serving == "" || serving == a.engine.Load().embedder.Model() && !a.mig.isActive() {
		return
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		ctx, cancel := a.bgContext()
		defer cancel()
		a.follow(ctx, serving)
	}()
}

// follow makes this replica serve model, the one another replica switched
// the catalogue to, with an index of the moved catalogue (also when it
// served that model already, its index holding only the products
// re-embedded so far): the configured model when it is that one, else the
// model as the settings name it (a built-in version, or the CLIP directory
// the switching replica recorded). One follow runs at a time; a model that
// cannot be loaded here leaves the old one serving, said in the log.
func (a *App) follow(ctx context.Context, model string) {
	a.followMu.Lock()
	defer a.followMu.Unlock()
	old := a.engine.Load().embedder.Model()
	if old == model && !a.mig.isActive() {
		return // serving it, with an index built from the moved catalogue
	}
	log := a.log.With("subsystem", "model", "from", old, "to", model)
	e := a.engine.Load().embedder
	if e.Model() != model {
		e = a.target
	}
	if e == nil || e.Model() != model {
		dir, err := a.store.Setting(ctx, settingModelDir)
		if err == nil {
			e, err = a.loadByName(model, dir)
		}
		if err != nil {
			log.Error("another replica switched the catalogue to a model this one cannot load; it keeps serving its own (its workers' vectors are refused): configure it with that model and restart it", "err", err)
			return
		}
	}
	t0 := time.Now()
	if err := a.followSwitch(ctx, e); err != nil {
		if ctx.Err() == nil {
			log.Error("following the model switch failed; the old model keeps serving", "err", err)
		}
		return
	}
	a.mig.finish()
	log.Info("another replica switched the catalogue to a new model: this one serves it now", "vectors", a.engine.Load().index.Len(), "ms", time.Since(t0).Milliseconds())
}

// followSwitch builds the index of e's vectors from the store while the
// old engine keeps answering, replays the products changed meanwhile (the
// change hook and the feed note them in a.ix.touched), and swaps it in.
// The workers embed with e at once: the store accepts only its vectors.
func (a *App) followSwitch(ctx context.Context, e embed.Embedder) error {
	a.worker.SetEmbedder(e)
	idx, err := a.newIndex(ctx, e.Model(), e.Dim())
	if err != nil {
		return err
	}
	next := &engine{embedder: e, index: idx}
	if idx.Capabilities().Shared { // the switching replica filled the new model's class
		a.switchEngine(next)
		return nil
	}
	a.ix.mu.Lock()
	a.ix.build++ // a graph of the old model being built stops
	build := a.ix.build
	a.ix.touched = map[vectorindex.Key]bool{}
	from := a.engine.Load()
	a.ix.mu.Unlock()
	ok := false
	defer func() {
		if !ok {
			a.ix.mu.Lock()
			if a.ix.build == build {
				a.ix.touched = nil
			}
			a.ix.mu.Unlock()
			idx.Close()
		}
	}()
	if err := a.loadIndex(ctx, e.Model(), idx); err != nil {
		return err
	}
	if ok, err = a.catchUpSwap(ctx, build, from, next, "exact"); !ok {
		if err == nil {
			err = errors.New("another change of the index came first")
		}
		return err
	}
	a.retire(from, next)
	return nil
}
