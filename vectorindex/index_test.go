package vectorindex_test

import (
	"testing"

	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/vectorindex/indextest"
)

func TestFlatConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T, dim int) vectorindex.Index { return vectorindex.NewFlat(dim) })
}
