// Package verify compares the catalogue with the vector index and, when
// asked, repairs what differs: live products without a current vector,
// vectors for deleted or missing products, vectors of another model, and
// stored images whose bytes no longer match their hash.
package verify

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"time"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
)

// Store is what verification reads and repairs.
type Store interface {
	ScanLive(ctx context.Context, fn func(c catalog.Check) error) error
	Requeue(ctx context.Context, k catalog.Key, now time.Time) error
	Embedding(ctx context.Context, sha, model string) ([]float32, bool, error)
	Get(ctx context.Context, k catalog.Key) (catalog.Product, error)
}

// Index is the in-memory vector index: products, each with one vector per
// indexed photo (by image hash).
type Index interface {
	Each(fn func(k vectorindex.Key, photos []string) bool) error
	Len() int
	Photos(k vectorindex.Key) ([]string, error)
	Upsert(k vectorindex.Key, photo string, vec []float32, m vectorindex.Meta) error
	DeletePhoto(k vectorindex.Key, photo string) error
}

// Images reads stored image bytes.
type Images interface {
	Get(ctx context.Context, sha string) ([]byte, error)
}

// Problem is one thing found wrong.
type Problem struct {
	ShopID    int64             `json:"shop_id"`
	ProductID catalog.ProductID `json:"product_id"`
	Kind      string            `json:"kind"`
	Detail    string            `json:"detail"`
	Repaired  bool              `json:"repaired"`
}

// Problem kinds.
const (
	MissingVector = "missing_vector" // indexed, but its vector is gone from the store
	NotInIndex    = "not_in_index"   // indexed with a stored vector, absent from the in-memory index
	StrayVector   = "stray_vector"   // in the index but deleted, missing, not indexed, or of a photo the product no longer has
	OtherModel    = "other_model"    // indexed by a model other than the running one
	StuckPending  = "stuck_pending"  // pending with no job to make progress
	ImageMismatch = "image_mismatch" // the stored image is missing or its bytes do not match the hash
)

// Report is the outcome of one verification.
type Report struct {
	Products int       `json:"products"`
	Indexed  int       `json:"indexed"`
	Vectors  int       `json:"vectors"`
	Model    string    `json:"model"`
	Problems []Problem `json:"problems"`
	Repaired int       `json:"repaired"`
	TookMS   int64     `json:"took_ms"`
}

// Run verifies, and repairs when repair is set: products are requeued for a
// fresh reindex, stray vectors leave the index, and vectors missing from the
// index are loaded from the store.
func Run(ctx context.Context, st Store, idx Index, images Images, model string, metaOf func(*catalog.Product) vectorindex.Meta, repair bool) (Report, error) {
	start := time.Now()
	rep := Report{Model: model, Problems: []Problem{}}
	live := map[vectorindex.Key][]string{} // the indexed photos of each live product, as scanned
	now := time.Now()
	add := func(p *catalog.Product, kind, detail string, fix func() error) error {
		pr := Problem{ShopID: p.ShopID, ProductID: p.ProductID, Kind: kind, Detail: detail}
		if repair && fix != nil {
			if err := fix(); err != nil && !errors.Is(err, catalog.ErrNotFound) {
				return err
			}
			pr.Repaired = true
			rep.Repaired++
		}
		rep.Problems = append(rep.Problems, pr)
		return nil
	}
	err := st.ScanLive(ctx, func(c catalog.Check) error {
		rep.Products++
		p := &c.Product
		k := vectorindex.Key(p.Key)
		requeue := func() error { return st.Requeue(ctx, p.Key, now) }
		switch p.IndexState {
		case catalog.StatePending:
			if !c.HasJob {
				return add(p, StuckPending, "pending without a queued job", requeue)
			}
			return nil
		case catalog.StateIndexed:
		default:
			return nil
		}
		rep.Indexed++
		if p.Model != model {
			return add(p, OtherModel, "vector made by "+p.Model, requeue)
		}
		if len(c.Missing) > 0 {
			return add(p, MissingVector, "no stored vector for image "+c.Missing[0], requeue)
		}
		shas := catalog.IndexedSHAs(p.Photos)
		live[k] = shas
		if images != nil {
			for _, sha := range shas {
				b, err := images.Get(ctx, sha)
				switch {
				case errors.Is(err, fs.ErrNotExist):
					return add(p, ImageMismatch, "stored image "+sha+" is missing", requeue)
				case err != nil:
					return err
				case blob.Sum(b) != sha:
					return add(p, ImageMismatch, "stored image bytes do not match "+sha, requeue)
				}
			}
		}
		loaded, err := idx.Photos(k)
		if err != nil {
			return err
		}
		for _, sha := range shas {
			if slices.Contains(loaded, sha) {
				continue
			}
			if err := add(p, NotInIndex, "vector of photo "+sha+" stored but not loaded", func() error {
				v, ok, err := st.Embedding(ctx, sha, p.Model)
				if err != nil || !ok {
					return err
				}
				return idx.Upsert(k, sha, v, metaOf(p))
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	// The index's photos that the scan did not see (collected first: the
	// checks below call the store and the index).
	type entry struct {
		k   vectorindex.Key
		sha string
	}
	var unseen []entry
	if err := idx.Each(func(k vectorindex.Key, photos []string) bool {
		for _, sha := range photos {
			if !slices.Contains(live[k], sha) {
				unseen = append(unseen, entry{k, sha})
			}
		}
		return true
	}); err != nil {
		return rep, err
	}
	for _, e := range unseen {
		k, sha := e.k, e.sha
		// It may have become current since the scan (a repair just queued
		// above can already be done): ask again before calling it stray.
		if p, err := st.Get(ctx, catalog.Key(k)); err == nil && p.Searchable() && p.Model == model &&
			slices.Contains(catalog.IndexedSHAs(p.Photos), sha) {
			continue
		}
		p := &catalog.Product{Key: catalog.Key(k)}
		if err := add(p, StrayVector, "photo "+sha+" in the index but not a live indexed product's photo", func() error { return idx.DeletePhoto(k, sha) }); err != nil {
			return rep, err
		}
	}
	rep.Vectors = idx.Len()
	rep.TookMS = time.Since(start).Milliseconds()
	return rep, nil
}
