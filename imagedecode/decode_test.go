package imagedecode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSniff(t *testing.T) {
	src := quadrants(8, 8)
	tests := []struct {
		name    string
		data    []byte
		want    string
		wantErr error
		wantMsg string
	}{
		{"png", encodePNG(t, src), "png", nil, ""},
		{"jpeg", encodeJPEG(t, src), "jpeg", nil, ""},
		{"gif", encodeGIF(t, src), "gif", nil, ""},
		{"gif87a", []byte("GIF87a\x01\x00\x01\x00"), "gif", nil, ""},
		{"webp", webpLossless(1, 1, color.NRGBA{1, 2, 3, 255}), "webp", nil, ""},
		{"webp header only", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "webp", nil, ""},
		{"empty", nil, "", ErrNotImage, "empty file"},
		{"html", []byte("<!DOCTYPE html><html><body>404</body></html>"), "", ErrNotImage,
			"not an image: the data looks like an HTML page"},
		{"html with bom and space", []byte("\xef\xbb\xbf\n  <HTML><head>"), "", ErrNotImage, "HTML page"},
		{"html fragment", []byte("<p>Access denied</p>"), "", ErrNotImage, "HTML page"},
		{"json", []byte(`{"error":"not found"}`), "", ErrNotImage, "not an image: the data looks like JSON"},
		{"json array", []byte(` [1,2]`), "", ErrNotImage, "JSON"},
		{"xml", []byte(`<?xml version="1.0"?><feed/>`), "", ErrNotImage, "XML document"},
		{"text", []byte("Not Found\n"), "", ErrNotImage, `not an image: the data looks like text: "Not Found"`},
		{"cyrillic text", []byte("Файл не найден"), "", ErrNotImage, `text: "Файл не найден"`},
		{"pdf", []byte("%PDF-1.7\n"), "", ErrNotImage, "PDF document"},
		{"zip", []byte("PK\x03\x04rest"), "", ErrNotImage, "ZIP archive"},
		{"mp4", []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"), "", ErrNotImage, "video"},
		{"binary", []byte{0, 1, 2, 3, 4, 250, 251}, "", ErrNotImage, "unrecognised binary data (starts with 00 01 02 03 04 fa fb)"},
		{"jpeg lookalike", []byte("\xff\xd8"), "", ErrNotImage, "unrecognised"},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00"), "", ErrUnsupported, "unsupported image format: TIFF"},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"), "", ErrUnsupported, "HEIC"},
		{"avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00"), "", ErrUnsupported, "AVIF"},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), "", ErrUnsupported, "SVG"},
		{"svg with xml declaration", []byte(`<?xml version="1.0"?>` + "\n" + `<svg></svg>`), "", ErrUnsupported, "SVG"},
		{"bmp", append([]byte("BM\x46\x00\x00\x00\x00\x00\x00\x00"), make([]byte, 20)...), "", ErrUnsupported, "BMP"},
		{"riff avi", []byte("RIFF\x00\x00\x00\x00AVI LIST"), "", ErrNotImage, "RIFF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sniff(tt.data)
			if got != tt.want {
				t.Errorf("Sniff = %q, want %q", got, tt.want)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Errorf("Sniff error: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Sniff error = %v, want %v containing %q", err, tt.wantErr, tt.wantMsg)
			}
		})
	}
}

func TestDecodeFormats(t *testing.T) {
	src := quadrants(64, 32)
	solid := color.NRGBA{0x12, 0x80, 0xfe, 0xff}
	tests := []struct {
		name   string
		data   []byte
		format string
		w, h   int
		check  func(image.Image) bool
	}{
		{"png", encodePNG(t, src), "png", 64, 32, func(img image.Image) bool { return exactQuadrants(img) }},
		{"jpeg", encodeJPEG(t, src), "jpeg", 64, 32, func(img image.Image) bool { return quadrantsAt(img, 64, 32, identity) }},
		{"gif", encodeGIF(t, src), "gif", 64, 32, func(img image.Image) bool { return quadrantsAt(img, 64, 32, identity) }},
		{"webp lossless", webpLossless(3, 2, solid), "webp", 3, 2, func(img image.Image) bool {
			for y := 0; y < 2; y++ {
				for x := 0; x < 3; x++ {
					if img.At(x, y) != color.Color(solid) {
						return false
					}
				}
			}
			return true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, format, err := Decode(tt.data, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if format != tt.format {
				t.Errorf("format = %q, want %q", format, tt.format)
			}
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Errorf("size = %v, want %d×%d", b, tt.w, tt.h)
			}
			if !tt.check(img) {
				t.Errorf("pixels differ from the source")
			}
		})
	}
}

