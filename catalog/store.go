package catalog

import "time"

// The types below are what a catalogue store (SQLite today) takes and
// returns; they live here so that callers declare their interfaces without
// depending on one engine.

// ApplyResult tells what ApplyEvent did.
type ApplyResult struct {
	Action           Action
	ReindexTriggered bool
	Changed          bool    // false when nothing was written (a repeat, a stale or duplicate event)
	Duplicate        bool    // the delivery id was seen before; the first reply is returned
	Product          Product // the stored state after the event (zero Key when nothing is stored)
	PhotosDropped    int     // photos over the cap (ApplyOptions.MaxPhotos) that were not kept
}

// ApplyOptions qualifies one event.
type ApplyOptions struct {
	ShopID     int64     // the event's shop (the caller has applied its default)
	DeliveryID string    // the sender's webhook-id; a repeat has no effect. Empty: no deduplication
	Now        time.Time // zero: time.Now()
	MaxPhotos  int       // photos kept per product (the main one first); 0: DefaultMaxPhotos
}

// ListOptions selects products for List.
type ListOptions struct {
	ShopID    int64
	Available *bool
	Deleted   bool      // include soft-deleted products
	After     ProductID // cursor: list ids after this one (in byte order of the text); "" from the start
	Limit     int
}

// Stats are the counts /stats reports.
type Stats struct {
	Vectors        int64
	ActiveProducts int64
	Deleted        int64
	Pending        int64
	Running        int64
	Failed         int64
	PhotosIndexed  int64 // photos of live products with a current vector of the model
	PhotosTotal    int64 // photos of live products
}

// Failed is a product whose reindex failed for good.
type Failed struct {
	Product
	Attempts int
	FailedAt time.Time
}

// Check is one live product as verification sees it.
type Check struct {
	Product
	// Missing lists the hashes of its indexed photos that have no
	// embedding row of its model.
	Missing []string
	HasJob  bool // a job row exists (available, running or failed)
}
