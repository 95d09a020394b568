package builtin

import (
	"image"
	"math"

	"github.com/lookalike/lookalike/embed"
)

// Regions: soft, mirror-symmetric windows that the histograms are pooled
// over. A mirror image (left–right) gives the same statistics in each.
const (
	regGlobal = iota // the whole image
	regCentre        // a Gaussian window around the centre
	regTop           // horizontal bands, triangular profiles overlapping by half
	regMiddle
	regBottom
	numRegions
)

var regionNames = [numRegions]string{"global", "centre", "top", "middle", "bottom"}

// config fixes every parameter of the descriptor. The vectors of two configs
// are not comparable: changing the default means a new Name.
type config struct {
	name  string           // the model name, with the version
	bands embed.Thresholds // the version's band thresholds
	// The search's trust in a confident whole frame (regions.Config's
	// TrustMargin and TrustedPenalty) for the version's scores.
	trustMargin, trustedPenalty float32
	size                        int     // working size: the longer side, in pixels
	centreSigma                 float32 // of the centre window, as a fraction of each side

	// HSV colour histogram: hue × saturation × value bins for chromatic
	// pixels, value bins for grey ones, with a chroma ramp between them.
	hueBins, satBins, valBins, greyBins int
	chromaLo, chromaHi                  float32
	colourRegions                       []int
	edgeColourRegions                   []int // colour weighted by gradient magnitude

	// Per scale (the working image, then halved each time).
	scales        int
	orientBins    int // gradient orientation, mirror-folded
	orientRegions []int
	magBins       int // gradient magnitude relative to the image's mean
	radialBins    int // angle between gradient and direction to the centre
	radialRegions []int
	lbpThreshold  float32 // grey levels a neighbour must exceed the centre by
	lbpRegions    []int

	power   float32            // applied to every histogram before normalising
	weights map[string]float32 // per block name; missing = 0 (block dropped)

	// White balance: each channel is multiplied by (m/m_c)^wbAlpha, where
	// m_c is the channel's Minkowski mean of order wbP over the image and m
	// their average (0: off; wbP 1 is grey world, large wbP max-RGB).
	wbAlpha, wbP float32
	// Exposure: every channel is multiplied by (expoTarget/L)^expoAlpha,
	// L the mean luminance (0: off).
	expoTarget, expoAlpha float32
	// preBlur smooths the luminance with a [1 2 1]/4 kernel both ways
	// before the gradient and texture features (0: off, else passes).
	preBlur int
}

// defaultConfig is the current version's (Name): builtin-v3's descriptor
// with v4Weights.
func defaultConfig() config {
	c := v3Config()
	c.name, c.bands = Name, v4Bands
	c.weights = v4Weights
	return c
}

// v4Weights are v2Weights after two rounds of TestTuneDescriptor's
// coordinate ascent on the v3 descriptor (1,000 hard and 1,000 plain dev
// queries, 5 seeds; hard recall@1 0.940 -> 0.951, recall@10 0.986 ->
// 0.990, plain 0.982 -> 0.986 there). Checked on other queries of the dev
// photos (quality's TestTuneFusion: 2,000 plain and 1,000 hard, made as
// `bench quality` makes them, with the whole-frame trust): hard recall@1
// 0.921 -> 0.931, recall@10 0.976 -> 0.980, plain 0.983 both.
var v4Weights = map[string]float32{
	"colour/centre": 1, "colour/top": 0.7, "colour/bottom": 0.71,
	"ecolour/global": 0.3, "ecolour/centre": 0.9,
	"orient0/bottom": 1.8, "mag0": 0.9,
	"orient1/centre": 1.97, "orient1/top": 0.8, "orient1/middle": 0.784, "orient1/bottom": 0.7,
	"mag1": 0.7, "radial1/global": 0.987, "lbp1/global": 0.56, "lbp1/centre": 2.46,
}

// v3Config is builtin-v3's: builtin-v2's descriptor computed at a working
// size of 112 px instead of 160, half the pixels and about half the CPU of
// a search. On the dev photos (TestTuneDescriptor, 5 seeds: 1,000 hard and
// 1,000 plain queries through the six regions) the size hardly matters: at
// 160 / 128 / 112 / 96 / 80 px hard recall@1 is 0.938 / 0.940 / 0.940 /
// 0.940 / 0.942, hard recall@10 0.989 / 0.986 / 0.986 / 0.985 / 0.984 and
// plain recall@1 of the whole frame 0.984 / 0.985 / 0.986 / 0.985 / 0.981.
func v3Config() config {
	c := v2Config()
	c.name, c.bands = "builtin-v3", v3Bands
	c.size = 112
	c.trustMargin, c.trustedPenalty = v3Trust[0], v3Trust[1]
	return c
}

