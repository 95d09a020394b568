package builtin

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/quality"
	"github.com/lookalike/lookalike/regions"
)

var _ embed.Embedder = (*Embedder)(nil)

// testPhotos loads the photos in testdata/flowers (CC-BY-2.0, see
// ATTRIBUTION.txt there), sorted by name.
func testPhotos(t testing.TB) ([]string, []image.Image) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "flowers", "*.jpg"))
	if err != nil || len(files) < 2 {
		t.Fatalf("test photos: %v %v", files, err)
	}
	sort.Strings(files)
	var imgs []image.Image
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	return files, imgs
}

func embedT(t testing.TB, e *Embedder, img image.Image) []float32 {
	t.Helper()
	v, err := e.EmbedImage(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	checkUnit(t, e, v)
	return v
}

func checkUnit(t testing.TB, e *Embedder, v []float32) {
	t.Helper()
	if len(v) != e.Dim() {
		t.Fatalf("len %d, Dim %d", len(v), e.Dim())
	}
	var ss float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			t.Fatalf("non-finite value %v", x)
		}
		ss += float64(x) * float64(x)
	}
	if math.Abs(ss-1) > 1e-4 {
		t.Fatalf("norm² %v, want 1", ss)
	}
}

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestModelAndDim(t *testing.T) {
	e := New()
	if e.Model() != Name || Name == "" {
		t.Errorf("Model %q, Name %q", e.Model(), Name)
	}
	if e.Dim() <= 0 || e.Dim() > 1024 {
		t.Errorf("Dim %d", e.Dim())
	}
	if New().Dim() != e.Dim() {
		t.Error("Dim differs between instances")
	}
	// Older versions stay loadable by name (a model switch serves with
	// them while it re-embeds), each with its own name and bands.
	for _, name := range []string{"builtin-v1", Name} {
		v, ok := ByName(name)
		if !ok || v.Model() != name || v.Thresholds().Validate() != nil {
			t.Errorf("ByName(%q): %v %v", name, v, ok)
		}
	}
	if v, _ := ByName(Name); v.Thresholds() != Bands {
		t.Errorf("%s's bands %v, Bands %v", Name, v.Thresholds(), Bands)
	}
	if _, ok := ByName("builtin-v0"); ok {
		t.Error("ByName(builtin-v0) loaded something")
	}
	// The search trusts builtin-v2's confident whole frame, as tuned; v1's
	// fusion stays the plain max it was calibrated with.
	if c := regions.ConfigFor(New()); c.TrustMargin != 0.003 || c.TrustedPenalty != 0.004 {
		t.Errorf("%s's fusion %+v", Name, c)
	}
	v1, _ := ByName("builtin-v1")
	if c := regions.ConfigFor(v1); c.TrustMargin != 0 || c.TrustedPenalty != 0 {
		t.Errorf("builtin-v1's fusion %+v", c)
	}
}

func TestDeterministicUnitNorm(t *testing.T) {
	_, imgs := testPhotos(t)
	e1, e2 := New(), New()
	for _, img := range imgs {
		a := embedT(t, e1, img)
		b := embedT(t, e1, img) // pooled scratch reused
		c := embedT(t, e2, img)
		for i := range a {
			if a[i] != b[i] || a[i] != c[i] {
				t.Fatalf("not deterministic at %d: %v %v %v", i, a[i], b[i], c[i])
			}
		}
	}
}

func toNRGBA(img image.Image) *image.NRGBA {
	m := image.NewNRGBA(img.Bounds())
	draw.Draw(m, m.Rect, img, img.Bounds().Min, draw.Src)
	return m
}

func toRGBA(img image.Image) *image.RGBA {
	m := image.NewRGBA(img.Bounds())
	draw.Draw(m, m.Rect, img, img.Bounds().Min, draw.Src)
	return m
}

// generic hides an image's concrete type, to exercise the fallback path.
type generic struct{ image.Image }

