package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/vectorindex/weaviate"
)

// A shared index: with LOOKALIKE_VECTOR_URL the vectors live in Weaviate
// (one class per model), outlive the process and are shared by every
// replica of one catalogue. A start therefore loads nothing into memory:
// Weaviate serves at once, and a reconciliation in the background compares
// it with the store, adding the photos it lacks (a write that failed while
// it was down) and removing those the catalogue no longer has. Replicas
// sharing one class must share the catalogue too (LOOKALIKE_DATABASE_URL):
// each reconciles the class against its own store.

// sharedLoaders is how many upserts a load into a shared index keeps in
// flight: its client sends them to the server in shared batches.
const sharedLoaders = 64

// Reconciliation is what the start's reconciliation of a shared index did.
type Reconciliation struct {
	Kept    int    `json:"kept"`    // photos already there
	Added   int    `json:"added"`   // indexed photos it lacked
	Removed int    `json:"removed"` // photos no live indexed product has
	TookMS  int64  `json:"took_ms"`
	Error   string `json:"error,omitempty"`
}

// checkVector validates the Weaviate settings.
func (c *Config) checkVector() error {
	if c.VectorURL == "" {
		return nil
	}
	u, err := url.Parse(c.VectorURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("LOOKALIKE_VECTOR_URL must be Weaviate's http(s)://host:port, got %q", c.VectorURL)
	}
	if c.Index != IndexAuto {
		return fmt.Errorf("LOOKALIKE_INDEX=%s and LOOKALIKE_VECTOR_URL choose two indexes: set one", c.Index)
	}
	if c.VectorClassPrefix != "" && !validPrefix(c.VectorClassPrefix) {
		return fmt.Errorf("LOOKALIKE_VECTOR_CLASS_PREFIX must start with a letter and hold only letters, digits and _, got %q", c.VectorClassPrefix)
	}
	return nil
}

func validPrefix(p string) bool {
	for i, r := range p {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '_')) {
			return false
		}
	}
	return true
}

// openWeaviate connects to the class of model's vectors, making it if new.
func (a *App) openWeaviate(ctx context.Context, model string, dim int) (vectorindex.Index, error) {
	x, err := weaviate.New(ctx, weaviate.Config{URL: strings.TrimSuffix(a.cfg.VectorURL, "/"), GRPCAddr: a.cfg.VectorGRPCAddr, APIKey: a.cfg.VectorAPIKey,
		Prefix: a.cfg.VectorClassPrefix, Model: model, Dim: dim, Log: a.log})
	if err != nil {
		return nil, fmt.Errorf("LOOKALIKE_VECTOR_URL: %w", err)
	}
	return x, nil
}

// reconcileInBackground starts the reconciliation of eng's shared index;
// changes made meanwhile are noted and replayed at its end.
func (a *App) reconcileInBackground(eng *engine) {
	a.ix.mu.Lock()
	a.ix.kind, a.ix.state = IndexWeaviate, "reconciling"
	a.ix.build++
	build := a.ix.build
	a.ix.touched = map[vectorindex.Key]bool{}
	a.ix.mu.Unlock()
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		ctx, cancel := a.bgContext()
		defer cancel()
		t0 := time.Now()
		r, err := a.reconcile(ctx, eng, build)
		r.TookMS = time.Since(t0).Milliseconds()
		log := a.log.With("subsystem", "index", "index", IndexWeaviate)
		if err != nil {
			r.Error = err.Error()
			if ctx.Err() == nil {
				log.Error("index: reconciling Weaviate with the store failed; it serves as it is", "err", err)
			}
		} else {
			log.Info("index reconciled with the store", "kept", r.Kept, "added", r.Added, "removed", r.Removed, "ms", r.TookMS)
		}
		a.ix.mu.Lock()
		if a.ix.build == build {
			a.ix.touched, a.ix.state, a.ix.reconciled = nil, "shared", &r
		}
		a.ix.mu.Unlock()
	}()
}

// reconcile makes eng's shared index hold exactly the store's indexed
// photos of its model. It lists the index first and scans the store after,
// so a photo written by another replica meanwhile is either seen by the
// scan or not listed; a listed photo the scan did not see is checked in
// the store again before it is removed.
func (a *App) reconcile(ctx context.Context, eng *engine, build int) (Reconciliation, error) {
	var r Reconciliation
	idx, model := eng.index, eng.embedder.Model()
	listed := map[vectorindex.Key][]string{}
	if err := idx.Each(func(k vectorindex.Key, photos []string) bool {
		listed[k] = photos
		return true
	}); err != nil {
		return r, err
	}
	seen := map[vectorindex.Key][]string{}
	err := a.loadParallel(ctx, model, idx, func(k vectorindex.Key, sha string) bool {
		seen[k] = append(seen[k], sha)
		if slices.Contains(listed[k], sha) {
			r.Kept++
			return false
		}
		r.Added++
		return true
	})
	if err != nil {
		return r, err
	}
	for k, photos := range listed {
		for _, sha := range photos {
			if slices.Contains(seen[k], sha) {
				continue
			}
			p, err := a.store.Get(ctx, catalog.Key(k))
			if err != nil && !errors.Is(err, catalog.ErrNotFound) {
				return r, err
			}
			if err == nil && p.Searchable() && p.Model == model && slices.Contains(catalog.IndexedSHAs(p.Photos), sha) {
				continue // indexed since the scan passed it
			}
			if err := idx.DeletePhoto(k, sha); err != nil {
				return r, err
			}
			r.Removed++
		}
	}
	// Replay what changed meanwhile (the hook wrote it too, but the load
	// may have written an older state of it after), until nothing did.
	for {
		a.ix.mu.Lock()
		if a.ix.build != build {
			a.ix.mu.Unlock()
			return r, nil
		}
		keys := a.ix.touched
		if len(keys) == 0 {
			a.ix.mu.Unlock()
			return r, nil
		}
		a.ix.touched = map[vectorindex.Key]bool{}
		a.ix.mu.Unlock()
		if err := a.replay(ctx, idx, model, keys); err != nil {
			return r, err
		}
	}
}