// v2Config is builtin-v2's: v1's descriptor of the photo partly
// white-balanced (grey world, a third of the way: gains (m/m_c)^0.3), with
// v2Weights. On the dev photos (TestTuneDescriptor, 400 queries each) the
// full grey-world correction lifts hard recall@1 from 0.87 to 0.91 but
// costs plain re-photographs 6 points (a crop changes the grey world); a
// third of it gives hard 0.94 / recall@10 0.99 and plain 0.99 (v1: 0.985).
// Normalising exposure too, pre-blurring the luminance or 6 orientation
// bins instead of 9 did no better.
func v2Config() config {
	c := v1Config()
	c.name, c.bands = "builtin-v2", v2Bands
	c.wbAlpha, c.wbP = 0.3, 1
	c.weights = v2Weights
	c.trustMargin, c.trustedPenalty = 0.003, 0.004
	return c
}

// v1Config is builtin-v1's: colours as the photo has them.
func v1Config() config {
	return config{
		name: "builtin-v1", bands: v1Bands,
		size:        160,
		centreSigma: 0.15,
		hueBins:     12, satBins: 3, valBins: 3, greyBins: 5,
		chromaLo: 0.04, chromaHi: 0.16,
		colourRegions:     []int{regGlobal, regCentre, regTop, regBottom},
		edgeColourRegions: []int{regGlobal, regCentre},
		scales:            2,
		orientBins:        9,
		orientRegions:     []int{regGlobal, regCentre, regTop, regMiddle, regBottom},
		magBins:           6,
		radialBins:        5,
		radialRegions:     []int{regGlobal},
		lbpThreshold:      3,
		lbpRegions:        []int{regGlobal, regCentre},
		power:             0.5,
		weights:           defaultWeights,
	}
}

// defaultWeights weigh the blocks of the default config (a block without a
// weight is left out of the vector). They were tuned by coordinate ascent on
// synthetic queries made from the development photos only (1,600 queries:
// 8 seeds × the 200 photos of quality.Options.QuerySplit "dev", searched
// among all 1,428 photos), for recall@1, recall@10 and the margin between
// the right answer and the best wrong one, with same-kind precision@10 only
// counted up to 0.62. Orientation histograms get large weights because
// they vary little between photos (their cosines are all high), so only a
// large weight lets their differences count.
var defaultWeights = map[string]float32{
	"colour/global": 0.8, "colour/centre": 1, "colour/top": 0.5, "colour/bottom": 0.71,
	"ecolour/global": 0.3, "ecolour/centre": 0.9,
	"orient0/global": 2.25, "orient0/centre": 2, "orient0/top": 0.8, "orient0/bottom": 1.8,
	"orient1/global": 0.6, "orient1/centre": 1.41, "orient1/top": 0.8, "orient1/middle": 1.6, "orient1/bottom": 1.2,
	"mag0": 0.9, "mag1": 0.6,
	"radial0/global": 0.88, "radial1/global": 1.41,
	"lbp0/centre": 1, "lbp1/global": 0.8, "lbp1/centre": 1.76,
}

// v2Weights are defaultWeights after one round of the same coordinate
// ascent on the v2 descriptor (TestTuneDescriptor: dev photos only, 400
// hard and 400 plain queries through the six search regions, for hard and
// plain recall@1, hard recall@10 and the margins): the whole-image
// orientation histograms and the finest-scale centre texture go, which
// costs nothing on dev (hard recall@1 0.940 -> 0.945, plain 0.990 ->
// 0.9925) and shortens the vector.
var v2Weights = map[string]float32{
	"colour/global": 0.8, "colour/centre": 1, "colour/top": 0.7, "colour/bottom": 0.71,
	"ecolour/global": 0.3, "ecolour/centre": 0.9,
	"orient0/centre": 2, "orient0/top": 0.8, "orient0/bottom": 1.8,
	"orient1/centre": 1.41, "orient1/top": 0.8, "orient1/middle": 1.6,
	"mag0":           0.9,
	"radial0/global": 0.616, "radial1/global": 0.987,
	"lbp1/global": 0.8, "lbp1/centre": 1.76,
}

