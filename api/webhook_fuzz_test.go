package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/lookalike/lookalike/sqlite"
)

// FuzzWebhook posts arbitrary bodies to the real webhook handler over a real
// SQLite store: the answer is always a 200 or a 4xx (never a 5xx or a
// panic), and a refused body writes nothing.
func FuzzWebhook(f *testing.F) {
	for _, seed := range []string{
		`{"event_type":"product.created","product_data":{"id":888888,"title":"Production Deploy Test","price":"2 500 ₸","isAvailable":true,"image":"https://cvety.kz/upload/test-deploy.jpg","catalogHeight":"60 см"}}`,
		`{"event_type":"product.updated","shop_id":"8","product_data":{"id":"12","price":"2 500,50 ₸","isAvailable":"N","TIMESTAMP_X":"27.11.2026 10:00:00"}}`,
		`{"event_type":"product.deleted","product_data":{"id":1,"version":3}}`,
		`{"event_type":"product.created","product_data":{"id":1,"catalogHeight":"0.6 м","extra":[1,2,{"a":null}]}}`,
		`{"event_type":"product.moved","product_data":{"id":1}}`,
		`{"event_type":"ping","shop_id":8}`,
		`{"event_type":"product.created","product_data":{"id":-1}}`,
		`[]`, `{`, `null`, ``, `{"event_type":"product.created","product_data":{"id":1e400}}`,
	} {
		f.Add([]byte(seed))
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	s := New(Config{WebhookSecrets: []string{"fuzz-secret-123"}}, Deps{Store: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f.Fuzz(func(t *testing.T, body []byte) {
		before, err := store.Stats(context.Background(), "m")
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/api/v1/webhooks/product-sync", bytes.NewReader(body))
		req.Header.Set("X-Webhook-Secret", "fuzz-secret-123")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
			after, _ := store.Stats(context.Background(), "m")
			if after != before {
				t.Fatalf("refused body (%d) changed the store: %+v -> %+v", rec.Code, before, after)
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
	})
}
