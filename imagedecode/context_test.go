package imagedecode

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"testing"
	"time"
)

func TestDecodeContext(t *testing.T) {
	var b bytes.Buffer
	png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 2000, 2000)))
	img, format, err := DecodeContext(context.Background(), b.Bytes(), Limits{})
	if err != nil || format != "png" || img.Bounds().Dx() != 2000 {
		t.Fatalf("DecodeContext: %v %s", err, format)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	if _, _, err := DecodeContext(ctx, b.Bytes(), Limits{}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("expired deadline: %v", err)
	}
	ctx, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, _, err := DecodeContext(ctx, b.Bytes(), Limits{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
