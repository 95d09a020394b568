package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A refused request gets a clear JSON error with the right status, and
// writes nothing.
func TestWebhookRefusals(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	valid := `{"event_type":"product.created","product_data":{"id":5,"title":"Розы","price":"2 500 ₸","image":""}}`
	hook := func(secret, body string) reply {
		h := map[string]string{"Content-Type": "application/json"}
		if secret != "" {
			h["X-Webhook-Secret"] = secret
		}
		return srv.do("POST", "/api/v1/webhooks/product-sync", h, strings.NewReader(body))
	}
	big := `{"event_type":"product.created","product_data":{"id":5,"title":"` + strings.Repeat("x", 1<<20) + `"}}`
	cases := []struct {
		name, secret, body string
		status             int
		msg                string // part of the error message
	}{
		{"no secret", "", valid, 401, "missing X-Webhook-Secret"},
		{"wrong secret", "nope-nope-nope", valid, 401, "wrong webhook secret"},
		{"malformed JSON", testSecret, `{"event_type":`, 400, "JSON"},
		{"not an object", testSecret, `[1,2]`, 400, "JSON"},
		{"too large", testSecret, big, 413, "1 MiB"},
		{"unknown event", testSecret, `{"event_type":"product.moved","product_data":{"id":5}}`, 422, "event_type"},
		{"no event", testSecret, `{"product_data":{"id":5}}`, 422, "event_type"},
		{"no product_data", testSecret, `{"event_type":"product.created"}`, 422, "product_data"},
		{"missing id", testSecret, `{"event_type":"product.created","product_data":{"title":"x"}}`, 422, "id"},
		{"bad id", testSecret, `{"event_type":"product.created","product_data":{"id":"a/b"}}`, 422, "id"},
		{"negative id", testSecret, `{"event_type":"product.created","product_data":{"id":-4}}`, 422, "id"},
		{"bad price", testSecret, `{"event_type":"product.created","product_data":{"id":5,"price":"дорого"}}`, 422, "price"},
		{"bad height", testSecret, `{"event_type":"product.created","product_data":{"id":5,"catalogHeight":"высокий"}}`, 422, "catalogHeight"},
		{"bad availability", testSecret, `{"event_type":"product.created","product_data":{"id":5,"isAvailable":"maybe"}}`, 422, "isAvailable"},
		{"bad shop", testSecret, `{"event_type":"product.created","shop_id":"x","product_data":{"id":5}}`, 422, "shop_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := hook(c.secret, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
			}
			if r.body["status"] != "error" || !strings.Contains(fmt.Sprint(r.body["error"]), c.msg) {
				t.Fatalf("error body %s does not mention %q", r.raw, c.msg)
			}
			if strings.Contains(r.raw, testSecret) {
				t.Fatal("the reply echoes the secret")
			}
		})
	}
	st := srv.stats()
	if num(st["products"].(map[string]any)["active"]) != 0 || num(st["queue"].(map[string]any)["pending"]) != 0 {
		t.Fatalf("refused requests wrote something: %v", st)
	}
	if r := srv.getJSON("/api/v1/products/5"); r.status != 404 {
		t.Fatalf("product 5 exists after refusals: %d %s", r.status, r.raw)
	}
	if strings.Contains(srv.logs.String(), testSecret) {
		t.Fatal("the secret appears in the log")
	}
	if !strings.Contains(srv.logs.String(), "request refused") {
		t.Fatal("refusals are not logged")
	}

	// And the valid one goes through, without an image: no_image, no job.
	if r := hook(testSecret, valid); r.status != 200 || r.body["reindex_triggered"] != false {
		t.Fatalf("valid webhook: %d %s", r.status, r.raw)
	}
	p := srv.getJSON("/api/v1/products/5").body
	if p["index"].(map[string]any)["state"] != "no_image" || p["shop_id"] != 1.0 {
		t.Fatalf("product without image: %v", p)
	}
}