type blockSpec struct {
	name   string
	off, n int // in the vector
	src    int // in the full list of blocks
	weight float32
}

func (c *config) colourLen() int {
	return c.hueBins*c.satBins*c.valBins + c.greyBins
}

// blockNames lists every block the config can compute, in vector order,
// with its length.
func (c *config) blockNames() (names []string, lens []int) {
	add := func(name string, n int) {
		names = append(names, name)
		lens = append(lens, n)
	}
	for _, r := range c.colourRegions {
		add("colour/"+regionNames[r], c.colourLen())
	}
	for _, r := range c.edgeColourRegions {
		add("ecolour/"+regionNames[r], c.colourLen())
	}
	for sc := 0; sc < c.scales; sc++ {
		s := itoa(sc)
		for _, r := range c.orientRegions {
			add("orient"+s+"/"+regionNames[r], c.orientBins)
		}
		add("mag"+s, c.magBins)
		for _, r := range c.radialRegions {
			add("radial"+s+"/"+regionNames[r], c.radialBins)
		}
		for _, r := range c.lbpRegions {
			add("lbp"+s+"/"+regionNames[r], 10)
		}
	}
	return names, lens
}

// layout lists the blocks of the vector: those with a positive weight.
func (c *config) layout() ([]blockSpec, int) {
	names, lens := c.blockNames()
	var specs []blockSpec
	off, src := 0, 0
	for i, name := range names {
		w := c.weights[name]
		if c.weights == nil {
			w = 1
		}
		if w > 0 {
			specs = append(specs, blockSpec{name, off, lens[i], src, w})
			off += lens[i]
		}
		src += lens[i]
	}
	return specs, off
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// scratch holds one call's working buffers; Embedders pool them.
type scratch struct {
	xw, yw       weights
	cxw, cyw     weights // chroma
	row          []uint8
	tmp, acc     []float32
	r, g, b      []float32
	lum, lum2    []float32
	gx, gy, mag  []float32
	magMean      float32
	rowW, colW   []float32 // region profiles: [region][y], [region][x]
	full         []float32 // every block, before selection
	rowA, rowC   []float32 // per-row partial histograms (see flushRow)
	rowEA, rowEC []float32
}

// flushRow pools one image row's contributions into the regions' histograms
// and clears the row. Every region's weight is separable, rowW[y] × colW[x],
// and only the centre has a column profile, so a row needs two partial
// histograms: plain (a) and weighted by the centre's column profile (c);
// each region adds one of them weighted by its row profile.
func flushRow(s *scratch, a, c []float32, regions []int, y, h int, hist []float32) {
	nb := len(a)
	for ri, rg := range regions {
		rw := s.rowW[rg*h+y]
		if rw == 0 {
			continue
		}
		src := a
		if rg == regCentre {
			src = c
		}
		dst := hist[ri*nb : (ri+1)*nb]
		for j, v := range src {
			dst[j] += rw * v
		}
	}
	clear(a)
	clear(c)
}

// describe writes the descriptor of img into out: every block power-law
// compressed and unit-length (or zero), before block weighting.
func (e *Embedder) describe(s *scratch, img image.Image, out []float32) {
	w, h := workingSize(img.Bounds().Dx(), img.Bounds().Dy(), e.cfg.size)
	s.resizeRGB(img, w, h)
	e.describePlanes(s, w, h, out)
}

// describePlanes is describe of the w×h image in s's r, g, b planes.
func (e *Embedder) describePlanes(s *scratch, w, h int, out []float32) {
	c := &e.cfg
	n := w * h
	s.normaliseLight(c, n)
	s.lum = growF(s.lum, n)
	for i := 0; i < n; i++ {
		s.lum[i] = 0.299*s.r[i] + 0.587*s.g[i] + 0.114*s.b[i]
	}
	s.full = growF(s.full, e.fullLen)
	full := s.full
	clear(full)
	off := 0
	take := func(k int) []float32 {
		v := full[off : off+k]
		off += k
		return v
	}
	for i := 0; i < c.preBlur; i++ {
		s.lum2 = blur121(s.lum2, s.lum, w, h)
		s.lum, s.lum2 = s.lum2, s.lum
	}
	s.profiles(c, w, h)
	s.gradients(s.lum, w, h)
	nc := c.colourLen()
	e.colourHist(s, w, h, take(nc*len(c.colourRegions)), take(nc*len(c.edgeColourRegions)))
	lum, lw, lh := s.lum, w, h
	for sc := 0; sc < c.scales; sc++ {
		if sc > 0 {
			s.lum2 = halve(s.lum2, lum, lw, lh)
			lw, lh = max(1, lw/2), max(1, lh/2)
			s.lum, s.lum2 = s.lum2, s.lum
			lum = s.lum
			s.profiles(c, lw, lh)
			s.gradients(lum, lw, lh)
		}
		oh := take(c.orientBins * len(c.orientRegions))
		mh := take(c.magBins)
		rh := take(c.radialBins * len(c.radialRegions))
		e.gradientHist(s, lw, lh, oh, mh, rh)
		if hist := take(10 * len(c.lbpRegions)); e.lbpUsed[sc] {
			e.lbpHist(s, lum, lw, lh, hist)
		}
	}
	if off != len(full) {
		panic("builtin: layout mismatch")
	}
	// Select, compress and normalise the blocks.
	for _, b := range e.layout {
		v := out[b.off : b.off+b.n]
		copy(v, full[b.src:b.src+b.n])
		var ss float32
		for i, x := range v {
			switch {
			case x <= 0:
				x = 0
			case c.power == 0.5:
				x = float32(math.Sqrt(float64(x)))
			case c.power != 1:
				x = float32(math.Pow(float64(x), float64(c.power)))
			}
			v[i] = x
			ss += x * x
		}
		if ss > 0 {
			k := 1 / float32(math.Sqrt(float64(ss)))
			for i := range v {
				v[i] *= k
			}
		}
	}
}

// profiles fills the separable region profiles for a w×h image: the weight
// of pixel (x, y) in region k is rowW[k*h+y] × colW[k*w+x].
func (s *scratch) profiles(c *config, w, h int) {
	s.rowW = growF(s.rowW, numRegions*h)
	s.colW = growF(s.colW, numRegions*w)
	gauss := func(t, sigma float32) float32 {
		t -= 0.5
		return float32(math.Exp(float64(-t * t / (2 * sigma * sigma))))
	}
	band := func(t, centre float32) float32 {
		d := t - centre
		if d < 0 {
			d = -d
		}
		return max(0, 1-3*d) // half-width 1/3: neighbouring bands overlap
	}
	for y := 0; y < h; y++ {
		v := (float32(y) + 0.5) / float32(h)
		s.rowW[regGlobal*h+y] = 1
		s.rowW[regCentre*h+y] = gauss(v, c.centreSigma)
		s.rowW[regTop*h+y] = band(v, 1.0/6)
		s.rowW[regMiddle*h+y] = band(v, 0.5)
		s.rowW[regBottom*h+y] = band(v, 5.0/6)
	}
	for x := 0; x < w; x++ {
		u := (float32(x) + 0.5) / float32(w)
		for k := 0; k < numRegions; k++ {
			s.colW[k*w+x] = 1
		}
		s.colW[regCentre*w+x] = gauss(u, c.centreSigma)
	}
}

// gradients fills s.gx, s.gy and s.mag with central differences of the w×h
// plane lum (zero on the border), and s.magMean with the mean magnitude.
func (s *scratch) gradients(lum []float32, w, h int) {
	n := w * h
	s.gx, s.gy, s.mag = growF(s.gx, n), growF(s.gy, n), growF(s.mag, n)
	clear(s.gx)
	clear(s.gy)
	clear(s.mag)
	s.magMean = 0
	if w < 3 || h < 3 {
		return
	}
	var sum float32
	for y := 1; y < h-1; y++ {
		var rowSum float32
		for x := 1; x < w-1; x++ {
			i := y*w + x
			gx := lum[i+1] - lum[i-1]
			gy := lum[i+w] - lum[i-w]
			m := float32(math.Sqrt(float64(gx*gx + gy*gy)))
			s.gx[i], s.gy[i], s.mag[i] = gx, gy, m
			rowSum += m
		}
		sum += rowSum
	}
	s.magMean = sum / float32((w-2)*(h-2))
}

// softBin splits v (in bin units: bin centres at 0, 1, …, n-1) between two
// neighbouring bins, clamping at the ends.
func softBin(v float32, n int) (i0, i1 int, w1 float32) {
	if v <= 0 {
		return 0, 0, 0
	}
	if v >= float32(n-1) {
		return n - 1, n - 1, 0
	}
	i0 = int(v)
	return i0, i0 + 1, v - float32(i0)
}

// softBinCircular is softBin on a circular axis of n bins; v ≥ -1.
func softBinCircular(v float32, n int) (i0, i1 int, w1 float32) {
	v += float32(n) // keep it positive for the truncation
	i := int(v)
	w1 = v - float32(i)
	i0 = i % n
	return i0, (i0 + 1) % n, w1
}

// colourHist accumulates the soft HSV histograms per region, plain into
// plain and weighted by gradient magnitude into edge.
func (e *Embedder) colourHist(s *scratch, w, h int, plain, edge []float32) {
	c := &e.cfg
	nb := c.colourLen()
	chromaSpan := c.chromaHi - c.chromaLo
	greyOff := c.hueBins * c.satBins * c.valBins
	hueScale := float32(c.hueBins) / 6
	var idx [10]int32
	var wt [10]float32
	s.rowA, s.rowC = growF(s.rowA, nb), growF(s.rowC, nb)
	s.rowEA, s.rowEC = growF(s.rowEA, nb), growF(s.rowEC, nb)
	clear(s.rowA)
	clear(s.rowC)
	clear(s.rowEA)
	clear(s.rowEC)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			r, g, b := s.r[i]*(1.0/255), s.g[i]*(1.0/255), s.b[i]*(1.0/255)
			mx := max(r, g, b)
			chroma := mx - min(r, g, b)
			wc := min(1, max(0, (chroma-c.chromaLo)/chromaSpan))
			k := 0
			if wc > 0 {
				var hue float32 // 0..6
				switch mx {
				case r:
					hue = (g - b) / chroma
					if hue < 0 {
						hue += 6
					}
				case g:
					hue = (b-r)/chroma + 2
				default:
					hue = (r-g)/chroma + 4
				}
				sat := chroma / mx
				h0, h1, hw := softBinCircular(hue*hueScale-0.5, c.hueBins)
				s0, s1, sw := softBin(sat*float32(c.satBins)-0.5, c.satBins)
				v0, v1, vw := softBin(mx*float32(c.valBins)-0.5, c.valBins)
				hs := [2]int{h0, h1}
				hws := [2]float32{wc * (1 - hw), wc * hw}
				ss := [2]int{s0, s1}
				sws := [2]float32{1 - sw, sw}
				for a := 0; a < 2; a++ {
					for b := 0; b < 2; b++ {
						swt := hws[a] * sws[b]
						base := (hs[a]*c.satBins + ss[b]) * c.valBins
						idx[k], wt[k] = int32(base+v0), swt*(1-vw)
						idx[k+1], wt[k+1] = int32(base+v1), swt*vw
						k += 2
					}
				}
			}
			if wc < 1 {
				g0, g1, gw := softBin(mx*float32(c.greyBins)-0.5, c.greyBins)
				idx[k], wt[k] = int32(greyOff+g0), (1-wc)*(1-gw)
				idx[k+1], wt[k+1] = int32(greyOff+g1), (1-wc)*gw
				k += 2
			}
			cw := s.colW[regCentre*w+x]
			for j := 0; j < k; j++ {
				s.rowA[idx[j]] += wt[j]
				s.rowC[idx[j]] += wt[j] * cw
			}
			if m := s.mag[i]; m != 0 {
				mc := m * cw
				for j := 0; j < k; j++ {
					s.rowEA[idx[j]] += wt[j] * m
					s.rowEC[idx[j]] += wt[j] * mc
				}
			}
		}
		flushRow(s, s.rowA, s.rowC, c.colourRegions, y, h, plain)
		flushRow(s, s.rowEA, s.rowEC, c.edgeColourRegions, y, h, edge)
	}
}

