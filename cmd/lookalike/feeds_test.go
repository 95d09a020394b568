package main

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A gzip-compressed webhook is accepted; the size limit applies to what it
// inflates to, so a gzip bomb is refused (413) having written nothing; an
// encoding the server cannot read is a 415 that says so.
func TestWebhookContentEncoding(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	post := func(encoding string, body []byte) reply {
		h := map[string]string{"Content-Type": "application/json", "X-Webhook-Secret": testSecret}
		if encoding != "" {
			h["Content-Encoding"] = encoding
		}
		return srv.do("POST", "/api/v1/webhooks/product-sync", h, bytes.NewReader(body))
	}

	valid := []byte(`{"event_type":"product.created","product_data":{"id":7,"title":"Сжатые розы","price":"2 500 ₸","image":""}}`)
	if r := post("gzip", gzipped(t, valid)); r.status != 200 || r.body["action"] != "created" {
		t.Fatalf("gzip webhook: %d %s", r.status, r.raw)
	}
	if p := srv.getJSON("/api/v1/products/7"); p.status != 200 || p.body["title"] != "Сжатые розы" {
		t.Fatalf("product 7 after a gzip webhook: %d %s", p.status, p.raw)
	}

	// 10 MB of zeros inside a valid JSON string: about 10 KB compressed.
	bomb := append([]byte(`{"event_type":"product.created","product_data":{"id":8,"title":"`), bytes.Repeat([]byte("0"), 10<<20)...)
	bomb = append(bomb, `"}}`...)
	zb := gzipped(t, bomb)
	if len(zb) > 64<<10 {
		t.Fatalf("bomb is %d bytes compressed", len(zb))
	}
	r := post("gzip", zb)
	if r.status != 413 || !strings.Contains(r.raw, "after gzip decompression") || !strings.Contains(r.raw, "1 MiB") {
		t.Fatalf("gzip bomb: %d %s", r.status, r.raw)
	}

	r = post("br", valid)
	if msg, _ := r.body["error"].(string); r.status != 415 || !strings.Contains(msg, `"br" is not supported`) || !strings.Contains(msg, "gzip") {
		t.Fatalf("Content-Encoding br: %d %s", r.status, r.raw)
	}
	if r := post("gzip", []byte("not gzip at all")); r.status != 400 || !strings.Contains(r.raw, "not valid gzip") {
		t.Fatalf("broken gzip: %d %s", r.status, r.raw)
	}

	if p := srv.getJSON("/api/v1/products/8"); p.status != 404 {
		t.Fatalf("the refused bomb wrote product 8: %d %s", p.status, p.raw)
	}
	st := srv.stats()
	if n := num(st["products"].(map[string]any)["active"]); n != 1 {
		t.Fatalf("active products %v, want only the gzip one", n)
	}
}
