package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lookalike/lookalike/catalog"
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
	for _, c := range changes {
		if c.Key == (catalog.Key{}) {
			a.modelSwitched(ctx) // the process that made it rebuilt its index
			continue
		}
		k := vectorindex.Key(c.Key)
		a.feed.mu.Lock()
		stale := c.Seq <= a.feed.applied[k]
		a.feed.mu.Unlock()
		if stale {
			continue // applied already (this process made it, or a newer one)
		}
		// Read outside the lock (the hook runs on the store's writer);
		// what is read is at least as new as c, which has committed.
		p, err := a.store.Get(ctx, c.Key)
		if errors.Is(err, catalog.ErrNotFound) {
			p, err = catalog.Product{Key: c.Key}, nil // never stored (a rolled-back tombstone): not searchable
		}
		if err != nil {
			return 0, err
		}
		a.feed.mu.Lock()
		if a.feed.claim(k, c.Seq) {
			a.applyToIndex(p, nil)
		}
		a.feed.mu.Unlock()
	}
	a.feed.mu.Lock()
	a.feed.after = next
	a.feed.mu.Unlock()
	return len(changes), nil
}

// modelSwitched is told of a model switch in the feed. The process that
// made it has rebuilt its index; another one keeps its model and index, so
// it says that it must be restarted to serve the new model.
func (a *App) modelSwitched(ctx context.Context) {
	a.mig.mu.Lock()
	mine := a.mig.active // this process is the one switching
	a.mig.mu.Unlock()
	if mine {
		return
	}
	serving, err := a.store.Setting(ctx, store.SettingServingModel)
	if err != nil || serving == "" {
		return
	}
	if mine := a.engine.Load().embedder.Model(); serving != mine {
		a.log.Error("another replica switched the catalogue to another model; restart this one to serve it (it keeps serving its own, and its workers' vectors are refused)",
			"subsystem", "model", "serving", mine, "database", serving)
	}
}
