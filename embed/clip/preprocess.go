package clip

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"
)

// CLIP's normalisation constants (OpenAI clip.load's Normalize).
var (
	DefaultMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	DefaultStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

// Preprocessor turns an image into the tensor CLIP's image tower takes,
// exactly as CLIP's own preprocessing does (torchvision on PIL):
//
//   - convert to RGB; transparent pixels are composited over white (PIL's
//     convert("RGB") would drop the alpha and show what lies under it,
//     usually black; a product cut-out on white is what a shop means);
//   - resize so the shorter side is Size (the longer one becomes
//     int(Size*long/short)) with PIL's BICUBIC filter: a = -0.5 cubic
//     convolution whose support is stretched by the reduction factor, in two
//     passes (horizontal, then vertical), each rounded to 8 bits with PIL's
//     22-bit fixed-point arithmetic;
//   - crop the centre Size×Size (the offset rounded half to even, as Python's
//     round);
//   - scale to [0,1] and normalise each channel, (v/255 - mean)/std;
//   - lay out as CHW float32.
//
// Only the pixels inside the crop are computed. Photos whose shorter side is
// 4×Size or more are first box-filtered (area average) by an integer factor
// to no less than 2×Size, as PIL does with reducing_gap=2; CLIP's PIL call
// does not do that, so for such photos the result differs slightly from
// CLIP's (and is much faster). The decoder's pixels are taken as given:
// Go's JPEG decoder and libjpeg (under PIL) can differ by a unit here and
// there.
//
// A Preprocessor is safe for concurrent use.
type Preprocessor struct {
	size int
	lut  [3][256]float32
	pool sync.Pool // *resampleScratch
}

// NewPreprocessor returns a preprocessor for size×size inputs with the
// given per-channel (RGB) mean and standard deviation.
func NewPreprocessor(size int, mean, std [3]float32) (*Preprocessor, error) {
	if size < 1 || size > 4096 {
		return nil, fmt.Errorf("clip: image size %d out of range", size)
	}
	p := &Preprocessor{size: size}
	for c := 0; c < 3; c++ {
		if !(std[c] > 0) || math.IsInf(float64(std[c]), 0) || math.IsNaN(float64(mean[c])) {
			return nil, fmt.Errorf("clip: bad normalisation mean %v std %v", mean, std)
		}
		for v := 0; v < 256; v++ {
			// torchvision: ToTensor (x/255 in float32), then Normalize.
			x := float32(v) / 255
			p.lut[c][v] = (x - mean[c]) / std[c]
		}
	}
	return p, nil
}

// Size is the side of the square input.
func (p *Preprocessor) Size() int { return p.size }

// Len is the number of floats of one preprocessed image (3×Size×Size).
func (p *Preprocessor) Len() int { return 3 * p.size * p.size }

// ErrEmptyImage is returned for an image without pixels.
var ErrEmptyImage = errors.New("clip: image has no pixels")

// Preprocess writes img's tensor (3×Size×Size, CHW) into dst, which is
// grown if it is too short, and returns it.
func (p *Preprocessor) Preprocess(img image.Image, dst []float32) ([]float32, error) {
	n := p.Len()
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	s, _ := p.pool.Get().(*resampleScratch)
	if s == nil {
		s = new(resampleScratch)
	}
	defer p.pool.Put(s)
	planes, err := resizeCrop(img, p.size, s)
	if err != nil {
		return nil, err
	}
	ss := p.size * p.size
	for c := 0; c < 3; c++ {
		lut := &p.lut[c]
		src := planes[c*ss : (c+1)*ss]
		out := dst[c*ss : (c+1)*ss]
		for i, v := range src {
			out[i] = lut[v]
		}
	}
	return dst, nil
}

// resizedSize is torchvision's Resize(size) output size for a w×h image.
func resizedSize(w, h, size int) (ow, oh int) {
	if w <= h {
		return size, int(float64(size*h) / float64(w))
	}
	return int(float64(size*w) / float64(h)), size
}

// cropOffset is torchvision's center_crop offset: int(round((in-out)/2.0)).
func cropOffset(in, out int) int {
	return int(math.RoundToEven(float64(in-out) / 2))
}

const precisionBits = 32 - 8 - 2 // PIL's Resample.c

// bicubic is PIL's bicubic_filter (a = -0.5).
func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

// coeffs are PIL's precompute_coeffs + normalize_coeffs_8bpc for the output
// positions [from, to) of a resize of the input range [in0, in1) of an
// inSize-pixel axis to outSize pixels.
type coeffs struct {
	min, n []int   // first input index and tap count per output position
	k      []int32 // taps, ksize per output position
	ksize  int
}

func precompute(inSize int, in0, in1 float32, outSize, from, to int) coeffs {
	scale := float64(in1-in0) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := 2 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{
		min:   make([]int, to-from),
		n:     make([]int, to-from),
		k:     make([]int32, (to-from)*ksize),
		ksize: ksize,
	}
	k := make([]float64, ksize)
	for xx := from; xx < to; xx++ {
		center := float64(in0) + (float64(xx)+0.5)*scale
		ss := 1 / filterscale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w := bicubic((float64(x+xmin) - center + 0.5) * ss)
			k[x] = w
			ww += w
		}
		i := xx - from
		for x := 0; x < xmax; x++ {
			if ww != 0 {
				k[x] /= ww
			}
			var q int32
			if k[x] < 0 {
				q = int32(-0.5 + k[x]*(1<<precisionBits))
			} else {
				q = int32(0.5 + k[x]*(1<<precisionBits))
			}
			c.k[i*ksize+x] = q
		}
		c.min[i] = xmin
		c.n[i] = xmax
	}
	return c
}

