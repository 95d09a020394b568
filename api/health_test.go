package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/sqlite"
)

// /readyz reports a storage fault with its reason; a damaged database
// refuses writes up front, a full disk lets each write try.
func TestStorageFaults(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var fault error
	s := New(Config{WebhookSecrets: []string{"secret-123456"}}, Deps{Store: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Health: func(context.Context) error { return fault }})
	do := func(method, path, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("X-Webhook-Secret", "secret-123456")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s: not a JSON reply: %q", method, path, rec.Body.String())
		}
		return rec.Code, fmt.Sprint(v["error"])
	}
	hook := func(id int) (int, string) {
		return do("POST", "/api/v1/webhooks/product-sync", fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"a"}}`, id))
	}
	if code, _ := do("GET", "/readyz", ""); code != 200 {
		t.Fatalf("healthy readyz: %d", code)
	}
	fault = fmt.Errorf("%w: write image: no space left on device", catalog.ErrStorageFull)
	if code, msg := do("GET", "/readyz", ""); code != 503 || !strings.Contains(msg, "disk full") {
		t.Fatalf("readyz on a full disk: %d %s", code, msg)
	}
	if code, msg := hook(1); code != 200 {
		t.Fatalf("a webhook while the disk was full was not tried: %d %s", code, msg)
	}
	fault = fmt.Errorf("%w: database disk image is malformed", catalog.ErrStorageCorrupt)
	if code, msg := do("GET", "/readyz", ""); code != 503 || !strings.Contains(msg, "corrupt") {
		t.Fatalf("readyz on a damaged database: %d %s", code, msg)
	}
	if code, msg := hook(2); code != 503 || !strings.Contains(msg, "refusing writes") {
		t.Fatalf("webhook on a damaged database: %d %s", code, msg)
	}
	if _, err := store.Get(context.Background(), catalog.Key{ShopID: 1, ProductID: catalog.ProductID("2")}); err == nil {
		t.Fatal("the refused webhook was written")
	}
	if code, _ := do("GET", "/api/v1/products/1", ""); code != 200 {
		t.Fatalf("a read on a damaged database was refused: %d", code)
	}
}

// /readyz runs every check within ReadyTimeout and names each outcome: a
// dependency that fails or does not answer makes it 503, saying which.
func TestReadyNamesFailedChecks(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var probes []Probe
	loaded := false
	ready := func() (int, map[string]any) {
		s := New(Config{}, Deps{Store: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Probes: probes, Ready: func() bool { return loaded }})
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("not a JSON reply: %q", rec.Body.String())
		}
		return rec.Code, v
	}
	if code, v := ready(); code != 503 || v["error"] != "not ready: index: vector index is still loading" || fmt.Sprint(v["checks"]) != "map[database:ok index:vector index is still loading]" {
		t.Fatalf("index loading: %d %v", code, v)
	}
	loaded = true
	probes = []Probe{{"images", func(context.Context) error { return nil }}}
	if code, v := ready(); code != 200 || v["status"] != "ready" || fmt.Sprint(v["checks"]) != "map[database:ok images:ok index:ok]" {
		t.Fatalf("ready: %d %v", code, v)
	}
	probes = []Probe{
		{"images", func(context.Context) error { return fmt.Errorf("image store s3://b/p/: get: no such bucket") }},
		{"hung", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}
	code, v := ready()
	msg := fmt.Sprint(v["error"])
	if code != 503 || !strings.Contains(msg, "images: image store s3://b/p/: get: no such bucket") || !strings.Contains(msg, "hung: no answer within 2s") ||
		v["checks"].(map[string]any)["database"] != "ok" {
		t.Fatalf("failed checks: %d %v", code, v)
	}
	store.Close()
	if code, v := ready(); code != 503 || !strings.Contains(fmt.Sprint(v["error"]), "database: ") {
		t.Fatalf("closed database: %d %v", code, v)
	}
}
