package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/sqlite"
)

// A ping is authenticated like any webhook, answered with its shop, and
// writes nothing: no product, no job, no remembered delivery (the same
// webhook-id then still applies a real event).
func TestWebhookPing(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ping.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(Config{WebhookSecrets: []string{"ping-secret-123"}, DefaultShopID: 1}, Deps{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	post := func(secret, id, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/webhooks/product-sync", strings.NewReader(body))
		req.Header.Set("X-Webhook-Secret", secret)
		req.Header.Set("webhook-id", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	before, err := st.Stats(context.Background(), "m")
	if err != nil {
		t.Fatal(err)
	}
	code, m := post("ping-secret-123", "msg_ping1", `{"event_type":"ping","shop_id":8}`)
	if code != 200 || m["status"] != "success" || m["action"] != "ping" || m["shop_id"] != 8.0 {
		t.Fatalf("ping: %d %v", code, m)
	}
	if code, m = post("ping-secret-123", "", `{"event_type":"ping"}`); code != 200 || m["shop_id"] != 1.0 {
		t.Fatalf("ping without a shop: %d %v", code, m)
	}
	if code, m = post("wrong-secret-456", "", `{"event_type":"ping"}`); code != 401 || !strings.Contains(m["error"].(string), "wrong webhook secret") {
		t.Fatalf("ping with a wrong secret: %d %v", code, m)
	}
	if code, _ = post("ping-secret-123", "", `{"event_type":"ping","shop_id":"x"}`); code != 422 {
		t.Fatalf("ping with a bad shop: %d", code)
	}
	if after, _ := st.Stats(context.Background(), "m"); after != before {
		t.Fatalf("a ping changed the store: %+v -> %+v", before, after)
	}
	// The ping's delivery id was not remembered: a real event with it applies.
	code, m = post("ping-secret-123", "msg_ping1", `{"event_type":"product.created","shop_id":8,"product_data":{"id":5,"title":"Розы"}}`)
	if code != 200 || m["action"] != "created" {
		t.Fatalf("event after a ping with the same webhook-id: %d %v", code, m)
	}
}
