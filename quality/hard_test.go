package quality

import (
	"context"
	"image"
	"image/color"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestRandomHardParamsRanges(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	bg := 0
	const n = 2000
	for i := 0; i < n; i++ {
		p := RandomHardParams(rng)
		in := func(v, lo, hi float64) bool { return v >= lo && v <= hi }
		// White balance: red against blue within ±12 %, exposure ±10 %.
		wb := p.GainR / p.GainB
		if !in(p.Angle, -12, 12) || !in(wb, 0.88/1.12, 1.12/0.88) || !in(p.GainG, 0.9*0.96, 1.1*1.04) ||
			!in(p.Blur, 0.4, 1.2) || !in(p.Fill, 0.55, 0.85) || !in(p.Scale, 0.6, 1.4) || p.Quality < 45 || p.Quality > 85 {
			t.Fatalf("out of range: %+v", p)
		}
		if p.Background {
			bg++
		}
	}
	if bg < n/2-150 || bg > n/2+150 {
		t.Errorf("on a background %d of %d", bg, n)
	}
	if a, b := RandomHardParams(rand.New(rand.NewSource(7))), RandomHardParams(rand.New(rand.NewSource(7))); a != b {
		t.Errorf("not deterministic: %+v %+v", a, b)
	}
}

func uniform(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	return img
}

func TestApplyHard(t *testing.T) {
	red := uniform(100, 80, color.RGBA{200, 40, 40, 255})
	blue := uniform(50, 50, color.RGBA{30, 30, 220, 255})
	neutral := HardParams{GainR: 1, GainG: 1, GainB: 1, Scale: 1, Quality: 95}

	// Rotated, no background: cropped inside the rotated photo, so no
	// corner shows white.
	p := neutral
	p.Angle = 12
	img, box, err := ApplyHard(red, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if box != [4]float64{0, 0, 1, 1} || img.Bounds().Dx() >= 100 || img.Bounds().Dx() < 70 {
		t.Errorf("rotated: %v, box %v", img.Bounds(), box)
	}
	if r, g, b := meanRGB(img, image.Rect(0, 0, 4, 4)); r < 180 || g > 70 || b > 70 {
		t.Errorf("rotated corner is (%v, %v, %v), want the photo", r, g, b)
	}

	// On a background, spanning 80 % of the frame's sides, flush top left.
	p = neutral
	p.Background, p.Fill, p.PosX, p.PosY = true, 0.8, 0, 0
	img, box, err = ApplyHard(red, blue, p)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 125 || b.Dy() != 100 {
		t.Errorf("frame %v, want 125×100", b)
	}
	if math.Abs(box[2]-0.8) > 0.01 || math.Abs(box[3]-0.8) > 0.01 || box[0] != 0 || box[1] != 0 {
		t.Errorf("box %v", box)
	}
	if r, _, b := meanRGB(img, image.Rect(5, 5, 90, 70)); r < 180 || b > 70 {
		t.Errorf("photo area (%v, _, %v)", r, b)
	}
	if r, _, b := meanRGB(img, image.Rect(110, 85, 125, 100)); b < 180 || r > 70 {
		t.Errorf("background area (%v, _, %v)", r, b)
	}
	// Mirrored: the photo is at the top right.
	p.Mirror = true
	img, box, _ = ApplyHard(red, blue, p)
	if r, _, _ := meanRGB(img, image.Rect(40, 5, 120, 70)); r < 180 || math.Abs(box[0]-0.2) > 0.01 {
		t.Errorf("mirrored: red %v, box %v", r, box)
	}

	// White balance: gains multiply the channels.
	p = neutral
	p.GainR, p.GainB = 1.1, 0.5
	img, _, _ = ApplyHard(uniform(40, 40, color.RGBA{100, 100, 100, 255}), nil, p)
	if r, g, b := meanRGB(img, img.Bounds()); math.Abs(r-110) > 3 || math.Abs(g-100) > 3 || math.Abs(b-50) > 3 {
		t.Errorf("gains: (%v, %v, %v)", r, g, b)
	}
	if _, _, err := ApplyHard(red, nil, HardParams{Background: true}); err == nil {
		t.Error("background without an image: no error")
	}

	// Deterministic by the random source.
	a, _, _ := ApplyHard(testImage(90, 70), blue, RandomHardParams(rand.New(rand.NewSource(3))))
	b, _, _ := ApplyHard(testImage(90, 70), blue, RandomHardParams(rand.New(rand.NewSource(3))))
	if !reflect.DeepEqual(a, b) {
		t.Error("not deterministic")
	}
}

func TestRunHard(t *testing.T) {
	dir := t.TempDir()
	labels := []string{"red", "green", "blue", "yellow", "cyan", "magenta"}
	for i, l := range labels {
		writeJPEG(t, filepath.Join(dir, "dev", l, "p.jpg"), colourImage(i))
	}
	os.WriteFile(filepath.Join(dir, "NEAR_DUPLICATES.tsv"), []byte("path_a\tpath_b\n"), 0o644)
	opt := Options{Dir: dir, QuerySplit: "dev", Seed: 5, Workers: 2, Hard: true, TimeSingle: true}
	rep, err := Run(context.Background(), meanColour{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Protocol != "hard" || rep.Queries != 6 || rep.OnBackground == 0 || rep.OnBackground == 6 || rep.Regions < 2 ||
		rep.SearchP50Ms <= 0 || rep.SearchP90Ms < rep.SearchP50Ms || rep.SingleP50Ms <= 0 || rep.SearchCPUMs <= 0 || rep.RecallAt10 < 0.5 {
		t.Errorf("report %+v", rep)
	}
	again, _ := Run(context.Background(), meanColour{}, opt)
	if again.RecallAt1 != rep.RecallAt1 || again.SameKindPrecisionAt10 != rep.SameKindPrecisionAt10 || again.OnBackground != rep.OnBackground {
		t.Errorf("not deterministic: %+v vs %+v", rep, again)
	}
	plain, _ := Run(context.Background(), meanColour{}, Options{Dir: dir, QuerySplit: "dev", Seed: 5})
	if plain.Protocol != "plain" || plain.OnBackground != 0 {
		t.Errorf("plain %+v", plain)
	}
}
