package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
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

// Prices in any ISO 4217 currency are stored with that currency's decimals,
// and a search's price filter only compares prices in one currency: the
// shop's (LOOKALIKE_CURRENCY), the request's currency, or the one a bound
// names.
func TestCurrenciesAndPriceFilter(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	admin := map[string]string{"Authorization": "Bearer " + testAdmin}
	prices := map[int]string{1: "2 500 ₸", 2: "2 000 ₽", 3: "1 500,50 грн", 4: "1500 JPY", 5: "1,250 KWD"}
	for id, price := range prices {
		if r := srv.webhook(createBody(id, fmt.Sprintf("Букет %d", id), price, images.URL+"/img/roses.jpg", "")); r.status != 200 {
			t.Fatalf("create %d (%s): %d %s", id, price, r.status, r.raw)
		}
	}
	srv.waitFor("5 vectors", func() bool { return num(srv.stats()["vectors"]) == 5 })
	want := map[int][2]any{1: {2500.0, "KZT"}, 2: {2000.0, "RUB"}, 3: {1500.5, "UAH"}, 4: {1500.0, "JPY"}, 5: {1.25, "KWD"}}
	for id, w := range want {
		p := srv.do("GET", fmt.Sprintf("/api/v1/products/%d?shop_id=8", id), admin, nil).body
		if p["price"] != w[0] || p["currency"] != w[1] {
			t.Errorf("product %d (%s): price %v %v, want %v %v", id, prices[id], p["price"], p["currency"], w[0], w[1])
		}
	}

	for _, bad := range []string{"1 500,5 JPY", "1,2345 KWD"} {
		r := srv.webhook(createBody(9, "Лишние знаки", bad, "", ""))
		if msg, _ := r.body["error"].(string); r.status != 422 || !strings.Contains(msg, "price") || !strings.Contains(msg, "decimal places") {
			t.Errorf("price %q: %d %s", bad, r.status, r.raw)
		}
	}

	photo := readPhoto(t, "roses")
	search := func(fields map[string]string) string {
		t.Helper()
		fields["shop_id"] = "8"
		r := srv.searchPhoto(photo, fields)
		if r.status != 200 {
			t.Fatalf("search %v: %d %s", fields, r.status, r.raw)
		}
		var ids []int
		for _, h := range r.body["results"].([]any) {
			ids = append(ids, int(num(h.(map[string]any)["product_id"])))
		}
		sort.Ints(ids)
		return fmt.Sprint(ids)
	}
	for _, c := range []struct {
		fields map[string]string
		want   string
	}{
		{map[string]string{}, "[1 2 3 4 5]"},
		{map[string]string{"price_max": "3000"}, "[1]"}, // the shop's tenge: 2 000 ₽ and 1 500 JPY are not "under 3000"
		{map[string]string{"price_max": "3000", "currency": "RUB"}, "[2]"},
		{map[string]string{"price_max": "2000 грн"}, "[3]"},
		{map[string]string{"price_min": "1000", "price_max": "2000", "currency": "jpy"}, "[4]"},
		{map[string]string{"price_max": "1.5", "currency": "KWD"}, "[5]"},
		{map[string]string{"price_min": "2000", "currency": "UAH"}, "[]"},
	} {
		if got := search(c.fields); got != c.want {
			t.Errorf("search %v: %s, want %s", c.fields, got, c.want)
		}
	}
	// The CLI passes the currency, and prints each price with its decimals.
	query := filepath.Join(t.TempDir(), "query.jpg")
	if err := os.WriteFile(query, photo, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, srv, "search", "--shop", "8", "--currency", "KWD", "--price-max", "2", query)
	if err != nil || !strings.Contains(out, "1,250 KWD") || !strings.Contains(out, "1 results") {
		t.Fatalf("lookalike search --currency KWD: %v\n%s", err, out)
	}

	for _, c := range []struct {
		fields map[string]string
		msg    string
	}{
		{map[string]string{"currency": "XYZ", "price_max": "100"}, "not an ISO 4217"},
		{map[string]string{"currency": "RUB", "price_max": "2000 грн"}, "two currencies"},
		{map[string]string{"price_min": "100 ₽", "price_max": "2000 грн"}, "two currencies"},
	} {
		r := srv.searchPhoto(photo, c.fields)
		if e, _ := r.body["error"].(string); r.status != 400 || !strings.Contains(e, c.msg) {
			t.Errorf("search %v: %d %s", c.fields, r.status, r.raw)
		}
	}
}

// LOOKALIKE_CURRENCY is the currency of prices that name none, with its
// decimals, and of search price filters.
func TestShopCurrencySetting(t *testing.T) {
	srv := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_CURRENCY": "jpy"})
	admin := map[string]string{"Authorization": "Bearer " + testAdmin}
	if r := srv.webhook(`{"event_type":"product.created","product_data":{"id":1,"title":"Бонсай","price":1500}}`); r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	if p := srv.do("GET", "/api/v1/products/1", admin, nil).body; p["price"] != 1500.0 || p["currency"] != "JPY" {
		t.Fatalf("a bare 1500 in a JPY shop: %v %v", p["price"], p["currency"])
	}
	r := srv.webhook(`{"event_type":"product.created","product_data":{"id":2,"title":"Бонсай","price":"1500.5"}}`)
	if msg, _ := r.body["error"].(string); r.status != 422 || !strings.Contains(msg, "JPY has none") {
		t.Fatalf("1500.5 in a JPY shop: %d %s", r.status, r.raw)
	}

	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string {
		return map[string]string{"LOOKALIKE_CURRENCY": "ABC", "LOOKALIKE_DATA_DIR": t.TempDir(), "LOOKALIKE_ADDR": "127.0.0.1:0"}[k]
	}}
	if err := m.Run(context.Background(), []string{"serve"}); err == nil || !strings.Contains(err.Error()+out.String(), "LOOKALIKE_CURRENCY") {
		t.Fatalf("serve with LOOKALIKE_CURRENCY=ABC: %v\n%s", err, out.String())
	}
}

