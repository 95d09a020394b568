// Package localfeat finds the same photo again by its local features: FAST
// corners on a grey copy at three scales, each oriented by its intensity
// centroid and described by a rotated 256-bit BRIEF (ORB's recipe), matched
// by Hamming distance with Lowe's ratio test and checked by RANSAC for one
// similarity transform (scale, rotation, shift). Inliers counts the
// matches that agree: a re-photograph of a photo (cropped, rescaled, in
// other light, mirrored, re-encoded) keeps dozens to hundreds, another shot
// of the same subject or another bouquet a handful.
//
// Pure Go, no allocations in the match's inner loop; everything is a pure
// function of its input (the BRIEF pattern and RANSAC's draws are seeded).
package localfeat

import (
	"image"
	"math"
	"math/bits"
	"sort"
)

// Side is the longer side, in pixels, a photo is resampled to before its
// features are found: scale-free enough for the pyramid to cover the
// rescaling of a re-photograph, small enough to be quick.
const Side = 320

const (
	levels     = 3
	levelScale = 1.3  // each level is this much smaller than the one above
	maxPoints  = 320  // keypoints kept over all levels
	fastThresh = 12   // FAST's intensity threshold
	patchR     = 15   // radius of the orientation and descriptor patch
	border     = 17   // no keypoint closer to the edge than this
	angleBins  = 32   // the descriptor pattern is precomputed at these rotations
	maxDist    = 70   // a match's Hamming distance is at most this
	ratio      = 0.85 // and at most this fraction of the second best's
)

// Desc is a 256-bit binary descriptor.
type Desc [4]uint64

// Point is a keypoint in the coordinates of the resampled photo (longer
// side Side).
type Point struct {
	X, Y  float32
	Angle float32 // radians, of the intensity centroid
	Scale float32 // the level's size relative to level 0 (1, 1/1.3, ...)
}

// Features are a photo's keypoints and their descriptors (Desc[i] is
// Points[i]'s).
type Features struct {
	W, H   int // the resampled photo's size
	Points []Point
	Desc   []Desc
}

// Bytes is about how much memory f holds.
func (f *Features) Bytes() int {
	if f == nil {
		return 0
	}
	return 64 + len(f.Points)*16 + len(f.Desc)*32
}

// Extract returns img's features; with mirror, those of img mirrored left
// to right instead.
func Extract(img image.Image, mirror bool) *Features {
	g := Grey(img)
	if mirror {
		g.mirror()
	}
	return g.Features()
}

// ExtractBoth returns img's features and its mirror image's: the corners
// are found once (FAST and the pyramid are symmetric), mirrored, and
// described again with the pattern mirrored.
func ExtractBoth(img image.Image) (plain, mirrored *Features) {
	return Grey(img).features(true)
}

// Gray is a grey image, one byte a pixel, row by row.
type Gray struct {
	W, H int
	Pix  []uint8
}

func (g *Gray) mirror() {
	for y := 0; y < g.H; y++ {
		row := g.Pix[y*g.W : (y+1)*g.W]
		for i, j := 0, len(row)-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// Grey returns img's luma resampled (averaging over each output pixel's
// footprint) so that its longer side is Side.
func Grey(img image.Image) *Gray {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	src := make([]float32, sw*sh)
	switch m := img.(type) {
	case *image.YCbCr:
		for y := 0; y < sh; y++ {
			row := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):][:sw]
			for x, v := range row {
				src[y*sw+x] = float32(v)
			}
		}
	case *image.Gray:
		for y := 0; y < sh; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:sw]
			for x, v := range row {
				src[y*sw+x] = float32(v)
			}
		}
	case *image.RGBA:
		for y := 0; y < sh; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*sw]
			for x := 0; x < sw; x++ {
				p := row[4*x : 4*x+3 : 4*x+3]
				src[y*sw+x] = 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
			}
		}
	default:
		for y := 0; y < sh; y++ {
			for x := 0; x < sw; x++ {
				r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				src[y*sw+x] = (0.299*float32(r) + 0.587*float32(g) + 0.114*float32(bb)) / 257
			}
		}
	}
	f := float64(Side) / float64(max(sw, sh))
	dw := max(1, int(math.Round(float64(sw)*f)))
	dh := max(1, int(math.Round(float64(sh)*f)))
	return &Gray{W: dw, H: dh, Pix: toBytes(resample(src, sw, sh, dw, dh))}
}