// gradientHist accumulates, from s's gradients: mirror-folded orientation
// histograms per region, weighted by magnitude (oh); a histogram of the
// magnitudes relative to their mean (mh); and per region, histograms of the
// angle between the gradient and the direction to the image centre (rh),
// which tells radial structure (petals) from tangential.
func (e *Embedder) gradientHist(s *scratch, w, h int, oh, mh, rh []float32) {
	c := &e.cfg
	mean := s.magMean
	if w < 3 || h < 3 || mean < 1e-3 {
		return
	}
	invMean := 1 / mean
	cx, cy := float32(w)/2, float32(h)/2
	no, nr := c.orientBins, c.radialBins
	s.rowA, s.rowC = growF(s.rowA, no), growF(s.rowC, no)
	s.rowEA, s.rowEC = growF(s.rowEA, nr), growF(s.rowEC, nr)
	clear(s.rowA)
	clear(s.rowC)
	clear(s.rowEA)
	clear(s.rowEC)
	ob := float32(c.orientBins - 1)
	rb := float32(c.radialBins - 1)
	mb := float32(c.magBins-1) / 6
	for y := 1; y < h-1; y++ {
		dy := float32(y) + 0.5 - cy
		for x := 1; x < w-1; x++ {
			i := y*w + x
			gx, gy, m := s.gx[i], s.gy[i], s.mag[i]
			// Magnitude: bins over log2(m/mean) in [-4, 2].
			q := fastLog2(m*invMean + 1.0/16)
			b0, b1, bw := softBin((q+4)*mb, c.magBins)
			mh[b0] += 1 - bw
			mh[b1] += bw
			if m < 1 {
				continue
			}
			// Orientation as the doubled angle folded to [0, π]: a gradient
			// and its mirror image fall in the same bin.
			c2 := (gx*gx - gy*gy) / (m * m)
			phi := fastAcos(c2) // 0..π
			o0, o1, ow := softBin(phi*(1/math.Pi)*ob, c.orientBins)
			mc := m * s.colW[regCentre*w+x]
			s.rowA[o0] += m * (1 - ow)
			s.rowA[o1] += m * ow
			s.rowC[o0] += mc * (1 - ow)
			s.rowC[o1] += mc * ow
			dx := float32(x) + 0.5 - cx
			dl := float32(math.Sqrt(float64(dx*dx + dy*dy)))
			if dl < 1 {
				continue
			}
			cos := (gx*dx + gy*dy) / (m * dl)
			if cos < 0 {
				cos = -cos
			}
			r0, r1, rw1 := softBin(cos*rb, c.radialBins)
			s.rowEA[r0] += m * (1 - rw1)
			s.rowEA[r1] += m * rw1
			s.rowEC[r0] += mc * (1 - rw1)
			s.rowEC[r1] += mc * rw1
		}
		flushRow(s, s.rowA, s.rowC, c.orientRegions, y, h, oh)
		flushRow(s, s.rowEA, s.rowEC, c.radialRegions, y, h, rh)
	}
}