// Importing the same feed again is idempotent even for products whose photo
// failed: a 404 is not fetched again and the row is reported unchanged,
// until an operator retries it (the admin retry endpoint) or the URL
// changes. A photo whose host was down until the attempts ran out (a
// transient failure) is tried again by the repeated import.
func TestRepeatImportOfFailedPhotos(t *testing.T) {
	images := newImageServer(t)
	var downHits atomic.Int64
	down := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		downHits.Add(1)
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	srv := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_MAX_ATTEMPTS": "2"})
	auth := map[string]string{"Authorization": "Bearer " + testAdmin}
	csv := "id;title;price;image\n" +
		"1;Розы;1000;" + images.URL + "/img/roses.jpg\n" +
		"2;Пропавшее фото;1000;" + images.URL + "/upload/missing-2.jpg\n" +
		"3;Пропавшее фото;1000;" + images.URL + "/upload/missing-3.jpg\n" +
		"4;Хост лежит;1000;" + down + "/upload/4.jpg\n"
	path := filepath.Join(t.TempDir(), "feed.csv")
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	failed := func() float64 { return num(srv.stats()["queue"].(map[string]any)["failed"]) }

	r := runImportCmd(t, nil, "--server", srv.url, "--shop", "8", path)
	r.want(t, map[string]int{"read": 4, "created": 4, "invalid": 0})
	srv.waitFor("1 vector and 3 failures", func() bool { return num(srv.stats()["vectors"]) == 1 && failed() == 3 })
	if n := downHits.Load(); n != 2 {
		t.Fatalf("the down host was asked %d times, want LOOKALIKE_MAX_ATTEMPTS=2", n)
	}
	fetched := images.total()

	// Again: the 404s stay failed without a fetch; the down host is retried.
	r = runImportCmd(t, nil, "--server", srv.url, "--shop", "8", path)
	r.want(t, map[string]int{"read": 4, "created": 0, "updated": 1, "unchanged": 3})
	srv.waitFor("the down host to be tried again", func() bool { return downHits.Load() == 4 && failed() == 3 })
	if n := images.total() - fetched; n != 0 {
		t.Fatalf("the repeated import fetched %d photos that had failed", n)
	}
	p := srv.do("GET", "/api/v1/products/2?shop_id=8", auth, nil).body
	if idx := p["index"].(map[string]any); idx["state"] != "failed" || idx["error"] != "Failed to fetch image: 404 Not Found" {
		t.Fatalf("product 2 after the repeated import: %v", p)
	}

	// An operator's retry does fetch it again.
	if r := srv.postJSON("/api/v1/admin/retry", map[string]any{"product_id": 2, "shop_id": 8}, auth); r.status != 202 {
		t.Fatalf("retry: %d %s", r.status, r.raw)
	}
	srv.waitFor("the retried photo to be fetched and fail again", func() bool {
		images.mu.Lock()
		n := images.hits["/upload/missing-2.jpg"]
		images.mu.Unlock()
		return n == 2 && failed() == 3
	})
	if n := images.total() - fetched; n != 1 {
		t.Fatalf("the retry fetched %d photos, want 1", n)
	}
}

// An animated WebP (made by libwebp's img2webp) is refused as animated, not
// as a corrupt file: as a product photo and as a search upload.
func TestAnimatedWebPRefusedAsAnimated(t *testing.T) {
	anim, err := os.ReadFile(filepath.Join("..", "..", "testdata", "images", "animated.webp"))
	if err != nil {
		t.Fatal(err)
	}
	images := newImageServer(t)
	images.mu.Lock()
	images.files["/img/anim.webp"] = anim
	images.mu.Unlock()
	srv := startServer(t, t.TempDir(), nil)
	if r := srv.webhook(createBody(1, "Гифка", "1000", images.URL+"/img/anim.webp", "")); r.status != 200 {
		t.Fatalf("webhook: %d %s", r.status, r.raw)
	}
	var idx map[string]any
	srv.waitFor("the animated photo to fail", func() bool {
		r := srv.do("GET", "/api/v1/products/1?shop_id=8", map[string]string{"Authorization": "Bearer " + testAdmin}, nil)
		idx, _ = r.body["index"].(map[string]any)
		return idx != nil && idx["state"] == "failed"
	})
	if msg, _ := idx["error"].(string); !strings.Contains(msg, "not supported (animated)") || strings.Contains(msg, "corrupt") {
		t.Fatalf("failure reason: %q", msg)
	}
	r := srv.searchPhoto(anim, map[string]string{})
	if msg, _ := r.body["error"].(string); r.status != 422 || !strings.Contains(msg, "not supported (animated)") {
		t.Fatalf("search with an animated WebP: %d %s", r.status, r.raw)
	}
}
