package imagedecode

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// ErrTimeout means decoding did not finish before the context's deadline.
var ErrTimeout = errors.New("decoding took too long")

// decodeSlots bounds how many decodes run at once, counting those whose
// caller gave up: Go's decoders cannot be interrupted, so an abandoned
// decode still finishes, and its memory must stay accounted for.
var decodeSlots = make(chan struct{}, 2*runtime.NumCPU())

// DecodeContext decodes like Decode within lim.Budget (the package's
// default budget of DefaultBudget bytes when nil). The memory the decode
// will take is computed from the header first: an image that could never
// fit the budget is refused with ErrTooLarge; otherwise the decode waits,
// up to lim.Timeout, until that much of the budget is free (ErrBusy if it
// is not), and then has lim.Timeout again to finish (ErrTimeout). ctx
// bounds both. The result holds its share of the budget until Release.
func DecodeContext(ctx context.Context, data []byte, lim Limits) (*Image, error) {
	p, err := inspect(data, lim)
	if err != nil {
		return nil, err
	}
	b := lim.Budget
	if b == nil {
		b = defaultBudget
	}
	if p.cost.peak > b.size {
		return nil, errorf(ErrTooLarge, "image is %d×%d (%s %s) and decodes to %s, more than the %s decode memory budget",
			p.w, p.h, p.cost.form, p.format, mebibytes(p.cost.peak), mebibytes(b.size))
	}
	wctx, cancel := withTimeout(ctx, lim.Timeout)
	l, err := b.acquire(wctx, p.cost.peak)
	if err == nil {
		select {
		case decodeSlots <- struct{}{}:
		case <-wctx.Done():
			l.release()
			err = wctx.Err()
		}
	}
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxErr(ctx)
		}
		return nil, errorf(ErrBusy, "the server is busy decoding other images (waited %s for %s of its %s decode memory budget); try again shortly",
			lim.Timeout, mebibytes(p.cost.peak), mebibytes(b.size))
	}

	dctx, cancel := withTimeout(ctx, lim.Timeout)
	defer cancel()
	type result struct {
		img *Image
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-decodeSlots }()
		img, err := decodePlanned(data, p, lim, l.grow)
		if err != nil {
			l.release()
			done <- result{nil, err}
			return
		}
		l.shrink(pixBytes(img))
		done <- result{&Image{Image: img, Format: p.format, lease: l}, nil}
	}()
	select {
	case r := <-done:
		return r.img, r.err
	case <-dctx.Done():
		go func() { (<-done).img.Release() }() // the decode finishes in the background
		return nil, ctxErr(dctx)
	}
}

// withTimeout is context.WithTimeout, or no limit beyond ctx when d <= 0.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (the decode time limit ran out)", ErrTimeout)
	}
	return ctx.Err()
}
