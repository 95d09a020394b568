package quality

import (
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lookalike/lookalike/vectorindex"
)

func unit(v ...float32) []float32 {
	var ss float64
	for _, x := range v {
		ss += float64(x * x)
	}
	k := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= k
	}
	return v
}

// evaluate runs Evaluate over an index of kind holding catalogue.
func evaluate(t *testing.T, kind string, catalogue [][]float32, labels []string, groups []int, queries []Query, workers int) Metrics {
	t.Helper()
	idx, err := NewIndex(kind, len(catalogue[0]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	if err := Fill(idx, catalogue); err != nil {
		t.Fatal(err)
	}
	m, err := Evaluate(idx, labels, groups, queries, workers)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEvaluate(t *testing.T) {
	for _, kind := range []string{"flat", "hnsw"} {
		t.Run(kind, func(t *testing.T) { testEvaluate(t, kind) })
	}
}

func testEvaluate(t *testing.T, kind string) {
	catalogue := [][]float32{
		unit(1, 0, 0), // 0 a
		unit(0, 1, 0), // 1 b
		unit(0, 0, 1), // 2 a
		unit(1, 1, 0), // 3 b
	}
	labels := []string{"a", "b", "a", "b"}
	queries := []Query{
		{Vector: unit(1, 0.1, 0), Source: 0},   // top: 0 → hit@1
		{Vector: unit(1, 0.9, 0), Source: 1},   // top: 3, then 1 → hit@10 only
		{Vector: unit(0.1, 0, 1), Source: 2},   // top: 2 → hit
		{Vector: unit(0.8, 0.2, 0), Source: 3}, // top: 0, 3 second
	}
	m := evaluate(t, kind, catalogue, labels, nil, queries, 2)
	if m.Queries != 4 {
		t.Fatalf("queries %d", m.Queries)
	}
	if m.RecallAt1 != 0.5 {
		t.Errorf("recall@1 = %v, want 0.5", m.RecallAt1)
	}
	if m.RecallAt10 != 1 {
		t.Errorf("recall@10 = %v, want 1", m.RecallAt10)
	}
	// Catalogue of 4: every query sees all 4 items, 2 of its own label.
	if m.SameKindPrecisionAt10 != 0.5 {
		t.Errorf("precision@10 = %v, want 0.5", m.SameKindPrecisionAt10)
	}

	// Near-duplicates: 1 and 3 are the same scene, so query 1's top result
	// (3) counts as right; query 3's top result (0) is still wrong.
	groups := []int{0, 1, 2, 1}
	m = evaluate(t, kind, catalogue, labels, groups, queries, 1)
	if m.RecallAt1 != 0.75 {
		t.Errorf("with near-duplicates recall@1 = %v, want 0.75", m.RecallAt1)
	}
}

func TestEvaluatePrecisionAndTies(t *testing.T) {
	// 12 identical vectors: ties go to the lower index, so the top 10 are
	// items 0..9.
	var catalogue [][]float32
	var labels []string
	for i := 0; i < 12; i++ {
		catalogue = append(catalogue, unit(1, 1))
		if i < 7 {
			labels = append(labels, "x")
		} else {
			labels = append(labels, "y")
		}
	}
	q := []Query{{Vector: unit(1, 1), Source: 11}}
	m := evaluate(t, "flat", catalogue, labels, nil, q, 1)
	if m.RecallAt1 != 0 || m.RecallAt10 != 0 {
		t.Errorf("recall %v %v, want 0 0 (source ranked 12th on ties)", m.RecallAt1, m.RecallAt10)
	}
	if math.Abs(m.SameKindPrecisionAt10-0.3) > 1e-9 {
		t.Errorf("precision@10 = %v, want 0.3", m.SameKindPrecisionAt10)
	}
	rank := func(catalogue [][]float32, q []float32) []int {
		idx := vectorindex.NewFlat(len(q))
		Fill(idx, catalogue)
		hits, _ := idx.Search(q, 3, vectorindex.Filter{})
		got, err := catalogueItems(hits)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := rank(catalogue, q[0].Vector); !reflect.DeepEqual(got, []int{0, 1, 2}) {
		t.Errorf("ties = %v", got)
	}
	if got := rank([][]float32{unit(0, 1), unit(1, 0), unit(1, 1)}, unit(1, 0)); !reflect.DeepEqual(got, []int{1, 2, 0}) {
		t.Errorf("rank = %v", got)
	}
}

func TestSceneGroups(t *testing.T) {
	photos := []Photo{{Path: "a"}, {Path: "b"}, {Path: "c"}, {Path: "d"}}
	g := sceneGroups(photos, [][2]string{{"a", "c"}, {"c", "d"}, {"x", "b"}})
	if g[0] != g[2] || g[2] != g[3] || g[1] == g[0] {
		t.Errorf("groups %v", g)
	}
}

func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(255 * x / w), uint8(255 * y / h), 128, 255})
		}
	}
	return img
}

