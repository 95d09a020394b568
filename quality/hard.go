package quality

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand"
)

// HardParams describes one synthetic shopper's photo of a product: the
// product photo slightly rotated, in other light, a little blurred, and
// either filling the frame or standing on a cluttered background (another
// photo) that it only partly covers.
type HardParams struct {
	// Angle rotates the photo about its centre, in degrees (counter-clockwise).
	Angle float64
	// GainR, GainG, GainB multiply the channels: a white balance drift.
	GainR, GainG, GainB float64
	// Blur is the standard deviation of a Gaussian blur, in pixels of the
	// result.
	Blur float64
	// Background places the rotated photo on another image (passed to
	// ApplyHard) instead of cropping it to the rotated photo's inner
	// rectangle. Fill is then the fraction of the frame's width and height
	// that the (unrotated) photo spans, PosX and PosY place it (0 = flush
	// left/top, 1 = flush right/bottom).
	Background       bool
	Fill, PosX, PosY float64
	// Scale resizes the result (relative to the source photo's size).
	Scale float64
	// Mirror flips the result horizontally.
	Mirror bool
	// Quality is the JPEG quality of the re-encoding.
	Quality int
}

// RandomHardParams draws the parameters of the hard protocol, in a fixed
// order: rotation ±12°, white balance drift ±12 % (colour temperature: red
// and blue gains moving apart, plus a ±4 % green tint), exposure ±10 %,
// Gaussian blur σ 0.4–1.2 px, on a background with probability 0.5 (then
// spanning 55–85 % of the frame's width and height, at a random position),
// rescale by 0.6–1.4,
// mirror with probability 0.5, JPEG quality 45–85.
func RandomHardParams(rng *rand.Rand) HardParams {
	var p HardParams
	p.Angle = 24 * (rng.Float64() - 0.5)
	temp := 0.24 * (rng.Float64() - 0.5)
	tint := 0.08 * (rng.Float64() - 0.5)
	expo := 1 + 0.2*(rng.Float64()-0.5)
	p.GainR, p.GainG, p.GainB = expo*(1+temp), expo*(1+tint), expo*(1-temp)
	p.Blur = 0.4 + 0.8*rng.Float64()
	p.Background = rng.Intn(2) == 1
	p.Fill = 0.55 + 0.3*rng.Float64()
	p.PosX = rng.Float64()
	p.PosY = rng.Float64()
	p.Scale = 0.6 + 0.8*rng.Float64()
	p.Mirror = rng.Intn(2) == 1
	p.Quality = 45 + rng.Intn(41)
	return p
}

// ApplyHard makes the shopper's photo of img that p describes. bg is the
// background (used only when p.Background; it is scaled to cover the frame).
// It returns the decoded JPEG and, in relative coordinates of the result,
// the box the product photo occupies (the whole frame without background).
func ApplyHard(img, bg image.Image, p HardParams) (image.Image, [4]float64, error) {
	data, box, err := hardJPEG(img, bg, p)
	if err != nil {
		return nil, box, err
	}
	res, err := jpeg.Decode(bytes.NewReader(data))
	return res, box, err
}