func TestDisabledAndProtectedEndpoints(t *testing.T) {
	srv := startServer(t, t.TempDir(), map[string]string{"WEBHOOK_SECRET": "", "LOOKALIKE_ADMIN_TOKEN": ""})
	r := srv.do("POST", "/api/v1/webhooks/product-sync", map[string]string{"X-Webhook-Secret": "anything"},
		strings.NewReader(`{"event_type":"product.created","product_data":{"id":1}}`))
	if r.status != 503 || !strings.Contains(r.body["error"].(string), "WEBHOOK_SECRET") {
		t.Fatalf("webhook without configured secret: %d %s", r.status, r.raw)
	}
	r = srv.postJSON("/reindex-one", map[string]any{"product_id": 1}, nil)
	if r.status != 403 || !strings.Contains(r.body["error"].(string), "LOOKALIKE_ADMIN_TOKEN") {
		t.Fatalf("admin without configured token: %d %s", r.status, r.raw)
	}
	srv.stop()

	srv = startServer(t, t.TempDir(), nil)
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": testAdmin}} {
		r = srv.postJSON("/reindex-one", map[string]any{"product_id": 1}, h)
		if r.status != 401 || r.body["success"] != false {
			t.Fatalf("admin with %v: %d %s", h, r.status, r.raw)
		}
	}
	if r := srv.getJSON("/healthz"); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
	if r := srv.getJSON("/readyz"); r.status != 200 || r.body["status"] != "ready" {
		t.Fatalf("readyz: %d %s", r.status, r.raw)
	}
	if r := srv.getJSON("/nope"); r.status != 404 || r.body["status"] != "error" {
		t.Fatalf("unknown path: %d %s", r.status, r.raw)
	}
}

func TestSearchRefusals(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	photo := readPhoto(t, "roses")
	cases := []struct {
		name   string
		do     func() reply
		status int
		msg    string
	}{
		{"no query", func() reply { return srv.postJSON("/api/v1/search", map[string]any{"shop_id": 1}, nil) }, 400, "exactly one"},
		{"two queries", func() reply {
			return srv.postJSON("/api/v1/search", map[string]any{"product_id": 1, "image_url": "https://x/a.jpg"}, nil)
		}, 400, "exactly one"},
		{"malformed JSON", func() reply {
			return srv.do("POST", "/api/v1/search", map[string]string{"Content-Type": "application/json"}, strings.NewReader("{"))
		}, 400, "JSON"},
		{"unknown field", func() reply { return srv.postJSON("/api/v1/search", map[string]any{"imageurl": "x"}, nil) }, 400, "unknown field"},
		{"bad limit", func() reply { return srv.searchPhoto(photo, map[string]string{"limit": "-1"}) }, 400, "limit"},
		{"bad available", func() reply { return srv.searchPhoto(photo, map[string]string{"available": "sometimes"}) }, 400, "available"},
		{"bad price", func() reply { return srv.searchPhoto(photo, map[string]string{"price_min": "cheap"}) }, 400, "price_min"},
		{"not an image", func() reply { return srv.searchPhoto([]byte("<html><body>hi</body></html>"), nil) }, 422, "not an image"},
		{"truncated image", func() reply { return srv.searchPhoto(photo[:len(photo)/3], nil) }, 422, ""},
		{"bad base64", func() reply { return srv.postJSON("/api/v1/search", map[string]any{"image_base64": "@@@"}, nil) }, 400, "base64"},
		{"text without CLIP", func() reply {
			return srv.postJSON("/api/v1/search", map[string]any{"text": "белые розы"}, nil)
		}, 422, "CLIP"},
		{"unknown product", func() reply { return srv.postJSON("/api/v1/search", map[string]any{"product_id": 42}, nil) }, 404, "not found"},
		{"wrong content type", func() reply {
			return srv.do("POST", "/api/v1/search", map[string]string{"Content-Type": "text/plain"}, strings.NewReader("roses"))
		}, 415, "Content-Type"},
		{"upload over 20 MiB", func() reply { return srv.searchPhoto(bytes.Repeat([]byte{0xff}, 21<<20), nil) }, 413, "MiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.do()
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %.300s", r.status, c.status, r.raw)
			}
			if r.body["status"] != "error" || !strings.Contains(fmt.Sprint(r.body["error"]), c.msg) {
				t.Fatalf("error body %.300s does not mention %q", r.raw, c.msg)
			}
		})
	}
	// Limits are clamped, defaults apply, and an empty catalogue answers [].
	r := srv.searchPhoto(photo, map[string]string{"limit": "1000"})
	if r.status != 200 || len(r.body["results"].([]any)) != 0 || r.body["model"] == "" {
		t.Fatalf("empty catalogue search: %d %s", r.status, r.raw)
	}
}

