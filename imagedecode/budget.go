package imagedecode

import (
	"context"
	"errors"
	"image"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// DefaultBudget is the decode memory budget, in bytes, of decodes that name
// no Budget: with Go's garbage collector keeping up to as much again, and
// the embedders' working buffers (a search embeds several regions at once),
// the process's peak stays well under 768 MiB however many uploads arrive.
const DefaultBudget = 192 << 20

// ErrBusy means the decode memory budget stayed taken by other images for
// the whole wait: a temporary condition, worth retrying.
var ErrBusy = errors.New("decode memory busy")

// Budget bounds the memory that decoding takes at once, across every
// caller that shares it: the decoded pixels and the decoders' working
// buffers, computed from the image's header before any of it is allocated.
// A decode waits (first come, first served) until its bytes are free, and
// its result holds its share until Image.Release.
type Budget struct {
	size  int64
	sem   *semaphore.Weighted
	inUse atomic.Int64
}

// NewBudget returns a budget of size bytes (DefaultBudget if size <= 0).
func NewBudget(size int64) *Budget {
	if size <= 0 {
		size = DefaultBudget
	}
	return &Budget{size: size, sem: semaphore.NewWeighted(size)}
}

// Size is the budget's total, in bytes.
func (b *Budget) Size() int64 { return b.size }

// InUse is how many of its bytes are held now.
func (b *Budget) InUse() int64 { return b.inUse.Load() }

var defaultBudget = NewBudget(DefaultBudget)

// lease is a part of a Budget held by one decode.
type lease struct {
	b  *Budget
	mu sync.Mutex
	n  int64
}

func (b *Budget) acquire(ctx context.Context, n int64) (*lease, error) {
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	b.inUse.Add(n)
	return &lease{b: b, n: n}, nil
}

// shrink keeps only n bytes of the lease (a decoded image smaller than the
// decoder's peak); it never grows it.
func (l *lease) shrink(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 {
		n = 0
	}
	if d := l.n - n; d > 0 {
		l.n = n
		l.b.inUse.Add(-d)
		l.b.sem.Release(d)
	}
}

// grow makes the lease n bytes if the budget has them free now, without
// waiting (a waiting holder could deadlock with another).
func (l *lease) grow(n int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := n - l.n
	if d <= 0 {
		return true
	}
	if !l.b.sem.TryAcquire(d) {
		return false
	}
	l.n = n
	l.b.inUse.Add(d)
	return true
}

func (l *lease) release() {
	if l != nil {
		l.shrink(0)
	}
}

// Image is a decoded image that holds its share of the decode budget until
// Release. Pass Image (the concrete *image.RGBA, *image.YCbCr, ...) to
// embedders and resizers, not the wrapper.
type Image struct {
	Image  image.Image
	Format string // "jpeg", "png", "gif" or "webp"
	lease  *lease
}

// Release returns the image's bytes to the budget; the pixels must not be
// used afterwards. It may be called more than once, and on nil.
func (m *Image) Release() {
	if m == nil {
		return
	}
	m.lease.release()
}

// pixBytes is the memory an image's pixel buffers take.
func pixBytes(img image.Image) int64 {
	switch m := img.(type) {
	case *image.RGBA:
		return int64(cap(m.Pix))
	case *image.NRGBA:
		return int64(cap(m.Pix))
	case *image.RGBA64:
		return int64(cap(m.Pix))
	case *image.NRGBA64:
		return int64(cap(m.Pix))
	case *image.Gray:
		return int64(cap(m.Pix))
	case *image.Gray16:
		return int64(cap(m.Pix))
	case *image.CMYK:
		return int64(cap(m.Pix))
	case *image.Paletted:
		return int64(cap(m.Pix))
	case *image.YCbCr:
		return int64(cap(m.Y) + cap(m.Cb) + cap(m.Cr))
	case *image.NYCbCrA:
		return int64(cap(m.Y) + cap(m.Cb) + cap(m.Cr) + cap(m.A))
	}
	b := img.Bounds()
	return 8 * int64(b.Dx()) * int64(b.Dy())
}

// mebibytes formats a byte count for messages: "320 MiB", "8 MiB", "1.5 MiB".
func mebibytes(n int64) string {
	mib := float64(n) / (1 << 20)
	if mib >= 10 {
		return strconv.FormatFloat(mib, 'f', 0, 64) + " MiB"
	}
	return strings.TrimSuffix(strconv.FormatFloat(mib, 'f', 1, 64), ".0") + " MiB"
}