// fastLog2 approximates log2(x) for x > 0 (error < 0.01).
func fastLog2(x float32) float32 {
	bits := math.Float32bits(x)
	exp := float32(int32(bits>>23&0xff) - 127)
	m := math.Float32frombits(bits&0x7fffff | 0x3f800000) // 1..2
	// log2(m) on [1, 2) by a quadratic.
	return exp + (-0.34484843*m+2.02466578)*m - 1.67981735
}

// fastAcos approximates acos(x) for x in [-1, 1] (error < 7e-5 rad;
// Abramowitz and Stegun 4.4.45).
func fastAcos(x float32) float32 {
	neg := x < 0
	if neg {
		x = -x
	}
	if x > 1 {
		x = 1
	}
	r := float32(math.Sqrt(float64(1-x))) * (1.5707288 + x*(-0.2121144+x*(0.0742610-0.0187293*x)))
	if neg {
		return math.Pi - r
	}
	return r
}

// lbpHist accumulates rotation-invariant uniform local binary patterns
// (8 neighbours at distance 1; codes 0–8 count the brighter neighbours of a
// uniform pattern, 9 is any other) per region. They are also invariant to
// mirroring and to monotonic changes of brightness.
func (e *Embedder) lbpHist(s *scratch, lum []float32, w, h int, hist []float32) {
	c := &e.cfg
	if w < 3 || h < 3 {
		return
	}
	t := c.lbpThreshold
	s.rowA, s.rowC = growF(s.rowA, 10), growF(s.rowC, 10)
	clear(s.rowA)
	clear(s.rowC)
	cw := s.colW[regCentre*w : (regCentre+1)*w]
	for y := 1; y < h-1; y++ {
		up, mid, dn := lum[(y-1)*w:y*w], lum[y*w:(y+1)*w], lum[(y+1)*w:(y+2)*w]
		for x := 1; x < w-1; x++ {
			ctr := mid[x] + t
			var bits uint8
			if up[x-1] >= ctr {
				bits |= 1
			}
			if up[x] >= ctr {
				bits |= 2
			}
			if up[x+1] >= ctr {
				bits |= 4
			}
			if mid[x+1] >= ctr {
				bits |= 8
			}
			if dn[x+1] >= ctr {
				bits |= 16
			}
			if dn[x] >= ctr {
				bits |= 32
			}
			if dn[x-1] >= ctr {
				bits |= 64
			}
			if mid[x-1] >= ctr {
				bits |= 128
			}
			code := lbpCode[bits]
			s.rowA[code]++
			s.rowC[code] += cw[x]
		}
		flushRow(s, s.rowA, s.rowC, c.lbpRegions, y, h, hist)
	}
}