// Without LOOKALIKE_FETCH_ALLOW_PRIVATE, an image URL on loopback is refused
// at connect time: the product is stored and ends failed with the reason.
func TestPrivateImageURLRefused(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_FETCH_ALLOW_PRIVATE": "false"})
	r := srv.webhook(`{"event_type":"product.created","product_data":{"id":9,"image":"` + images.URL + `/img/roses.jpg"}}`)
	if r.status != 200 || r.body["reindex_triggered"] != true {
		t.Fatalf("webhook: %d %s", r.status, r.raw)
	}
	p := srv.waitIndexed(1, 9)
	idx := p["index"].(map[string]any)
	if idx["state"] != "failed" || !strings.Contains(idx["error"].(string), "127.0.0.1") {
		t.Fatalf("private image: %v", p)
	}
	if images.total() != 0 {
		t.Fatal("the private address was contacted")
	}
	r = srv.postJSON("/api/v1/search", map[string]any{"image_url": images.URL + "/img/roses.jpg"}, nil)
	if r.status != 422 || !strings.Contains(r.raw, "127.0.0.1") {
		t.Fatalf("search image_url on loopback: %d %s", r.status, r.raw)
	}
}

// Transient image-host failures are retried with backoff until they pass.
func TestTransientFailureRetried(t *testing.T) {
	photo := readPhoto(t, "daisy")
	var calls int
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	host := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-mu
		calls++
		n := calls
		mu <- struct{}{}
		if n <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write(photo)
	})
	images := newTestServer(t, host)
	srv := startServer(t, t.TempDir(), nil)
	srv.webhook(`{"event_type":"product.created","product_data":{"id":3,"image":"` + images + `/a.jpg"}}`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		p := srv.getJSON("/api/v1/products/3").body
		if p["index"].(map[string]any)["state"] == "indexed" {
			break
		}
		if p["index"].(map[string]any)["state"] == "failed" || time.Now().After(deadline) {
			t.Fatalf("not retried to success: %v", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if calls != 3 {
		t.Fatalf("%d calls, want 3", calls)
	}
}

func TestSearchRateLimit(t *testing.T) {
	srv := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_SEARCH_RATE": "0.001", "LOOKALIKE_SEARCH_BURST": "3"})
	photo := readPhoto(t, "daisy")
	for i := 0; i < 3; i++ {
		if r := srv.searchPhoto(photo, nil); r.status != 200 {
			t.Fatalf("search %d within the burst: %d %s", i, r.status, r.raw)
		}
	}
	req, _ := http.NewRequest("POST", srv.url+"/api/v1/search", strings.NewReader(`{"product_id":1}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Webhooks and reads are not limited.
	if r := srv.getJSON("/stats"); r.status != 200 {
		t.Fatalf("stats while search is limited: %d", r.status)
	}
}

func TestMetricsScrape(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	srv.webhook(`{"event_type":"product.created","product_data":{"id":1,"image":"` + images.URL + `/img/roses.jpg"}}`)
	srv.webhook(`{"event_type":"product.created","product_data":{"id":2,"image":"` + images.URL + `/img/nope.jpg"}}`)
	srv.do("POST", "/api/v1/webhooks/product-sync", map[string]string{"X-Webhook-Secret": "wrong-wrong"}, strings.NewReader("{}"))
	srv.waitFor("jobs to finish", func() bool {
		q := srv.stats()["queue"].(map[string]any)
		return num(q["pending"]) == 0 && num(q["running"]) == 0
	})
	srv.searchPhoto(readPhoto(t, "roses"), nil)
	resp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`lookalike_webhooks_total{outcome="ok"} 2`,
		`lookalike_webhooks_total{outcome="unauthorized"} 1`,
		`lookalike_webhook_duration_seconds_bucket{outcome="ok",le="+Inf"} 2`,
		`lookalike_queue_jobs{state="failed"} 1`,
		`lookalike_queue_jobs{state="pending"} 0`,
		`lookalike_jobs_total{outcome="indexed"} 1`,
		`lookalike_jobs_total{outcome="failed"} 1`,
		`lookalike_job_duration_seconds_count{outcome="indexed"} 1`,
		`lookalike_fetch_errors_total{kind="not_found"} 1`,
		`lookalike_fetch_bytes_total `,
		`lookalike_embed_duration_seconds_count 1`,
		`lookalike_index_vectors 1`,
		`lookalike_products{state="active"} 2`,
		`lookalike_searches_total{outcome="ok"} 1`,
		`lookalike_search_duration_seconds_count{outcome="ok"} 1`,
		`lookalike_search_index_lookup_seconds_count 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
