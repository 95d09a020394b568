package localfeat_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"

	"github.com/lookalike/lookalike/localfeat"
)

// photos loads the repository's flower photos (CC-BY-2.0, see
// testdata/photos/ATTRIBUTION.txt), one per kind.
func photos(t testing.TB) map[string]image.Image {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "photos", "*.jpg"))
	if err != nil || len(files) < 5 {
		t.Fatalf("want 5 test photos, got %d (%v)", len(files), err)
	}
	out := map[string]image.Image{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = img
	}
	return out
}

// rephoto is img cropped to the window (fractions), resized by scale,
// turned by deg degrees about its centre, its light changed (gain, offset),
// optionally mirrored, and re-encoded as JPEG at quality 60.
func rephoto(t testing.TB, img image.Image, crop [4]float64, scale, deg, gain, offset float64, mirror bool) image.Image {
	b := img.Bounds()
	r := image.Rect(b.Min.X+int(crop[0]*float64(b.Dx())), b.Min.Y+int(crop[1]*float64(b.Dy())),
		b.Min.X+int((crop[0]+crop[2])*float64(b.Dx())), b.Min.Y+int((crop[1]+crop[3])*float64(b.Dy())))
	w, h := int(float64(r.Dx())*scale), int(float64(r.Dy())*scale)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	a := deg * math.Pi / 180
	c, s := math.Cos(a)/scale, math.Sin(a)/scale
	cx, cy := float64(w)/2, float64(h)/2
	sx, sy := float64(r.Min.X)+float64(r.Dx())/2, float64(r.Min.Y)+float64(r.Dy())/2
	// dst → src: rotate by a and scale by 1/scale about the centres.
	m := f64.Aff3{c, -s, sx - c*cx + s*cy, s, c, sy - s*cx - c*cy}
	inv := f64.Aff3{}
	det := m[0]*m[4] - m[1]*m[3]
	inv[0], inv[1] = m[4]/det, -m[1]/det
	inv[3], inv[4] = -m[3]/det, m[0]/det
	inv[2] = -(inv[0]*m[2] + inv[1]*m[5])
	inv[5] = -(inv[3]*m[2] + inv[4]*m[5])
	draw.Draw(dst, dst.Rect, image.NewUniform(color.Gray{128}), image.Point{}, draw.Src)
	draw.BiLinear.Transform(dst, inv, img, b, draw.Src, nil)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := dst.PixOffset(x, y)
			for k := 0; k < 3; k++ {
				dst.Pix[i+k] = uint8(min(255, max(0, float64(dst.Pix[i+k])*gain+offset)))
			}
		}
	}
	if mirror {
		for y := 0; y < h; y++ {
			for x := 0; x < w/2; x++ {
				i, j := dst.PixOffset(x, y), dst.PixOffset(w-1-x, y)
				for k := 0; k < 4; k++ {
					dst.Pix[i+k], dst.Pix[j+k] = dst.Pix[j+k], dst.Pix[i+k]
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 60}); err != nil {
		t.Fatal(err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSamePhotoManyInliersOtherPhotoFew(t *testing.T) {
	ps := photos(t)
	cat := map[string]*localfeat.Features{}
	for name, img := range ps {
		cat[name] = localfeat.Extract(img, false)
		if n := len(cat[name].Points); n < 100 {
			t.Errorf("%s: %d keypoints, want at least 100", name, n)
		}
	}
	copies := []struct {
		name                string
		crop                [4]float64
		scale, deg, gain, o float64
		mirror              bool
	}{
		{"crop, smaller, darker", [4]float64{0.1, 0.05, 0.8, 0.85}, 0.7, 0, 0.85, 0, false},
		{"crop, larger, brighter, mirrored", [4]float64{0.15, 0.1, 0.75, 0.8}, 1.35, 0, 1.1, 15, true},
		{"turned 10°, other light", [4]float64{0.05, 0.05, 0.9, 0.9}, 1, 10, 0.9, 20, false},
		{"turned -8°, mirrored", [4]float64{0, 0, 1, 1}, 0.8, -8, 1.15, -10, true},
	}
	for name, img := range ps {
		for _, c := range copies {
			q := rephoto(t, img, c.crop, c.scale, c.deg, c.gain, c.o, c.mirror)
			qf, qm := localfeat.ExtractBoth(q)
			own := localfeat.BestInliers(qf, qm, cat[name])
			if own < 30 {
				t.Errorf("%s, %s: %d inliers with its own photo, want at least 30", name, c.name, own)
			}
			for other, f := range cat {
				if other == name {
					continue
				}
				if n := localfeat.BestInliers(qf, qm, f); n > 12 || n*3 > own {
					t.Errorf("%s, %s: %d inliers with %s (own photo %d), want at most 12 and under a third", name, c.name, n, other, own)
				}
			}
		}
	}
}

func TestMirrorNeedsTheMirroredFeatures(t *testing.T) {
	for name, img := range photos(t) {
		q := rephoto(t, img, [4]float64{0.1, 0.1, 0.8, 0.8}, 1, 0, 1, 0, true)
		qf, qm := localfeat.ExtractBoth(q)
		c := localfeat.Extract(img, false)
		plain, mirrored := localfeat.Inliers(qf, c), localfeat.Inliers(qm, c)
		if mirrored < 30 || plain*3 > mirrored {
			t.Errorf("%s mirrored: %d inliers as it is, %d mirrored back; want the mirrored many more", name, plain, mirrored)
		}
		if m := localfeat.Extract(q, true); len(m.Points) != len(qm.Points) || localfeat.Inliers(m, c) != mirrored {
			t.Errorf("%s: Extract(mirror) differs from ExtractBoth's mirrored features", name)
		}
	}
}

func TestDegenerate(t *testing.T) {
	flat := image.NewGray(image.Rect(0, 0, 50, 40))
	f := localfeat.Extract(flat, false)
	if len(f.Points) != 0 {
		t.Errorf("a flat image has %d keypoints", len(f.Points))
	}
	tiny := localfeat.Extract(image.NewRGBA(image.Rect(0, 0, 1, 3)), false)
	if localfeat.Inliers(f, tiny) != 0 || localfeat.Inliers(nil, f) != 0 {
		t.Error("featureless photos match")
	}
}

func BenchmarkExtractBoth(b *testing.B) {
	ps := photos(b)
	img := ps["roses_102501987_3cdb8e5394_n.jpg"]
	b.ReportAllocs()
	for b.Loop() {
		localfeat.ExtractBoth(img)
	}
}

func BenchmarkBestInliers(b *testing.B) {
	ps := photos(b)
	img := ps["roses_102501987_3cdb8e5394_n.jpg"]
	q := rephoto(b, img, [4]float64{0.1, 0.1, 0.8, 0.8}, 0.8, 0, 1.1, 0, true)
	qf, qm := localfeat.ExtractBoth(q)
	c := localfeat.Extract(img, false)
	b.ReportAllocs()
	for b.Loop() {
		localfeat.BestInliers(qf, qm, c)
	}
}
