// Package regions turns a query photo into search hits: it embeds the photo
// at several regions (the whole frame and sub-windows that frame an object
// covering most of it), searches the index with each and fuses the hits per
// product. A shopper's photo of a bouquet on a table is found by the window
// that holds the bouquet, a plain re-photograph by the whole frame.
//
// Both the search API and the quality harness call Search, so what the
// harness measures is what the API does.
package regions

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/draw"

	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/localfeat"
	"github.com/lookalike/lookalike/vectorindex"
)

// Box is a region of a photo in relative coordinates: X, Y the top-left
// corner, W, H the size, all fractions of the photo's width and height.
type Box struct{ X, Y, W, H float64 }

// Whole is the whole frame.
var Whole = Box{0, 0, 1, 1}

// MinSide is the smallest side a crop box may have (a fraction of the photo).
const MinSide = 0.02

// ParseBox reads "x,y,w,h" (relative 0..1 coordinates of the photo, the
// top-left corner and the size) and checks it with Validate.
func ParseBox(s string) (Box, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return Box{}, fmt.Errorf("want four numbers x,y,w,h (fractions 0..1 of the photo's width and height), got %q", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return Box{}, fmt.Errorf("%q is not a number (want x,y,w,h as fractions 0..1)", strings.TrimSpace(p))
		}
		v[i] = f
	}
	b := Box{v[0], v[1], v[2], v[3]}
	return b, b.Validate()
}

// Validate checks that b lies inside the photo and is not degenerate.
func (b Box) Validate() error {
	for _, f := range []float64{b.X, b.Y, b.W, b.H} {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return errors.New("the box must be finite numbers")
		}
	}
	if b.X < 0 || b.Y < 0 || b.X > 1 || b.Y > 1 {
		return fmt.Errorf("x and y must be between 0 and 1 (got %g, %g)", b.X, b.Y)
	}
	if b.W < MinSide || b.H < MinSide {
		return fmt.Errorf("w and h must be at least %g of the photo (got %g, %g)", MinSide, b.W, b.H)
	}
	const eps = 1e-6
	if b.X+b.W > 1+eps || b.Y+b.H > 1+eps {
		return fmt.Errorf("the box must lie inside the photo: x+w and y+h at most 1 (got %g, %g)", b.X+b.W, b.Y+b.H)
	}
	return nil
}

// String formats b as ParseBox reads it.
func (b Box) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	return f(b.X) + "," + f(b.Y) + "," + f(b.W) + "," + f(b.H)
}

// Rect maps b onto the pixel rectangle r, at least one pixel each way.
func (b Box) Rect(r image.Rectangle) image.Rectangle {
	w, h := float64(r.Dx()), float64(r.Dy())
	x0 := r.Min.X + int(math.Round(b.X*w))
	y0 := r.Min.Y + int(math.Round(b.Y*h))
	x1 := r.Min.X + int(math.Round((b.X+b.W)*w))
	y1 := r.Min.Y + int(math.Round((b.Y+b.H)*h))
	out := image.Rect(x0, y0, max(x1, x0+1), max(y1, y0+1)).Intersect(r)
	if out.Empty() {
		return r
	}
	return out
}

// Crop returns the part of img inside b (sharing img's pixels where img
// can make sub-images).
func Crop(img image.Image, b Box) image.Image {
	return embed.SubImage(img, b.Rect(img.Bounds()))
}

// Region is one window a query is embedded at, and the handicap its score
// takes in the fusion: a sub-window matches many things a little, so it
// must beat the whole frame by a margin to count.
type Region struct {
	Box     Box
	Penalty float32
}

// Config chooses the regions and the fusion.
type Config struct {
	// Regions are embedded and searched; the first should be Whole.
	Regions []Region
	// Depth is how many hits each region's search keeps (at least k).
	Depth int
	// TrustMargin and TrustedPenalty make the fusion trust a confident
	// whole frame (Regions[0], when it is Whole): when its best hit scores
	// at least the best window hit's score less TrustMargin, the photo is
	// taken to be framed as the catalogue's are (a re-photograph, not an
	// object on a background) and every window's hits take TrustedPenalty
	// more (see Fuse). Zero TrustMargin: never.
	TrustMargin, TrustedPenalty float32
	// Rerank re-ranks the fused best hits by local features
	// (localfeat.Rerank, see Embedded.Rerank); K 0: never.
	Rerank localfeat.RerankConfig
}