// lbpCode maps an 8-bit neighbourhood pattern to its rotation-invariant
// uniform code.
var lbpCode = func() (t [256]uint8) {
	for p := 0; p < 256; p++ {
		b := uint8(p)
		rot := b>>1 | b<<7
		if popcount(b^rot) <= 2 {
			t[p] = uint8(popcount(b))
		} else {
			t[p] = 9
		}
	}
	return t
}()

func popcount(b uint8) int {
	n := 0
	for b != 0 {
		b &= b - 1
		n++
	}
	return n
}

// halve box-downsamples a w×h plane by two into dst.
func halve(dst, src []float32, w, h int) []float32 {
	w2, h2 := max(1, w/2), max(1, h/2)
	dst = growF(dst, w2*h2)
	for y := 0; y < h2; y++ {
		y0 := min(2*y, h-1)
		y1 := min(2*y+1, h-1)
		for x := 0; x < w2; x++ {
			x0 := min(2*x, w-1)
			x1 := min(2*x+1, w-1)
			dst[y*w2+x] = 0.25 * (src[y0*w+x0] + src[y0*w+x1] + src[y1*w+x0] + src[y1*w+x1])
		}
	}
	return dst
}

// normaliseLight applies the config's white balance and exposure
// normalisation to the n pixels of s's planes.
func (s *scratch) normaliseLight(c *config, n int) {
	if c.wbAlpha == 0 && c.expoAlpha == 0 {
		return
	}
	var gains [3]float32
	planes := [3][]float32{s.r[:n], s.g[:n], s.b[:n]}
	for k := range gains {
		gains[k] = 1
	}
	if c.wbAlpha != 0 {
		var m [3]float64
		p := float64(c.wbP)
		for k, pl := range planes {
			var sum float64
			for _, v := range pl {
				x := float64(v) + 1
				if p == 1 {
					sum += x
				} else {
					sum += math.Pow(x, p)
				}
			}
			m[k] = math.Pow(sum/float64(n), 1/p)
		}
		ref := (m[0] + m[1] + m[2]) / 3
		for k := range gains {
			gains[k] = float32(math.Pow(ref/m[k], float64(c.wbAlpha)))
		}
	}
	if c.expoAlpha != 0 {
		var sum float64
		for i := 0; i < n; i++ {
			sum += float64(gains[0]*0.299*planes[0][i] + gains[1]*0.587*planes[1][i] + gains[2]*0.114*planes[2][i])
		}
		l := sum/float64(n) + 1
		f := float32(math.Pow(float64(c.expoTarget)/l, float64(c.expoAlpha)))
		for k := range gains {
			gains[k] *= f
		}
	}
	for k, pl := range planes {
		g := gains[k]
		for i, v := range pl {
			pl[i] = min(255, v*g)
		}
	}
}

// blur121 smooths a w×h plane with a [1 2 1]/4 kernel along both axes
// (edges clamped) into dst.
func blur121(dst, src []float32, w, h int) []float32 {
	dst = growF(dst, w*h)
	for y := 0; y < h; y++ {
		ym, yp := max(0, y-1)*w, min(h-1, y+1)*w
		row := y * w
		for x := 0; x < w; x++ {
			dst[row+x] = 0.25*src[ym+x] + 0.5*src[row+x] + 0.25*src[yp+x]
		}
	}
	tmp := make([]float32, w)
	for y := 0; y < h; y++ {
		row := dst[y*w : (y+1)*w]
		copy(tmp, row)
		for x := 0; x < w; x++ {
			row[x] = 0.25*tmp[max(0, x-1)] + 0.5*tmp[x] + 0.25*tmp[min(w-1, x+1)]
		}
	}
	return dst
}
