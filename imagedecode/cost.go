package imagedecode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
)

// cost is the memory one decode takes, in bytes, computed from the header:
// peak while the decoder works (its result, its working buffers and any
// conversion copies) and keep, what the decoded image holds afterwards.
type cost struct {
	peak, keep int64
	form       string // the decoded form, for messages: "16-bit RGBA", "CMYK"
}

// plan is what inspect learnt from an image's header.
type plan struct {
	format string
	w, h   int
	denom  int  // > 1: a JPEG that libjpeg-turbo decodes at 1/denom
	orient int  // EXIF orientation (JPEG), 1 when none
	cmyk   bool // a 4-component JPEG: libjpeg-turbo decodes it to CMYK
	cost   cost
	// fallback is the cost of the standard decoder when libjpeg-turbo
	// declines a JPEG planned for it (denom > 1).
	fallback cost
}

// inspect sniffs data, reads its header, refuses images over lim.MaxPixels
// and computes what decoding will cost. Nothing the size of the image is
// allocated.
func inspect(data []byte, lim Limits) (plan, error) {
	format, err := Sniff(data)
	if err != nil {
		return plan{}, err
	}
	p := plan{format: format, denom: 1, orient: 1}
	maxPixels := lim.MaxPixels
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if format == "webp" && webpAnimated(data) {
		return p, errorf(ErrUnsupported, "animated WebP is not supported (animated): save one frame as a still JPEG, PNG or WebP")
	}
	cfg, err := safeConfig(format, data)
	if err != nil {
		return p, corrupt(format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return p, errorf(ErrCorrupt, "corrupt %s: image is %d×%d", format, cfg.Width, cfg.Height)
	}
	p.w, p.h = cfg.Width, cfg.Height
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPixels {
		return p, errorf(ErrTooLarge, "image is %d×%d = %s, over the %s limit",
			cfg.Width, cfg.Height, megapixels(px), megapixels(maxPixels))
	}
	switch format {
	case "jpeg":
		h := parseJPEGHeader(data)
		p.orient = jpegOrientation(data)
		// A 4-component JPEG without Adobe's marker is refused by
		// image/jpeg; libjpeg-turbo would guess, so it is not asked.
		p.cmyk = h.ncomp == 4
		if lim.MinSide > 0 && (!p.cmyk || h.adobe) && turboAvailable() {
			p.denom = jpegScale(p.w, p.h, lim.MinSide)
		}
		p.cost = jpegPlanCost(h, p.w, p.h, p.denom, p.orient)
		if p.denom > 1 {
			p.fallback = jpegPlanCost(h, p.w, p.h, 1, p.orient)
		}
	case "png":
		p.cost = pngCost(data, p.w, p.h)
	case "gif":
		// The first frame, paletted, at most the logical screen's size; an
		// interlaced frame is copied once to reorder its rows.
		px := int64(p.w) * int64(p.h)
		p.cost = cost{peak: 2 * px, keep: px, form: "paletted"}
	case "webp":
		p.cost = webpCost(cfg.ColorModel, p.w, p.h)
	}
	return p, nil
}

// safeConfig is decodeConfig, turning a decoder panic into an error.
func safeConfig(format string, data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder failed (%v)", r)
		}
	}()
	return decodeConfig(format, data)
}

// scaled is n at 1/denom, rounded up (libjpeg-turbo's scaled size).
func scaled(n, denom int) int { return (n + denom - 1) / denom }

// jpegScale is the largest of 8, 4, 2 that keeps the short side of a w×h
// JPEG at least minSide when decoded at 1/denom, or 1.
func jpegScale(w, h, minSide int) int {
	short := min(w, h)
	for _, d := range []int{8, 4, 2} {
		if scaled(short, d) >= minSide {
			return d
		}
	}
	return 1
}

// jpegPlanCost is jpegCost plus the copy that orient makes for EXIF
// orientation o: Gray stays 1 byte a pixel, the rest become (or stay)
// 4-byte RGBA or CMYK.
func jpegPlanCost(hd jpegHeader, w, h, denom, o int) cost {
	c := jpegCost(hd, w, h, denom)
	if o > 1 {
		ow, oh := scaled(w, denom), scaled(h, denom)
		n := 4 * int64(ow) * int64(oh)
		if hd.ncomp == 1 && denom == 1 {
			n = int64(ow) * int64(oh)
		}
		c.peak += n
		c.keep = n
	}
	return c
}

// jpegHeader is what the cost of a JPEG decode depends on.
type jpegHeader struct {
	ncomp       int
	h, v        [4]int // sampling factors
	ids         [4]byte
	progressive bool
	jfif        bool
	adobe       bool
	transform   byte
}

// parseJPEGHeader reads the markers up to the first scan; ncomp is 0 when
// no frame header was found.
func parseJPEGHeader(data []byte) jpegHeader {
	var h jpegHeader
	pos := 2
	for segments := 0; segments < 1024 && pos+4 <= len(data); segments++ {
		if data[pos] != 0xFF {
			return h
		}
		marker := data[pos+1]
		switch {
		case marker == 0xFF:
			pos++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8:
			pos += 2
			continue
		case marker == 0xDA || marker == 0xD9:
			return h
		}
		length := int(binary.BigEndian.Uint16(data[pos+2:]))
		end := pos + 2 + length
		if length < 2 || end > len(data) {
			return h
		}
		seg := data[pos+4 : end]
		switch {
		case marker == 0xE0 && bytes.HasPrefix(seg, []byte("JFIF\x00")):
			h.jfif = true
		case marker == 0xEE && len(seg) >= 12 && bytes.HasPrefix(seg, []byte("Adobe")):
			h.adobe, h.transform = true, seg[11]
		case marker == 0xC0 || marker == 0xC1 || marker == 0xC2:
			if len(seg) >= 6 {
				n := int(seg[5])
				if n != 1 && n != 3 && n != 4 || len(seg) < 6+3*n {
					return h
				}
				h.ncomp, h.progressive = n, marker == 0xC2
				for i := 0; i < n; i++ {
					c := seg[6+3*i:]
					h.ids[i], h.h[i], h.v[i] = c[0], max(1, int(c[1]>>4)), max(1, int(c[1]&15))
				}
			}
		}
		pos = end
	}
	return h
}

