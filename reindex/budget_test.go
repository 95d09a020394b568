package reindex

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/imagedecode"
	"github.com/lookalike/lookalike/imagedecode/imagetest"
)

// noVectors is a store that has no vector for any image.
type noVectors struct{ Store }

func (noVectors) Embedding(ctx context.Context, sha, model string) ([]float32, bool, error) {
	return nil, false, nil
}

// TestDecodeBudgetBusyIsTransient: a job whose photo waited too long for
// decode memory (held by searches) is retried later, not failed for good;
// a photo that can never fit the budget fails for good, saying why.
func TestDecodeBudgetBusyIsTransient(t *testing.T) {
	b := imagedecode.NewBudget(8 << 20)
	blobs, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := New(Config{DecodeBudget: b, DecodeTimeout: time.Second}, noVectors{}, nil, builtin.New(), blobs,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	photo := imagetest.StripedPNG(1000, 800, 8) // 3.2 MB decoded: two fit, not three
	var held []*imagedecode.Image
	for range 2 {
		img, err := imagedecode.DecodeContext(context.Background(), photo, imagedecode.Limits{Budget: b})
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, img)
	}
	_, _, _, err = w.vectorFor(context.Background(), w.model(), photo)
	var e *Error
	if !errors.As(err, &e) || e.Permanent || !errors.Is(err, imagedecode.ErrBusy) {
		t.Fatalf("busy budget: %v (%+v)", err, e)
	}
	for _, img := range held {
		img.Release()
	}
	if _, _, _, err := w.vectorFor(context.Background(), w.model(), photo); err != nil {
		t.Fatalf("after release: %v", err)
	}
	_, _, _, err = w.vectorFor(context.Background(), w.model(), imagetest.StripedPNG(2000, 1500, 8)) // 12 MB
	if !errors.As(err, &e) || !e.Permanent || !strings.Contains(err.Error(), "more than the 8 MiB decode memory budget") {
		t.Fatalf("over the budget: %v (%+v)", err, e)
	}
	if b.InUse() != 0 {
		t.Fatalf("%d bytes held", b.InUse())
	}
}
