package builtin

import (
	"image"
	"image/color"
	"math"
)

// rowReader writes row y (0-based within the image bounds) as interleaved
// 8-bit RGB, composited over white, into dst (len = 3 × width).
type rowReader func(y int, dst []uint8)

// newRowReader picks a reader for img's concrete type, so that the hot loop
// makes no per-pixel interface calls for the common types.
func newRowReader(img image.Image) rowReader {
	b := img.Bounds()
	w := b.Dx()
	switch m := img.(type) {
	case *image.YCbCr:
		xdiv, ydiv, _ := chromaDivisors(m.SubsampleRatio)
		return func(y int, dst []uint8) {
			sy := b.Min.Y + y
			yrow := m.Y[(sy-m.Rect.Min.Y)*m.YStride:]
			crow := (sy/ydiv - m.Rect.Min.Y/ydiv) * m.CStride
			cx0 := m.Rect.Min.X / xdiv
			for x := 0; x < w; x++ {
				sx := b.Min.X + x
				ci := crow + sx/xdiv - cx0
				r, g, bb := color.YCbCrToRGB(yrow[sx-m.Rect.Min.X], m.Cb[ci], m.Cr[ci])
				dst[3*x], dst[3*x+1], dst[3*x+2] = r, g, bb
			}
		}
	case *image.NRGBA:
		return func(y int, dst []uint8) {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			src := m.Pix[off : off+4*w]
			for x := 0; x < w; x++ {
				s := src[4*x : 4*x+4 : 4*x+4]
				a := uint32(s[3])
				if a == 0xff {
					dst[3*x], dst[3*x+1], dst[3*x+2] = s[0], s[1], s[2]
					continue
				}
				bg := 255 * (255 - a)
				dst[3*x] = uint8((uint32(s[0])*a + bg + 127) / 255)
				dst[3*x+1] = uint8((uint32(s[1])*a + bg + 127) / 255)
				dst[3*x+2] = uint8((uint32(s[2])*a + bg + 127) / 255)
			}
		}
	case *image.RGBA:
		return func(y int, dst []uint8) {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			src := m.Pix[off : off+4*w]
			for x := 0; x < w; x++ {
				s := src[4*x : 4*x+4 : 4*x+4]
				bg := 255 - s[3] // premultiplied: add the white that shows through
				dst[3*x], dst[3*x+1], dst[3*x+2] = sat(s[0], bg), sat(s[1], bg), sat(s[2], bg)
			}
		}
	case *image.Gray:
		return func(y int, dst []uint8) {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			for x, v := range m.Pix[off : off+w] {
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		}
	case *image.Paletted:
		var pal [256][3]uint8
		for i := range pal {
			if i < len(m.Palette) {
				pal[i] = over16(m.Palette[i].RGBA())
			} else {
				pal[i] = [3]uint8{0, 0, 0}
			}
		}
		return func(y int, dst []uint8) {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			for x, v := range m.Pix[off : off+w] {
				p := &pal[v]
				dst[3*x], dst[3*x+1], dst[3*x+2] = p[0], p[1], p[2]
			}
		}
	}
	return func(y int, dst []uint8) {
		for x := 0; x < w; x++ {
			p := over16(img.At(b.Min.X+x, b.Min.Y+y).RGBA())
			dst[3*x], dst[3*x+1], dst[3*x+2] = p[0], p[1], p[2]
		}
	}
}

func sat(a, b uint8) uint8 {
	s := uint16(a) + uint16(b)
	if s > 255 {
		return 255
	}
	return uint8(s)
}

// over16 composites a premultiplied 16-bit colour over white, to 8 bits.
func over16(r, g, b, a uint32) [3]uint8 {
	bg := 0xffff - a
	c := func(v uint32) uint8 {
		v += bg
		if v > 0xffff {
			v = 0xffff
		}
		return uint8(v >> 8)
	}
	return [3]uint8{c(r), c(g), c(b)}
}

// workingSize scales (w, h) so that the longer side is long.
func workingSize(w, h, long int) (int, int) {
	if w >= h {
		return long, max(1, int(math.Round(float64(h)*float64(long)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(long)/float64(h)))), long
}

// weights is a resampling table: output i takes taps[start[i]:start[i+1]].
type weights struct {
	start []int32
	idx   []int32
	w     []float32
}

// make fills a table resampling n source samples to m: an exact area (box)
// filter when shrinking, linear interpolation when enlarging.
func (t *weights) make(n, m int) {
	t.makeRange(n, 0, float64(n)/float64(m), m)
}

// makeRange fills a table for m outputs where output i covers the source
// interval [start + i·step, start + (i+1)·step), in units of source samples
// (sample j covers [j, j+1)); indices are clamped to the n samples.
func (t *weights) makeRange(n int, start, step float64, m int) {
	t.start = append(t.start[:0], 0)
	t.idx = t.idx[:0]
	t.w = t.w[:0]
	clampI := func(i int) int32 { return int32(max(0, min(n-1, i))) }
	for i := 0; i < m; i++ {
		if step >= 1 {
			lo := start + float64(i)*step
			hi := lo + step
			for s := int(math.Floor(lo)); float64(s) < hi; s++ {
				ov := math.Min(hi, float64(s+1)) - math.Max(lo, float64(s))
				if ov <= 1e-9 {
					continue
				}
				si := clampI(s)
				if k := len(t.idx) - 1; k >= int(t.start[i]) && t.idx[k] == si {
					t.w[k] += float32(ov / step) // clamped onto the same sample
					continue
				}
				t.idx = append(t.idx, si)
				t.w = append(t.w, float32(ov/step))
			}
		} else {
			c := start + (float64(i)+0.5)*step - 0.5
			s0 := int(math.Floor(c))
			f := c - float64(s0)
			a, b := clampI(s0), clampI(s0+1)
			if a == b || f < 1e-9 {
				t.idx = append(t.idx, a)
				t.w = append(t.w, 1)
			} else {
				t.idx = append(t.idx, a, b)
				t.w = append(t.w, float32(1-f), float32(f))
			}
		}
		t.start = append(t.start, int32(len(t.idx)))
	}
}

// resamplePlane resamples an 8-bit plane (rows of stride bytes from pix[0])
// with the tables xw and yw into dst (len(xw) × len(yw) floats).
func (s *scratch) resamplePlane(pix []uint8, stride, rows int, xw, yw *weights, dst []float32) {
	w, h := len(xw.start)-1, len(yw.start)-1
	s.tmp = growF(s.tmp, w*rows)
	for y := 0; y < rows; y++ {
		row := pix[y*stride:]
		out := s.tmp[w*y : w*(y+1)]
		for x := range out {
			var v float32
			for k := xw.start[x]; k < xw.start[x+1]; k++ {
				v += float32(row[xw.idx[k]]) * xw.w[k]
			}
			out[x] = v
		}
	}
	for y := 0; y < h; y++ {
		out := dst[w*y : w*(y+1)]
		clear(out)
		for k := yw.start[y]; k < yw.start[y+1]; k++ {
			src := s.tmp[w*int(yw.idx[k]) : w*(int(yw.idx[k])+1)]
			wt := yw.w[k]
			for x, v := range src {
				out[x] += v * wt
			}
		}
	}
}

// resizePlanar resamples a *image.YCbCr or *image.Gray plane by plane and
// converts to RGB at the working size only. It reports false for images it
// does not handle.
func (s *scratch) resizePlanar(img image.Image, w, h int) bool {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	n := w * h
	switch m := img.(type) {
	case *image.Gray:
		s.r, s.g, s.b = growF(s.r, n), growF(s.g, n), growF(s.b, n)
		s.xw.make(sw, w)
		s.yw.make(sh, h)
		off := m.PixOffset(b.Min.X, b.Min.Y)
		s.resamplePlane(m.Pix[off:], m.Stride, sh, &s.xw, &s.yw, s.r)
		copy(s.g, s.r)
		copy(s.b, s.r)
		return true
	case *image.YCbCr:
		if m.Rect.Min.X < 0 || m.Rect.Min.Y < 0 || b != m.Rect {
			return false // integer division of negative coordinates: use the general path
		}
		xdiv, ydiv, ok := chromaDivisors(m.SubsampleRatio)
		if !ok {
			return false
		}
		s.r, s.g, s.b = growF(s.r, n), growF(s.g, n), growF(s.b, n)
		s.xw.make(sw, w)
		s.yw.make(sh, h)
		s.resamplePlane(m.Y, m.YStride, sh, &s.xw, &s.yw, s.r) // Y into r for now
		// Chroma sample j (relative) covers luma [(c0+j)·div, (c0+j+1)·div).
		cx0, cy0 := b.Min.X/xdiv, b.Min.Y/ydiv
		ncx := (b.Max.X-1)/xdiv - cx0 + 1
		ncy := (b.Max.Y-1)/ydiv - cy0 + 1
		stepX := float64(sw) / float64(w) / float64(xdiv)
		stepY := float64(sh) / float64(h) / float64(ydiv)
		s.cxw.makeRange(ncx, float64(b.Min.X)/float64(xdiv)-float64(cx0), stepX, w)
		s.cyw.makeRange(ncy, float64(b.Min.Y)/float64(ydiv)-float64(cy0), stepY, h)
		s.resamplePlane(m.Cb, m.CStride, ncy, &s.cxw, &s.cyw, s.g)
		s.resamplePlane(m.Cr, m.CStride, ncy, &s.cxw, &s.cyw, s.b)
		for i := 0; i < n; i++ {
			yy, cb, cr := s.r[i], s.g[i]-128, s.b[i]-128
			s.r[i] = clamp255(yy + 1.402*cr)
			s.g[i] = clamp255(yy - 0.344136*cb - 0.714136*cr)
			s.b[i] = clamp255(yy + 1.772*cb)
		}
		return true
	}
	return false
}

func clamp255(v float32) float32 {
	return min(255, max(0, v))
}

// resizeRGB reads img and resamples it to w×h planar float RGB (0–255).
// s provides the buffers.
func (s *scratch) resizeRGB(img image.Image, w, h int) {
	if s.resizePlanar(img, w, h) {
		return
	}
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	s.xw.make(sw, w)
	s.yw.make(sh, h)
	s.row = grow(s.row, 3*sw)
	s.tmp = growF(s.tmp, 3*w*sh)
	read := newRowReader(img)
	// Horizontal pass, row by row, into tmp (interleaved).
	for y := 0; y < sh; y++ {
		read(y, s.row)
		out := s.tmp[3*w*y : 3*w*(y+1)]
		for x := 0; x < w; x++ {
			var r, g, bb float32
			for k := s.xw.start[x]; k < s.xw.start[x+1]; k++ {
				i := 3 * int(s.xw.idx[k])
				wt := s.xw.w[k]
				r += float32(s.row[i]) * wt
				g += float32(s.row[i+1]) * wt
				bb += float32(s.row[i+2]) * wt
			}
			out[3*x], out[3*x+1], out[3*x+2] = r, g, bb
		}
	}
	// Vertical pass into the planes.
	n := w * h
	s.r, s.g, s.b = growF(s.r, n), growF(s.g, n), growF(s.b, n)
	s.acc = growF(s.acc, 3*w)
	for y := 0; y < h; y++ {
		acc := s.acc[:3*w]
		clear(acc)
		for k := s.yw.start[y]; k < s.yw.start[y+1]; k++ {
			src := s.tmp[3*w*int(s.yw.idx[k]) : 3*w*(int(s.yw.idx[k])+1)]
			wt := s.yw.w[k]
			for i, v := range src {
				acc[i] += v * wt
			}
		}
		r, g, bb := s.r[w*y:w*(y+1)], s.g[w*y:w*(y+1)], s.b[w*y:w*(y+1)]
		for x := 0; x < w; x++ {
			r[x], g[x], bb[x] = acc[3*x], acc[3*x+1], acc[3*x+2]
		}
	}
}

func grow(b []uint8, n int) []uint8 {
	if cap(b) < n {
		return make([]uint8, n)
	}
	return b[:n]
}

func growF(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// chromaDivisors says how many luma pixels share one chroma sample across
// and down; ok is false for a ratio it does not know (then 1, 1).
func chromaDivisors(r image.YCbCrSubsampleRatio) (xdiv, ydiv int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 1, 1, true
	case image.YCbCrSubsampleRatio422:
		return 2, 1, true
	case image.YCbCrSubsampleRatio420:
		return 2, 2, true
	case image.YCbCrSubsampleRatio440:
		return 1, 2, true
	case image.YCbCrSubsampleRatio411:
		return 4, 1, true
	case image.YCbCrSubsampleRatio410:
		return 4, 2, true
	}
	return 1, 1, false
}
