// Package thumb serves the stored copies of product photos as JPEG
// thumbnails of a few fixed widths, made once and cached on disk. A
// thumbnail of width w fits a box of w×2w: typical photos keep their width,
// and a strip however long stays a small JPEG.
package thumb

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/image/draw"

	"github.com/lookalike/lookalike/imagedecode"
)

// Widths are the sizes served; a request is rounded up to the next one.
var Widths = []int{160, 320, 640}

// MaxAspect bounds a thumbnail's height: at most MaxAspect times its width.
const MaxAspect = 2

// Source reads original image bytes by hash.
type Source interface {
	Get(sha string) ([]byte, error)
}

// Cache makes and keeps thumbnails under a directory.
type Cache struct {
	src    Source
	root   string
	budget *imagedecode.Budget
	mu     sync.Mutex // one resize at a time: they are CPU-heavy and cached
}

// decodeTimeout bounds a thumbnail's wait for decode memory, then its decode.
const decodeTimeout = 20 * time.Second

// New returns a cache rooted at dir whose decodes take from budget (nil:
// imagedecode's default).
func New(src Source, dir string, budget *imagedecode.Budget) *Cache {
	return &Cache{src: src, root: dir, budget: budget}
}

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

// Fit is the size of the thumbnail of a w×h image at width box: within box
// wide and MaxAspect×box high, the aspect ratio kept (each side at least
// one pixel), never enlarged.
func Fit(w, h, box int) (int, int) {
	bw, bh := box, MaxAspect*box
	if w <= bw && h <= bh {
		return w, h
	}
	if int64(w)*int64(bh) >= int64(h)*int64(bw) { // wider than the box: width bounds it
		return bw, max(1, int((int64(h)*int64(bw)+int64(w)/2)/int64(w)))
	}
	return max(1, int((int64(w)*int64(bh)+int64(h)/2)/int64(h))), bh
}

// cached returns the cached thumbnail at p if it fits the box (older
// versions cached strips at their full height).
func cached(p string, box int) ([]byte, bool) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width > box || cfg.Height > MaxAspect*box {
		return nil, false
	}
	return b, true
}

// Get returns the JPEG thumbnail of the image with hash sha at width w
// (rounded with Width).
func (c *Cache) Get(ctx context.Context, sha string, w int) ([]byte, error) {
	w = Width(w)
	if _, err := hex.DecodeString(sha); err != nil || len(sha) != 64 {
		return nil, ErrNotFound // also keeps the name from escaping the cache directory
	}
	p := filepath.Join(c.root, fmt.Sprint(w), sha[:2], sha+".jpg")
	if b, ok := cached(p, w); ok {
		return b, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := cached(p, w); ok {
		return b, nil
	}
	orig, err := c.src.Get(sha)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	dec, err := imagedecode.DecodeContext(ctx, orig, imagedecode.Limits{MinSide: w, Budget: c.budget, Timeout: decodeTimeout})
	if err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	defer dec.Release()
	b := dec.Image.Bounds()
	tw, th := Fit(b.Dx(), b.Dy(), w)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), dec.Image, b, draw.Over, nil)
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
