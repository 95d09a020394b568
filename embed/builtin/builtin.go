// Package builtin is lookalike's built-in image descriptor: pure Go, no model
// files, deterministic, and a few milliseconds per photo.
//
// It describes a photo by its colours and textures, in the manner of classic
// content-based image retrieval. The photo is first box-filtered to a
// working size (160 px on the longer side). Then:
//
//   - soft HSV colour histograms (12 hues × 3 saturations × 3 values, plus
//     5 greys), plain and weighted by edge strength, pooled over soft
//     regions: the whole image, a Gaussian centre window and top, middle and
//     bottom bands (all symmetric left–right, so a mirrored photo describes
//     the same; soft, so a crop moves the statistics gradually);
//   - at two scales, gradient-orientation histograms (doubled angle, folded
//     so that mirroring does not change them), a histogram of gradient
//     magnitudes relative to the photo's mean (so contrast does not count),
//     the angle between gradients and the direction to the centre (radial
//     structure such as petals), and rotation-invariant uniform local binary
//     patterns.
//
// Each block is square-rooted (Hellinger) and normalised, the blocks are
// weighted (see defaultWeights) and the whole vector has unit length.
//
// It finds the same product photographed again (cropped, rescaled, lit
// differently, mirrored, recompressed) very well, and things of similar
// colour and texture passably; it knows nothing about what is in the
// picture. Package quality measures both.
package builtin

import (
	"context"
	"errors"
	"image"
	"math"
	"sync"

	"github.com/lookalike/lookalike/embed"
)

// Name is the model name (with its version) of the builtin descriptor.
// Vectors of different versions must not be compared.
const Name = "builtin-v1"

// Bands are the descriptor's relevance band thresholds for the scores the
// search gives (the best of the query's regions, package regions), derived
// from the quality benchmark's dev split (`lookalike bench quality --split
// dev --seed 1` on the flower set; README, "Relevance bands"): a
// re-photograph of the same bouquet scores 0.9917 or more in 83 % of
// queries and the best other product does in 5.5 %; a bouquet of another
// kind reaches 0.9737 in 1 % of pairs. The descriptor's scores are
// compressed near 1, hence the decimals.
var Bands = embed.Thresholds{Exact: 0.9917, Similar: 0.9737}

// Embedder computes the builtin descriptor. It is safe for concurrent use.
type Embedder struct {
	cfg     config
	layout  []blockSpec
	dim     int
	fullLen int       // every block the config computes, selected or not
	scale   []float32 // per-dimension weight applied to the unit blocks
	pool    sync.Pool // *scratch
}

// New returns the builtin descriptor.
func New() *Embedder {
	return newWithConfig(defaultConfig())
}

func newWithConfig(cfg config) *Embedder {
	e := &Embedder{cfg: cfg}
	e.layout, e.dim = cfg.layout()
	_, lens := cfg.blockNames()
	for _, n := range lens {
		e.fullLen += n
	}
	e.scale = make([]float32, e.dim)
	var total float64
	for _, b := range e.layout {
		total += float64(b.weight * b.weight)
	}
	norm := float32(1 / math.Sqrt(total))
	for _, b := range e.layout {
		for i := b.off; i < b.off+b.n; i++ {
			e.scale[i] = b.weight * norm
		}
	}
	e.pool.New = func() any { return new(scratch) }
	return e
}

// Thresholds returns Bands.
func (e *Embedder) Thresholds() embed.Thresholds { return Bands }

// Model returns Name.
func (e *Embedder) Model() string { return Name }

// Dim returns the length of the vectors.
func (e *Embedder) Dim() int { return e.dim }

// EmbedImage returns the unit-length descriptor of img. Transparent pixels
// count as white. It fails only for an empty image or a done context.
func (e *Embedder) EmbedImage(ctx context.Context, img image.Image) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if img == nil || img.Bounds().Empty() {
		return nil, errors.New("builtin: empty image")
	}
	s := e.pool.Get().(*scratch)
	defer e.pool.Put(s)
	out := make([]float32, e.dim)
	e.describe(s, img, out)
	for i := range out {
		out[i] *= e.scale[i]
	}
	normalize(out)
	return out, nil
}

// normalize scales v to unit length; a zero vector becomes a constant one,
// so that every result has unit norm.
func normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		c := float32(1 / math.Sqrt(float64(len(v))))
		for i := range v {
			v[i] = c
		}
		return
	}
	k := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= k
	}
}

// InputSize is the working size, in pixels on the longer side.
func (e *Embedder) InputSize() int { return e.cfg.size }