func TestImageTypes(t *testing.T) {
	_, imgs := testPhotos(t)
	e := New()
	src := imgs[0]
	ref := embedT(t, e, src) // *image.YCbCr, 4:2:0
	if _, ok := src.(*image.YCbCr); !ok {
		t.Fatalf("test photo decodes to %T", src)
	}
	rgba := toRGBA(src)
	gray := image.NewGray(src.Bounds())
	draw.Draw(gray, gray.Rect, src, src.Bounds().Min, draw.Src)
	pal := image.NewPaletted(src.Bounds(), palette.Plan9)
	draw.FloydSteinberg.Draw(pal, pal.Rect, src, src.Bounds().Min)
	rgba64 := image.NewRGBA64(src.Bounds())
	draw.Draw(rgba64, rgba64.Rect, src, src.Bounds().Min, draw.Src)
	cmyk := image.NewCMYK(src.Bounds())
	draw.Draw(cmyk, cmyk.Rect, src, src.Bounds().Min, draw.Src)

	same := map[string]image.Image{
		"RGBA":    rgba,
		"NRGBA":   toNRGBA(src),
		"RGBA64":  rgba64,
		"generic": generic{src},
	}
	for name, img := range same {
		if c := cos(ref, embedT(t, e, img)); c < 0.999 {
			t.Errorf("%s: cosine to the YCbCr original %.5f, want ≈1", name, c)
		}
	}
	similar := map[string]image.Image{
		"CMYK":     cmyk,
		"Paletted": pal,
	}
	for name, img := range similar {
		if c := cos(ref, embedT(t, e, img)); c < 0.9 {
			t.Errorf("%s: cosine to the original %.5f, want > 0.9", name, c)
		}
	}
	g := embedT(t, e, gray)
	if c := cos(ref, g); c > 0.999 {
		t.Errorf("gray copy indistinguishable from colour original (%.5f)", c)
	}
	if c := cos(g, embedT(t, e, generic{gray})); c < 0.999 {
		t.Errorf("Gray fast path and generic path differ: %.5f", c)
	}
	if c := cos(embedT(t, e, pal), embedT(t, e, generic{pal})); c < 0.999 {
		t.Errorf("Paletted fast path and generic path differ: %.5f", c)
	}
}

func TestYCbCrSubsamplingAndSubImages(t *testing.T) {
	_, imgs := testPhotos(t)
	e := New()
	src := toRGBA(imgs[1])
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	for _, r := range ratios {
		y := image.NewYCbCr(src.Rect, r)
		for py := src.Rect.Min.Y; py < src.Rect.Max.Y; py++ {
			for px := src.Rect.Min.X; px < src.Rect.Max.X; px++ {
				c := src.RGBAAt(px, py)
				yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
				y.Y[y.YOffset(px, py)] = yy
				ci := y.COffset(px, py)
				y.Cb[ci], y.Cr[ci] = cb, cr
			}
		}
		// A sub-image at odd offsets checks the chroma indexing.
		sub := y.SubImage(image.Rect(13, 7, 150, 201)).(*image.YCbCr)
		fast := embedT(t, e, sub)
		slow := embedT(t, e, generic{sub})
		if c := cos(fast, slow); c < 0.999 {
			t.Errorf("%v: fast and generic paths differ: %.6f", r, c)
		}
	}
	for name, img := range map[string]image.Image{
		"NRGBA": toNRGBA(src).SubImage(image.Rect(5, 9, 120, 100)),
		"RGBA":  src.SubImage(image.Rect(5, 9, 120, 100)),
	} {
		if c := cos(embedT(t, e, img), embedT(t, e, generic{img})); c < 0.9999 {
			t.Errorf("%s sub-image: fast and generic paths differ: %.6f", name, c)
		}
	}
}

func uniform(c color.Color, w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(m, m.Rect, image.NewUniform(c), image.Point{}, draw.Src)
	return m
}

func TestTransparencyIsWhite(t *testing.T) {
	e := New()
	white := embedT(t, e, uniform(color.White, 40, 30))
	clear := embedT(t, e, uniform(color.NRGBA{200, 0, 0, 0}, 40, 30))
	if c := cos(white, clear); c < 0.9999 {
		t.Errorf("transparent vs white: %.6f", c)
	}
	clearRGBA := embedT(t, e, image.NewRGBA(image.Rect(0, 0, 40, 30)))
	if c := cos(white, clearRGBA); c < 0.9999 {
		t.Errorf("transparent RGBA vs white: %.6f", c)
	}
	// Half-transparent red is pink, whichever type carries it.
	nrgba := uniform(color.NRGBA{255, 0, 0, 128}, 40, 30)
	pink := embedT(t, e, uniform(color.NRGBA{255, 127, 127, 255}, 40, 30))
	for name, img := range map[string]image.Image{"NRGBA": nrgba, "RGBA": toRGBA(nrgba), "generic": generic{nrgba}} {
		if c := cos(pink, embedT(t, e, img)); c < 0.999 {
			t.Errorf("%s half-transparent red vs pink: %.5f", name, c)
		}
	}
}

