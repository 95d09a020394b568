package clip

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	xdraw "golang.org/x/image/draw"
)

const fixturePhoto = "roses_102501987_3cdb8e5394_n.jpg" // 320×240, 4:2:0 JPEG

func loadPhoto(t testing.TB, name string) image.Image {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "photos", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newPre(t testing.TB, size int) *Preprocessor {
	t.Helper()
	p, err := NewPreprocessor(size, DefaultMean, DefaultStd)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tensorSHA(v []float32) string {
	h := sha256.New()
	binary.Write(h, binary.LittleEndian, v)
	return hex.EncodeToString(h.Sum(nil))
}

// TestPreprocessGolden pins the tensor of a fixture photo. The resampling
// was checked once against Pillow 9.4 (Image.resize BICUBIC + crop, the
// calls torchvision makes) on the same decoded RGB pixels: every byte of the
// 3×224×224 crop was equal, for this photo and for 800×600, 223×500,
// 100×90, 801×799, 449×1000, 224×300, 333×333 and 895×897 versions of it.
// The pinned values below are that output normalised; a change in them is a
// change in preprocessing (or in Go's JPEG decoder).
func TestPreprocessGolden(t *testing.T) {
	img := loadPhoto(t, fixturePhoto)
	p := newPre(t, 224)
	v, err := p.Preprocess(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 3*224*224 {
		t.Fatalf("len %d", len(v))
	}
	// 320×240 → 298×224 (int(224*320/240) = 298), crop left round(74/2) = 37.
	if ow, oh := resizedSize(320, 240, 224); ow != 298 || oh != 224 {
		t.Fatalf("resized %d×%d", ow, oh)
	}
	var sum [3]float64
	for c := 0; c < 3; c++ {
		for _, x := range v[c*224*224 : (c+1)*224*224] {
			sum[c] += float64(x)
		}
		sum[c] /= 224 * 224
	}
	t.Logf("channel means %v, sha %s, samples %v %v %v", sum, tensorSHA(v), v[0], v[224*224+112*224+112], v[2*224*224+224*224-1])
	wantMeans := [3]float64{goldenMeanR, goldenMeanG, goldenMeanB}
	for c := range 3 {
		if math.Abs(sum[c]-wantMeans[c]) > 1e-6 {
			t.Errorf("channel %d mean %.7f, want %.7f", c, sum[c], wantMeans[c])
		}
	}
	// Every value is (b/255 - mean)/std for a byte b: pin a few bytes.
	checkByte := func(i int, c int, b int) {
		t.Helper()
		want := (float32(b)/255 - DefaultMean[c]) / DefaultStd[c]
		if v[i] != want {
			t.Errorf("v[%d] = %v, want byte %d → %v", i, v[i], b, want)
		}
	}
	checkByte(0, 0, goldenByte0)
	checkByte(224*224+112*224+112, 1, goldenByteCentreG)
	checkByte(3*224*224-1, 2, goldenByteLastB)
	if got := tensorSHA(v); got != goldenSHA {
		t.Errorf("tensor sha256 %s, want %s", got, goldenSHA)
	}
}

// Golden values of TestPreprocessGolden. The channel means were also
// computed with numpy from Pillow's bytes, normalised independently:
// -0.35223201, -0.50970417, -0.43876034.
const (
	goldenMeanR       = -0.35223201458718123
	goldenMeanG       = -0.5097041704228856
	goldenMeanB       = -0.438760336536496
	goldenByte0       = 0   // top-left red: the photo's dark corner
	goldenByteCentreG = 117 // centre green
	goldenByteLastB   = 1   // bottom-right blue
	goldenSHA         = "804c7317c361140405093fa6efd4f7889a6522e4cdc2ebc5051836251d6693f1"
)

// A solid colour stays exactly that colour through the resampling (the
// fixed-point taps of every output pixel sum to 1 within 2^-21), so every
// value is exactly (c/255 - mean)/std in float32.
func TestPreprocessSolidColour(t *testing.T) {
	p := newPre(t, 224)
	for _, sz := range [][2]int{{1, 1}, {7, 300}, {224, 224}, {500, 333}, {2000, 1500}} {
		c := color.NRGBA{200, 30, 117, 255}
		img := image.NewNRGBA(image.Rect(0, 0, sz[0], sz[1]))
		draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
		v, err := p.Preprocess(img, nil)
		if err != nil {
			t.Fatal(err)
		}
		for ch, b := range []uint8{c.R, c.G, c.B} {
			want := (float32(b)/255 - DefaultMean[ch]) / DefaultStd[ch]
			for i, x := range v[ch*224*224 : (ch+1)*224*224] {
				if x != want {
					t.Fatalf("%v: channel %d value %d = %v, want %v", sz, ch, i, x, want)
				}
			}
		}
	}
}

func TestPreprocessTransparentIsWhite(t *testing.T) {
	p := newPre(t, 32)
	white := image.NewNRGBA(image.Rect(0, 0, 50, 40))
	draw.Draw(white, white.Bounds(), image.White, image.Point{}, draw.Src)
	clear := image.NewNRGBA(image.Rect(0, 0, 50, 40)) // all zero: transparent black
	clearRGBA := image.NewRGBA(image.Rect(0, 0, 50, 40))
	w, _ := p.Preprocess(white, nil)
	for name, img := range map[string]image.Image{"NRGBA": clear, "RGBA": clearRGBA, "generic": image.NewUniform(color.Transparent)} {
		if u, ok := img.(*image.Uniform); ok {
			img = &boundedUniform{u, image.Rect(0, 0, 50, 40)}
		}
		v, err := p.Preprocess(img, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !equalF(v, w) {
			t.Errorf("%s: transparent is not white", name)
		}
	}
	// Half-transparent red over white is pink, the same for every type.
	half := image.NewNRGBA(image.Rect(0, 0, 20, 20))
	draw.Draw(half, half.Bounds(), image.NewUniform(color.NRGBA{255, 0, 0, 128}), image.Point{}, draw.Src)
	a, _ := p.Preprocess(half, nil)
	b, _ := p.Preprocess(toRGBA(half), nil)
	c, _ := p.Preprocess(generic{half}, nil)
	if !equalF(a, b) || !equalF(a, c) {
		t.Error("half-transparent red differs between NRGBA, RGBA and generic")
	}
	if want := (float32(255)/255 - DefaultMean[0]) / DefaultStd[0]; a[0] != want {
		t.Errorf("red channel %v, want %v", a[0], want)
	}
	if want := (float32(127)/255 - DefaultMean[1]) / DefaultStd[1]; a[32*32] != want {
		t.Errorf("green channel %v, want %v (255-128 composited)", a[32*32], want)
	}
}

type boundedUniform struct {
	*image.Uniform
	r image.Rectangle
}

func (b *boundedUniform) Bounds() image.Rectangle { return b.r }

// generic hides the concrete type, forcing the At() path.
type generic struct{ image.Image }

func toNRGBA(img image.Image) *image.NRGBA {
	m := image.NewNRGBA(img.Bounds())
	draw.Draw(m, m.Bounds(), img, m.Bounds().Min, draw.Src)
	return m
}

func toRGBA(img image.Image) *image.RGBA {
	m := image.NewRGBA(img.Bounds())
	draw.Draw(m, m.Bounds(), img, m.Bounds().Min, draw.Src)
	return m
}

func equalF(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The fast paths give the same tensor as the generic At() path.
func TestPreprocessImageTypes(t *testing.T) {
	p := newPre(t, 64)
	photo := loadPhoto(t, fixturePhoto)
	ycc := photo.(*image.YCbCr)
	nrgba := toNRGBA(photo)
	want, _ := p.Preprocess(nrgba, nil)
	for name, img := range map[string]image.Image{
		"RGBA":                 toRGBA(photo),
		"generic NRGBA":        generic{nrgba},
		"YCbCr":                ycc,
		"generic YCbCr":        generic{ycc},
		"Gray vs generic Gray": nil,
	} {
		if img == nil {
			continue
		}
		got, err := p.Preprocess(img, nil)
		if err != nil {
			t.Fatal(err)
		}
		if name == "YCbCr" || name == "generic YCbCr" {
			// color.YCbCrToRGB and YCbCr.RGBA()>>8 may differ by one.
			if d := maxDiff(got, want); d > 1.01/255/0.26 {
				t.Errorf("%s: max diff %v", name, d)
			}
			continue
		}
		if !equalF(got, want) {
			t.Errorf("%s differs from NRGBA (max diff %v)", name, maxDiff(got, want))
		}
	}
	gray := image.NewGray(photo.Bounds())
	draw.Draw(gray, gray.Bounds(), photo, image.Point{}, draw.Src)
	a, _ := p.Preprocess(gray, nil)
	b, _ := p.Preprocess(generic{gray}, nil)
	if !equalF(a, b) {
		t.Error("Gray fast path differs from generic")
	}
	// A YCbCr image equals its own conversion through draw (which uses
	// the same 8-bit conversion).
	c, _ := p.Preprocess(ycc, nil)
	if d := maxDiff(c, want); d > 1.01/255/0.26 {
		t.Errorf("YCbCr vs NRGBA: %v", d)
	}
}

func maxDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// Sub-images (non-zero Min, shared Pix) preprocess like a copy of the same
// pixels.
func TestPreprocessSubImages(t *testing.T) {
	p := newPre(t, 48)
	photo := loadPhoto(t, fixturePhoto).(*image.YCbCr)
	r := image.Rect(37, 21, 300, 233)
	for name, img := range map[string]image.Image{
		"YCbCr": photo, "NRGBA": toNRGBA(photo), "RGBA": toRGBA(photo),
	} {
		sub := img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(r)
		a, err := p.Preprocess(sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		cp := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
		draw.Draw(cp, cp.Bounds(), sub, r.Min, draw.Src)
		b, _ := p.Preprocess(cp, nil)
		if d := maxDiff(a, b); d > 1.01/255/0.26 {
			t.Errorf("%s sub-image differs from its copy by %v", name, d)
		}
	}
}

func TestPreprocessOddShapes(t *testing.T) {
	p := newPre(t, 224)
	for _, sz := range [][2]int{{1, 1}, {1, 5000}, {5000, 1}, {3, 2}, {4000, 3000}} {
		img := image.NewGray(image.Rect(0, 0, sz[0], sz[1]))
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 7)
		}
		v, err := p.Preprocess(img, nil)
		if err != nil || len(v) != 3*224*224 {
			t.Fatalf("%v: %v len %d", sz, err, len(v))
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || x < -2.5 || x > 2.5 {
				t.Fatalf("%v: value %v out of range", sz, x)
			}
		}
	}
	if _, err := p.Preprocess(image.NewGray(image.Rect(0, 0, 0, 10)), nil); err != ErrEmptyImage {
		t.Errorf("empty image: %v", err)
	}
	// dst is reused when it is big enough.
	dst := make([]float32, 3*224*224+10)
	v, _ := p.Preprocess(image.NewGray(image.Rect(0, 0, 10, 10)), dst)
	if &v[0] != &dst[0] {
		t.Error("dst not reused")
	}
}

func TestPreprocessorValidation(t *testing.T) {
	if _, err := NewPreprocessor(0, DefaultMean, DefaultStd); err == nil {
		t.Error("size 0 accepted")
	}
	if _, err := NewPreprocessor(224, DefaultMean, [3]float32{1, 0, 1}); err == nil {
		t.Error("std 0 accepted")
	}
}

// photo800 is an 800×800 JPEG made by upscaling a test photo.
func photo800(b testing.TB) []byte {
	src := loadPhoto(b, fixturePhoto)
	dst := image.NewRGBA(image.Rect(0, 0, 800, 800))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkPreprocess800 measures preprocessing of an 800×800 photo as
// decoded from JPEG (*image.YCbCr, 4:2:0), without decoding.
func BenchmarkPreprocess800(b *testing.B) {
	img, err := jpeg.Decode(bytes.NewReader(photo800(b)))
	if err != nil {
		b.Fatal(err)
	}
	p := newPre(b, 224)
	dst := make([]float32, p.Len())
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := p.Preprocess(img, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodePreprocess800 is JPEG decoding plus preprocessing.
func BenchmarkDecodePreprocess800(b *testing.B) {
	data := photo800(b)
	p := newPre(b, 224)
	dst := make([]float32, p.Len())
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Preprocess(img, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU reports the process's CPU time per operation (user+system) as
// "cpu-ms/op": on a shared machine wall time per op also counts waiting for
// a core, CPU time does not. Only meaningful for single-threaded work.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
