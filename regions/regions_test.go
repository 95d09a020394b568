package regions

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/localfeat"
	"github.com/lookalike/lookalike/vectorindex"
)

func TestParseBox(t *testing.T) {
	good := map[string]Box{
		"0,0,1,1":             Whole,
		" 0.1, 0.2 ,0.5,0.4 ": {0.1, 0.2, 0.5, 0.4},
		"0.5,0.5,0.5,0.5":     {0.5, 0.5, 0.5, 0.5},
	}
	for in, want := range good {
		b, err := ParseBox(in)
		if err != nil || b != want {
			t.Errorf("ParseBox(%q) = %v, %v; want %v", in, b, err, want)
		}
	}
	bad := map[string]string{
		"":                "four numbers",
		"0,0,1":           "four numbers",
		"0,0,1,1,1":       "four numbers",
		"a,0,1,1":         "not a number",
		"-0.1,0,0.5,0.5":  "between 0 and 1",
		"0,1.5,0.5,0.5":   "between 0 and 1",
		"0,0,0,0.5":       "at least",
		"0,0,0.01,0.5":    "at least",
		"0.6,0,0.5,0.5":   "inside the photo",
		"0,0.7,0.5,0.4":   "inside the photo",
		"NaN,0,0.5,0.5":   "finite",
		"0,0,Inf,0.5":     "finite",
		"0,0,0.5,1e309":   "not a number",
		"0x1p-2,0,0.5,.5": "", // hex floats are numbers too: accepted
	}
	for in, msg := range bad {
		_, err := ParseBox(in)
		if msg == "" {
			if err != nil {
				t.Errorf("ParseBox(%q): %v", in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseBox(%q) error %v, want one saying %q", in, err, msg)
		}
	}
	if b, _ := ParseBox("0.1,0.2,0.5,0.4"); b.String() != "0.1,0.2,0.5,0.4" {
		t.Errorf("String: %s", b)
	}
}

func TestBoxRectAndCrop(t *testing.T) {
	r := image.Rect(10, 20, 110, 70) // 100×50 at an offset
	if got := (Box{0.5, 0, 0.5, 1}).Rect(r); got != image.Rect(60, 20, 110, 70) {
		t.Errorf("right half: %v", got)
	}
	if got := (Box{0.999, 0.999, 0.001, 0.001}).Rect(r); got.Dx() < 1 || got.Dy() < 1 || !got.In(r) {
		t.Errorf("tiny box: %v", got)
	}
	img := image.NewRGBA(r)
	if Crop(img, Whole) != image.Image(img) {
		t.Error("the whole frame is not the image itself")
	}
	c := Crop(img, Box{0, 0, 0.5, 0.5})
	if c.Bounds() != image.Rect(10, 20, 60, 45) {
		t.Errorf("crop bounds %v", c.Bounds())
	}
	// An image type without SubImage gets a view with the crop's bounds.
	type plain struct{ image.Image }
	if c := Crop(plain{img}, Box{0.5, 0.5, 0.5, 0.5}); c.Bounds() != image.Rect(60, 45, 110, 70) {
		t.Errorf("generic crop bounds %v", c.Bounds())
	}
}

func key(id string) vectorindex.Key {
	return vectorindex.Key{ShopID: 1, ProductID: catalog.ProductID(id)}
}

func hit(id string, s float32) vectorindex.Hit { return vectorindex.Hit{Key: key(id), Score: s} }

func TestFuse(t *testing.T) {
	whole := []vectorindex.Hit{hit("a", 0.90), hit("b", 0.80), hit("c", 0.70)}
	window := []vectorindex.Hit{hit("c", 0.93), hit("d", 0.85), hit("a", 0.60)}
	regs := []Region{{Box: Whole}, {Box: Box{0, 0, 0.5, 0.5}}}
	got := Fuse([][]vectorindex.Hit{whole, window}, Config{Regions: regs}, 10)
	want := []string{"c", "a", "d", "b"} // each product once, at its best score
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, id := range want {
		if got[i].Key != key(id) {
			t.Fatalf("rank %d: %v, want %s (%v)", i, got[i].Key, id, got)
		}
	}
	if got[0].Score != 0.93 || got[1].Score != 0.90 {
		t.Errorf("scores %v", got)
	}
	// A product's photo is the one that matched in its best region.
	photoOf := func(h vectorindex.Hit, photo string) vectorindex.Hit { h.Photo = photo; return h }
	got = Fuse([][]vectorindex.Hit{{photoOf(hit("a", 0.9), "front")}, {photoOf(hit("a", 0.95), "side")}}, Config{Regions: regs[:2]}, 10)
	if len(got) != 1 || got[0].Photo != "side" {
		t.Errorf("fused photo: %v", got)
	}
	// A penalty makes a window beat the whole frame only by a margin.
	regs[1].Penalty = 0.05
	got = Fuse([][]vectorindex.Hit{whole, window}, Config{Regions: regs}, 2)
	if len(got) != 2 || got[0].Key != key("a") || got[1].Key != key("c") || got[1].Score != 0.88 {
		t.Errorf("with penalty: %v", got)
	}
	// Equal scores: the lower key first, as vectorindex orders them.
	tie := Fuse([][]vectorindex.Hit{{hit("z", 0.5)}, {hit("y", 0.5)}}, Config{Regions: []Region{{}, {}}}, 5)
	if tie[0].Key != key("y") {
		t.Errorf("tie order %v", tie)
	}
	// One list passes through, cut to k.
	if one := Fuse([][]vectorindex.Hit{whole}, Config{Regions: regs[:1]}, 2); len(one) != 2 || one[0].Key != key("a") {
		t.Errorf("single list %v", one)
	}
}

func TestFuseTrustsWhole(t *testing.T) {
	regs := []Region{{Box: Whole}, {Box: Box{0, 0, 0.75, 0.75}}, {Box: Box{0.25, 0.25, 0.75, 0.75}}}
	cfg := Config{Regions: regs, TrustMargin: 0.003, TrustedPenalty: 0.004}
	// A re-photograph: the whole frame's best (a, 0.990) is within the
	// margin of the best window's (b, 0.992), so the windows take the
	// penalty and a comes first; b's window score 0.992 - 0.004 follows.
	whole := []vectorindex.Hit{hit("a", 0.990), hit("c", 0.980)}
	win1 := []vectorindex.Hit{hit("b", 0.992), hit("a", 0.985)}
	win2 := []vectorindex.Hit{hit("d", 0.970)}
	got := Fuse([][]vectorindex.Hit{whole, win1, win2}, cfg, 10)
	want := []string{"a", "b", "c", "d"}
	for i, id := range want {
		if i >= len(got) || got[i].Key != key(id) {
			t.Fatalf("trusted: got %v, want %v", got, want)
		}
	}
	if math.Abs(float64(got[1].Score-0.988)) > 1e-6 || got[0].Score != 0.990 {
		t.Errorf("trusted scores %v", got)
	}
	// An object on a background: the window's best (b, 0.995) is more
	// than the margin above the whole frame's (a, 0.990): plain max.
	win1[0].Score = 0.995
	got = Fuse([][]vectorindex.Hit{whole, win1, win2}, cfg, 10)
	if got[0].Key != key("b") || got[0].Score != 0.995 {
		t.Errorf("not trusted: %v", got)
	}
	// Without a margin the fusion is the plain max.
	cfg.TrustMargin = 0
	win1[0].Score = 0.992
	if got = Fuse([][]vectorindex.Hit{whole, win1, win2}, cfg, 10); got[0].Key != key("b") {
		t.Errorf("no margin: %v", got)
	}
	// The first region must be the whole frame for it to be trusted.
	cfg.TrustMargin = 0.003
	cfg.Regions = []Region{{Box: Box{0, 0, 0.9, 0.9}}, regs[1], regs[2]}
	if got = Fuse([][]vectorindex.Hit{whole, win1, win2}, cfg, 10); got[0].Key != key("b") {
		t.Errorf("first region not whole: %v", got)
	}
}

// recorder embeds an image as its mean colour and records the bounds it
// was asked to embed.
type recorder struct {
	mu      sync.Mutex
	bounds  []image.Rectangle
	batches bool
	active  atomic.Int32
	peak    atomic.Int32
}

func (r *recorder) Model() string { return "test" }
func (r *recorder) Dim() int      { return 3 }
func (r *recorder) BatchesConcurrentCalls() bool {
	return r.batches
}
func (r *recorder) EmbedImage(_ context.Context, img image.Image) ([]float32, error) {
	n := r.active.Add(1)
	defer r.active.Add(-1)
	for {
		p := r.peak.Load()
		if n <= p || r.peak.CompareAndSwap(p, n) {
			break
		}
	}
	r.mu.Lock()
	r.bounds = append(r.bounds, img.Bounds())
	r.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // lets concurrent calls overlap
	var s [3]float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			s[0] += float64(c.R)
			s[1] += float64(c.G)
			s[2] += float64(c.B)
		}
	}
	v := []float32{float32(s[0]), float32(s[1]), float32(s[2])}
	norm := float32(0)
	for _, x := range v {
		norm += x * x
	}
	if norm == 0 {
		return []float32{1, 0, 0}, nil
	}
	for i := range v {
		v[i] /= sqrt32(norm)
	}
	return v, nil
}