func toBytes(v []float32) []uint8 {
	out := make([]uint8, len(v))
	for i, f := range v {
		out[i] = uint8(min(255, max(0, f+0.5)))
	}
	return out
}

// resample resizes a one-channel float image with a separable tent
// filter, widened to the source footprint when shrinking.
func resample(src []float32, sw, sh, dw, dh int) []float32 {
	xw, yw := TentTaps(sw, dw), TentTaps(sh, dh)
	tmp := make([]float32, sh*dw)
	for y := 0; y < sh; y++ {
		row := src[y*sw : (y+1)*sw]
		for x, taps := range xw {
			var s float32
			for _, t := range taps {
				s += row[t.I] * t.W
			}
			tmp[y*dw+x] = s
		}
	}
	dst := make([]float32, dh*dw)
	for y, taps := range yw {
		drow := dst[y*dw : (y+1)*dw]
		for _, t := range taps {
			srow := tmp[t.I*dw : (t.I+1)*dw]
			for i := range drow {
				drow[i] += srow[i] * t.W
			}
		}
	}
	return dst
}

// Tap is one source sample of a resampled one: its index and weight.
type Tap struct {
	I int
	W float32
}

// TentTaps are the taps of a separable tent filter from src samples to
// dst: bilinear when enlarging, widened to the source footprint (so
// averaging, anti-aliased) when shrinking; each output's weights sum to 1.
func TentTaps(src, dst int) [][]Tap {
	scale := float64(dst) / float64(src)
	support := 1.0
	if scale < 1 {
		support = 1 / scale
	}
	out := make([][]Tap, dst)
	for d := range out {
		c := (float64(d)+0.5)/scale - 0.5
		var taps []Tap
		var total float64
		for s := int(math.Floor(c - support)); s <= int(math.Ceil(c+support)); s++ {
			w := 1 - math.Abs(float64(s)-c)/support
			if w <= 0 {
				continue
			}
			taps = append(taps, Tap{min(max(s, 0), src-1), float32(w)})
			total += w
		}
		if total == 0 {
			taps = []Tap{{min(max(int(math.Round(c)), 0), src-1), 1}}
			total = 1
		}
		for i := range taps {
			taps[i].W = float32(float64(taps[i].W) / total)
		}
		out[d] = taps
	}
	return out
}

// Features finds g's keypoints at every level and describes them.
func (g *Gray) Features() *Features {
	f, _ := g.features(false)
	return f
}

// features is Features, and with both also the mirror image's.
func (g *Gray) features(both bool) (*Features, *Features) {
	f := &Features{W: g.W, H: g.H}
	var fm *Features
	if both {
		fm = &Features{W: g.W, H: g.H, Points: make([]Point, 0, maxPoints), Desc: make([]Desc, 0, maxPoints)}
	}
	src := make([]float32, len(g.Pix))
	for i, v := range g.Pix {
		src[i] = float32(v)
	}
	type cand struct {
		x, y  int
		score int32
		level int
	}
	lv := make([]*Gray, levels)
	var all []cand
	s := 1.0
	for l := 0; l < levels; l++ {
		w := max(1, int(math.Round(float64(g.W)*s)))
		h := max(1, int(math.Round(float64(g.H)*s)))
		if l == 0 {
			lv[l] = g
		} else {
			lv[l] = &Gray{W: w, H: h, Pix: toBytes(resample(src, g.W, g.H, w, h))}
		}
		for _, c := range fast(lv[l]) {
			all = append(all, cand{c.x, c.y, c.score, l})
		}
		s /= levelScale
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].score != all[b].score {
			return all[a].score > all[b].score
		}
		if all[a].level != all[b].level {
			return all[a].level < all[b].level
		}
		if all[a].y != all[b].y {
			return all[a].y < all[b].y
		}
		return all[a].x < all[b].x
	})
	if len(all) > maxPoints {
		all = all[:maxPoints]
	}
	smooth := make([]*Gray, levels)
	f.Points = make([]Point, 0, len(all))
	f.Desc = make([]Desc, 0, len(all))
	for _, c := range all {
		l := lv[c.level]
		if smooth[c.level] == nil {
			smooth[c.level] = boxBlur(l)
		}
		a := centroidAngle(l, c.x, c.y)
		sc := float32(math.Pow(levelScale, -float64(c.level)))
		f.Points = append(f.Points, Point{X: float32(c.x) / sc, Y: float32(c.y) / sc, Angle: a, Scale: sc})
		f.Desc = append(f.Desc, describe(smooth[c.level], c.x, c.y, a, &pattern))
		if both {
			// Mirrored: x → w-1-x, the centroid's angle θ → π-θ, and the
			// pattern's offsets sampled with x negated.
			am := float32(math.Pi) - a
			if am > math.Pi {
				am -= 2 * math.Pi
			}
			fm.Points = append(fm.Points, Point{X: float32(l.W-1-c.x) / sc, Y: float32(c.y) / sc, Angle: am, Scale: sc})
			fm.Desc = append(fm.Desc, describe(smooth[c.level], c.x, c.y, am, &mirrorPattern))
		}
	}
	return f, fm
}

