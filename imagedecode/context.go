package imagedecode

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
)

// ErrTimeout means decoding did not finish before the context's deadline.
var ErrTimeout = errors.New("decoding took too long")

// decodeSlots bounds how many decodes run at once, counting those whose
// caller gave up: Go's decoders cannot be interrupted, so an abandoned
// decode still finishes, and its memory must stay accounted for.
var decodeSlots = make(chan struct{}, 2*runtime.NumCPU())

// DecodeContext is Decode with a deadline. When ctx ends first it returns an
// error wrapping ErrTimeout (or ctx's error if it was cancelled).
func DecodeContext(ctx context.Context, data []byte, lim Limits) (image.Image, string, error) {
	select {
	case decodeSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, "", ctxErr(ctx)
	}
	type result struct {
		img    image.Image
		format string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-decodeSlots }()
		img, format, err := Decode(data, lim)
		done <- result{img, format, err}
	}()
	select {
	case r := <-done:
		return r.img, r.format, r.err
	case <-ctx.Done():
		return nil, "", ctxErr(ctx)
	}
}

func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (the decode time limit ran out)", ErrTimeout)
	}
	return ctx.Err()
}
