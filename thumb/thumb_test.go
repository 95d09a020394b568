package thumb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/blob"
)

type mapSource map[string][]byte

func (m mapSource) Get(_ context.Context, sha string) ([]byte, error) {
	if b, ok := m[sha]; ok {
		return b, nil
	}
	return nil, fs.ErrNotExist
}

func TestThumbnails(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 1000, 500))
	for y := 0; y < 500; y++ {
		for x := 0; x < 1000; x++ {
			src.Set(x, y, color.NRGBA{uint8(x / 4), 100, 50, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, src)
	sha := "ab" + string(bytes.Repeat([]byte("0"), 62))
	c := New(mapSource{sha: b.Bytes()}, t.TempDir(), nil)
	for _, tc := range []struct{ ask, want int }{{100, 160}, {320, 320}, {0, 320}, {5000, 640}} {
		out, err := c.Get(context.Background(), sha, tc.ask)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != tc.want || img.Bounds().Dy() != tc.want/2 {
			t.Fatalf("width %d: got %v", tc.ask, img.Bounds())
		}
		again, _ := c.Get(context.Background(), sha, tc.ask)
		if !bytes.Equal(again, out) {
			t.Fatal("cached thumbnail differs")
		}
	}
	if _, err := c.Get(context.Background(), "cd"+sha[2:], 160); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown image: %v", err)
	}
	if _, err := c.Get(context.Background(), "../../../../../../../../../../../../../../../../../../../../../etc/pass", 160); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bad hash: %v", err)
	}
}

func TestFit(t *testing.T) {
	for _, tc := range []struct{ w, h, box, tw, th int }{
		{1000, 500, 320, 320, 160},    // landscape: width bounds it
		{600, 800, 320, 320, 427},     // portrait photo: width still bounds it
		{20, 20000, 320, 1, 640},      // a tall strip: the height does
		{1, 1000000, 160, 1, 320},     // thinner than a pixel once fitted: one pixel wide
		{1000000, 1, 160, 160, 1},     // and one pixel high
		{100, 50, 320, 100, 50},       // never enlarged
		{640, 1280, 640, 640, 1280},   // exactly the box
		{7000, 7000, 640, 640, 640},   // square
		{3000, 9000, 320, 213, 640},   // taller than 1:2
		{65535, 65535, 160, 160, 160}, // no overflow
	} {
		tw, th := Fit(tc.w, tc.h, tc.box)
		if tw != tc.tw || th != tc.th {
			t.Errorf("Fit(%d, %d, %d) = %d×%d, want %d×%d", tc.w, tc.h, tc.box, tw, th, tc.tw, tc.th)
		}
	}
}

// TestExtremeAspectRatios makes thumbnails of strips: each is a real JPEG
// inside the box (a 1×1,000,000 PNG used to fail, being too tall to
// encode; a 20×20,000 one came back 20,000 pixels high).
func TestExtremeAspectRatios(t *testing.T) {
	for _, size := range []image.Point{{1, 1000000}, {20, 20000}, {1000000, 1}, {30000, 2}} {
		img := image.NewGray(image.Rect(0, 0, size.X, size.Y))
		for i := range img.Pix {
			img.Pix[i] = uint8(i)
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		sha := fmt.Sprintf("%064x", size.X*7+size.Y)
		c := New(mapSource{sha: b.Bytes()}, t.TempDir(), nil)
		widths := Widths
		if size.X*size.Y > 400000 {
			widths = Widths[:1] // the long ones are slow to resample under -race
		}
		for _, w := range widths {
			out, err := c.Get(context.Background(), sha, w)
			if err != nil {
				t.Fatalf("%v at %d: %v", size, w, err)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("%v at %d: not a JPEG: %v", size, w, err)
			}
			if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > w || cfg.Height > MaxAspect*w {
				t.Errorf("%v at %d: thumbnail %d×%d outside %d×%d", size, w, cfg.Width, cfg.Height, w, MaxAspect*w)
			}
		}
	}
}

// TestOversizedCacheEntryRemade: a strip cached at full height by an older
// version is made again within the box.
func TestOversizedCacheEntryRemade(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 20, 20000))
	b := grayPNG(img)
	sha := "ef" + strings.Repeat("0", 62)
	dir := t.TempDir()
	var old bytes.Buffer
	jpeg.Encode(&old, img, nil)
	p := filepath.Join(dir, "160", sha[:2], sha+".jpg")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, old.Bytes(), 0o644)
	out, err := New(mapSource{sha: b}, dir, nil).Get(context.Background(), sha, 160)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := jpeg.DecodeConfig(bytes.NewReader(out)); cfg.Height != 320 {
		t.Fatalf("cached strip served as %d×%d", cfg.Width, cfg.Height)
	}
}

// TestSharedCache: a thumbnail one replica made is put in the shared store,
// and another replica with an empty local cache serves it from there (and
// keeps a local copy) without reading the original again.
func TestSharedCache(t *testing.T) {
	b := grayPNG(image.NewGray(image.Rect(0, 0, 800, 400)))
	sha := "aa" + strings.Repeat("1", 62)
	shareDir := t.TempDir()
	shared := func(w int) blob.Store { return blob.Cache(filepath.Join(shareDir, fmt.Sprint(w)), ".jpg") }
	first := New(mapSource{sha: b}, t.TempDir(), nil).Share(shared)
	out, err := first.Get(context.Background(), sha, 320)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := shared(320).Get(context.Background(), sha); err != nil || !bytes.Equal(got, out) {
		t.Fatalf("the thumbnail is not in the shared store: %v", err)
	}
	localDir := t.TempDir()
	second := New(mapSource{}, localDir, nil).Share(shared) // the original is not readable here
	again, err := second.Get(context.Background(), sha, 320)
	if err != nil || !bytes.Equal(again, out) {
		t.Fatalf("second replica: %v", err)
	}
	if _, err := os.Stat(filepath.Join(localDir, "320", sha[:2], sha+".jpg")); err != nil {
		t.Fatalf("no local copy kept: %v", err)
	}
	if n := len(second.Stores()); n != 2*len(Widths) {
		t.Fatalf("Stores: %d, want local and shared per width", n)
	}
}

func grayPNG(img *image.Gray) []byte {
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
