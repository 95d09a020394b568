package main

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lookalike/lookalike/api"
)

func TestWebhookAuthenticationAndDeduplication(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	signing := "whsec_" + base64.StdEncoding.EncodeToString(key)
	srv := startServer(t, t.TempDir(), map[string]string{
		"WEBHOOK_SECRET":                   "old-secret-1234, new-secret-5678",
		"LOOKALIKE_WEBHOOK_SIGNING_SECRET": signing,
	})
	post := func(h map[string]string, body string) reply {
		h["Content-Type"] = "application/json"
		return srv.do("POST", "/api/v1/webhooks/product-sync", h, strings.NewReader(body))
	}
	signed := func(id string, ts int64, body string, k []byte) map[string]string {
		return map[string]string{"webhook-id": id, "webhook-timestamp": fmt.Sprint(ts),
			"webhook-signature": "v1,bm90IHRoaXMgb25l " + api.Sign(k, id, ts, []byte(body))}
	}
	body := func(id int, title string) string {
		return fmt.Sprintf(`{"event_type":"product.updated","product_data":{"id":%d,"title":%q}}`, id, title)
	}
	now := time.Now().Unix()

	// Both rotated shared secrets work.
	for i, sec := range []string{"old-secret-1234", "new-secret-5678"} {
		if r := post(map[string]string{"X-Webhook-Secret": sec}, body(1+i, "shared")); r.status != 200 {
			t.Fatalf("secret %q: %d %s", sec, r.status, r.raw)
		}
	}
	// A valid signature, without the shared secret.
	b := body(3, "signed")
	if r := post(signed("msg_a", now, b, key), b); r.status != 200 || r.body["action"] != "created" {
		t.Fatalf("signed: %d %s", r.status, r.raw)
	}
	refusals := []struct {
		name string
		h    map[string]string
		body string
		msg  string
	}{
		{"tampered body", signed("msg_b", now, b, key), body(3, "tampered"), "does not match"},
		{"wrong key", signed("msg_c", now, b, []byte("another key entirely, 32 bytes!!")), b, "does not match"},
		{"stale timestamp", signed("msg_d", now-600, b, key), b, "away from the server's clock"},
		{"future timestamp", signed("msg_e", now+600, b, key), b, "away from the server's clock"},
		{"no webhook-id", map[string]string{"webhook-timestamp": fmt.Sprint(now), "webhook-signature": api.Sign(key, "", now, []byte(b))}, b, "webhook-id"},
		{"bad timestamp", map[string]string{"webhook-id": "x", "webhook-timestamp": "yesterday", "webhook-signature": "v1,AAAA"}, b, "unix seconds"},
		{"wrong secret", map[string]string{"X-Webhook-Secret": "guess-guess"}, b, "wrong webhook secret"},
		{"nothing", map[string]string{}, b, "missing"},
	}
	for _, c := range refusals {
		r := post(c.h, c.body)
		if r.status != 401 || !strings.Contains(r.body["error"].(string), c.msg) {
			t.Errorf("%s: %d %s (want 401 mentioning %q)", c.name, r.status, r.raw, c.msg)
		}
	}
	if p := srv.getJSON("/api/v1/products/3").body; p["title"] != "signed" {
		t.Fatalf("a refused webhook changed the product: %v", p)
	}
	for _, leak := range []string{"old-secret-1234", "new-secret-5678", signing} {
		if strings.Contains(srv.logs.String(), leak) {
			t.Fatal("a secret appears in the log")
		}
	}

	// A repeated webhook-id answers the first reply and has no effect, even
	// after newer events for the product.
	first := post(map[string]string{"X-Webhook-Secret": "new-secret-5678", "webhook-id": "msg_dup"}, body(9, "first"))
	post(map[string]string{"X-Webhook-Secret": "new-secret-5678"}, body(9, "newer"))
	again := post(map[string]string{"X-Webhook-Secret": "new-secret-5678", "webhook-id": "msg_dup"}, body(9, "first"))
	if again.status != 200 || again.raw != first.raw {
		t.Fatalf("duplicate reply %d %s, first was %s", again.status, again.raw, first.raw)
	}
	if p := srv.getJSON("/api/v1/products/9").body; p["title"] != "newer" {
		t.Fatalf("a duplicate delivery overwrote a newer state: %v", p)
	}
	// Versions order events: an older TIMESTAMP_X is ignored.
	post(map[string]string{"X-Webhook-Secret": "new-secret-5678"}, `{"event_type":"product.updated","product_data":{"id":10,"title":"new","TIMESTAMP_X":"27.11.2026 12:00:05"}}`)
	r := post(map[string]string{"X-Webhook-Secret": "new-secret-5678"}, `{"event_type":"product.updated","product_data":{"id":10,"title":"old","TIMESTAMP_X":"27.11.2026 12:00:01"}}`)
	if r.status != 200 || r.body["action"] != "ignored" {
		t.Fatalf("older event: %d %s", r.status, r.raw)
	}
	if p := srv.getJSON("/api/v1/products/10").body; p["title"] != "new" {
		t.Fatalf("older event applied: %v", p)
	}
}
