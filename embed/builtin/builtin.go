// Package builtin is lookalike's built-in image descriptor: pure Go, no model
// files, deterministic, and a few milliseconds per photo.
//
// It describes a photo by its colours and textures, in the manner of classic
// content-based image retrieval. The photo is first box-filtered to a
// working size (112 px on the longer side since builtin-v3, 160 before) and,
// since builtin-v2, partly
// white-balanced (each channel multiplied by (m/m_c)^0.3, m_c its mean and
// m theirs), so that the light a photo was taken in counts less. Then:
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
	"runtime"
	"strings"
	"sync"

	"github.com/lookalike/lookalike/embed"
)

// Name is the model name (with its version) of the builtin descriptor that
// New returns. Vectors of different versions must not be compared.
const Name = "builtin-v4"

// Bands are the relevance band thresholds of Name's scores as the search
// gives them (the best of the query's regions, package regions), derived
// from the quality benchmark's dev split (`lookalike bench quality --split
// dev --seed 1` on the flower set; README, "Relevance bands"). The
// descriptor's scores are compressed near 1, hence the decimals.
var Bands = v4Bands

// v4Bands: derived like v2Bands (`lookalike bench quality --split dev
// --seed 1`): a query's own product scores 0.9832 or more in 95 % of the
// dev re-photographs, the best other product 0.9877 or more in 5.5 % (exact
// is that 95th percentile: 85.5 % of re-photographs are "this is it"); a
// bouquet of another kind reaches 0.9614 in 1 % of pairs.
var v4Bands = embed.Thresholds{Exact: 0.9877, Similar: 0.9614}

// v3Bands: derived like v2Bands (`lookalike bench quality --split dev
// --seed 1`): a query's own product scores 0.9840 or more in 95 % of the
// dev re-photographs, the best other product 0.9878 or more in 5.5 % (exact
// is that 95th percentile: 83.5 % of re-photographs are "this is it"); a
// bouquet of another kind reaches 0.9602 in 1 % of pairs.
//
// v3Trust is the fusion's trust in a confident whole frame (TrustWhole),
// kept from v2 (and kept by v4: margins 0.002–0.004 give it plain 0.9825–
// 0.983 and hard 0.931): on quality's TestTuneFusion (2,000 plain and 1,000 hard dev
// queries) margin 0.003 and penalty 0.004 give plain recall@1 0.983 and
// hard 0.921 (recall@10 0.9995 and 0.976) against 0.979 and 0.917 (0.9995,
// 0.978) for the plain max; margins 0.002–0.005 and penalties 0.003–0.006
// give plain 0.981–0.9835 and hard 0.918–0.921.
var (
	v3Bands = embed.Thresholds{Exact: 0.9878, Similar: 0.9602}
	v3Trust = [2]float32{0.003, 0.004}
)

// v2Bands: over the dev split's 200 re-photographs, searched with the
// trust in a confident whole frame (TrustWhole), a query's own product
// scores 0.9845 or more in 95 % of queries, the best other product 0.9882
// or more in 5.5 % (the two overlap, so exact is that 95th percentile: 82 %
// of re-photographs are "this is it"); a bouquet of another kind reaches
// 0.9609 in 1 % of pairs. (With the plain max fusion they were 0.9889 and
// 0.9633.)
var v2Bands = embed.Thresholds{Exact: 0.9882, Similar: 0.9609}

// v1Bands: a re-photograph of the same bouquet scores 0.9917 or more in
// 83 % of queries and the best other product does in 5.5 %; a bouquet of
// another kind reaches 0.9737 in 1 % of pairs.
var v1Bands = embed.Thresholds{Exact: 0.9917, Similar: 0.9737}

// versions are the descriptor versions this build computes, by Name: the
// current one and the older ones, kept so that a service whose index holds
// an older version's vectors answers searches with it while the catalogue
// is re-embedded with the new one (a model switch, package app).
var versions = map[string]func() config{
	"builtin-v1": v1Config,
	"builtin-v2": v2Config,
	"builtin-v3": v3Config,
	Name:         defaultConfig,
}

// ByName returns the descriptor of version name ("builtin-v1",
// "builtin-v2", "builtin-v3", Name), and
// false for a name that is not a version of the builtin descriptor.
func ByName(name string) (*Embedder, bool) {
	f, ok := versions[name]
	if !ok {
		return nil, false
	}
	return newWithConfig(f()), true
}