func clip8(ss int32) uint8 {
	v := ss >> precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

type resampleScratch struct {
	src    []uint64 // pixels (see pack) of the (box-reduced) source the crop needs
	tmp    []uint64 // after the horizontal pass
	planes []uint8  // the result, planar RGB
}

// pack stores a pixel as R | G<<16 | B<<32: red and blue can then be
// multiplied by a tap at once, in two 32-bit lanes of one int64.
func pack(r, g, b uint8) uint64 { return uint64(r) | uint64(g)<<16 | uint64(b)<<32 }

const rbMask = 0xff_0000_00ff

// resizeCrop returns the resized and centre-cropped image as three planes
// of size×size bytes (R, G, B), in s.planes.
func resizeCrop(img image.Image, size int, s *resampleScratch) ([]uint8, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, ErrEmptyImage
	}
	ow, oh := resizedSize(w, h, size)
	left, top := cropOffset(ow, size), cropOffset(oh, size)

	// Box-reduce by k when the shorter side is at least 4×size.
	k := min(w, h) / size / 2
	if k < 2 {
		k = 1
	}
	rw, rh := (w+k-1)/k, (h+k-1)/k
	in1x, in1y := float32(w), float32(h)
	if k > 1 {
		in1x, in1y = float32(float64(w)/float64(k)), float32(float64(h)/float64(k))
	}
	hc := precompute(rw, 0, in1x, ow, left, left+size)
	vc := precompute(rh, 0, in1y, oh, top, top+size)

	// The source rectangle (in reduced pixels) the crop reads.
	x0, x1 := hc.min[0], hc.min[0]+hc.n[0]
	y0, y1 := vc.min[0], vc.min[0]+vc.n[0]
	for i := range size {
		x0, x1 = min(x0, hc.min[i]), max(x1, hc.min[i]+hc.n[i])
		y0, y1 = min(y0, vc.min[i]), max(y1, vc.min[i]+vc.n[i])
	}
	sw, sh := x1-x0, y1-y0
	s.src = grow(s.src, sw*sh)
	if k == 1 {
		for y := y0; y < y1; y++ {
			rgbRow(img, b.Min.X+x0, b.Min.X+x1, b.Min.Y+y, s.src[(y-y0)*sw:(y-y0+1)*sw])
		}
	} else {
		boxReduce(img, k, x0, x1, y0, y1, s)
	}

	// Horizontal pass: sh rows × size columns.
	s.tmp = grow(s.tmp, sh*size)
	const half = int32(1 << (precisionBits - 1))
	for y := 0; y < sh; y++ {
		row := s.src[y*sw : (y+1)*sw]
		out := s.tmp[y*size : (y+1)*size]
		for xx := range out {
			n := hc.n[xx]
			taps := hc.k[xx*hc.ksize : xx*hc.ksize+n]
			start := hc.min[xx] - x0
			px := row[start : start+len(taps)]
			// Red and blue share one 64-bit accumulator (lanes at bits 0
			// and 32; every partial sum fits in 31 bits, so the low lane's
			// sign borrows exactly from the high one).
			rb, g := int64(half)|int64(half)<<32, half
			for j, kv := range taps {
				v := px[j]
				rb += int64(v&rbMask) * int64(kv)
				g += int32(v>>16&0xff) * kv
			}
			lo := int32(rb)
			hi := int32((rb - int64(lo)) >> 32)
			out[xx] = pack(clip8(lo), clip8(g), clip8(hi))
		}
	}

	// Vertical pass into planes.
	plane := size * size
	s.planes = grow(s.planes, 3*plane)
	rp, gp, bp := s.planes[:plane], s.planes[plane:2*plane], s.planes[2*plane:]
	for yy := 0; yy < size; yy++ {
		taps := vc.k[yy*vc.ksize : yy*vc.ksize+vc.n[yy]]
		base := (vc.min[yy] - y0) * size
		col := s.tmp[base : base+len(taps)*size]
		o := yy * size
		for xx := 0; xx < size; xx++ {
			rb, g := int64(half)|int64(half)<<32, half
			i := xx
			for _, kv := range taps {
				v := col[i]
				rb += int64(v&rbMask) * int64(kv)
				g += int32(v>>16&0xff) * kv
				i += size
			}
			lo := int32(rb)
			hi := int32((rb - int64(lo)) >> 32)
			rp[o+xx], gp[o+xx], bp[o+xx] = clip8(lo), clip8(g), clip8(hi)
		}
	}
	return s.planes, nil
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// boxReduce fills s.src with the k×k area averages (PIL's Image.reduce,
// rounded) of the reduced pixels [x0,x1)×[y0,y1); blocks at the right and
// bottom edges average the pixels they have.
func boxReduce(img image.Image, k, x0, x1, y0, y1 int, s *resampleScratch) {
	b := img.Bounds()
	sw := x1 - x0
	fullW := min(x1*k, b.Dx()) - x0*k
	row := make([]uint64, fullW)
	sums := make([]uint32, sw*3)
	for ry := y0; ry < y1; ry++ {
		clear(sums)
		yStart, yEnd := ry*k, min(ry*k+k, b.Dy())
		for y := yStart; y < yEnd; y++ {
			rgbRow(img, b.Min.X+x0*k, b.Min.X+x0*k+fullW, b.Min.Y+y, row)
			for x, v := range row {
				j := (x / k) * 3
				sums[j] += uint32(v & 0xff)
				sums[j+1] += uint32(v >> 16 & 0xff)
				sums[j+2] += uint32(v >> 32 & 0xff)
			}
		}
		out := s.src[(ry-y0)*sw : (ry-y0+1)*sw]
		rows := uint32(yEnd - yStart)
		for rx := range out {
			cols := uint32(min((x0+rx)*k+k, b.Dx()) - (x0+rx)*k)
			n := rows * cols
			out[rx] = pack(uint8((sums[rx*3]+n/2)/n), uint8((sums[rx*3+1]+n/2)/n), uint8((sums[rx*3+2]+n/2)/n))
		}
	}
}

// rgbRow writes the pixels [x0,x1) of row y (absolute coordinates) as packed
// RGB, compositing transparency over white. The concrete types give the
// same bytes as the generic path (color.RGBA() composited in 16 bits, then
// the top 8 bits), except *image.YCbCr, which uses color.YCbCrToRGB's
// arithmetic (the standard library's 8-bit conversion, as image/draw
// uses).
func rgbRow(img image.Image, x0, x1, y int, out []uint64) {
	out = out[:x1-x0]
	switch m := img.(type) {
	case *image.YCbCr:
		ycbcrRow(m, x0, y, out)
	case *image.NRGBA:
		pix := m.Pix[m.PixOffset(x0, y):]
		pix = pix[:len(out)*4]
		for i := range out {
			p := pix[i*4 : i*4+4 : i*4+4]
			a := p[3]
			if a == 0xff {
				out[i] = pack(p[0], p[1], p[2])
				continue
			}
			a16 := uint32(a) * 0x101
			var c [3]uint8
			for j := range c {
				v := uint32(p[j]) * 0x101 * a16 / 0xffff
				c[j] = uint8((v + 0xffff - a16) >> 8)
			}
			out[i] = pack(c[0], c[1], c[2])
		}
	case *image.RGBA:
		pix := m.Pix[m.PixOffset(x0, y):]
		pix = pix[:len(out)*4]
		for i := range out {
			p := pix[i*4 : i*4+4 : i*4+4]
			t := 255 - uint32(p[3])
			out[i] = pack(uint8(min(uint32(p[0])+t, 255)), uint8(min(uint32(p[1])+t, 255)), uint8(min(uint32(p[2])+t, 255)))
		}
	case *image.Gray:
		pix := m.Pix[m.PixOffset(x0, y):]
		pix = pix[:len(out)]
		for i, v := range pix {
			out[i] = uint64(v) * (1 | 1<<16 | 1<<32)
		}
	default:
		for i := range out {
			r, g, b, a := img.At(x0+i, y).RGBA()
			t := 0xffff - a
			out[i] = pack(uint8(min((r+t)>>8, 255)), uint8(min((g+t)>>8, 255)), uint8(min((b+t)>>8, 255)))
		}
	}
}

func ycbcrRow(m *image.YCbCr, x0, y int, out []uint64) {
	yi := m.YOffset(x0, y)
	var crow, hdiv int
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		crow, hdiv = (y-m.Rect.Min.Y)*m.CStride, 2
	case image.YCbCrSubsampleRatio420:
		crow, hdiv = (y/2-m.Rect.Min.Y/2)*m.CStride, 2
	case image.YCbCrSubsampleRatio440:
		crow, hdiv = (y/2-m.Rect.Min.Y/2)*m.CStride, 1
	case image.YCbCrSubsampleRatio411:
		crow, hdiv = (y-m.Rect.Min.Y)*m.CStride, 4
	case image.YCbCrSubsampleRatio410:
		crow, hdiv = (y/2-m.Rect.Min.Y/2)*m.CStride, 4
	default: // 4:4:4
		crow, hdiv = (y-m.Rect.Min.Y)*m.CStride, 1
	}
	cbase := crow - m.Rect.Min.X/hdiv
	ys := m.Y[yi : yi+len(out)]
	if x0 >= 0 && m.Rect.Min.X >= 0 {
		shift := uint(hdiv >> 1) // 1→0, 2→1, 4→2
		cs := m.Cb[cbase+x0>>shift : cbase+(x0+len(out)-1)>>shift+1]
		cr := m.Cr[cbase+x0>>shift : cbase+(x0+len(out)-1)>>shift+1]
		c0 := x0 >> shift
		for i, yv := range ys {
			ci := (x0+i)>>shift - c0
			// color.YCbCrToRGB, inlined.
			yy1 := int32(yv) * 0x10101
			cb1 := int32(cs[ci]) - 128
			cr1 := int32(cr[ci]) - 128
			r := yy1 + 91881*cr1
			if uint32(r)&0xff000000 == 0 {
				r >>= 16
			} else {
				r = ^(r >> 31)
			}
			g := yy1 - 22554*cb1 - 46802*cr1
			if uint32(g)&0xff000000 == 0 {
				g >>= 16
			} else {
				g = ^(g >> 31)
			}
			b := yy1 + 116130*cb1
			if uint32(b)&0xff000000 == 0 {
				b >>= 16
			} else {
				b = ^(b >> 31)
			}
			out[i] = pack(uint8(r), uint8(g), uint8(b))
		}
		return
	}
	for i, yv := range ys {
		ci := cbase + (x0+i)/hdiv
		out[i] = ycc(yv, m.Cb[ci], m.Cr[ci])
	}
}

// ycc is color.YCbCrToRGB, packed.
func ycc(y, cb, cr uint8) uint64 {
	return pack(color.YCbCrToRGB(y, cb, cr))
}
