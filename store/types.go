package store

import "github.com/lookalike/lookalike/catalog"

// The store's argument and result types are the catalogue's.
type (
	ApplyResult  = catalog.ApplyResult
	ApplyOptions = catalog.ApplyOptions
	ListOptions  = catalog.ListOptions
	Stats        = catalog.Stats
	Failed       = catalog.Failed
	Check        = catalog.Check
)
