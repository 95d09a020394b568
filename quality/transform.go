package quality

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand"

	"github.com/lookalike/lookalike/localfeat"
)

// TransformParams describes one synthetic re-photograph of an image.
type TransformParams struct {
	// CropW and CropH are the kept fraction of the width and height.
	CropW, CropH float64
	// CropX and CropY place the crop: 0 = flush left/top, 1 = flush right/bottom.
	CropX, CropY float64
	// Scale resizes the cropped image.
	Scale float64
	// Brightness multiplies every channel; Contrast stretches about the mean
	// luma. 1 leaves the image as it is.
	Brightness, Contrast float64
	// Mirror flips the image horizontally.
	Mirror bool
	// Quality is the JPEG quality of the re-encoding.
	Quality int
}

// RandomParams draws the parameters of the protocol's re-photograph: crop to
// 70–90 % of each side (independently, at a random position), rescale by
// 0.6–1.4, brightness and contrast each ±15 %, mirror with probability 0.5,
// JPEG quality 45–85. The draws are made in a fixed order, so a given rng
// state always gives the same parameters.
func RandomParams(rng *rand.Rand) TransformParams {
	var p TransformParams
	p.CropW = 0.7 + 0.2*rng.Float64()
	p.CropH = 0.7 + 0.2*rng.Float64()
	p.CropX = rng.Float64()
	p.CropY = rng.Float64()
	p.Scale = 0.6 + 0.8*rng.Float64()
	p.Brightness = 1 + 0.3*(rng.Float64()-0.5)
	p.Contrast = 1 + 0.3*(rng.Float64()-0.5)
	p.Mirror = rng.Intn(2) == 1
	p.Quality = 45 + rng.Intn(41)
	return p
}

// Transform makes a synthetic re-photograph of img with parameters drawn
// from rng (see RandomParams) and returns it as decoded from the JPEG it was
// re-encoded to.
func Transform(img image.Image, rng *rand.Rand) (image.Image, error) {
	return ApplyTransform(img, RandomParams(rng))
}

// ApplyTransform crops, rescales, adjusts brightness and contrast, mirrors
// and JPEG-re-encodes img as p says, and returns the decoded result.
// Transparent pixels are composited over white.
func ApplyTransform(img image.Image, p TransformParams) (image.Image, error) {
	data, err := transformJPEG(img, p)
	if err != nil {
		return nil, err
	}
	return jpeg.Decode(bytes.NewReader(data))
}

// transformJPEG is ApplyTransform's JPEG file.
func transformJPEG(img image.Image, p TransformParams) ([]byte, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, errors.New("quality: empty image")
	}
	cw := clampInt(int(math.Round(float64(w)*p.CropW)), 1, w)
	ch := clampInt(int(math.Round(float64(h)*p.CropH)), 1, h)
	x0 := clampInt(int(math.Round(float64(w-cw)*p.CropX)), 0, w-cw)
	y0 := clampInt(int(math.Round(float64(h-ch)*p.CropY)), 0, h-ch)
	scale := p.Scale
	if !(scale > 0) {
		scale = 1
	}
	ow := max(1, int(math.Round(float64(cw)*scale)))
	oh := max(1, int(math.Round(float64(ch)*scale)))

	// The crop as float RGB, composited over white.
	crop := image.NewRGBA(image.Rect(0, 0, cw, ch))
	draw.Draw(crop, crop.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(crop, crop.Rect, img, image.Pt(b.Min.X+x0, b.Min.Y+y0), draw.Over)
	src := make([]float32, cw*ch*3)
	for i, j := 0, 0; i < len(crop.Pix); i, j = i+4, j+3 {
		src[j] = float32(crop.Pix[i])
		src[j+1] = float32(crop.Pix[i+1])
		src[j+2] = float32(crop.Pix[i+2])
	}
	dst := resample(src, cw, ch, ow, oh)

	// Brightness, then contrast about the mean luma.
	bright := float32(p.Brightness)
	if !(bright > 0) {
		bright = 1
	}
	contrast := float32(p.Contrast)
	if !(contrast > 0) {
		contrast = 1
	}
	var sum float64
	for i := 0; i < len(dst); i += 3 {
		sum += float64(0.299*dst[i] + 0.587*dst[i+1] + 0.114*dst[i+2])
	}
	mean := float32(sum/float64(ow*oh)) * bright
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
				v := (dst[si+c]*bright-mean)*contrast + mean
				out.Pix[di+c] = clampByte(v)
			}
			out.Pix[di+3] = 0xff
		}
	}
	return encodeJPEG(out, p.Quality)
}

// encodeJPEG encodes img at quality q (75 when q is out of 1..100).
func encodeJPEG(img image.Image, q int) ([]byte, error) {
	if q < 1 || q > 100 {
		q = 75
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// resample resizes an interleaved RGB float image with a separable tent
// filter: bilinear when enlarging, and widened to average over the source
// footprint (anti-aliased) when shrinking.
func resample(src []float32, sw, sh, dw, dh int) []float32 {
	xw := localfeat.TentTaps(sw, dw)
	yw := localfeat.TentTaps(sh, dh)
	// Horizontal pass: sh rows of dw pixels.
	tmp := make([]float32, sh*dw*3)
	for y := 0; y < sh; y++ {
		row := src[y*sw*3 : (y+1)*sw*3]
		for x, taps := range xw {
			var r, g, b float32
			for _, t := range taps {
				i := t.I * 3
				r += row[i] * t.W
				g += row[i+1] * t.W
				b += row[i+2] * t.W
			}
			o := (y*dw + x) * 3
			tmp[o], tmp[o+1], tmp[o+2] = r, g, b
		}
	}
	// Vertical pass.
	dst := make([]float32, dh*dw*3)
	for y, taps := range yw {
		drow := dst[y*dw*3 : (y+1)*dw*3]
		for _, t := range taps {
			srow := tmp[t.I*dw*3 : (t.I+1)*dw*3]
			for i := range drow {
				drow[i] += srow[i] * t.W
			}
		}
	}
	return dst
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func clampByte(v float32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}
