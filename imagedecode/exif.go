package imagedecode

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
)

const tagOrientation = 0x0112

// jpegOrientation returns the EXIF Orientation (1–8) stored in a JPEG's
// first Exif APP1 segment, or 1 when there is none or it cannot be read.
// Malformed EXIF is ignored, never an error.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	pos := 2
	for segments := 0; segments < 256 && pos+4 <= len(data); segments++ {
		if data[pos] != 0xFF {
			return 1
		}
		marker := data[pos+1]
		switch {
		case marker == 0xFF: // fill byte
			pos++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8: // no length
			pos += 2
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return 1
		}
		length := int(binary.BigEndian.Uint16(data[pos+2:]))
		end := pos + 2 + length
		if length < 2 || end > len(data) {
			return 1
		}
		if seg := data[pos+4 : end]; marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		pos = end
	}
	return 1
}

// tiffOrientation reads the Orientation tag from IFD0 of a TIFF structure,
// returning 1 if it is absent or malformed.
func tiffOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(tiff[2:]) != 42 {
		return 1
	}
	ifd := int64(bo.Uint32(tiff[4:]))
	if ifd < 8 || ifd+2 > int64(len(tiff)) {
		return 1
	}
	count := int64(bo.Uint16(tiff[ifd:]))
	if ifd+2+12*count > int64(len(tiff)) {
		return 1 // the IFD claims more entries than there are bytes
	}
	for i := int64(0); i < count; i++ {
		e := ifd + 2 + 12*i
		entry := tiff[e : e+12]
		if bo.Uint16(entry) != tagOrientation {
			continue
		}
		if bo.Uint32(entry[4:]) != 1 { // value count
			return 1
		}
		var v uint32
		switch bo.Uint16(entry[2:]) { // value type
		case 3: // SHORT
			v = uint32(bo.Uint16(entry[8:]))
		case 4: // LONG
			v = bo.Uint32(entry[8:])
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return int(v)
	}
	return 1
}

// affine maps source pixel offsets (x, y) to destination offsets:
// dx = ax*x + bx*y + cx, dy = ay*x + by*y + cy.
type affine struct{ ax, bx, cx, ay, by, cy int }

// orientation returns the transform that displays an image of size w×h
// stored with EXIF orientation o upright, and the upright size.
func orientation(o, w, h int) (t affine, dw, dh int) {
	switch o {
	case 2: // mirrored horizontally
		return affine{-1, 0, w - 1, 0, 1, 0}, w, h
	case 3: // rotated 180°
		return affine{-1, 0, w - 1, 0, -1, h - 1}, w, h
	case 4: // mirrored vertically
		return affine{1, 0, 0, 0, -1, h - 1}, w, h
	case 5: // transposed
		return affine{0, 1, 0, 1, 0, 0}, h, w
	case 6: // needs 90° clockwise
		return affine{0, -1, h - 1, 1, 0, 0}, h, w
	case 7: // transversed
		return affine{0, -1, h - 1, -1, 0, w - 1}, h, w
	case 8: // needs 90° counter-clockwise
		return affine{0, 1, 0, -1, 0, w - 1}, h, w
	}
	return affine{1, 0, 0, 0, 1, 0}, w, h
}

// orient returns img transformed for EXIF orientation o (2–8). The result's
// bounds start at (0, 0). Gray, CMYK, RGBA and NRGBA images keep their type;
// YCbCr and other images become *image.RGBA.
func orient(img image.Image, o int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	t, dw, dh := orientation(o, w, h)
	r := image.Rect(0, 0, dw, dh)
	switch src := img.(type) {
	case *image.Gray:
		dst := image.NewGray(r)
		movePixels(dst.Pix, dst.Stride, src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], src.Stride, 1, w, h, t)
		return dst
	case *image.CMYK:
		dst := image.NewCMYK(r)
		movePixels(dst.Pix, dst.Stride, src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], src.Stride, 4, w, h, t)
		return dst
	case *image.RGBA:
		dst := image.NewRGBA(r)
		movePixels(dst.Pix, dst.Stride, src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], src.Stride, 4, w, h, t)
		return dst
	case *image.NRGBA:
		dst := image.NewNRGBA(r)
		movePixels(dst.Pix, dst.Stride, src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], src.Stride, 4, w, h, t)
		return dst
	case *image.YCbCr:
		dst := image.NewRGBA(r)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := src.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := src.COffset(b.Min.X+x, b.Min.Y+y)
				rr, gg, bb := color.YCbCrToRGB(src.Y[yi], src.Cb[ci], src.Cr[ci])
				i := (t.ay*x+t.by*y+t.cy)*dst.Stride + (t.ax*x+t.bx*y+t.cx)*4
				dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = rr, gg, bb, 0xff
			}
		}
		return dst
	}
	dst := image.NewRGBA(r)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dst.Set(t.ax*x+t.bx*y+t.cx, t.ay*x+t.by*y+t.cy, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return dst
}

// movePixels copies a w×h block of bpp-byte pixels from src (starting at
// the block's top-left pixel) to dst through t.
func movePixels(dst []byte, dstStride int, src []byte, srcStride, bpp, w, h int, t affine) {
	step := t.ay*dstStride + t.ax*bpp // destination offset change per source x
	for y := 0; y < h; y++ {
		s := src[y*srcStride:]
		d := (t.by*y+t.cy)*dstStride + (t.bx*y+t.cx)*bpp
		for x := 0; x < w; x++ {
			copy(dst[d:d+bpp], s[x*bpp:x*bpp+bpp])
			d += step
		}
	}
}