// jpegCost follows image/jpeg's allocations (or, when denom > 1,
// libjpeg-turbo's): one byte per sample of each component, padded to whole
// MCUs; for progressive files the coefficients too (256 bytes per 8×8
// block in Go, 128 in libjpeg); and the RGBA or CMYK copy that RGB and
// 4-component files are converted into.
func jpegCost(hd jpegHeader, w, h, denom int) cost {
	px := int64(w) * int64(h)
	if hd.ncomp == 0 {
		// No frame header found: assume the worst the decoder allows
		// (progressive 4:4:4 CMYK: 4 samples, their coefficients and the copy).
		return cost{peak: 24 * px, keep: 4 * px, form: "JPEG"}
	}
	h0, v0 := hd.h[0], hd.v[0]
	if hd.ncomp == 1 {
		h0, v0 = 1, 1
	}
	mxx := int64((w + 8*h0 - 1) / (8 * h0))
	myy := int64((h + 8*v0 - 1) / (8 * v0))
	var samples int64
	for i := 0; i < hd.ncomp; i++ {
		hi, vi := hd.h[i], hd.v[i]
		if hd.ncomp == 1 {
			hi, vi = 1, 1
		}
		samples += 64 * int64(hi*vi) * mxx * myy
	}
	form := map[int]string{1: "grey", 3: "YCbCr", 4: "CMYK"}[hd.ncomp]
	if hd.progressive {
		form = "progressive " + form
	}
	if denom > 1 {
		out := 4 * int64(scaled(w, denom)) * int64(scaled(h, denom))
		work := 96 * int64(w) // a few MCU rows of every component
		if hd.progressive {
			work += 2 * samples
		}
		return cost{peak: out + work, keep: out, form: form}
	}
	c := cost{peak: samples, keep: samples, form: form}
	if hd.progressive {
		c.peak += 4 * samples
	}
	rgb := hd.ncomp == 3 && !hd.jfif && (hd.adobe && hd.transform == 0 || hd.ids == [4]byte{'R', 'G', 'B'})
	if rgb || hd.ncomp == 4 {
		c.peak += 4 * px
		c.keep = 4 * px
	}
	return c
}

// pngCost follows image/png: the decoded type (Gray, RGBA, NRGBA64, ...)
// depends on the colour type, the bit depth and whether a tRNS chunk makes
// it transparent; two rows of raw bytes are kept while filtering, and an
// interlaced image decodes each pass into an image of its own first.
func pngCost(data []byte, w, h int) cost {
	px := int64(w) * int64(h)
	if len(data) < 29 {
		return cost{peak: 8 * px, keep: 8 * px}
	}
	depth, ctype, interlaced := int(data[24]), data[25], data[28] == 1
	trns := false
	for pos := 8; pos+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		if typ == "tRNS" {
			trns = true
		}
		if typ == "IDAT" || typ == "IEND" || int64(pos)+12+n > int64(len(data)) {
			break
		}
		pos += 12 + int(n)
	}
	wide := depth == 16
	var bpp int64
	var channels int
	var name string
	switch ctype {
	case 0:
		channels, name = 1, "grey"
		bpp = map[bool]int64{false: 1, true: 2}[wide]
		if trns {
			bpp = map[bool]int64{false: 4, true: 8}[wide]
		}
	case 2:
		channels, name = 3, "RGB"
		bpp = map[bool]int64{false: 4, true: 8}[wide]
	case 3:
		channels, name, bpp = 1, "paletted", 1
	case 4:
		channels, name = 2, "grey+alpha"
		bpp = map[bool]int64{false: 4, true: 8}[wide]
	default: // 6, or anything the decoder will refuse
		channels, name = 4, "RGBA"
		bpp = map[bool]int64{false: 4, true: 8}[wide]
	}
	keep := bpp * px
	rows := 2 * (1 + (int64(w)*int64(channels*depth)+7)/8)
	c := cost{peak: keep + rows, keep: keep, form: fmt.Sprintf("%d-bit %s", depth, name)}
	if interlaced {
		c.peak += keep
		c.form += ", interlaced"
	}
	return c
}

// webpCost follows golang.org/x/image/webp: lossy images are YCbCr 4:2:0
// in whole 16×16 macroblocks; an alpha plane is decoded as a lossless
// image (4 bytes a pixel, twice with a colour-indexing transform) and then
// kept at one byte a pixel; lossless images are NRGBA, and the
// colour-indexing transform makes a second copy.
func webpCost(m color.Model, w, h int) cost {
	px := int64(w) * int64(h)
	ycc := 384 * int64((w+15)/16) * int64((h+15)/16)
	switch m {
	case color.YCbCrModel:
		return cost{peak: ycc, keep: ycc, form: "lossy"}
	case color.NYCbCrAModel:
		return cost{peak: ycc + 9*px, keep: ycc + px, form: "lossy with alpha"}
	}
	return cost{peak: 8 * px, keep: 4 * px, form: "lossless"}
}
