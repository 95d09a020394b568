// Package thumb serves the stored copies of product photos as JPEG
// thumbnails of a few fixed widths, made once and cached on disk (and, with
// Share, in a store every replica sees). A thumbnail of width w fits a box
// of w×2w: typical photos keep their width, and a strip however long stays
// a small JPEG.
package thumb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/image/draw"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/imagedecode"
)

// Widths are the sizes served; a request is rounded up to the next one.
var Widths = []int{160, 320, 640}

// MaxAspect bounds a thumbnail's height: at most MaxAspect times its width.
const MaxAspect = 2

// Source reads original image bytes by hash.
type Source interface {
	Get(ctx context.Context, sha string) ([]byte, error)
}

// Cache makes and keeps thumbnails: in a local directory and, when shared
// (Share), also in a store all replicas see.
type Cache struct {
	src    Source
	local  map[int]blob.Store // by width
	shared map[int]blob.Store // by width; nil: none
	budget *imagedecode.Budget
	mu     sync.Mutex // one resize at a time: they are CPU-heavy and cached
}

// decodeTimeout bounds a thumbnail's wait for decode memory, then its decode.
const decodeTimeout = 20 * time.Second

// New returns a cache rooted at dir whose decodes take from budget (nil:
// imagedecode's default).
// Thumbnails are kept as dir/<width>/<sha[:2]>/<sha>.jpg.
func New(src Source, dir string, budget *imagedecode.Budget) *Cache {
	c := &Cache{src: src, local: map[int]blob.Store{}, budget: budget}
	for _, w := range Widths {
		c.local[w] = blob.Cache(filepath.Join(dir, strconv.Itoa(w)), ".jpg")
	}
	return c
}

// Share makes c keep its thumbnails in shared(width) as well: one missing
// locally is looked for there before it is made, and one made is put in
// both, so replicas make each thumbnail once.
func (c *Cache) Share(shared func(width int) blob.Store) *Cache {
	c.shared = map[int]blob.Store{}
	for _, w := range Widths {
		c.shared[w] = shared(w)
	}
	return c
}

// Stores returns every store c keeps thumbnails in (to prune them).
func (c *Cache) Stores() []blob.Store {
	var out []blob.Store
	for _, w := range Widths {
		out = append(out, c.local[w])
		if c.shared != nil {
			out = append(out, c.shared[w])
		}
	}
	return out
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

// cached returns the thumbnail of sha in s if it is there and fits the
// box (older versions cached strips at their full height).
func cached(ctx context.Context, s blob.Store, sha string, box int) ([]byte, bool) {
	if s == nil {
		return nil, false
	}
	b, err := s.Get(ctx, sha)
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
	if !blob.ValidSHA(sha) {
		return nil, ErrNotFound
	}
	local, shared := c.local[w], c.shared[w]
	if b, ok := cached(ctx, local, sha, w); ok {
		return b, nil
	}
	if b, ok := cached(ctx, shared, sha, w); ok {
		local.Put(ctx, sha, b) // a cache: a failed write only costs a later fetch
		return b, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := cached(ctx, local, sha, w); ok {
		return b, nil
	}
	orig, err := c.src.Get(ctx, sha)
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
	local.Put(ctx, sha, out.Bytes()) // caches: a failed write only costs remaking it
	if shared != nil {
		shared.Put(ctx, sha, out.Bytes())
	}
	return out.Bytes(), nil
}
