package imagedecode

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"testing"
)

// needTurbo skips (or, under CI, fails) a test that needs libturbojpeg.
func needTurbo(t testing.TB) {
	t.Helper()
	if !turboAvailable() {
		if os.Getenv("CI") == "true" {
			t.Fatal("libturbojpeg is not installed (run scripts/install-libs)")
		}
		t.Skip("libturbojpeg is not installed (run scripts/install-libs)")
	}
}

func bigJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 120, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeAtReducedSize(t *testing.T) {
	needTurbo(t)
	data := bigJPEG(t, 2000, 1500)
	cases := []struct{ minSide, w, h int }{
		{0, 2000, 1500},    // full size when not asked
		{160, 250, 188},    // 1/8
		{300, 500, 375},    // 1/4
		{600, 1000, 750},   // 1/2
		{1000, 2000, 1500}, // nothing smaller keeps 1000 px
	}
	full, _, _ := Decode(data, Limits{})
	for _, c := range cases {
		img, format, err := Decode(data, Limits{MinSide: c.minSide})
		if err != nil || format != "jpeg" {
			t.Fatalf("MinSide %d: %v", c.minSide, err)
		}
		if b := img.Bounds(); b.Dx() != c.w || b.Dy() != c.h {
			t.Fatalf("MinSide %d: %v, want %dx%d", c.minSide, b, c.w, c.h)
		}
		// The reduced image shows the same picture: compare the centre pixel.
		b := img.Bounds()
		r1, g1, _, _ := img.At(b.Dx()/2, b.Dy()/2).RGBA()
		r0, g0, _, _ := full.At(1000, 750).RGBA()
		if diff(r1, r0) > 0x0c00 || diff(g1, g0) > 0x0c00 {
			t.Fatalf("MinSide %d: centre %v vs %v", c.minSide, img.At(b.Dx()/2, b.Dy()/2), full.At(1000, 750))
		}
	}
	// Corrupt data still gives the usual error.
	if _, _, err := Decode(data[:len(data)/3], Limits{MinSide: 100}); err == nil {
		t.Fatal("truncated JPEG decoded")
	}
}

func diff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// BenchmarkDecode12MP compares a full decode of a 4000×3000 JPEG with the
// reduced-size decode used when the caller needs 448 px (CLIP) or 320 px
// (the built-in descriptor).
func BenchmarkDecode12MP(b *testing.B) {
	data := bigJPEG(b, 4000, 3000)
	for _, c := range []struct {
		name    string
		minSide int
	}{{"full", 0}, {"min448", 448}, {"min320", 320}} {
		b.Run(c.name, func(b *testing.B) {
			if c.minSide > 0 {
				needTurbo(b)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Decode(data, Limits{MinSide: c.minSide}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