func exactQuadrants(img image.Image) bool {
	want := quadrants(64, 32)
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			if !near(img.At(x, y), want.At(x, y), 0) {
				return false
			}
		}
	}
	return true
}

// mapping is where a source pixel (x, y) of a w×h image lands.
type mapping func(x, y, w, h int) (int, int)

func identity(x, y, w, h int) (int, int) { return x, y }

// quadrantsAt checks the centre of each source quadrant, mapped by m, for
// its colour. img must be the upright version of a w×h quadrants image.
func quadrantsAt(img image.Image, w, h int, m mapping) bool {
	for _, q := range []struct {
		x, y int
		c    color.Color
	}{
		{w / 4, h / 4, red}, {3 * w / 4, h / 4, green}, {w / 4, 3 * h / 4, blue}, {3 * w / 4, 3 * h / 4, white},
	} {
		dx, dy := m(q.x, q.y, w, h)
		if !near(img.At(dx, dy), q.c, 40) {
			return false
		}
	}
	return true
}

func TestDecodeNotImage(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		wantMsg string
	}{
		{"empty", nil, ErrNotImage, "empty file"},
		{"html", []byte("<html><body>Not found</body></html>"), ErrNotImage, "not an image: the data looks like an HTML page"},
		{"tiff", []byte("MM\x00*\x00\x00\x00\x08"), ErrUnsupported, "TIFF"},
	}
	for _, tt := range tests {
		img, _, err := Decode(tt.data, Limits{})
		if img != nil || !errors.Is(err, tt.wantErr) || err.Error() != tt.wantMsg && !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%s: Decode = %v, %v; want %v %q", tt.name, img, err, tt.wantErr, tt.wantMsg)
		}
	}
}

func TestDecodeCorrupt(t *testing.T) {
	src := quadrants(64, 32)
	jpg := encodeJPEG(t, src)
	pngData := encodePNG(t, src)
	gifData := encodeGIF(t, src)
	webpData := webpLossless(3, 2, color.NRGBA{1, 2, 3, 255})
	tests := []struct {
		name    string
		data    []byte
		wantMsg string
	}{
		{"truncated jpeg", jpg[:len(jpg)/2], "corrupt or truncated jpeg: unexpected EOF"},
		{"jpeg header only", jpg[:3], "corrupt or truncated jpeg"},
		{"truncated png", pngData[:len(pngData)/2], "corrupt or truncated png"},
		{"png signature only", pngData[:8], "corrupt or truncated png"},
		{"truncated gif", gifData[:len(gifData)/2], "corrupt or truncated gif"},
		{"truncated webp", webpData[:20], "corrupt or truncated webp"},
		{"png bad crc", append(append([]byte{}, pngData[:20]...), append([]byte{^pngData[20]}, pngData[21:]...)...), "corrupt or truncated png"},
		{"png zero width", pngHeaderOnly(0, 10), "corrupt or truncated png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _, err := Decode(tt.data, Limits{})
			if img != nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Decode = %v, %v; want ErrCorrupt containing %q", img, err, tt.wantMsg)
			}
		})
	}
}

