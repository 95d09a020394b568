package thumb

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"testing"
)

type mapSource map[string][]byte

func (m mapSource) Get(sha string) ([]byte, error) {
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
	c := New(mapSource{sha: b.Bytes()}, t.TempDir())
	for _, tc := range []struct{ ask, want int }{{100, 160}, {320, 320}, {0, 320}, {5000, 640}} {
		out, err := c.Get(sha, tc.ask)
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
		again, _ := c.Get(sha, tc.ask)
		if !bytes.Equal(again, out) {
			t.Fatal("cached thumbnail differs")
		}
	}
	if _, err := c.Get("cd"+sha[2:], 160); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown image: %v", err)
	}
	if _, err := c.Get("../../../../../../../../../../../../../../../../../../../../../etc/pass", 160); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bad hash: %v", err)
	}
}