// DefaultConfig is the search of an uploaded photo: the whole frame and
// windows of 0.75 of each side at the four corners and the centre, so that
// an object spanning 55–85 % of the photo's width and height is well framed
// by one of them. Chosen on quality's hard protocol with builtin-v1, dev
// split only (recall@1 / @10 of 160 queries): the whole frame alone 0.70 / 0.89; with
// these five windows 0.88 / 0.97; nine windows of 0.65 0.89 / 0.975 for
// nearly twice the time; windows of 0.55 or 0.85, or both sizes, do no
// better. Max fusion, no penalty: on 600 hard and 1,200 plain dev queries,
// a window penalty of 0.001 / 0.002 moves hard recall@1 0.863 → 0.862 /
// 0.855 and plain 0.983 → 0.984 / 0.985 (whole frame alone: 0.986), a wash
// at best; adding half of a product's second-best region score (rewarding
// products seen in two windows) gained nothing either. With builtin-v2's
// white balance (embed/builtin's TestTuneDescriptor, 400 hard and 400 plain
// dev queries, a variant with 6 orientation bins) a penalty of 0.001 / 0.002 / 0.004 moves hard recall@1 0.9425 → 0.930 /
// 0.9275 / 0.910 and plain 0.9875 → 0.9875 / 0.985 / 0.9875: still none.
//
// Those dev sets were too small to show what the windows cost plain
// re-photographs on bench (2.1 points of recall@1): quality's
// TestTuneFusion (2,000 plain and 1,000 hard dev queries, seeds 1–10 and
// 1–5, builtin-v2) shows it, plain recall@1 0.9755 with the windows
// against 0.9835 for the whole frame alone (hard 0.916 against 0.783).
// Trusting a confident whole frame (TrustMargin 0.003, TrustedPenalty
// 0.004) gives plain 0.982 and hard 0.918 (recall@10 0.999 and 0.974,
// against 0.999 and 0.977); margins 0.002–0.005 and penalties
// 0.002–0.006 give plain 0.9795–0.983 and hard 0.912–0.920. The margin is
// in a model's score units, so it comes with the model (WholeTruster, see
// ConfigFor); DefaultConfig has none.
func DefaultConfig() Config {
	const side = 0.75
	c := Config{Regions: []Region{{Box: Whole}}, Depth: 50}
	for _, xy := range [][2]float64{{0, 0}, {1, 0}, {0, 1}, {1, 1}, {0.5, 0.5}} {
		c.Regions = append(c.Regions, Region{Box: Box{xy[0] * (1 - side), xy[1] * (1 - side), side, side}})
	}
	return c
}

// WholeTruster is implemented by embedders whose scores were calibrated
// for the fusion's trust in a confident whole frame: TrustWhole returns
// Config.TrustMargin and Config.TrustedPenalty for their scores.
type WholeTruster interface {
	TrustWhole() (margin, penalty float32)
}

// ConfigFor is DefaultConfig with e's trust in the whole frame, when e
// has one (WholeTruster), and the re-ranking by local features
// (localfeat.DefaultRerank): the search of an uploaded photo with e.
func ConfigFor(e embed.Embedder) Config {
	c := DefaultConfig()
	c.Rerank = localfeat.DefaultRerank()
	if t, ok := e.(WholeTruster); ok {
		c.TrustMargin, c.TrustedPenalty = t.TrustWhole()
	}
	return c
}

// Index is what Search asks: vectorindex.Flat, or anything that searches
// like it.
type Index interface {
	Search(q []float32, k int, f vectorindex.Filter) ([]vectorindex.Hit, error)
}

// Query is one search.
type Query struct {
	Image image.Image
	// Crop, when set, is the region the shopper chose: only it is embedded
	// and searched.
	Crop *Box
	K    int
	// Filter is passed to every index search.
	Filter vectorindex.Filter
}

