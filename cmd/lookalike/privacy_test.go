package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/lookalike/lookalike/embed/builtin"
)

// at is the same server addressed at another base URL (the admin address).
func (s *server) at(base string) *server {
	c := *s
	c.url, c.cancel = base, nil
	return &c
}

var adminAuth = map[string]string{"Authorization": "Bearer " + testAdmin}

// TestPrivateFieldsStayPrivate: what the CMS sends beyond the shopper's
// fields (a purchase price, a supplier) is readable with the admin token
// only; without one, product reads and search results carry the public view.
func TestPrivateFieldsStayPrivate(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	secret := `,"purchase_price":"1 200 ₸","supplier":"ТОО Гүлдер-Опт","url":"/catalog/roses/501/"`
	for id, class := range map[int]string{501: "roses", 502: "tulips"} {
		if r := srv.webhook(createBody(id, "Букет "+class, "2 500 ₸", images.URL+"/img/"+class+".jpg", secret)); r.status != 200 {
			t.Fatalf("create %d: %d %s", id, r.status, r.raw)
		}
	}
	srv.waitIndexed(8, 501)
	srv.waitIndexed(8, 502)
	private := []string{"purchase_price", "supplier", "ТОО", "extra", "index", "created_at", "model"}
	leaks := func(what, raw string) {
		t.Helper()
		for _, s := range private {
			if strings.Contains(raw, s) {
				t.Errorf("%s shows %q to anyone: %s", what, s, raw)
			}
		}
	}

	anon := srv.do("GET", "/api/v1/products/501?shop_id=8", nil, nil)
	if anon.status != 200 {
		t.Fatalf("anonymous read: %d %s", anon.status, anon.raw)
	}
	leaks("GET /api/v1/products/501", anon.raw)
	p := anon.body
	if p["title"] != "Букет roses" || p["price"] != 2500.0 || p["currency"] != "KZT" || p["is_available"] != true ||
		p["product_id"] != 501.0 || p["shop_id"] != 8.0 || p["url"] != "/catalog/roses/501/" ||
		!strings.HasSuffix(p["image_url"].(string), "/img/roses.jpg") || len(p["image_sha256"].(string)) != 64 {
		t.Fatalf("public view lacks what a shopper needs: %s", anon.raw)
	}
	list := srv.do("GET", "/api/v1/products?shop_id=8", nil, nil)
	if list.status != 200 || len(list.body["products"].([]any)) != 2 {
		t.Fatalf("anonymous list: %d %s", list.status, list.raw)
	}
	leaks("GET /api/v1/products", list.raw)
	s := srv.postJSON("/api/v1/search", map[string]any{"product_id": 501, "shop_id": 8, "min_band": "any"}, nil)
	if s.status != 200 || len(s.body["results"].([]any)) != 1 || s.body["results"].([]any)[0].(map[string]any)["url"] != "/catalog/roses/501/" {
		t.Fatalf("search: %d %s", s.status, s.raw)
	}
	res, _ := json.Marshal(s.body["results"])
	leaks("POST /api/v1/search", string(res))

	// The admin token gets the full record.
	full := srv.do("GET", "/api/v1/products/501?shop_id=8", adminAuth, nil)
	if full.status != 200 || !strings.Contains(full.raw, `"purchase_price":"1 200 ₸"`) || !strings.Contains(full.raw, `"supplier"`) ||
		full.body["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("admin read: %d %s", full.status, full.raw)
	}
	if l := srv.do("GET", "/api/v1/products?shop_id=8", adminAuth, nil); l.status != 200 || strings.Count(l.raw, `"supplier"`) != 2 {
		t.Fatalf("admin list: %d %s", l.status, l.raw)
	}
	// A wrong token is refused, not quietly answered with less.
	if r := srv.do("GET", "/api/v1/products/501?shop_id=8", map[string]string{"Authorization": "Bearer wrong"}, nil); r.status != 401 {
		t.Fatalf("wrong token: %d %s", r.status, r.raw)
	}
	if r := srv.do("GET", "/api/v1/products?shop_id=8", map[string]string{"Authorization": "Bearer wrong"}, nil); r.status != 401 {
		t.Fatalf("wrong token on the list: %d %s", r.status, r.raw)
	}

	// A deleted product is gone for shoppers; the operator still sees its tombstone.
	if r := srv.webhook(`{"event_type":"product.deleted","shop_id":8,"product_data":{"id":502}}`); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := srv.do("GET", "/api/v1/products/502?shop_id=8", nil, nil); r.status != 404 {
		t.Fatalf("anonymous read of a deleted product: %d %s", r.status, r.raw)
	}
	if r := srv.do("GET", "/api/v1/products/502?shop_id=8", adminAuth, nil); r.status != 200 || r.body["deleted_at"] == nil {
		t.Fatalf("admin read of a deleted product: %d %s", r.status, r.raw)
	}
}

