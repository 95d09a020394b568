package imagedecode

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"testing"

	"github.com/lookalike/lookalike/imagedecode/imagetest"
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

// TestDecodeCMYKAtReducedSize: libjpeg-turbo decodes Adobe CMYK JPEGs at
// reduced size too, into the same *image.CMYK values as image/jpeg.
func TestDecodeCMYKAtReducedSize(t *testing.T) {
	data := imagetest.CMYKJPEG(2000, 1500, [4]int{20, -24, 30, -16})
	full, _, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := color.CMYK{127 - 20, 127 + 24, 127 - 30, 127 + 16}
	if got := full.(*image.CMYK).CMYKAt(1000, 750); got != want {
		t.Fatalf("image/jpeg: %v, want %v", got, want)
	}
	needTurbo(t)
	img, _, err := Decode(data, Limits{MinSide: 160})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := img.(*image.CMYK)
	if !ok || m.Bounds().Dx() != 250 || m.Bounds().Dy() != 188 {
		t.Fatalf("reduced CMYK: %T %v", img, img.Bounds())
	}
	got := m.CMYKAt(125, 94)
	for i, d := range []int{int(got.C) - int(want.C), int(got.M) - int(want.M), int(got.Y) - int(want.Y), int(got.K) - int(want.K)} {
		if d < -1 || d > 1 {
			t.Fatalf("channel %d: libjpeg-turbo %v, image/jpeg %v", i, got, want)
		}
	}
	// What it costs: under a MiB instead of 8 bytes a pixel.
	p, _ := inspect(data, Limits{MinSide: 160})
	if p.cost.peak > 1<<20 {
		t.Fatalf("planned %d bytes for a reduced CMYK decode", p.cost.peak)
	}

	// YCCK (Adobe transform 2): the same colours both ways.
	i := bytes.Index(data, []byte("Adobe"))
	data[i+11] = 2
	full, _, err = Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if img, _, err = Decode(data, Limits{MinSide: 160}); err != nil || img.Bounds().Dx() != 250 {
		t.Fatalf("reduced YCCK: %v %v", err, img.Bounds())
	}
	a, b := full.(*image.CMYK).CMYKAt(1000, 750), img.(*image.CMYK).CMYKAt(125, 94)
	for i, d := range []int{int(a.C) - int(b.C), int(a.M) - int(b.M), int(a.Y) - int(b.Y), int(a.K) - int(b.K)} {
		if d < -1 || d > 1 {
			t.Fatalf("YCCK channel %d: image/jpeg %v, libjpeg-turbo %v", i, a, b)
		}
	}
}

// TestTurboDeclinedFallsBack: a JPEG that libjpeg-turbo refuses (a Huffman
// table with an all-ones code, which image/jpeg accepts) is decoded by
// image/jpeg at full size, after the budget grows to what that costs; when
// the budget has no room for it, the decode is ErrBusy, not a failure.
func TestTurboDeclinedFallsBack(t *testing.T) {
	needTurbo(t)
	data := imagetest.CMYKJPEG(1600, 1200, [4]int{})
	dht := bytes.Index(data, []byte{0xFF, 0xC4})
	counts := data[dht+5 : dht+21]
	counts[0], counts[6] = 2, 0 // DC codes 0 and 1
	p, err := inspect(data, Limits{MinSide: 160})
	if err != nil || p.denom <= 1 {
		t.Fatalf("plan: %+v %v", p, err)
	}
	small := NewBudget(p.cost.peak + p.fallback.peak/2)
	if _, err := DecodeContext(context.Background(), data, Limits{MinSide: 160, Budget: small}); !errors.Is(err, ErrBusy) {
		t.Fatalf("no room for the fallback: %v", err)
	}
	b := NewBudget(2 * p.fallback.peak)
	img, err := DecodeContext(context.Background(), data, Limits{MinSide: 160, Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	if img.Image.Bounds().Dx() != 1600 || b.InUse() != pixBytes(img.Image) {
		t.Fatalf("fallback: %v, %d bytes held", img.Image.Bounds(), b.InUse())
	}
	img.Release()
	if small.InUse() != 0 || b.InUse() != 0 {
		t.Fatalf("held after release: %d, %d", small.InUse(), b.InUse())
	}
}