// Search embeds q.Image at the configured regions (or at q.Crop only),
// searches idx with each, and returns up to q.K products, best first, each
// with its best region's score less that region's penalty. The regions are
// embedded concurrently, so an embedder that batches concurrent calls (CLIP)
// runs them as one batch.
func Search(ctx context.Context, e embed.Embedder, idx Index, cfg Config, q Query) ([]vectorindex.Hit, error) {
	if q.Image == nil || q.Image.Bounds().Empty() {
		return nil, errors.New("regions: empty image")
	}
	if q.K <= 0 {
		return nil, nil
	}
	em, err := Embed(ctx, e, cfg, q.Image, q.Crop)
	if err != nil {
		return nil, err
	}
	return em.Search(idx, q.K, q.Filter)
}

// Embedded is a query photo embedded at its regions, to search with as
// many filters as needed without embedding it again.
type Embedded struct {
	cfg  Config // Regions: the regions embedded
	vecs [][]float32
	feat *localfeat.Query // nil: cfg.Rerank.K is 0
}

// Vectors returns the regions' vectors, in the order of the regions.
func (q *Embedded) Vectors() [][]float32 { return q.vecs }

// Embed embeds img at cfg's regions, or at crop only when crop is set.
func Embed(ctx context.Context, e embed.Embedder, cfg Config, img image.Image, crop *Box) (*Embedded, error) {
	if img == nil || img.Bounds().Empty() {
		return nil, errors.New("regions: empty image")
	}
	regs := cfg.Regions
	if crop != nil {
		if err := crop.Validate(); err != nil {
			return nil, fmt.Errorf("regions: crop: %w", err)
		}
		regs = []Region{{Box: *crop}}
	}
	if len(regs) == 0 {
		regs = []Region{{Box: Whole}}
	}
	if len(regs) > 1 {
		img = Prescale(img, embed.DecodeSide(e))
	}
	var feat *localfeat.Query
	done := make(chan struct{})
	go func() { // alongside the embedding: the other core's work
		defer close(done)
		if cfg.Rerank.K > 0 {
			src := img
			if crop != nil {
				src = Crop(img, *crop)
			}
			feat = localfeat.NewQuery(src)
		}
	}()
	vecs, err := EmbedRegions(ctx, e, img, regs)
	<-done
	if err != nil {
		return nil, err
	}
	cfg.Regions = regs
	return &Embedded{cfg: cfg, vecs: vecs, feat: feat}, nil
}

// Rerank re-ranks hits (a Search's, best first) by the local features of
// the query and of the hits' photos (c): the photo that is clearly the
// query re-photographed comes first (localfeat.Rerank with cfg.Rerank).
// Without Rerank in the Config hits come back as they are.
func (q *Embedded) Rerank(ctx context.Context, hits []vectorindex.Hit, c localfeat.Candidates) ([]vectorindex.Hit, error) {
	if q.feat == nil || c == nil {
		return hits, nil
	}
	out, _, err := localfeat.Rerank(ctx, q.cfg.Rerank, q.feat, hits, c)
	return out, err
}

// Search searches idx with each region's vector under filter f and fuses
// the lists (Fuse): up to k products, best first.
func (q *Embedded) Search(idx Index, k int, f vectorindex.Filter) ([]vectorindex.Hit, error) {
	if k <= 0 {
		return nil, nil
	}
	depth := max(q.cfg.Depth, k)
	if len(q.vecs) == 1 {
		depth = k
	}
	lists := make([][]vectorindex.Hit, len(q.vecs))
	for i, v := range q.vecs {
		hits, err := idx.Search(v, depth, f)
		if err != nil {
			return nil, err
		}
		lists[i] = hits
	}
	return Fuse(lists, q.cfg, k), nil
}