func TestRandomParamsRanges(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	mirrored := 0
	const n = 2000
	for i := 0; i < n; i++ {
		p := RandomParams(rng)
		in := func(v, lo, hi float64) bool { return v >= lo && v <= hi }
		if !in(p.CropW, 0.7, 0.9) || !in(p.CropH, 0.7, 0.9) || !in(p.CropX, 0, 1) || !in(p.CropY, 0, 1) ||
			!in(p.Scale, 0.6, 1.4) || !in(p.Brightness, 0.85, 1.15) || !in(p.Contrast, 0.85, 1.15) ||
			p.Quality < 45 || p.Quality > 85 {
			t.Fatalf("out of range: %+v", p)
		}
		if p.Mirror {
			mirrored++
		}
	}
	if mirrored < n/2-150 || mirrored > n/2+150 {
		t.Errorf("mirrored %d of %d", mirrored, n)
	}
	a := RandomParams(rand.New(rand.NewSource(7)))
	b := RandomParams(rand.New(rand.NewSource(7)))
	if a != b {
		t.Errorf("not deterministic: %+v %+v", a, b)
	}
}

func TestTransformSizeAndDeterminism(t *testing.T) {
	src := testImage(100, 80)
	for seed := int64(0); seed < 20; seed++ {
		p := RandomParams(rand.New(rand.NewSource(seed)))
		a, err := Transform(src, rand.New(rand.NewSource(seed)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Transform(src, rand.New(rand.NewSource(seed)))
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: not deterministic", seed)
		}
		wantW := math.Round(math.Round(100*p.CropW) * p.Scale)
		wantH := math.Round(math.Round(80*p.CropH) * p.Scale)
		if got := a.Bounds(); float64(got.Dx()) != wantW || float64(got.Dy()) != wantH {
			t.Errorf("seed %d: size %v, want %vx%v (%+v)", seed, got, wantW, wantH, p)
		}
		if _, ok := a.(*image.YCbCr); !ok {
			t.Errorf("result is %T, want the decoded JPEG (*image.YCbCr)", a)
		}
	}
}

func meanRGB(img image.Image, r image.Rectangle) (float64, float64, float64) {
	var sr, sg, sb, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			sr += float64(cr >> 8)
			sg += float64(cg >> 8)
			sb += float64(cb >> 8)
			n++
		}
	}
	return sr / n, sg / n, sb / n
}

