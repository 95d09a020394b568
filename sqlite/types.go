package sqlite

import (
	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/store"
)

// The store is package store's, over this driver; these names keep the
// callers of the embedded default as they were.
type (
	Store        = store.Store
	ChangeHook   = store.ChangeHook
	FaultHook    = store.FaultHook
	Product      = catalog.Product
	Job          = catalog.Job
	ApplyResult  = catalog.ApplyResult
	ApplyOptions = catalog.ApplyOptions
	ListOptions  = catalog.ListOptions
	Stats        = catalog.Stats
	Failed       = catalog.Failed
	Check        = catalog.Check
)

// Errors the store returns.
var (
	ErrNotFound = catalog.ErrNotFound
	ErrStale    = catalog.ErrStale
)