// Prescale returns img reduced once, when its shorter side is more than
// twice side (side 0: never), by the largest whole factor k that keeps the
// shorter side at least side: every output pixel is the mean of a k×k
// block (the last row and column of blocks may be narrower). Every region
// is then cut from the small copy, and the embedder's own resizing of each
// region reads far fewer pixels. A decoded JPEG (*image.YCbCr) is averaged
// as it is stored, into a 4:4:4 *image.YCbCr, and an *image.RGBA into an
// *image.RGBA, each reading every pixel once (about a quarter of the CPU
// of a bilinear reduction); other types are scaled bilinearly.
func Prescale(img image.Image, side int) image.Image {
	b := img.Bounds()
	short := min(b.Dx(), b.Dy())
	if side <= 0 || short <= 2*side {
		return img
	}
	k := short / side
	switch m := img.(type) {
	case *image.YCbCr:
		return boxYCbCr(m, k)
	case *image.RGBA:
		return boxRGBA(m, k)
	}
	f := float64(side) / float64(short)
	w := max(1, int(math.Round(float64(b.Dx())*f)))
	h := max(1, int(math.Round(float64(b.Dy())*f)))
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Rect, img, b, draw.Src, nil)
	return dst
}

// boxSums accumulates the per-block channel sums of one row of blocks.
type boxSums struct {
	k, w, dw, nc int // block side, source width, output width, channels
	sums         []uint32
	means        []uint8
}

func newBoxSums(k, w, channels int) *boxSums {
	dw := (w + k - 1) / k
	return &boxSums{k: k, w: w, dw: dw, nc: channels, sums: make([]uint32, dw*channels), means: make([]uint8, dw*channels)}
}

// flush turns the sums of a row of blocks rows source rows tall into means
// (interleaved, s.means) and clears the sums.
func (s *boxSums) flush(rows int) []uint8 {
	for x := 0; x < s.dw; x++ {
		n := uint32(rows * (min(s.w, (x+1)*s.k) - x*s.k))
		for c := x * s.nc; c < (x+1)*s.nc; c++ {
			s.means[c] = uint8((s.sums[c] + n/2) / n)
		}
	}
	clear(s.sums)
	return s.means
}

// boxYCbCr averages k×k blocks of m's luma and chroma samples into a 4:4:4
// image (each pixel's chroma is the sample covering it).
func boxYCbCr(m *image.YCbCr, k int) *image.YCbCr {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := (w+k-1)/k, (h+k-1)/k
	out := image.NewYCbCr(image.Rect(0, 0, dw, dh), image.YCbCrSubsampleRatio444)
	s := newBoxSums(k, w, 3)
	xdiv, ydiv := chromaDivisors(m.SubsampleRatio)
	for y := 0; y < h; y++ {
		sy := b.Min.Y + y
		yrow := m.Y[m.YOffset(b.Min.X, sy):][:w]
		crow := (sy/ydiv - m.Rect.Min.Y/ydiv) * m.CStride
		cx0 := m.Rect.Min.X / xdiv
		cb, cr := m.Cb[crow:], m.Cr[crow:]
		for x, v := range yrow {
			j := (x / k) * 3
			ci := (b.Min.X+x)/xdiv - cx0
			s.sums[j] += uint32(v)
			s.sums[j+1] += uint32(cb[ci])
			s.sums[j+2] += uint32(cr[ci])
		}
		if (y+1)%k == 0 || y == h-1 {
			oy := y / k
			means := s.flush(y - oy*k + 1)
			for x := 0; x < dw; x++ {
				out.Y[oy*out.YStride+x] = means[3*x]
				out.Cb[oy*out.CStride+x] = means[3*x+1]
				out.Cr[oy*out.CStride+x] = means[3*x+2]
			}
		}
	}
	return out
}