// Embedder computes the builtin descriptor. It is safe for concurrent use.
type Embedder struct {
	cfg     config
	layout  []blockSpec
	dim     int
	fullLen int       // every block the config computes, selected or not
	scale   []float32 // per-dimension weight applied to the unit blocks
	lbpUsed []bool    // per scale: a texture block of that scale is in the vector
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
	e.lbpUsed = make([]bool, cfg.scales)
	for _, b := range e.layout {
		for sc := range e.lbpUsed {
			e.lbpUsed[sc] = e.lbpUsed[sc] || strings.HasPrefix(b.name, "lbp"+itoa(sc)+"/")
		}
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

// TrustWhole returns the fusion's trust in a confident whole frame for the
// version's scores (regions.WholeTruster): for builtin-v2 to v4, when the
// whole frame's best product scores within the margin of the best
// window's, the windows' scores take the penalty (chosen on 2,000 plain and
// 1,000 hard dev queries, quality's TestTuneFusion; regions.DefaultConfig
// has the figures); builtin-v1 has none.
func (e *Embedder) TrustWhole() (margin, penalty float32) {
	return e.cfg.trustMargin, e.cfg.trustedPenalty
}

// Thresholds returns the version's band thresholds (Bands for New's).
func (e *Embedder) Thresholds() embed.Thresholds { return e.cfg.bands }

// Model returns the version's name (Name for New's).
func (e *Embedder) Model() string { return e.cfg.name }

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
	e.finish(out)
	return out, nil
}

// finish weights the blocks of a described vector and normalises it.
func (e *Embedder) finish(out []float32) {
	for i := range out {
		out[i] *= e.scale[i]
	}
	normalize(out)
}

// EmbedRegions returns the descriptors of the rectangles rects of img (each
// inside img's bounds): EmbedImage of each sub-image, except that the
// windows of one size are cut from one copy of the photo resampled once to
// their working scale, instead of each resampling the photo's pixels
// again (the difference is at the windows' edge pixels: cosine to
// EmbedImage's above 0.998). The rectangle of the whole image is
// EmbedImage's. The regions are described concurrently, at most
// GOMAXPROCS at once.
func (e *Embedder) EmbedRegions(ctx context.Context, img image.Image, rects []image.Rectangle) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if img == nil || img.Bounds().Empty() {
		return nil, errors.New("builtin: empty image")
	}
	b := img.Bounds()
	out := make([][]float32, len(rects))
	type shared struct {
		once   sync.Once
		sx, sy float64 // working pixels per source pixel
		r, g   []float32
		bl     []float32
		w, h   int
	}
	groups := map[image.Point]*shared{}
	for _, r := range rects {
		if r = r.Intersect(b); !r.Empty() && r != b && groups[r.Size()] == nil {
			groups[r.Size()] = &shared{}
		}
	}
	// The photo resampled so that a window of size sz has the working size.
	plane := func(sz image.Point) *shared {
		g := groups[sz]
		g.once.Do(func() {
			ww, wh := workingSize(sz.X, sz.Y, e.cfg.size)
			g.sx, g.sy = float64(ww)/float64(sz.X), float64(wh)/float64(sz.Y)
			g.w = max(ww, int(math.Round(float64(b.Dx())*g.sx)))
			g.h = max(wh, int(math.Round(float64(b.Dy())*g.sy)))
			s := e.pool.Get().(*scratch)
			s.resizeRGB(img, g.w, g.h)
			g.r, g.g, g.bl = s.r, s.g, s.b
			s.r, s.g, s.b = nil, nil, nil // kept by g
			e.pool.Put(s)
		})
		return g
	}
	par := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	errs := make([]error, len(rects))
	for i, r := range rects {
		r = r.Intersect(b)
		if r.Empty() {
			errs[i] = errors.New("builtin: a region outside the image")
			continue
		}
		wg.Add(1)
		par <- struct{}{}
		go func(i int, r image.Rectangle) {
			defer func() { <-par; wg.Done() }()
			if r == b {
				out[i], errs[i] = e.EmbedImage(ctx, img)
				return
			}
			g := plane(r.Size())
			ww, wh := workingSize(r.Dx(), r.Dy(), e.cfg.size)
			x0 := min(g.w-ww, max(0, int(math.Round(float64(r.Min.X-b.Min.X)*g.sx))))
			y0 := min(g.h-wh, max(0, int(math.Round(float64(r.Min.Y-b.Min.Y)*g.sy))))
			s := e.pool.Get().(*scratch)
			defer e.pool.Put(s)
			n := ww * wh
			s.r, s.g, s.b = growF(s.r, n), growF(s.g, n), growF(s.b, n)
			for y := 0; y < wh; y++ {
				src := (y0+y)*g.w + x0
				copy(s.r[y*ww:(y+1)*ww], g.r[src:src+ww])
				copy(s.g[y*ww:(y+1)*ww], g.g[src:src+ww])
				copy(s.b[y*ww:(y+1)*ww], g.bl[src:src+ww])
			}
			v := make([]float32, e.dim)
			e.describePlanes(s, ww, wh, v)
			e.finish(v)
			out[i] = v
		}(i, r)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, ctx.Err()
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