// TestDecodeBombs checks that images whose header claims too many pixels
// are refused without allocating their pixel buffers.
func TestDecodeBombs(t *testing.T) {
	jpg := encodeJPEG(t, quadrants(64, 32))
	sof := bytes.Index(jpg, []byte{0xFF, 0xC0})
	if sof < 0 {
		t.Fatal("no SOF0 in encoded JPEG")
	}
	jpgBomb := append([]byte{}, jpg...)
	binary.BigEndian.PutUint16(jpgBomb[sof+5:], 65500) // height
	binary.BigEndian.PutUint16(jpgBomb[sof+7:], 65500) // width

	gifBomb := encodeGIF(t, quadrants(64, 32))
	binary.LittleEndian.PutUint16(gifBomb[6:], 65535)
	binary.LittleEndian.PutUint16(gifBomb[8:], 65535)

	// VP8X canvas of 16384×16384 in front of a tiny lossless image.
	vp8x := make([]byte, 10)
	vp8x[4], vp8x[5], vp8x[6] = 0xff, 0x3f, 0 // width-1 = 16383
	vp8x[7], vp8x[8], vp8x[9] = 0xff, 0x3f, 0 // height-1 = 16383
	webpX := riffWebP("VP8X", vp8x)

	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		wantMsg string
	}{
		{"png 100000×100000", pngHeaderOnly(100000, 100000), Limits{},
			"image is 100000×100000 = 10000 MP, over the 50 MP limit"},
		{"png 20000×20000", pngHeaderOnly(20000, 20000), Limits{}, "image is 20000×20000 = 400 MP, over the 50 MP limit"},
		{"png max dims", pngHeaderOnly(1<<31-1, 1<<31-1), Limits{}, "png dimensions are too large"},
		{"jpeg", jpgBomb, Limits{}, "image is 65500×65500"},
		{"gif", gifBomb, Limits{}, "image is 65535×65535"},
		{"webp lossless", webpLossless(16384, 16384, color.NRGBA{}), Limits{}, "image is 16384×16384 = 268 MP"},
		{"webp extended", webpX, Limits{}, "image is 16384×16384"},
		{"custom limit", encodePNG(t, quadrants(64, 32)), Limits{MaxPixels: 1000}, "image is 64×32 = 2048 px, over the 1000 px limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			img, _, err := Decode(tt.data, tt.lim)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if img != nil || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Decode = %v, %v; want ErrTooLarge containing %q", img, err, tt.wantMsg)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes before refusing", alloc)
			}
			if elapsed > time.Second {
				t.Errorf("took %v to refuse", elapsed)
			}
		})
	}

	allocs := testing.AllocsPerRun(10, func() { Decode(pngHeaderOnly(100000, 100000), Limits{}) })
	if allocs > 50 {
		t.Errorf("refusing a PNG bomb took %v allocations", allocs)
	}
}

func TestDecodeMaxPixelsBoundary(t *testing.T) {
	data := encodePNG(t, quadrants(64, 32))
	if _, _, err := Decode(data, Limits{MaxPixels: 64 * 32}); err != nil {
		t.Errorf("exactly MaxPixels: %v", err)
	}
	if _, _, err := Decode(data, Limits{MaxPixels: 64*32 - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one pixel over: %v", err)
	}
}

// exifMappings says where EXIF orientation o puts a stored pixel when the
// image is shown upright (w, h are the stored size).
var exifMappings = map[int]mapping{
	1: identity,
	2: func(x, y, w, h int) (int, int) { return w - 1 - x, y },         // mirror left-right
	3: func(x, y, w, h int) (int, int) { return w - 1 - x, h - 1 - y }, // rotate 180°
	4: func(x, y, w, h int) (int, int) { return x, h - 1 - y },         // mirror top-bottom
	5: func(x, y, w, h int) (int, int) { return y, x },                 // transpose
	6: func(x, y, w, h int) (int, int) { return h - 1 - y, x },         // rotate 90° clockwise
	7: func(x, y, w, h int) (int, int) { return h - 1 - y, w - 1 - x }, // transverse
	8: func(x, y, w, h int) (int, int) { return y, w - 1 - x },         // rotate 90° counter-clockwise
}

func TestDecodeEXIFOrientation(t *testing.T) {
	const w, h = 64, 32
	jpg := encodeJPEG(t, quadrants(w, h))
	for _, order := range []interface {
		binary.ByteOrder
		binary.AppendByteOrder
	}{binary.BigEndian, binary.LittleEndian} {
		for o := 1; o <= 8; o++ {
			t.Run(order.String()+"/"+string(rune('0'+o)), func(t *testing.T) {
				data := withSegment(jpg, exifAPP1(order, [][12]byte{orientationEntry(order, uint16(o))}))
				img, format, err := Decode(data, Limits{})
				if err != nil || format != "jpeg" {
					t.Fatalf("Decode = %q, %v", format, err)
				}
				wantW, wantH := w, h
				if o >= 5 {
					wantW, wantH = h, w
				}
				if b := img.Bounds(); b != image.Rect(0, 0, wantW, wantH) {
					t.Fatalf("bounds = %v, want %d×%d", b, wantW, wantH)
				}
				if !quadrantsAt(img, w, h, exifMappings[o]) {
					t.Errorf("orientation %d applied wrongly", o)
				}
			})
		}
	}
}

func TestDecodeMalformedEXIFIgnored(t *testing.T) {
	const w, h = 64, 32
	jpg := encodeJPEG(t, quadrants(w, h))
	be := binary.BigEndian
	badType := orientationEntry(be, 6)
	be.PutUint16(badType[2:], 7) // UNDEFINED
	badCount := orientationEntry(be, 6)
	be.PutUint32(badCount[4:], 2)
	good := exifAPP1(be, [][12]byte{orientationEntry(be, 6)})
	tests := []struct {
		name string
		seg  []byte
	}{
		{"orientation 0", exifAPP1(be, [][12]byte{orientationEntry(be, 0)})},
		{"orientation 9", exifAPP1(be, [][12]byte{orientationEntry(be, 9)})},
		{"wrong type", exifAPP1(be, [][12]byte{badType})},
		{"wrong count", exifAPP1(be, [][12]byte{badCount})},
		{"no orientation tag", exifAPP1(be, nil)},
		{"bad byte order", bytes.Replace(good, []byte("MM\x00\x2a"), []byte("XX\x00\x2a"), 1)},
		{"bad magic", bytes.Replace(good, []byte("MM\x00\x2a"), []byte("MM\x00\x2b"), 1)},
		{"IFD offset past end", bytes.Replace(good, []byte("\x00\x2a\x00\x00\x00\x08"), []byte("\x00\x2a\x7f\xff\xff\xff"), 1)},
		{"entry count past end", bytes.Replace(good, []byte("\x00\x2a\x00\x00\x00\x08\x00\x01"), []byte("\x00\x2a\x00\x00\x00\x08\xff\xff"), 1)},
		{"empty exif", []byte("\xff\xe1\x00\x08Exif\x00\x00")},
		{"not exif app1", []byte("\xff\xe1\x00\x0chttp://ns/\x00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _, err := Decode(withSegment(jpg, tt.seg), Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if img.Bounds() != image.Rect(0, 0, w, h) || !quadrantsAt(img, w, h, identity) {
				t.Errorf("malformed EXIF changed the image (bounds %v)", img.Bounds())
			}
		})
	}
	// An APP1 whose length runs past the end makes the JPEG itself corrupt,
	// but the EXIF reader must not be the one to fail.
	if got := jpegOrientation([]byte("\xff\xd8\xff\xe1\xff\xffExif")); got != 1 {
		t.Errorf("jpegOrientation(overlong segment) = %d", got)
	}
}

