package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// IndexState says where a product stands in the visual index.
type IndexState string

const (
	// StatePending: a reindex job is queued or running; the product has no current vector.
	StatePending IndexState = "pending"
	// StateIndexed: the product's current image has a vector in the index.
	StateIndexed IndexState = "indexed"
	// StateFailed: the last reindex failed permanently; IndexError says why.
	StateFailed IndexState = "failed"
	// StateNoImage: the product has no image and cannot be found by photo.
	StateNoImage IndexState = "no_image"
)

// Key identifies a product: ids are only unique within a shop.
type Key struct {
	ShopID    int64
	ProductID ProductID
}

// Product is the stored state of one product of one shop.
type Product struct {
	Key
	Title     string
	Price     *Price // nil when the CMS never sent one
	PriceRaw  string
	HeightCM  *float64
	HeightRaw string
	Available bool
	ImageURL  string  // the main photo's URL (Photos[0]); "" without photos
	Photos    []Photo // the main photo first, then the gallery; nil without photos
	Extra     map[string]json.RawMessage

	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt *time.Time

	IndexState  IndexState
	IndexError  string
	IndexedAt   *time.Time
	ImageSHA256 string // of the first indexed photo (usually the main one); "" when none is
	Model       string // model of the current vectors (all indexed photos share it)
	Generation  int64  // bumped whenever the product needs a new vector

	// SourceVersion is the version (or TIMESTAMP_X) of the newest event
	// applied; nil when events carried none.
	SourceVersion *int64
}

// Searchable reports whether the product belongs in the vector index.
func (p *Product) Searchable() bool {
	return p.DeletedAt == nil && p.IndexState == StateIndexed
}

// SetPhotos stores photos on p and derives what follows from them: the
// main photo's URL, the hash of the first indexed photo, the index state and
// its error. A product that is no longer indexed has no current model.
func (p *Product) SetPhotos(photos []Photo) {
	if len(photos) == 0 {
		photos = nil
	}
	p.Photos, p.ImageURL, p.ImageSHA256 = photos, "", ""
	if len(photos) > 0 {
		p.ImageURL = photos[0].URL
	}
	if shas := IndexedSHAs(photos); len(shas) > 0 {
		p.ImageSHA256 = shas[0]
	}
	p.IndexState, p.IndexError = ProductState(photos)
	if p.IndexState != StateIndexed {
		p.Model, p.IndexedAt = "", nil
	}
}

// Action is what a webhook did to the stored product.
type Action string

const (
	ActionCreated Action = "created"
	ActionUpdated Action = "updated"
	ActionDeleted Action = "deleted"
	// ActionIgnored: the event was older than the stored state.
	ActionIgnored Action = "ignored"
)

// Job is one claimed reindex job: compute the vectors of the product's
// pending photos as of Generation.
type Job struct {
	ID         int64
	Key        Key
	Generation int64
	Attempt    int        // 1 on the first run
	Photos     []JobPhoto // the photos to fetch and embed, in the product's order
}

// Errors stores return, whatever their engine.
var (
	// ErrNotFound: no such product (or, where it says so, no live one).
	ErrNotFound = errors.New("product not found")
	// ErrStale: the product changed (new image, deleted) while its job ran;
	// the job's result was discarded and the newer job does the work.
	ErrStale = errors.New("product changed while the job ran; result discarded")
	// ErrModelChanged: the service switched models while the job ran; the
	// job's vector was not recorded and the job should run again.
	ErrModelChanged = errors.New("the model changed while the job ran")
	// ErrStorageCorrupt: the database (or a stored file) is damaged; the
	// service refuses writes until it is restored.
	ErrStorageCorrupt = errors.New("storage is corrupt")
	// ErrStorageFull: the disk (or quota) holding the data directory is full.
	ErrStorageFull = errors.New("disk full")
	// ErrPruneRefused: a clean-up would remove too large a part of a store
	// at once, which looks like a lost or replaced database, not garbage.
	ErrPruneRefused = errors.New("prune refused")
)

// Pruning removes at most this share of a store in one pass (above
// PruneSmall items): more than that is not garbage collection but a sign
// that the database no longer knows what the store holds.
const (
	PruneMaxFraction = 0.10
	PruneSmall       = 10
)

// CheckPrune says whether removing remove of total items in one pass is
// plausible housekeeping (nil) or must be refused (ErrPruneRefused).
func CheckPrune(what string, remove, total int64) error {
	if remove <= PruneSmall || float64(remove) <= PruneMaxFraction*float64(total) {
		return nil
	}
	return fmt.Errorf("%w: would remove %d of %d %s (more than %d%% at once); nothing was removed: "+
		"check that lookalike.db is the database these files belong to ('lookalike verify', or restore it with 'lookalike restore')",
		ErrPruneRefused, remove, total, what, int(PruneMaxFraction*100))
}
