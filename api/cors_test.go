package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/sqlite"
)

// The public search endpoints answer CORS for the listed origins only (the
// origin echoed, with Vary: Origin, and a preflight with methods, headers and
// max-age); another origin gets no CORS headers and its preflight a 403;
// every other endpoint stays same-origin.
func TestCORS(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s := New(Config{AllowedOrigins: []string{"https://cvety.kz", "http://127.0.0.1:8000"}}, Deps{Store: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	do := func(method, path, origin string, preflight bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(""))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if preflight {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		rec := httptest.NewRecorder()
		s.Public().ServeHTTP(rec, req)
		return rec
	}
	for _, path := range []string{"/api/v1/search", "/api/v1/search/info", "/images/abc"} {
		r := do("OPTIONS", path, "https://cvety.kz", true)
		h := r.Header()
		if r.Code != 204 || h.Get("Access-Control-Allow-Origin") != "https://cvety.kz" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			h.Get("Access-Control-Allow-Headers") != "Content-Type" || h.Get("Access-Control-Max-Age") == "" || h.Get("Vary") != "Origin" {
			t.Errorf("preflight of %s from a listed origin: %d %v", path, r.Code, h)
		}
		r = do("OPTIONS", path, "https://evil.example", true)
		if r.Code != 403 || r.Header().Get("Access-Control-Allow-Origin") != "" || r.Header().Get("Access-Control-Allow-Methods") != "" ||
			!strings.Contains(r.Body.String(), "LOOKALIKE_ALLOWED_ORIGINS") {
			t.Errorf("preflight of %s from an unlisted origin: %d %v %s", path, r.Code, r.Header(), r.Body)
		}
		// An origin differing only in scheme or port is another origin.
		for _, o := range []string{"http://cvety.kz", "https://cvety.kz:8443", "http://127.0.0.1:8001", "null"} {
			if r := do("OPTIONS", path, o, true); r.Code != 403 || r.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("preflight of %s from %s: %d %v", path, o, r.Code, r.Header())
			}
		}
	}
	r := do("GET", "/api/v1/search/info", "http://127.0.0.1:8000", false)
	if r.Header().Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8000" || r.Header().Get("Vary") != "Origin" {
		t.Errorf("simple request from a listed origin: %v", r.Header())
	}
	r = do("GET", "/api/v1/search/info", "https://evil.example", false)
	if r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("simple request from an unlisted origin got CORS headers: %v", r.Header())
	}
	// Everything else stays same-origin, listed origin or not.
	for _, path := range []string{"/api/v1/webhooks/product-sync", "/api/v1/products/1", "/healthz", "/api/v1/stats"} {
		for _, pre := range []bool{false, true} {
			r := do("OPTIONS", path, "https://cvety.kz", pre)
			if r.Header().Get("Access-Control-Allow-Origin") != "" || r.Header().Get("Access-Control-Allow-Methods") != "" || r.Code < 400 {
				t.Errorf("OPTIONS %s (preflight %v) from a listed origin: %d %v", path, pre, r.Code, r.Header())
			}
		}
	}
}
