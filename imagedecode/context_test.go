package imagedecode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lookalike/lookalike/imagedecode/imagetest"
)

func TestDecodeContext(t *testing.T) {
	var b bytes.Buffer
	png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 2000, 2000)))
	img, err := DecodeContext(context.Background(), b.Bytes(), Limits{})
	if err != nil || img.Format != "png" || img.Image.Bounds().Dx() != 2000 {
		t.Fatalf("DecodeContext: %v %v", err, img)
	}
	img.Release()
	img.Release() // twice is harmless
	if n := defaultBudget.InUse(); n != 0 {
		t.Fatalf("%d bytes still held after Release", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	if _, err := DecodeContext(ctx, b.Bytes(), Limits{}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("expired deadline: %v", err)
	}
	ctx, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := DecodeContext(ctx, b.Bytes(), Limits{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := DecodeContext(context.Background(), b.Bytes(), Limits{Timeout: time.Nanosecond}); !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrBusy) {
		t.Fatalf("decode over its time limit: %v", err)
	}
	// An abandoned decode gives its bytes back when it finishes.
	waitReleased(t, defaultBudget)
}

func waitReleased(t *testing.T, b *Budget) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.InUse() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still held", b.InUse())
		}
		time.Sleep(time.Millisecond)
	}
}

// pngHeader is a PNG header claiming w×h pixels of the given depth and
// colour type, with no pixel data: enough for a refusal from the header.
func pngHeader(w, h uint32, depth, ctype byte) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, ctype
	b := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	return append(b, pngChunk("IEND", nil)...)
}

func TestBudgetRefusesWhatCannotFit(t *testing.T) {
	// 42 MP of 16-bit RGBA decodes to NRGBA64, 8 bytes a pixel: 320 MiB,
	// more than the default 192 MiB, although the pixel cap allows it.
	_, err := DecodeContext(context.Background(), pngHeader(6480, 6480, 16, 6), Limits{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("42 MP 16-bit PNG: %v", err)
	}
	for _, want := range []string{"6480×6480", "16-bit RGBA", "decodes to 320 MiB", "192 MiB decode memory budget"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	// The same pixels in 8-bit grey are 1 byte each and fit.
	small := NewBudget(64 << 20)
	for _, tc := range []struct {
		name string
		data []byte
		fits bool
	}{
		{"8-bit grey", pngHeader(6000, 6000, 8, 0), true},
		{"8-bit RGBA", pngHeader(6000, 6000, 8, 6), false},
		{"49 MP CMYK JPEG", imagetest.CMYKJPEG(7000, 7000, [4]int{}), false},
	} {
		_, err := DecodeContext(context.Background(), tc.data, Limits{Budget: small})
		if tc.fits {
			if errors.Is(err, ErrTooLarge) { // header-only data fails later, as corrupt
				t.Errorf("%s: %v", tc.name, err)
			}
		} else if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "64 MiB decode memory budget") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if n := small.InUse(); n != 0 {
		t.Fatalf("%d bytes held after refusals and failures", n)
	}
}

func TestBudgetWaitsForRelease(t *testing.T) {
	data := imagetest.StripedPNG(1000, 500, 8) // 2 MB decoded
	b := NewBudget(3 << 20)
	first, err := DecodeContext(context.Background(), data, Limits{Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	if n := b.InUse(); n != 2e6 {
		t.Fatalf("decoded image holds %d bytes, want 2000000", n)
	}
	// A second one does not fit beside it: it waits, and gives up busy.
	_, err = DecodeContext(context.Background(), data, Limits{Budget: b, Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "try again") {
		t.Fatalf("second decode while the first is held: %v", err)
	}
	// Once the first is released, a waiting decode goes ahead.
	got := make(chan error, 1)
	go func() {
		img, err := DecodeContext(context.Background(), data, Limits{Budget: b, Timeout: 10 * time.Second})
		if err == nil {
			img.Release()
		}
		got <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it start waiting (the test passes either way)
	first.Release()
	if err := <-got; err != nil {
		t.Fatalf("decode after release: %v", err)
	}
	waitReleased(t, b)
}

// TestCostCoversDecoding checks the header-based cost against what the
// decoders really allocate, for each decoded form: every byte allocated
// while decoding (garbage included) fits the planned peak, and what the
// image keeps is what was planned.
func TestCostCoversDecoding(t *testing.T) {
	rgba := image.NewNRGBA(image.Rect(0, 0, 800, 600))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 31 / 7)
	}
	gray16 := image.NewGray16(image.Rect(0, 0, 800, 600))
	pal := image.NewPaletted(image.Rect(0, 0, 800, 600), color.Palette{red, green, color.Black})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 3)
	}
	var gifBuf bytes.Buffer
	gif.Encode(&gifBuf, pal, nil)
	ycc := encodeJPEG(t, rgba)
	cases := []struct {
		name string
		data []byte
		lim  Limits
	}{
		{"png 8-bit RGBA", encodePNG(t, rgba), Limits{}},
		{"png 16-bit RGBA", imagetest.StripedPNG(800, 600, 16), Limits{}},
		{"png 16-bit grey", encodePNG(t, gray16), Limits{}},
		{"png interlaced", imagetest.InterlacedPNG(800, 600, 16), Limits{}},
		{"png paletted", encodePNG(t, pal), Limits{}},
		{"jpeg YCbCr", ycc, Limits{}},
		{"jpeg grey", encodeJPEG(t, image.NewGray(image.Rect(0, 0, 800, 600))), Limits{}},
		{"jpeg CMYK", imagetest.CMYKJPEG(800, 600, [4]int{20, -24, 30, -16}), Limits{}},
		{"jpeg rotated", withSegment(ycc, exifAPP1(binary.BigEndian, [][12]byte{orientationEntry(binary.BigEndian, 6)})), Limits{}},
		{"gif", gifBuf.Bytes(), Limits{}},
		{"webp lossless", webpLossless(800, 600, color.NRGBA{1, 2, 3, 255}), Limits{}},
	}
	if turboAvailable() {
		cases = append(cases, struct {
			name string
			data []byte
			lim  Limits
		}{"jpeg reduced", ycc, Limits{MinSide: 200}})
	}
	for _, tc := range cases {
		p, err := inspect(tc.data, tc.lim)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		img, err := decodePlanned(tc.data, p, tc.lim, nil)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		allocated := int64(after.TotalAlloc - before.TotalAlloc)
		const slack = 256 << 10 // readers, Huffman tables, zlib state
		if allocated > p.cost.peak+slack {
			t.Errorf("%s: decoding allocated %d bytes, planned peak %d", tc.name, allocated, p.cost.peak)
		}
		if got := pixBytes(img); got > p.cost.keep || got < p.cost.keep*9/10 {
			t.Errorf("%s: decoded %T holds %d bytes, planned %d", tc.name, img, got, p.cost.keep)
		}
		if p.cost.peak > 4*allocated+slack {
			t.Errorf("%s: planned peak %d for %d bytes allocated: far too cautious", tc.name, p.cost.peak, allocated)
		}
	}
}
