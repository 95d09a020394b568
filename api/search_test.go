package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lookalike/lookalike/imagedecode"
	"github.com/lookalike/lookalike/imagedecode/imagetest"
)

// TestDecodeBusyIsRetryable: a search whose photo waited too long for decode
// memory is a 503 with Retry-After and the reason, not an internal error.
func TestDecodeBusyIsRetryable(t *testing.T) {
	b := imagedecode.NewBudget(16 << 20)
	data := imagetest.StripedPNG(1500, 1000, 8) // 6 MB decoded: two fit, not three
	var held []*imagedecode.Image
	for range 2 {
		img, err := imagedecode.DecodeContext(context.Background(), data, imagedecode.Limits{Budget: b})
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, img)
	}
	defer func() {
		for _, img := range held {
			img.Release()
		}
	}()
	_, err := imagedecode.DecodeContext(context.Background(), data, imagedecode.Limits{Budget: b, Timeout: 10 * time.Millisecond})
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rec := httptest.NewRecorder()
	s.fail(rec, httptest.NewRequest("POST", "/api/v1/search", nil), err)
	var body struct{ Error string }
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(body.Error, "busy decoding other images") {
		t.Fatalf("busy decode: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}
