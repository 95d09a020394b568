//go:build !cgo

package clip

import (
	"context"
	"fmt"
	"image"

	"github.com/lookalike/lookalike/embed"
)

// errNoCgo explains why no model can load in a binary built without cgo.
var errNoCgo = fmt.Errorf("%w: this lookalike was built without cgo (CGO_ENABLED=0), and CLIP models run ONNX Runtime through cgo; rebuild with a C compiler and CGO_ENABLED=1", ErrLibraryNotFound)

// Embedder stands in for the CLIP embedder in binaries built without cgo:
// Load always fails, so no value of it is ever usable.
type Embedder struct{}

// Load fails: CLIP needs cgo.
func Load(dir string, opts Options) (*Embedder, error) { return nil, errNoCgo }

// RuntimeVersion is empty without cgo.
func RuntimeVersion() string { return "" }

func (e *Embedder) Model() string                                              { return "" }
func (e *Embedder) Dim() int                                                   { return 0 }
func (e *Embedder) Manifest() Manifest                                         { return Manifest{} }
func (e *Embedder) HasText() bool                                              { return false }
func (e *Embedder) Preprocessor() *Preprocessor                                { return nil }
func (e *Embedder) Tokenizer() *Tokenizer                                      { return nil }
func (e *Embedder) Interface() embed.Embedder                                  { return e }
func (e *Embedder) Thresholds() embed.Thresholds                               { return embed.FallbackThresholds }
func (e *Embedder) Close() error                                               { return nil }
func (e *Embedder) EmbedImage(context.Context, image.Image) ([]float32, error) { return nil, errNoCgo }
func (e *Embedder) EmbedText(context.Context, string) ([]float32, error)       { return nil, errNoCgo }
func (e *Embedder) EmbedPreprocessed(context.Context, [][]float32) ([][]float32, error) {
	return nil, errNoCgo
}