// TestAdminAddress: with LOOKALIKE_ADMIN_ADDR the internal endpoints answer
// only there; the public address keeps the shop's pages, search, images,
// webhooks and health checks.
func TestAdminAddress(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_ADMIN_ADDR": "127.0.0.1:0"})
	adm := srv.at(srv.app.AdminURL())
	if adm.url == srv.url {
		t.Fatalf("one address for both: %s", srv.url)
	}
	if r := srv.webhook(createBody(601, "Розы", "2 500 ₸", images.URL+"/img/roses.jpg", `,"supplier":"Опт"`)); r.status != 200 {
		t.Fatalf("webhook on the public address: %d %s", r.status, r.raw)
	}
	adm.waitIndexed(8, 601)

	internal := []struct{ method, path string }{
		{"GET", "/metrics"}, {"GET", "/stats"}, {"GET", "/api/v1/stats"}, {"GET", "/admin"},
		{"GET", "/api/v1/admin/overview"}, {"GET", "/api/v1/admin/failed"}, {"POST", "/api/v1/admin/retry-failed"},
		{"GET", "/api/v1/admin/verify"}, {"POST", "/reindex-one"}, {"POST", "/api/v1/reindex-one"},
		{"GET", "/api/v1/products/601?shop_id=8"}, // with the token: the full record is internal
	}
	for _, e := range internal {
		if st, body := hit(t, e.method, srv.url+e.path, adminAuth); st != 404 || (e.path != "/admin" && !strings.Contains(body, "LOOKALIKE_ADMIN_ADDR")) {
			t.Errorf("public address: %s %s with the token = %d %.200s, want 404 naming the admin address", e.method, e.path, st, body)
		}
		if e.method == "GET" {
			if st, body := hit(t, e.method, adm.url+e.path, adminAuth); st != 200 {
				t.Errorf("admin address: %s %s = %d %.200s", e.method, e.path, st, body)
			}
		}
	}
	if st, body := hit(t, "GET", adm.url+"/metrics", nil); st != 200 || !strings.Contains(body, "lookalike_webhooks_total") {
		t.Errorf("metrics on the admin address: %d %.200s", st, body)
	}
	if r := adm.postJSON("/reindex-one", map[string]any{"product_id": 601, "shop_id": 8}, adminAuth); r.status != 200 {
		t.Errorf("reindex-one on the admin address: %d %s", r.status, r.raw)
	}

	// The public address still serves what shoppers and the CMS use.
	for _, path := range []string{"/healthz", "/readyz", "/api/v1/products/601?shop_id=8", "/api/v1/products?shop_id=8", "/api/v1/search/info"} {
		if r := srv.do("GET", path, nil, nil); r.status != 200 || strings.Contains(r.raw, "Опт") {
			t.Errorf("public address: GET %s = %d %s", path, r.status, r.raw)
		}
	}
	for _, path := range []string{"/", "/static/shop.js"} {
		if st, _ := hit(t, "GET", srv.url+path, nil); st != 200 {
			t.Errorf("public address: GET %s = %d", path, st)
		}
	}
	// The shopper's page asks whether text search works without /stats.
	if r := srv.do("GET", "/api/v1/search/info", nil, nil); r.body["text_search"] != false || r.body["model"] != builtin.Name {
		t.Errorf("search info: %d %s", r.status, r.raw)
	}
	r := srv.searchPhoto(rephotograph(t, readPhoto(t, "roses")), map[string]string{"shop_id": "8"})
	if r.status != 200 || len(r.body["results"].([]any)) != 1 {
		t.Fatalf("search on the public address: %d %s", r.status, r.raw)
	}
	sha := r.body["results"].([]any)[0].(map[string]any)["image_sha256"].(string)
	if st, _ := hit(t, "GET", srv.url+"/images/"+sha+"?w=160", nil); st != 200 {
		t.Errorf("public address: thumbnail = %d", st)
	}
}

// hit makes one request and returns the status and the body, whatever its type.
func hit(t *testing.T, method, url string, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(`{"product_id":601,"shop_id":8}`))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestListStreamsBoundedMemory: a page of products with large extra fields
// is written product by product, so the server's memory does not grow with
// the page. Measured on the real binary's peak RSS.
func TestListStreamsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and stores 24 MB of products")
	}
	addr := freePort(t)
	p := startProc(t, lookalikeBinary(t), addr, map[string]string{
		"LOOKALIKE_DATA_DIR": t.TempDir(), "WEBHOOK_SECRET": testSecret, "LOOKALIKE_ADMIN_TOKEN": testAdmin,
	})
	defer p.kill()
	srv := &server{t: t, url: "http://" + addr, logs: p.logs}

	// 400 products, each with 60 KB of extra fields in 1,200 keys (what a
	// CMS sending every property of a product looks like).
	const products, keys = 400, 1200
	var extra strings.Builder
	for k := 0; k < keys; k++ {
		fmt.Fprintf(&extra, `,"property_%04d":"value %024d"`, k, k)
	}
	ids := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				body := fmt.Sprintf(`{"event_type":"product.created","shop_id":8,"product_data":{"id":%d,"title":"Букет %d","price":"1000"%s}}`, id, id, extra.String())
				if r := srv.webhook(body); r.status != 200 {
					t.Errorf("create %d: %d %.300s", id, r.status, r.raw)
				}
			}
		}()
	}
	for id := 1; id <= products; id++ {
		ids <- id
	}
	close(ids)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	before, err := p.peakRSS()
	if err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequest("GET", srv.url+"/api/v1/products?shop_id=8&limit=500", nil)
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	var mu sync.Mutex
	total := int64(0)
	for i := 0; i < 3; i++ { // three at once, as a client's retries would
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.DefaultClient.Do(req.Clone(req.Context()))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			n, err := io.Copy(io.Discard, resp.Body)
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("list: %d, %d bytes, %v", resp.StatusCode, n, err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	after, err := p.peakRSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3 lists of %d products with %d extra keys each (%.1f MB of JSON each): peak RSS %.0f MiB -> %.0f MiB",
		products, keys, float64(total)/3/1e6, float64(before)/(1<<20), float64(after)/(1<<20))
	if total < 3*products*keys*40 {
		t.Fatalf("the lists are too short: %d bytes", total)
	}
	if grew := after - before; grew > 48<<20 {
		t.Fatalf("listing grew the server's peak memory by %d MiB; it should stay bounded by a few products", grew>>20)
	}
}