func TestTinyAndEmpty(t *testing.T) {
	e := New()
	ctx := context.Background()
	for _, r := range []image.Rectangle{image.Rect(0, 0, 1, 1), image.Rect(0, 0, 1, 7), image.Rect(0, 0, 5, 1), image.Rect(3, 4, 5, 6)} {
		imgs := []image.Image{
			image.NewRGBA(r), image.NewNRGBA(r), image.NewGray(r),
			image.NewYCbCr(r, image.YCbCrSubsampleRatio420), image.NewYCbCr(r, image.YCbCrSubsampleRatio410),
			image.NewPaletted(r, palette.WebSafe), image.NewRGBA64(r),
		}
		for _, img := range imgs {
			embedT(t, e, img)
		}
	}
	for _, img := range []image.Image{image.NewRGBA(image.Rect(0, 0, 0, 0)), image.NewGray(image.Rect(0, 0, 10, 0)), image.NewNRGBA(image.Rect(2, 2, 2, 9)), nil} {
		if _, err := e.EmbedImage(ctx, img); err == nil {
			t.Errorf("empty image %v: no error", img)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.EmbedImage(cctx, uniform(color.White, 4, 4)); err == nil {
		t.Error("cancelled context: no error")
	}
	// Huge aspect ratios.
	embedT(t, e, uniform(color.Black, 2000, 3))
	embedT(t, e, uniform(color.Black, 3, 2000))
}

func TestMirrorInvariance(t *testing.T) {
	_, imgs := testPhotos(t)
	e := New()
	for i, img := range imgs {
		src := toRGBA(img)
		b := src.Rect
		m := image.NewRGBA(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				m.SetRGBA(b.Max.X-1-(x-b.Min.X), y, src.RGBAAt(x, y))
			}
		}
		if c := cos(embedT(t, e, src), embedT(t, e, m)); c < 0.99 {
			t.Errorf("photo %d: mirror image cosine %.4f", i, c)
		}
	}
}

// A synthetic re-photograph of a photo (crop, rescale, light, mirror, JPEG)
// is nearer to its source than to any other photo.
func TestTransformedCopyIsNearest(t *testing.T) {
	files, imgs := testPhotos(t)
	e := New()
	vecs := make([][]float32, len(imgs))
	for i, img := range imgs {
		vecs[i] = embedT(t, e, img)
	}
	for seed := int64(1); seed <= 5; seed++ {
		for i, img := range imgs {
			q, err := quality.Transform(img, rand.New(rand.NewSource(seed*100+int64(i))))
			if err != nil {
				t.Fatal(err)
			}
			v := embedT(t, e, q)
			own := cos(v, vecs[i])
			for j := range vecs {
				if j != i && cos(v, vecs[j]) >= own {
					t.Errorf("seed %d: query from %s is nearer %s (%.4f) than its source (%.4f)",
						seed, filepath.Base(files[i]), filepath.Base(files[j]), cos(v, vecs[j]), own)
				}
			}
		}
	}
}

func TestConcurrent(t *testing.T) {
	_, imgs := testPhotos(t)
	e := New()
	want := make([][]float32, len(imgs))
	for i, img := range imgs {
		want[i] = embedT(t, e, img)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 3; k++ {
				i := (g + k) % len(imgs)
				v, err := e.EmbedImage(context.Background(), imgs[i])
				if err != nil {
					errs <- err.Error()
					return
				}
				for d := range v {
					if v[d] != want[i][d] {
						errs <- "concurrent result differs"
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// photo500x400 is a 500×400 JPEG-decoded photo, the size the benchmarks use.
func photo500x400(b *testing.B) image.Image {
	_, imgs := testPhotos(b)
	src := imgs[0]
	big := image.NewRGBA(image.Rect(0, 0, 500, 400))
	sb := src.Bounds()
	for y := 0; y < 400; y++ {
		for x := 0; x < 500; x++ {
			big.Set(x, y, src.At(sb.Min.X+x*sb.Dx()/500, sb.Min.Y+y*sb.Dy()/400))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, big, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		b.Fatal(err)
	}
	return img
}

func benchmarkEmbed(b *testing.B, img image.Image) {
	e := New()
	ctx := context.Background()
	if _, err := e.EmbedImage(ctx, img); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.EmbedImage(ctx, img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbedYCbCr500x400(b *testing.B) { benchmarkEmbed(b, photo500x400(b)) }
func BenchmarkEmbedNRGBA500x400(b *testing.B) { benchmarkEmbed(b, toNRGBA(photo500x400(b))) }
func BenchmarkEmbedRGBA500x400(b *testing.B)  { benchmarkEmbed(b, toRGBA(photo500x400(b))) }
func BenchmarkEmbedGeneric500x400(b *testing.B) {
	benchmarkEmbed(b, generic{photo500x400(b)})
}

// The descriptor of a fixed photo must not drift: stored vectors are only
// comparable with new ones of the same name. If this fails after a
// deliberate change to the descriptor, add a new version (a new Name in
// versions, the old config kept) and write its golden file with
// LOOKALIKE_UPDATE_GOLDEN=1 go test -run Golden ./embed/builtin.
func TestGolden(t *testing.T) {
	files, imgs := testPhotos(t)
	for name := range versions {
		t.Run(name, func(t *testing.T) {
			golden := filepath.Join("testdata", "golden-"+name+".txt")
			e, _ := ByName(name)
			v := embedT(t, e, imgs[0])
			if os.Getenv("LOOKALIKE_UPDATE_GOLDEN") != "" {
				var buf bytes.Buffer
				fmt.Fprintf(&buf, "# %s of %s\n", name, filepath.Base(files[0]))
				for _, x := range v {
					fmt.Fprintf(&buf, "%.7g\n", x)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (a new version needs a new golden file)", err)
			}
			var want []float32
			for _, line := range strings.Split(string(data), "\n") {
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				f, err := strconv.ParseFloat(line, 32)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, float32(f))
			}
			if len(want) != len(v) {
				t.Fatalf("Dim %d, golden %d: the descriptor changed; add a version", len(v), len(want))
			}
			// Tolerant of floating-point differences between platforms (FMA),
			// not of changes to the descriptor.
			if c := cos(v, want); c < 0.99999 {
				t.Errorf("cosine to the golden vector %.7f: the descriptor changed; add a version", c)
			}
		})
	}
}

// EmbedRegions describes the whole frame as EmbedImage does and each
// window as EmbedImage describes the sub-image, but for the windows' edge
// pixels.
func TestEmbedRegions(t *testing.T) {
	files, imgs := testPhotos(t)
	e := New()
	ctx := context.Background()
	for i, img := range append(imgs, toNRGBA(imgs[0])) {
		b := img.Bounds()
		w, h := b.Dx()*3/4, b.Dy()*3/4
		rects := []image.Rectangle{b}
		for _, xy := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
			p := b.Min.Add(image.Pt(xy[0]*(b.Dx()-w), xy[1]*(b.Dy()-h)))
			rects = append(rects, image.Rectangle{p, p.Add(image.Pt(w, h))})
		}
		p := b.Min.Add(image.Pt((b.Dx()-w)/2, (b.Dy()-h)/2))
		rects = append(rects, image.Rectangle{p, p.Add(image.Pt(w, h))}, image.Rect(b.Min.X+3, b.Min.Y+5, b.Min.X+50, b.Min.Y+40))
		vecs, err := e.EmbedRegions(ctx, img, rects)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(files[i%len(files)])
		for k, r := range rects {
			checkUnit(t, e, vecs[k])
			want := embedT(t, e, img.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(r))
			c := cos(vecs[k], want)
			if (k == 0 && c < 0.999999) || c < 0.998 {
				t.Errorf("%s region %v: cosine %.6f to EmbedImage of the sub-image", name, r, c)
			}
		}
	}
	if _, err := e.EmbedRegions(ctx, imgs[0], []image.Rectangle{image.Rect(-10, -10, -5, -5)}); err == nil {
		t.Error("a region outside the image: no error")
	}
}

// BenchmarkRegions compares the six search regions of a photo embedded one
// by one (sub-images) and through EmbedRegions.
func BenchmarkRegions(b *testing.B) {
	img := photo500x400(b)
	bb := img.Bounds()
	rects := []image.Rectangle{bb}
	w, h := bb.Dx()*3/4, bb.Dy()*3/4
	for _, xy := range [][2]int{{0, 0}, {2, 0}, {0, 2}, {2, 2}, {1, 1}} {
		p := bb.Min.Add(image.Pt(xy[0]*(bb.Dx()-w)/2, xy[1]*(bb.Dy()-h)/2))
		rects = append(rects, image.Rectangle{p, p.Add(image.Pt(w, h))})
	}
	e := New()
	ctx := context.Background()
	b.Run("one-by-one", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, r := range rects {
				e.EmbedImage(ctx, img.(*image.YCbCr).SubImage(r))
			}
		}
	})
	b.Run("EmbedRegions", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			e.EmbedRegions(ctx, img, rects)
		}
	})
}