func sqrt32(x float32) float32 {
	z := x
	for i := 0; i < 30; i++ {
		z = (z + x/z) / 2
	}
	return z
}

func TestSearchRegionsAndCrop(t *testing.T) {
	// Left half red, right half blue.
	img := image.NewRGBA(image.Rect(0, 0, 100, 80))
	draw.Draw(img, image.Rect(0, 0, 50, 80), image.NewUniform(color.RGBA{255, 0, 0, 255}), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(50, 0, 100, 80), image.NewUniform(color.RGBA{0, 0, 255, 255}), image.Point{}, draw.Src)
	idx := vectorindex.NewFlat(3)
	idx.Upsert(key("red"), "", []float32{1, 0, 0}, vectorindex.Meta{Available: true})
	idx.Upsert(key("blue"), "", []float32{0, 0, 1}, vectorindex.Meta{Available: true})
	idx.Upsert(key("green"), "", []float32{0, 1, 0}, vectorindex.Meta{Available: false})
	yes := true
	filter := vectorindex.Filter{Available: &yes}
	ctx := context.Background()

	e := &recorder{}
	cfg := DefaultConfig()
	hits, err := Search(ctx, e, idx, cfg, Query{Image: img, K: 5, Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.bounds) != len(cfg.Regions) {
		t.Errorf("embedded %d regions, want %d", len(e.bounds), len(cfg.Regions))
	}
	if len(hits) != 2 {
		t.Fatalf("hits %v (the filter drops green)", hits)
	}
	// A window that is mostly one half matches that colour better than the
	// whole frame does.
	for _, h := range hits {
		if h.Score < 0.85 { // the whole frame alone: 0.71
			t.Errorf("%v: fused score %v, want a window's (> 0.85)", h.Key, h.Score)
		}
	}
	if p := e.peak.Load(); p > 2 && p > int32(len(cfg.Regions)) {
		t.Errorf("peak concurrency %d", p)
	}

	// The shopper's crop: only that region is embedded and searched.
	for _, c := range []struct {
		box  Box
		want string
	}{{Box{0, 0, 0.5, 1}, "red"}, {Box{0.5, 0, 0.5, 1}, "blue"}} {
		e := &recorder{}
		box := c.box
		hits, err := Search(ctx, e, idx, cfg, Query{Image: img, Crop: &box, K: 5, Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.bounds) != 1 || e.bounds[0] != box.Rect(img.Bounds()) {
			t.Errorf("crop %v embedded %v", box, e.bounds)
		}
		if hits[0].Key != key(c.want) || hits[0].Score < 0.999 {
			t.Errorf("crop %v: %v, want %s first", box, hits, c.want)
		}
	}
	bad := Box{0.8, 0, 0.5, 1}
	if _, err := Search(ctx, e, idx, cfg, Query{Image: img, Crop: &bad, K: 5}); err == nil || !strings.Contains(err.Error(), "inside the photo") {
		t.Errorf("bad crop: %v", err)
	}
	if _, err := Search(ctx, e, idx, cfg, Query{Image: image.NewRGBA(image.Rect(0, 0, 0, 0)), K: 5}); err == nil {
		t.Error("empty image: no error")
	}
	if h, err := Search(ctx, e, idx, cfg, Query{Image: img, K: 0}); err != nil || h != nil {
		t.Errorf("k=0: %v %v", h, err)
	}

	// An embedder that batches gets every region at once.
	b := &recorder{batches: true}
	if _, err := Search(ctx, b, idx, cfg, Query{Image: img, K: 5}); err != nil {
		t.Fatal(err)
	}
	if p := b.peak.Load(); p < 2 {
		t.Errorf("batching embedder: peak concurrency %d, want the regions at once", p)
	}

	// An embedder that embeds regions together gets every region's pixel
	// rectangle in one call.
	m := &multi{}
	if hits, err := Search(ctx, m, idx, cfg, Query{Image: img, K: 5, Filter: filter}); err != nil || len(hits) != 2 || hits[0].Score < 0.85 {
		t.Fatalf("through EmbedRegions: %v %v", hits, err)
	}
	if len(m.calls) != 1 || len(m.calls[0]) != len(cfg.Regions) || m.calls[0][0] != img.Bounds() || m.calls[0][5] != cfg.Regions[5].Box.Rect(img.Bounds()) {
		t.Errorf("EmbedRegions calls %v", m.calls)
	}
	if len(m.bounds) != 0 {
		t.Errorf("EmbedImage called %d times besides", len(m.bounds))
	}
}

// multi is a recorder that also embeds regions together.
type multi struct {
	recorder
	calls [][]image.Rectangle
}

func (m *multi) EmbedRegions(ctx context.Context, img image.Image, rects []image.Rectangle) ([][]float32, error) {
	m.calls = append(m.calls, rects)
	out := make([][]float32, len(rects))
	var each recorder
	for i, r := range rects {
		out[i], _ = each.EmbedImage(ctx, embed.SubImage(img, r))
	}
	return out, nil
}

func photo(tb testing.TB, name string) image.Image {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "photos", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// A bouquet photo standing on another photo, filling about 65 % of the
// frame, is found by the built-in descriptor through the windows.
func TestSearchFindsPhotoOnBackground(t *testing.T) {
	e := builtin.New()
	ctx := context.Background()
	names := []string{"daisy_100080576_f52e8ee070_n.jpg", "dandelion_10443973_aeb97513fc_m.jpg",
		"roses_102501987_3cdb8e5394_n.jpg", "sunflowers_147804446_ef9244c8ce_m.jpg", "tulips_100930342_92e8746431_n.jpg"}
	idx := vectorindex.NewFlat(e.Dim())
	imgs := map[string]image.Image{}
	for _, n := range names {
		img := photo(t, n)
		imgs[n] = img
		v, _ := e.EmbedImage(ctx, img)
		idx.Upsert(key(n), "", v, vectorindex.Meta{})
	}
	obj, bg := imgs[names[2]], imgs[names[0]]
	ob := obj.Bounds()
	fw, fh := ob.Dx()*5/4, ob.Dy()*5/4 // the photo covers 64 % of the frame
	frame := image.NewRGBA(image.Rect(0, 0, fw, fh))
	draw.Draw(frame, frame.Rect, bg, bg.Bounds().Min, draw.Src)
	draw.Draw(frame, ob.Sub(ob.Min).Add(image.Pt(fw-ob.Dx(), 0)), obj, ob.Min, draw.Src) // top right
	hits, err := Search(ctx, e, idx, DefaultConfig(), Query{Image: frame, K: 5})
	if err != nil {
		t.Fatal(err)
	}
	if hits[0].Key != key(names[2]) {
		t.Errorf("first hit %v, want the roses", hits)
	}
	// The whole frame alone sees the roses through the daisies: the window
	// that frames them matches much better.
	whole, _ := Search(ctx, e, idx, Config{Regions: []Region{{Box: Whole}}}, Query{Image: frame, K: 5})
	for _, h := range whole {
		if h.Key == key(names[2]) {
			t.Logf("roses: whole frame %.4f, regions %.4f", h.Score, hits[0].Score)
			if hits[0].Score < 0.99 || hits[0].Score < h.Score+0.015 {
				t.Errorf("roses: the regions' score %.4f is not well above the whole frame's %.4f", hits[0].Score, h.Score)
			}
		}
	}
}

// BenchmarkSearch is one search of a photo with the built-in descriptor
// among 1,500 products.
func BenchmarkSearch(b *testing.B) {
	e := builtin.New()
	ctx := context.Background()
	idx := vectorindex.NewFlat(e.Dim())
	rng := rand.New(rand.NewSource(1))
	img := photo(b, "roses_102501987_3cdb8e5394_n.jpg")
	base, _ := e.EmbedImage(ctx, img)
	for i := 0; i < 1500; i++ {
		v := make([]float32, len(base))
		var n float32
		for j := range v {
			v[j] = base[j] * (0.5 + rng.Float32())
			n += v[j] * v[j]
		}
		for j := range v {
			v[j] /= sqrt32(n)
		}
		idx.Upsert(key(fmt.Sprint(i)), "", v, vectorindex.Meta{Available: true})
	}
	cfg := DefaultConfig()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Search(ctx, e, idx, cfg, Query{Image: img, K: 18}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPrescaleYCbCr: a decoded JPEG (4:2:0, a sub-image at odd bounds) is
// averaged in its own samples: an output pixel's colour is the mean RGB of
// the block it covers but where the conversion to RGB clips a channel of
// some of the block's pixels.
func TestPrescaleYCbCr(t *testing.T) {
	var buf bytes.Buffer // Go's encoder subsamples the chroma 4:2:0
	if err := jpeg.Encode(&buf, photo(t, "daisy_100080576_f52e8ee070_n.jpg"), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	full, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	ycc, ok := full.(*image.YCbCr)
	if !ok || ycc.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		t.Fatalf("want a 4:2:0 photo, got %T", full)
	}
	img := ycc.SubImage(image.Rect(3, 5, ycc.Rect.Dx()-2, ycc.Rect.Dy()-1)).(*image.YCbCr)
	b := img.Bounds()
	const k = 4
	side := min(b.Dx(), b.Dy()) / k
	small, ok := Prescale(img, side).(*image.YCbCr)
	if !ok {
		t.Fatalf("prescaled to %T", small)
	}
	if want := image.Rect(0, 0, (b.Dx()+k-1)/k, (b.Dy()+k-1)/k); small.Bounds() != want {
		t.Fatalf("prescaled to %v, want %v", small.Bounds(), want)
	}
	worst, total, count := 0, 0, 0
	for oy := 0; oy < small.Rect.Dy(); oy++ {
		for ox := 0; ox < small.Rect.Dx(); ox++ {
			var sum [3]int
			n := 0
			for y := b.Min.Y + oy*k; y < min(b.Max.Y, b.Min.Y+oy*k+k); y++ {
				for x := b.Min.X + ox*k; x < min(b.Max.X, b.Min.X+ox*k+k); x++ {
					c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
					sum[0], sum[1], sum[2] = sum[0]+int(c.R), sum[1]+int(c.G), sum[2]+int(c.B)
					n++
				}
			}
			got := color.RGBAModel.Convert(small.At(ox, oy)).(color.RGBA)
			for c, v := range []uint8{got.R, got.G, got.B} {
				d := int(v) - sum[c]/n
				worst, total, count = max(worst, d, -d), total+max(d, -d), count+1
			}
		}
	}
	if mean := float64(total) / float64(count); mean > 0.75 || worst > 16 {
		t.Errorf("prescaled pixels are %.2f levels off their block's mean colour on average, at worst %d", mean, worst)
	}
}

func TestPrescale(t *testing.T) {
	big := image.NewRGBA(image.Rect(5, 5, 1005, 805))
	draw.Draw(big, big.Rect, image.NewUniform(color.RGBA{10, 200, 30, 255}), image.Point{}, draw.Src)
	small := Prescale(big, 100)
	if b := small.Bounds(); b != image.Rect(0, 0, 125, 100) {
		t.Errorf("prescaled to %v, want 125×100", b)
	}
	if c := color.RGBAModel.Convert(small.At(60, 50)).(color.RGBA); c.G < 195 || c.R > 15 {
		t.Errorf("colour %v", c)
	}
	// A whole factor: 1000×800 by 7 is 143×115, the last blocks narrower
	// (1000 = 142×7 + 6), each the mean of its pixels.
	grad := image.NewRGBA(image.Rect(0, 0, 1000, 800))
	for y := 0; y < 800; y++ {
		for x := 0; x < 1000; x++ {
			grad.SetRGBA(x, y, color.RGBA{uint8(x % 256), uint8(y % 256), 0, 255})
		}
	}
	small = Prescale(grad, 110)
	if b := small.Bounds(); b != image.Rect(0, 0, 143, 115) {
		t.Fatalf("prescaled to %v, want 143×115", b)
	}
	if c := small.(*image.RGBA).RGBAAt(142, 0); c.R != 229 /* (226+…+231)/6 = 228.5 */ || c.G != 3 {
		t.Errorf("last block %v", c)
	}
	for _, side := range []int{0, 400, 500} { // no side, or not more than twice it
		if got := Prescale(big, side); got != image.Image(big) {
			t.Errorf("side %d: reduced to %v", side, got.Bounds())
		}
	}
}

// photoFeatures gives the re-ranking the local features of test photos,
// by Hit.Photo.
type photoFeatures map[string]*localfeat.Features

func (m photoFeatures) Features(_ context.Context, h vectorindex.Hit) (*localfeat.Features, error) {
	return m[h.Photo], nil
}

// The search's re-ranking puts the photo a query re-photographs first when
// the descriptor ranked it lower, and leaves the hits alone when the
// config has no re-ranking.
func TestEmbeddedRerank(t *testing.T) {
	e := builtin.New()
	ctx := context.Background()
	names := []string{"daisy_100080576_f52e8ee070_n.jpg", "dandelion_10443973_aeb97513fc_m.jpg",
		"roses_102501987_3cdb8e5394_n.jpg", "sunflowers_147804446_ef9244c8ce_m.jpg", "tulips_100930342_92e8746431_n.jpg"}
	feats := photoFeatures{}
	for _, n := range names {
		feats[n] = localfeat.Extract(photo(t, n), false)
	}
	// The roses, cropped and mirrored.
	src := photo(t, names[2])
	b := src.Bounds()
	q := image.NewRGBA(image.Rect(0, 0, b.Dx()*8/10, b.Dy()*8/10))
	for y := 0; y < q.Rect.Dy(); y++ {
		for x := 0; x < q.Rect.Dx(); x++ {
			q.Set(q.Rect.Dx()-1-x, y, src.At(b.Min.X+b.Dx()/10+x, b.Min.Y+b.Dy()/10+y))
		}
	}
	hits := func() []vectorindex.Hit {
		var out []vectorindex.Hit
		for i, n := range []string{names[0], names[1], names[2], names[3]} {
			out = append(out, vectorindex.Hit{Key: vectorindex.Key{ShopID: 1, ProductID: catalog.ProductID(n)}, Photo: n, Score: 0.9 - float32(i)/100})
		}
		return out
	}
	em, err := Embed(ctx, e, ConfigFor(e), q, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := em.Rerank(ctx, hits(), feats)
	if err != nil || out[0].Photo != names[2] || out[0].Score != 0.9 || out[1].Photo != names[0] {
		t.Fatalf("re-ranked: %v %v; want the roses first", out, err)
	}
	off := ConfigFor(e)
	off.Rerank.K = 0
	if em, err = Embed(ctx, e, off, q, nil); err != nil {
		t.Fatal(err)
	}
	if out, _ := em.Rerank(ctx, hits(), feats); out[0].Photo != names[0] {
		t.Fatalf("without re-ranking: %v", out)
	}
	// A crop's features are the crop's: a box around the roses' left half
	// (the mirrored photo's right) still finds them.
	box := Box{0, 0, 0.6, 1}
	if em, err = Embed(ctx, e, ConfigFor(e), q, &box); err != nil {
		t.Fatal(err)
	}
	if out, _ := em.Rerank(ctx, hits(), feats); out[0].Photo != names[2] {
		t.Fatalf("crop re-ranked: %v", out)
	}
}