// chromaDivisors returns how many luma columns and rows share one chroma
// sample.
func chromaDivisors(r image.YCbCrSubsampleRatio) (x, y int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

// boxRGBA averages k×k blocks of m (premultiplied, so the mean is too).
func boxRGBA(m *image.RGBA, k int) *image.RGBA {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := (w+k-1)/k, (h+k-1)/k
	out := image.NewRGBA(image.Rect(0, 0, dw, dh))
	s := newBoxSums(k, w, 4)
	for y := 0; y < h; y++ {
		pix := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := 0; x < w; x++ {
			j, p := (x/k)*4, pix[x*4:x*4+4:x*4+4]
			s.sums[j] += uint32(p[0])
			s.sums[j+1] += uint32(p[1])
			s.sums[j+2] += uint32(p[2])
			s.sums[j+3] += uint32(p[3])
		}
		if (y+1)%k == 0 || y == h-1 {
			oy := y / k
			copy(out.Pix[out.PixOffset(0, oy):], s.flush(y-oy*k+1))
		}
	}
	return out
}

// RegionsEmbedder is implemented by embedders that embed several regions of
// one photo at once more cheaply than one by one (the built-in descriptor
// resamples the photo once for all its windows); EmbedRegions hands them
// every region's pixel rectangle.
type RegionsEmbedder interface {
	EmbedRegions(ctx context.Context, img image.Image, rects []image.Rectangle) ([][]float32, error)
}

// EmbedRegions embeds the regions of img, at once through RegionsEmbedder
// where e implements it, else concurrently (at most
// GOMAXPROCS at once for an embedder that computes in the calling
// goroutine; all at once for one that batches, see embed.Batcher).
func EmbedRegions(ctx context.Context, e embed.Embedder, img image.Image, regs []Region) ([][]float32, error) {
	vecs := make([][]float32, len(regs))
	if len(regs) == 1 {
		v, err := e.EmbedImage(ctx, Crop(img, regs[0].Box))
		if err != nil {
			return nil, err
		}
		vecs[0] = v
		return vecs, nil
	}
	if re, ok := e.(RegionsEmbedder); ok {
		rects := make([]image.Rectangle, len(regs))
		for i, r := range regs {
			rects[i] = r.Box.Rect(img.Bounds())
		}
		return re.EmbedRegions(ctx, img, rects)
	}
	par := runtime.GOMAXPROCS(0)
	if embed.Batches(e) {
		par = len(regs)
	}
	errs := make([]error, len(regs))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range regs {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			vecs[i], errs[i] = e.EmbedImage(ctx, Crop(img, regs[i].Box))
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return vecs, nil
}

// Fuse merges per-region hit lists (lists[i] is cfg.Regions[i]'s): a
// product's score is the best, over regions, of its score there less the
// region's penalty, and its photo the one that matched there. Ties go to
// the lower key, as in vectorindex. When the whole frame (the first region)
// is about as sure as the best window (cfg.TrustMargin), the windows take
// cfg.TrustedPenalty more: a window of a re-photograph often matches
// another photo a little better than the whole frame matches its own.
func Fuse(lists [][]vectorindex.Hit, cfg Config, k int) []vectorindex.Hit {
	regs := cfg.Regions
	if len(lists) == 1 {
		if len(lists[0]) > k {
			return lists[0][:k]
		}
		return lists[0]
	}
	best := make(map[vectorindex.Key]vectorindex.Hit, len(lists)*len(lists[0]))
	trusted := trustsWhole(lists, cfg)
	for i, hits := range lists {
		pen := regs[i].Penalty
		if trusted && i > 0 {
			pen += cfg.TrustedPenalty
		}
		for _, h := range hits {
			h.Score -= pen
			if old, ok := best[h.Key]; !ok || h.Score > old.Score {
				best[h.Key] = h
			}
		}
	}
	out := make([]vectorindex.Hit, 0, len(best))
	for _, h := range best {
		out = append(out, h)
	}
	vectorindex.SortHits(out)
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// trustsWhole says whether the whole frame's best hit (lists[0]) is
// within cfg.TrustMargin of the windows' best (lists[1:]).
func trustsWhole(lists [][]vectorindex.Hit, cfg Config) bool {
	if cfg.TrustMargin <= 0 || len(lists) < 2 || len(cfg.Regions) == 0 || cfg.Regions[0].Box != Whole || len(lists[0]) == 0 {
		return false
	}
	win := float32(math.Inf(-1))
	for _, l := range lists[1:] {
		if len(l) > 0 {
			win = max(win, l[0].Score)
		}
	}
	return lists[0][0].Score >= win-cfg.TrustMargin
}
