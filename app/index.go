package app

import "github.com/lookalike/lookalike/vectorindex"

// newIndex returns an empty in-memory index for vectors of length dim.
func (a *App) newIndex(dim int) vectorindex.Index {
	return vectorindex.NewFlat(dim)
}