func TestOrientImageTypes(t *testing.T) {
	src := quadrants(6, 4)
	nrgba := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	gray := image.NewGray(image.Rect(0, 0, 8, 6))
	cmyk := image.NewCMYK(image.Rect(0, 0, 8, 6))
	rgba := image.NewRGBA(image.Rect(0, 0, 8, 6))
	ycc := image.NewYCbCr(image.Rect(0, 0, 8, 6), image.YCbCrSubsampleRatio444)
	pal := image.NewPaletted(image.Rect(0, 0, 8, 6), color.Palette{red, green, blue, white})
	for y := 0; y < 6; y++ {
		for x := 0; x < 8; x++ {
			c := color.RGBA{uint8(x * 30), uint8(y * 40), uint8(x*y + 7), 0xff}
			nrgba.Set(x, y, c)
			gray.Set(x, y, c)
			cmyk.Set(x, y, c)
			rgba.Set(x, y, c)
			pal.Set(x, y, src.At(x%6, y%4))
			r, g, b := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)], ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = r, g, b
		}
	}
	sub := image.Rect(1, 1, 7, 5) // 6×4, not at the origin
	images := map[string]image.Image{
		"nrgba":    nrgba.SubImage(sub),
		"gray":     gray.SubImage(sub),
		"cmyk":     cmyk.SubImage(sub),
		"rgba":     rgba.SubImage(sub),
		"ycbcr":    ycc.SubImage(sub),
		"paletted": pal.SubImage(sub),
	}
	for name, img := range images {
		for o := 2; o <= 8; o++ {
			got := orient(img, o)
			b := img.Bounds()
			for y := 0; y < b.Dy(); y++ {
				for x := 0; x < b.Dx(); x++ {
					dx, dy := exifMappings[o](x, y, b.Dx(), b.Dy())
					if !near(got.At(dx, dy), img.At(b.Min.X+x, b.Min.Y+y), 1) {
						t.Fatalf("%s orientation %d: pixel (%d,%d) → (%d,%d) = %v, want %v",
							name, o, x, y, dx, dy, got.At(dx, dy), img.At(b.Min.X+x, b.Min.Y+y))
					}
				}
			}
		}
	}
}
