// Package embed declares how images (and, for models that can, text) become
// vectors. Implementations live in sub-packages: builtin (pure Go, no model
// files) and, later, clip (ONNX Runtime).
package embed

import (
	"context"
	"image"
)

// Embedder turns a decoded image into an L2-normalised vector.
// Implementations must be safe for concurrent use.
type Embedder interface {
	// Model names the model and its version, e.g. "builtin-v1". Every stored
	// vector records it; vectors of different models are never compared.
	Model() string
	// Dim is the length of every vector EmbedImage returns.
	Dim() int
	// EmbedImage returns a vector of length Dim with unit L2 norm.
	EmbedImage(ctx context.Context, img image.Image) ([]float32, error)
}

// TextEmbedder is implemented by models whose text and image vectors share a
// space (CLIP). The builtin descriptor does not implement it.
type TextEmbedder interface {
	EmbedText(ctx context.Context, text string) ([]float32, error)
}

// CanEmbedText reports whether e can embed text: it implements
// TextEmbedder and, where it can tell, really has a text
// encoder (a HasText() bool method, where present).
func CanEmbedText(e Embedder) bool {
	if _, ok := e.(TextEmbedder); !ok {
		return false
	}
	if tc, ok := e.(interface{ HasText() bool }); ok {
		return tc.HasText()
	}
	return true
}

// InputSizer is implemented by embedders that look at images at a fixed
// size (in pixels: CLIP's input side, the built-in descriptor's working
// size). Decoders need not produce much more than that.
type InputSizer interface {
	InputSize() int
}

// DecodeSide is the short side, in pixels, that images for e should keep
// when a decoder can reduce them cheaply (twice the input size, for a clean
// downscale); 0 when e does not say.
func DecodeSide(e Embedder) int {
	if s, ok := e.(InputSizer); ok && s.InputSize() > 0 {
		return 2 * s.InputSize()
	}
	return 0
}

// Batcher is implemented by embedders that run concurrent EmbedImage calls
// as one batch (CLIP's micro-batching): a caller with several images to
// embed at once should make all the calls concurrently.
type Batcher interface {
	BatchesConcurrentCalls() bool
}

// Batches reports whether e batches concurrent calls.
func Batches(e Embedder) bool {
	b, ok := e.(Batcher)
	return ok && b.BatchesConcurrentCalls()
}

// SubImage returns the part r of img (r inside img's bounds), sharing
// img's pixels where img can make sub-images.
func SubImage(img image.Image, r image.Rectangle) image.Image {
	if r == img.Bounds() {
		return img
	}
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	return bounded{img, r}
}

type bounded struct {
	image.Image
	r image.Rectangle
}

func (b bounded) Bounds() image.Rectangle { return b.r }