// hardJPEG is ApplyHard's JPEG file.
func hardJPEG(img, bg image.Image, p HardParams) ([]byte, [4]float64, error) {
	whole := [4]float64{0, 0, 1, 1}
	src, w, h := toFloatRGB(img)
	if w == 0 || h == 0 {
		return nil, whole, errors.New("quality: empty image")
	}
	scale := p.Scale
	if !(scale > 0) {
		scale = 1
	}
	theta := p.Angle * math.Pi / 180
	cos, sin := math.Cos(theta), math.Sin(theta)
	var (
		ow, oh int
		// Output pixel (x, y) -> source pixel (sx, sy) of the photo:
		// s = c + R(-θ)·(o - oc)/k.
		k      float64 // output pixels per source pixel
		ocx    float64 // where the photo's centre lands in the output
		ocy    float64
		canvas []float32
		box    = whole
	)
	if !p.Background {
		// Crop to the largest axis-aligned rectangle of the photo's aspect
		// inside the rotated photo, so no corner shows.
		ac, as := math.Abs(cos), math.Abs(sin)
		f := math.Min(float64(w)/(float64(w)*ac+float64(h)*as), float64(h)/(float64(w)*as+float64(h)*ac))
		ow = max(1, int(math.Round(float64(w)*f*scale)))
		oh = max(1, int(math.Round(float64(h)*f*scale)))
		k = scale
		canvas = make([]float32, ow*oh*3)
	} else {
		if bg == nil {
			return nil, whole, errors.New("quality: a background is needed")
		}
		fill := math.Min(1, math.Max(0.05, p.Fill))
		// The frame has the photo's aspect; the photo's sides are fill of
		// the frame's.
		side := fill
		ow = max(1, int(math.Round(float64(w)*scale/side)))
		oh = max(1, int(math.Round(float64(h)*scale/side)))
		k = scale
		pw, ph := float64(w)*k, float64(h)*k
		// The rotated photo's bounding box must stay inside the frame
		// where it can.
		ac, as := math.Abs(cos), math.Abs(sin)
		bw, bh := pw*ac+ph*as, pw*as+ph*ac
		ocx = bw/2 + (float64(ow)-bw)*clamp01(p.PosX)
		ocy = bh/2 + (float64(oh)-bh)*clamp01(p.PosY)
		if bw > float64(ow) {
			ocx = float64(ow) / 2
		}
		if bh > float64(oh) {
			ocy = float64(oh) / 2
		}
		box = [4]float64{
			math.Max(0, (ocx-bw/2)/float64(ow)), math.Max(0, (ocy-bh/2)/float64(oh)),
			math.Min(1, bw/float64(ow)), math.Min(1, bh/float64(oh)),
		}
		canvas = coverResize(bg, ow, oh)
	}
	if !p.Background {
		ocx, ocy = float64(ow)/2, float64(oh)/2
	}
	scx, scy := float64(w)/2, float64(h)/2
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			dx, dy := (float64(x)+0.5-ocx)/k, (float64(y)+0.5-ocy)/k
			// Rotating the photo by θ: sample it at R(-θ)·d.
			sx := cos*dx + sin*dy + scx - 0.5
			sy := -sin*dx + cos*dy + scy - 0.5
			a, r, g, b := bilinear(src, w, h, sx, sy)
			if a == 0 {
				continue
			}
			o := (y*ow + x) * 3
			canvas[o] = canvas[o]*(1-a) + r*a
			canvas[o+1] = canvas[o+1]*(1-a) + g*a
			canvas[o+2] = canvas[o+2]*(1-a) + b*a
		}
	}
	canvas = gaussianBlur(canvas, ow, oh, p.Blur)
	gains := [3]float32{gainOr1(p.GainR), gainOr1(p.GainG), gainOr1(p.GainB)}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			si := (y*ow + x) * 3
			dx := x
			if p.Mirror {
				dx = ow - 1 - x
			}
			di := out.PixOffset(dx, y)
			for c := 0; c < 3; c++ {
				out.Pix[di+c] = clampByte(canvas[si+c] * gains[c])
			}
			out.Pix[di+3] = 0xff
		}
	}
	if p.Mirror {
		box[0] = 1 - box[0] - box[2]
	}
	data, err := encodeJPEG(out, p.Quality)
	return data, box, err
}

func gainOr1(g float64) float32 {
	if !(g > 0) {
		return 1
	}
	return float32(g)
}

func clamp01(v float64) float64 { return math.Min(1, math.Max(0, v)) }