func TestApplyTransformMirrorCropBrightness(t *testing.T) {
	// Left half red, right half blue.
	src := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			if x < 32 {
				src.Set(x, y, color.RGBA{200, 0, 0, 255})
			} else {
				src.Set(x, y, color.RGBA{0, 0, 200, 255})
			}
		}
	}
	id := TransformParams{CropW: 1, CropH: 1, Scale: 1, Brightness: 1, Contrast: 1, Quality: 95}
	out, err := ApplyTransform(src, id)
	if err != nil {
		t.Fatal(err)
	}
	if r, _, b := meanRGB(out, image.Rect(0, 0, 8, 32)); r < 170 || b > 30 {
		t.Errorf("identity: left is %v,%v, want red", r, b)
	}
	m := id
	m.Mirror = true
	out, _ = ApplyTransform(src, m)
	if r, _, b := meanRGB(out, image.Rect(0, 0, 8, 32)); b < 170 || r > 30 {
		t.Errorf("mirror: left is %v,%v, want blue", r, b)
	}
	// Crop the right half only: all blue.
	c := id
	c.CropW, c.CropX = 0.5, 1
	out, _ = ApplyTransform(src, c)
	if out.Bounds().Dx() != 32 {
		t.Errorf("crop width %d", out.Bounds().Dx())
	}
	if r, _, b := meanRGB(out, out.Bounds()); b < 170 || r > 30 {
		t.Errorf("crop: %v,%v, want blue", r, b)
	}
	// Brightness 1.15 brightens, contrast 1 keeps the ratio.
	br := id
	br.Brightness = 1.15
	out, _ = ApplyTransform(src, br)
	if r, _, _ := meanRGB(out, image.Rect(4, 4, 24, 28)); r < 215 || r > 245 {
		t.Errorf("brightness 1.15: red %v, want about 230", r)
	}
	// Scale 0.5 halves both sides.
	sc := id
	sc.Scale = 0.5
	out, _ = ApplyTransform(src, sc)
	if b := out.Bounds(); b.Dx() != 32 || b.Dy() != 16 {
		t.Errorf("scale 0.5: %v", b)
	}
}

func TestApplyTransformTransparentIsWhite(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 16, 16)) // fully transparent
	out, err := ApplyTransform(src, TransformParams{CropW: 1, CropH: 1, Scale: 1, Brightness: 1, Contrast: 1, Quality: 90})
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b := meanRGB(out, out.Bounds()); r < 250 || g < 250 || b < 250 {
		t.Errorf("transparent became %v,%v,%v, want white", r, g, b)
	}
	if _, err := ApplyTransform(image.NewRGBA(image.Rect(0, 0, 0, 5)), TransformParams{}); err == nil {
		t.Error("empty image: no error")
	}
	// 1×1 survives any parameters.
	one := testImage(1, 1)
	for seed := int64(0); seed < 10; seed++ {
		if _, err := Transform(one, rand.New(rand.NewSource(seed))); err != nil {
			t.Fatal(err)
		}
	}
}

func writeJPEG(t *testing.T, file string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
}

// colourImage is a picture dominated by one hue, with some structure.
func colourImage(i int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 60+i, 50))
	base := [][3]uint8{{220, 30, 30}, {30, 200, 30}, {30, 30, 220}, {220, 220, 30}, {30, 220, 220}, {220, 30, 220}}[i%6]
	for y := 0; y < 50; y++ {
		for x := 0; x < 60+i; x++ {
			c := base
			if (x/10+y/10)%2 == 0 {
				c = [3]uint8{c[0] / 2, c[1] / 2, c[2] / 2}
			}
			img.Set(x, y, color.RGBA{c[0], c[1], c[2], 255})
		}
	}
	return img
}

// meanColour is a trivial embedder for the harness tests: a normalised
// coarse colour histogram.
type meanColour struct{}

func (meanColour) Model() string { return "test-colour" }
func (meanColour) Dim() int      { return 27 }
func (meanColour) EmbedImage(_ context.Context, img image.Image) ([]float32, error) {
	v := make([]float32, 27)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			v[int(r>>8)*3/256*9+int(g>>8)*3/256*3+int(bb>>8)*3/256]++
		}
	}
	return unit(v...), nil
}

