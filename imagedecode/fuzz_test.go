package imagedecode

import (
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"testing"
)

func FuzzDecode(f *testing.F) {
	src := quadrants(16, 8)
	jpg := encodeJPEG(f, src)
	paletted := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{red, green})
	for _, seed := range [][]byte{
		encodePNG(f, src),
		encodePNG(f, paletted),
		encodePNG(f, image.NewGray16(image.Rect(0, 0, 3, 3))),
		jpg,
		encodeJPEG(f, image.NewGray(image.Rect(0, 0, 9, 9))),
		withSegment(jpg, exifAPP1(binary.BigEndian, [][12]byte{orientationEntry(binary.BigEndian, 6)})),
		withSegment(jpg, exifAPP1(binary.LittleEndian, [][12]byte{orientationEntry(binary.LittleEndian, 7)})),
		encodeGIF(f, src),
		webpLossless(3, 2, color.NRGBA{1, 2, 3, 4}),
		pngHeaderOnly(100000, 100000),
		[]byte("<html></html>"),
		{},
	} {
		f.Add(seed)
	}
	const maxPixels = 1 << 20 // keeps each execution cheap
	f.Fuzz(func(t *testing.T, data []byte) {
		img, format, err := Decode(data, Limits{MaxPixels: maxPixels})
		if err != nil {
			if img != nil {
				t.Fatal("image returned with an error")
			}
			n := 0
			for _, sentinel := range []error{ErrNotImage, ErrTooLarge, ErrCorrupt, ErrUnsupported} {
				if errors.Is(err, sentinel) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %q wraps %d sentinels, want 1", err, n)
			}
			return
		}
		switch format {
		case "jpeg", "png", "gif", "webp":
		default:
			t.Fatalf("format %q", format)
		}
		b := img.Bounds()
		if b.Empty() || int64(b.Dx())*int64(b.Dy()) > maxPixels {
			t.Fatalf("bounds %v", b)
		}
		if sniffed, err := Sniff(data); err != nil || sniffed != format {
			t.Fatalf("Sniff = %q, %v; Decode said %q", sniffed, err, format)
		}
		_ = img.At(b.Min.X, b.Min.Y)
		_ = img.At(b.Max.X-1, b.Max.Y-1)
	})
}