// circle is FAST's ring of 16 pixels at radius 3.
var circle = [16][2]int{{0, -3}, {1, -3}, {2, -2}, {3, -1}, {3, 0}, {3, 1}, {2, 2}, {1, 3},
	{0, 3}, {-1, 3}, {-2, 2}, {-3, 1}, {-3, 0}, {-3, -1}, {-2, -2}, {-1, -3}}

type corner struct {
	x, y  int
	score int32
}

// fast returns g's FAST-9 corners after 3×3 non-maximum suppression,
// scored by the sum of the ring's excess over the threshold.
func fast(g *Gray) []corner {
	w, h := g.W, g.H
	if w <= 2*border || h <= 2*border {
		return nil
	}
	var off [16]int
	for i, c := range circle {
		off[i] = c[1]*w + c[0]
	}
	score := make([]int32, w*h)
	pix := g.Pix
	for y := border; y < h-border; y++ {
		for x := border; x < w-border; x++ {
			i := y*w + x
			p := int32(g.Pix[i])
			hi, lo := p+fastThresh, p-fastThresh
			// Quick rejection: a 9-arc holds ring pixel 0 or 8 (any 9 in
			// a row do), and at least two of the compass points 0, 4, 8,
			// 12, all brighter or all darker.
			v0, v8 := int32(pix[i+off[0]]), int32(pix[i+off[8]])
			if v0 <= hi && v0 >= lo && v8 <= hi && v8 >= lo {
				continue
			}
			v4, v12 := int32(pix[i+off[4]]), int32(pix[i+off[12]])
			nb := b2i(v0 > hi) + b2i(v4 > hi) + b2i(v8 > hi) + b2i(v12 > hi)
			nd := b2i(v0 < lo) + b2i(v4 < lo) + b2i(v8 < lo) + b2i(v12 < lo)
			if nb < 2 && nd < 2 {
				continue
			}
			var ring [16]int32
			var bright, dark uint32
			for k := range off {
				v := int32(g.Pix[i+off[k]])
				ring[k] = v
				if v > hi {
					bright |= 1 << k
				} else if v < lo {
					dark |= 1 << k
				}
			}
			if !arc9(bright) && !arc9(dark) {
				continue
			}
			var s int32
			for _, v := range ring {
				if d := v - p; d > fastThresh {
					s += d - fastThresh
				} else if d < -fastThresh {
					s += -d - fastThresh
				}
			}
			score[i] = s
		}
	}
	var out []corner
	for y := border; y < h-border; y++ {
		for x := border; x < w-border; x++ {
			i := y*w + x
			s := score[i]
			if s == 0 {
				continue
			}
			if s < score[i-1] || s <= score[i+1] || s < score[i-w-1] || s < score[i-w] || s < score[i-w+1] ||
				s <= score[i+w-1] || s <= score[i+w] || s <= score[i+w+1] {
				continue
			}
			out = append(out, corner{x, y, s})
		}
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// arc9 says whether the 16-bit ring mask m has 9 contiguous bits set,
// around the ring.
func arc9(m uint32) bool {
	m |= m << 16         // the ring twice, so a run may wrap
	r := m & (m >> 1)    // runs of 2
	r &= r >> 2          // 4
	r &= r >> 4          // 8
	return r&(m>>8) != 0 // 9
}

// umax[dy] is the half-width of the circular patch at row dy.
var umax = func() [patchR + 1]int {
	var u [patchR + 1]int
	for dy := 0; dy <= patchR; dy++ {
		u[dy] = int(math.Floor(math.Sqrt(float64(patchR*patchR - dy*dy))))
	}
	return u
}()

// centroidAngle is the direction from (x, y) to the intensity centroid of
// the circular patch around it.
func centroidAngle(g *Gray, x, y int) float32 {
	var m10, m01 int
	for dy := -patchR; dy <= patchR; dy++ {
		u := umax[abs(dy)]
		row := g.Pix[(y+dy)*g.W:]
		for dx := -u; dx <= u; dx++ {
			v := int(row[x+dx])
			m10 += dx * v
			m01 += dy * v
		}
	}
	return float32(math.Atan2(float64(m01), float64(m10)))
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// boxBlur is g smoothed by a 5×5 mean (BRIEF compares smoothed pixels),
// the edges repeated.
func boxBlur(g *Gray) *Gray {
	w, h := g.W, g.H
	tmp := make([]uint16, w*h)
	for y := 0; y < h; y++ {
		row := g.Pix[y*w : (y+1)*w]
		at := func(x int) uint16 { return uint16(row[min(max(x, 0), w-1)]) }
		s := at(-2) + at(-1) + at(0) + at(1) + at(2)
		t := tmp[y*w : (y+1)*w]
		for x := range t {
			t[x] = s
			s += at(x+3) - at(x-2)
		}
	}
	out := &Gray{W: w, H: h, Pix: make([]uint8, w*h)}
	sums := make([]int, w)
	rowAt := func(y int) []uint16 { y = min(max(y, 0), h-1); return tmp[y*w : (y+1)*w] }
	for d := -2; d <= 2; d++ {
		for x, v := range rowAt(d) {
			sums[x] += int(v)
		}
	}
	for y := 0; y < h; y++ {
		o := out.Pix[y*w : (y+1)*w]
		add, sub := rowAt(y+3), rowAt(y-2)
		for x := range o {
			o[x] = uint8((sums[x] + 12) / 25)
			sums[x] += int(add[x]) - int(sub[x])
		}
	}
	return out
}

// pattern holds BRIEF's 256 point pairs rotated to each of angleBins
// angles: pattern[bin][i] = {x1, y1, x2, y2}.
var pattern = func() [angleBins][256][4]int8 {
	// A fixed seeded draw (xorshift), isotropic Gaussian of sigma
	// patchR/2.5 clipped to the circle of radius patchR-2, so that a
	// rotated pair stays inside the patch.
	state := uint64(0x9E3779B97F4A7C15)
	next := func() float64 {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return (float64(state>>11) + 0.5) / (1 << 53)
	}
	gauss := func() float64 {
		return math.Sqrt(-2*math.Log(next())) * math.Cos(2*math.Pi*next())
	}
	const lim = patchR - 2
	var base [256][4]float64
	for i := range base {
		for j := 0; j < 4; j += 2 {
			for {
				x, y := gauss()*patchR/2.5, gauss()*patchR/2.5
				if x*x+y*y <= lim*lim {
					base[i][j], base[i][j+1] = x, y
					break
				}
			}
		}
	}
	var p [angleBins][256][4]int8
	for b := range p {
		a := 2 * math.Pi * float64(b) / angleBins
		c, s := math.Cos(a), math.Sin(a)
		for i, q := range base {
			for j := 0; j < 4; j += 2 {
				x, y := q[j], q[j+1]
				p[b][i][j] = int8(math.Round(c*x - s*y))
				p[b][i][j+1] = int8(math.Round(s*x + c*y))
			}
		}
	}
	return p
}()

// mirrorPattern is pattern with every x offset negated: sampling the
// original image with it at a keypoint describes the mirrored image at the
// mirrored keypoint.
var mirrorPattern = func() [angleBins][256][4]int8 {
	p := pattern
	for b := range p {
		for i := range p[b] {
			p[b][i][0], p[b][i][2] = -p[b][i][0], -p[b][i][2]
		}
	}
	return p
}()

// describe is the rotated BRIEF descriptor of the smoothed patch at (x, y)
// turned to angle.
func describe(g *Gray, x, y int, angle float32, pat *[angleBins][256][4]int8) Desc {
	b := int(math.Round(float64(angle)/(2*math.Pi)*angleBins)) % angleBins
	if b < 0 {
		b += angleBins
	}
	var d Desc
	c := y*g.W + x
	for i, q := range &pat[b] {
		v1 := g.Pix[c+int(q[1])*g.W+int(q[0])]
		v2 := g.Pix[c+int(q[3])*g.W+int(q[2])]
		if v1 < v2 {
			d[i>>6] |= 1 << (i & 63)
		}
	}
	return d
}

func hamming(a, b *Desc) int {
	return bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1]) +
		bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
}

// Match is a pair of matched keypoints: Q of the query, C of the candidate.
type Match struct{ Q, C int32 }

// Matches returns q's keypoints whose nearest descriptor in c passes the
// ratio test, appended to buf.
func Matches(q, c *Features, buf []Match) []Match {
	for i := range q.Desc {
		d := &q.Desc[i]
		best, second, bj := 257, 257, -1
		for j := range c.Desc {
			h := hamming(d, &c.Desc[j])
			if h < best {
				best, second, bj = h, best, j
			} else if h < second {
				second = h
			}
		}
		if bj >= 0 && best <= maxDist && float64(best) < ratio*float64(second) {
			buf = append(buf, Match{int32(i), int32(bj)})
		}
	}
	return buf
}

// Inliers is how many of q's ratio-test matches in c agree with one
// similarity transform (RANSAC over pairs of matches, a fixed number of
// seeded draws): near zero for unrelated photos, dozens or more for the
// same photo cropped, rescaled, turned or in other light.
func Inliers(q, c *Features) int {
	if q == nil || c == nil || len(q.Desc) == 0 || len(c.Desc) == 0 {
		return 0
	}
	var stack [maxPoints]Match
	m := Matches(q, c, stack[:0])
	return ransac(q, c, m)
}

// BestInliers is Inliers of the better of a query's features and its
// mirror image's (see ExtractBoth): a mirrored re-photograph matches too.
func BestInliers(q, qMirror, c *Features) int {
	return max(Inliers(q, c), Inliers(qMirror, c))
}

const (
	iterations = 200
	tol        = 4.0 // pixels (of the Side-sized photo) an inlier may be off
)

func ransac(q, c *Features, m []Match) int {
	n := len(m)
	if n < 2 {
		return n
	}
	state := uint32(2463534242)
	rnd := func(k int) int {
		state ^= state << 13
		state ^= state >> 17
		state ^= state << 5
		return int(state % uint32(k))
	}
	best := 1
	tol2 := float32(tol * tol)
	for it := 0; it < iterations; it++ {
		i, j := rnd(n), rnd(n)
		if i == j {
			continue
		}
		p1, p2 := q.Points[m[i].Q], q.Points[m[j].Q]
		r1, r2 := c.Points[m[i].C], c.Points[m[j].C]
		// z' = a z + t in complex numbers: a = (r2-r1)/(p2-p1).
		dx, dy := p2.X-p1.X, p2.Y-p1.Y
		ex, ey := r2.X-r1.X, r2.Y-r1.Y
		den := dx*dx + dy*dy
		if den < 100 { // points closer than 10 px fix the transform badly
			continue
		}
		ar := (ex*dx + ey*dy) / den
		ai := (ey*dx - ex*dy) / den
		if s2 := ar*ar + ai*ai; s2 < 0.25 || s2 > 4 { // scale within 0.5–2
			continue
		}
		tx := r1.X - (ar*p1.X - ai*p1.Y)
		ty := r1.Y - (ai*p1.X + ar*p1.Y)
		cnt := 0
		for _, mm := range m {
			p, r := q.Points[mm.Q], c.Points[mm.C]
			ux := ar*p.X - ai*p.Y + tx - r.X
			uy := ai*p.X + ar*p.Y + ty - r.Y
			if ux*ux+uy*uy <= tol2 {
				cnt++
			}
		}
		if cnt > best {
			best = cnt
		}
	}
	return best
}