// toFloatRGB returns img as interleaved float RGB, composited over white.
func toFloatRGB(img image.Image) ([]float32, int, int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, 0, 0
	}
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(rgba, rgba.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(rgba, rgba.Rect, img, b.Min, draw.Over)
	out := make([]float32, w*h*3)
	for i, j := 0, 0; i < len(rgba.Pix); i, j = i+4, j+3 {
		out[j] = float32(rgba.Pix[i])
		out[j+1] = float32(rgba.Pix[i+1])
		out[j+2] = float32(rgba.Pix[i+2])
	}
	return out, w, h
}

// coverResize scales img to cover w×h (keeping its aspect) and crops the
// middle.
func coverResize(img image.Image, w, h int) []float32 {
	src, sw, sh := toFloatRGB(img)
	if sw == 0 {
		out := make([]float32, w*h*3)
		for i := range out {
			out[i] = 255
		}
		return out
	}
	f := math.Max(float64(w)/float64(sw), float64(h)/float64(sh))
	rw := max(w, int(math.Ceil(float64(sw)*f)))
	rh := max(h, int(math.Ceil(float64(sh)*f)))
	big := resample(src, sw, sh, rw, rh)
	x0, y0 := (rw-w)/2, (rh-h)/2
	out := make([]float32, w*h*3)
	for y := 0; y < h; y++ {
		copy(out[y*w*3:(y+1)*w*3], big[((y+y0)*rw+x0)*3:((y+y0)*rw+x0+w)*3])
	}
	return out
}

// bilinear samples src at (x, y) in pixel-centre coordinates; a is the
// coverage (0 outside the image, fading over the border pixel).
func bilinear(src []float32, w, h int, x, y float64) (a, r, g, b float32) {
	if x < -0.5 || y < -0.5 || x > float64(w)-0.5 || y > float64(h)-0.5 {
		return 0, 0, 0, 0
	}
	x = math.Min(math.Max(x, 0), float64(w-1))
	y = math.Min(math.Max(y, 0), float64(h-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	at := func(xx, yy, c int) float32 { return src[(yy*w+xx)*3+c] }
	var v [3]float32
	for c := 0; c < 3; c++ {
		top := at(x0, y0, c)*(1-fx) + at(x1, y0, c)*fx
		bot := at(x0, y1, c)*(1-fx) + at(x1, y1, c)*fx
		v[c] = top*(1-fy) + bot*fy
	}
	return 1, v[0], v[1], v[2]
}

// gaussianBlur blurs an interleaved RGB float image with a separable
// Gaussian of standard deviation sigma (no blur for sigma ≤ 0.1).
func gaussianBlur(src []float32, w, h int, sigma float64) []float32 {
	if sigma <= 0.1 {
		return src
	}
	r := int(math.Ceil(3 * sigma))
	kern := make([]float32, 2*r+1)
	var sum float32
	for i := -r; i <= r; i++ {
		v := float32(math.Exp(-float64(i*i) / (2 * sigma * sigma)))
		kern[i+r] = v
		sum += v
	}
	for i := range kern {
		kern[i] /= sum
	}
	return blurPass(blurPass(src, w, h, kern, 1, 0), w, h, kern, 0, 1)
}

// blurPass convolves an interleaved RGB float image with kern along one
// axis: (dx, dy) = (1, 0) for rows, (0, 1) for columns; edges are clamped.
func blurPass(src []float32, w, h int, kern []float32, dx, dy int) []float32 {
	r := len(kern) / 2
	dst := make([]float32, len(src))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var acc [3]float32
			for i := -r; i <= r; i++ {
				xx := clampInt(x+i*dx, 0, w-1)
				yy := clampInt(y+i*dy, 0, h-1)
				o := (yy*w + xx) * 3
				kv := kern[i+r]
				acc[0] += src[o] * kv
				acc[1] += src[o+1] * kv
				acc[2] += src[o+2] * kv
			}
			o := (y*w + x) * 3
			dst[o], dst[o+1], dst[o+2] = acc[0], acc[1], acc[2]
		}
	}
	return dst
}
