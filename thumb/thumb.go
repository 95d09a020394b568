// Package thumb serves the stored copies of product photos as JPEG
// thumbnails of a few fixed widths, made once and cached on disk.
package thumb

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/image/draw"

	"github.com/lookalike/lookalike/imagedecode"
)

// Widths are the sizes served; a request is rounded up to the next one.
var Widths = []int{160, 320, 640}

// Source reads original image bytes by hash.
type Source interface {
	Get(sha string) ([]byte, error)
}

// Cache makes and keeps thumbnails under a directory.
type Cache struct {
	src  Source
	root string
	mu   sync.Mutex // one resize at a time: they are CPU-heavy and cached
}

// New returns a cache rooted at dir.
func New(src Source, dir string) *Cache { return &Cache{src: src, root: dir} }

// Width rounds w up to a served width (0 means the middle one).
func Width(w int) int {
	if w <= 0 {
		return Widths[1]
	}
	for _, x := range Widths {
		if w <= x {
			return x
		}
	}
	return Widths[len(Widths)-1]
}

// ErrNotFound is returned for unknown images.
var ErrNotFound = errors.New("image not found")

// Get returns the JPEG thumbnail of the image with hash sha at width w
// (rounded with Width).
func (c *Cache) Get(sha string, w int) ([]byte, error) {
	w = Width(w)
	if _, err := hex.DecodeString(sha); err != nil || len(sha) != 64 {
		return nil, ErrNotFound // also keeps the name from escaping the cache directory
	}
	p := filepath.Join(c.root, fmt.Sprint(w), sha[:2], sha+".jpg")
	if b, err := os.ReadFile(p); err == nil {
		return b, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, err := os.ReadFile(p); err == nil {
		return b, nil
	}
	orig, err := c.src.Get(sha)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	img, _, err := imagedecode.Decode(orig, imagedecode.Limits{MinSide: w})
	if err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	b := img.Bounds()
	tw, th := b.Dx(), b.Dy()
	if tw > w {
		th = max(1, th*w/tw)
		tw = w
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 82}); err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
		tmp := p + ".tmp"
		if os.WriteFile(tmp, out.Bytes(), 0o644) == nil {
			os.Rename(tmp, p)
		}
	}
	return out.Bytes(), nil
}