func TestDiscoverAndRun(t *testing.T) {
	dir := t.TempDir()
	labels := []string{"red", "green", "blue", "yellow", "cyan", "magenta"}
	for i := 0; i < 6; i++ {
		split := "dev"
		if i >= 2 {
			split = "bench"
		}
		writeJPEG(t, filepath.Join(dir, split, labels[i], "p.jpg"), colourImage(i))
	}
	os.WriteFile(filepath.Join(dir, "NEAR_DUPLICATES.tsv"),
		[]byte("path_a\tlabel_a\tpath_b\tlabel_b\tkind\nbench/blue/p.jpg\tblue\tbench/cyan/p.jpg\tcyan\tx\nother/x.jpg\tx\tother/y.jpg\ty\tx\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a photo"), 0o644)

	photos, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(photos) != 6 || photos[0].Path != "bench/blue/p.jpg" || photos[0].Split != "bench" || photos[0].Label != "blue" {
		t.Fatalf("discover: %+v", photos)
	}
	pairs, err := ReadNearDuplicates(filepath.Join(dir, "NEAR_DUPLICATES.tsv"))
	if err != nil || len(pairs) != 2 || pairs[0] != [2]string{"bench/blue/p.jpg", "bench/cyan/p.jpg"} {
		t.Fatalf("near-duplicates %v %v", pairs, err)
	}

	calls := 0
	rep, err := Run(context.Background(), meanColour{}, Options{Dir: dir, QuerySplit: "bench", Seed: 3, Workers: 2,
		Progress: func(done, total int) {
			calls++
			if total != 6 || done != calls {
				t.Errorf("progress %d/%d at call %d", done, total, calls)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Catalogue != 6 || rep.Queries != 4 || calls != 6 {
		t.Errorf("report %+v, progress calls %d", rep, calls)
	}
	if rep.RecallAt1 < 0.75 || rep.RecallAt10 != 1 {
		t.Errorf("recall %v %v", rep.RecallAt1, rep.RecallAt10)
	}
	if rep.Model != "test-colour" || rep.EmbedMsPerImage <= 0 || rep.Elapsed <= 0 {
		t.Errorf("report %+v", rep)
	}
	// Same seed, same result; limit keeps that many queries.
	rep2, _ := Run(context.Background(), meanColour{}, Options{Dir: dir, QuerySplit: "bench", Seed: 3, Workers: 1})
	if rep2.RecallAt1 != rep.RecallAt1 || rep2.SameKindPrecisionAt10 != rep.SameKindPrecisionAt10 {
		t.Errorf("not deterministic: %+v vs %+v", rep, rep2)
	}
	rep3, err := Run(context.Background(), meanColour{}, Options{Dir: dir, Limit: 3, Seed: 1})
	if err != nil || rep3.Queries != 3 || rep3.Split != "all" {
		t.Errorf("limit: %+v %v", rep3, err)
	}
	// Through HNSW (exact on a catalogue this small): the same figures.
	rep4, err := Run(context.Background(), meanColour{}, Options{Dir: dir, QuerySplit: "bench", Seed: 3, Workers: 1, Index: "hnsw"})
	if err != nil || rep4.Index != "hnsw" || rep.Index != "flat" || rep4.RecallAt1 != rep.RecallAt1 || rep4.SameKindPrecisionAt10 != rep.SameKindPrecisionAt10 {
		t.Errorf("hnsw: %+v %v, flat %+v", rep4, err, rep)
	}
	if _, err := Run(context.Background(), meanColour{}, Options{Dir: dir, Index: "annoy"}); err == nil {
		t.Error("unknown index: no error")
	}
	if _, err := Run(context.Background(), meanColour{}, Options{Dir: dir, QuerySplit: "nope"}); err == nil {
		t.Error("unknown split: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, meanColour{}, Options{Dir: dir}); err == nil {
		t.Error("cancelled context: no error")
	}
}

func TestDiscoverFlat(t *testing.T) {
	dir := t.TempDir()
	writeJPEG(t, filepath.Join(dir, "roses", "a.jpg"), colourImage(0))
	writeJPEG(t, filepath.Join(dir, "tulips", "b.JPG"), colourImage(1))
	photos, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(photos) != 2 || photos[0].Label != "roses" || photos[0].Split != "" || photos[1].Path != "tulips/b.JPG" {
		t.Fatalf("%+v", photos)
	}
	rep, err := Run(context.Background(), meanColour{}, Options{Dir: dir, Workers: 1})
	if err != nil || rep.Queries != 2 || rep.Catalogue != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
	if _, err := Discover(t.TempDir()); err == nil {
		t.Error("empty dir: no error")
	}
}
