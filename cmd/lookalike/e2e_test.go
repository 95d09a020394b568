package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"github.com/lookalike/lookalike/app"
)

// The tests here boot the whole program through Main.Run on 127.0.0.1:0,
// with a real image server (httptest) serving real photos from testdata/.

const (
	testSecret = "cvety-webhook-2025-secure-key"
	testAdmin  = "admin-token-for-tests"
)

// photos in testdata/photos, by class.
var photos = map[string]string{
	"daisy":      "daisy_100080576_f52e8ee070_n.jpg",
	"dandelion":  "dandelion_10443973_aeb97513fc_m.jpg",
	"roses":      "roses_102501987_3cdb8e5394_n.jpg",
	"sunflowers": "sunflowers_147804446_ef9244c8ce_m.jpg",
	"tulips":     "tulips_100930342_92e8746431_n.jpg",
}

func readPhoto(t testing.TB, class string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "photos", photos[class]))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// imageServer serves the test photos at /img/<class>.jpg and counts requests.
type imageServer struct {
	*httptest.Server
	mu    sync.Mutex
	hits  map[string]int
	files map[string][]byte
}

func newImageServer(t *testing.T) *imageServer {
	s := &imageServer{hits: map[string]int{}, files: map[string][]byte{}}
	for class := range photos {
		s.files["/img/"+class+".jpg"] = readPhoto(t, class)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		b, ok := s.files[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *imageServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.hits {
		n += v
	}
	return n
}

// server is one running `lookalike serve`.
type server struct {
	t      *testing.T
	app    *app.App
	url    string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startServer(t *testing.T, dataDir string, env map[string]string) *server {
	t.Helper()
	base := map[string]string{
		"LOOKALIKE_ADDR":                "127.0.0.1:0",
		"LOOKALIKE_DATA_DIR":            dataDir,
		"WEBHOOK_SECRET":                testSecret,
		"LOOKALIKE_ADMIN_TOKEN":         testAdmin,
		"LOOKALIKE_FETCH_ALLOW_PRIVATE": "true",
		"LOOKALIKE_RETRY_BASE_DELAY":    "50ms",
		"LOOKALIKE_LOG_LEVEL":           "debug",
		"LOOKALIKE_SEARCH_RATE":         "1000",
	}
	for k, v := range env {
		base[k] = v
	}
	logs := &syncBuffer{}
	started := make(chan *app.App, 1)
	m := &Main{Stdout: logs, Stderr: logs, Getenv: func(k string) string { return base[k] },
		Started: func(a *app.App) { started <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{t: t, cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { s.done <- m.Run(ctx, []string{"serve"}) }()
	select {
	case a := <-started:
		s.app, s.url = a, a.URL()
	case err := <-s.done:
		t.Fatalf("serve exited: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start\n%s", logs.String())
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *server) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		s.t.Errorf("serve returned %v", err)
	}
	if s.t.Failed() {
		s.t.Logf("server log:\n%s", s.logs.String())
	}
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

func (s *server) do(method, path string, headers map[string]string, body io.Reader) reply {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			s.t.Fatalf("%s %s: reply is not JSON: %q", method, path, raw)
		}
	}
	return r
}

func (s *server) webhook(body string) reply {
	s.t.Helper()
	return s.do("POST", "/api/v1/webhooks/product-sync",
		map[string]string{"Content-Type": "application/json", "X-Webhook-Secret": testSecret}, strings.NewReader(body))
}

// getJSON reads as the operator does, with the admin token (product reads
// then give the full record); s.do(..., nil, nil) reads as anyone.
func (s *server) getJSON(path string) reply {
	s.t.Helper()
	return s.do("GET", path, map[string]string{"Authorization": "Bearer " + testAdmin}, nil)
}

func (s *server) postJSON(path string, v any, headers map[string]string) reply {
	s.t.Helper()
	b, _ := json.Marshal(v)
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	return s.do("POST", path, h, bytes.NewReader(b))
}

// searchPhoto uploads a photo as multipart, with extra form fields.
func (s *server) searchPhoto(photo []byte, fields map[string]string) reply {
	s.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("image", "query.jpg")
	fw.Write(photo)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.Close()
	return s.do("POST", "/api/v1/search", map[string]string{"Content-Type": mw.FormDataContentType()}, &buf)
}

func (s *server) stats() map[string]any {
	s.t.Helper()
	r := s.getJSON("/stats")
	if r.status != 200 {
		s.t.Fatalf("/stats: %d %s", r.status, r.raw)
	}
	return r.body
}

// catalogueStats is /stats without what changes with the process and the
// clock (replica, replicas: ids, heartbeats; rerank: this process's cache
// of local features, empty after a restart), for comparing two moments.
func catalogueStats(st map[string]any) string {
	c := maps.Clone(st)
	delete(c, "replica")
	delete(c, "replicas")
	delete(c, "rerank")
	return fmt.Sprint(c)
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// waitFor polls cond until it holds or 20 s pass.
func (s *server) waitFor(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; stats %v", what, s.stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) waitIndexed(shop, id int) map[string]any {
	s.t.Helper()
	var p map[string]any
	s.waitFor(fmt.Sprintf("product %d to leave pending", id), func() bool {
		r := s.getJSON(fmt.Sprintf("/api/v1/products/%d?shop_id=%d", id, shop))
		p = r.body
		return r.status == 200 && p["index"].(map[string]any)["state"] != "pending"
	})
	return p
}

// rephotograph crops, rescales, mirrors and re-encodes a photo, as a
// shopper's own picture of the same bouquet would differ from the shop's.
func rephotograph(t testing.TB, b []byte) []byte {
	t.Helper()
	src, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := src.Bounds()
	crop := image.Rect(r.Min.X+r.Dx()/10, r.Min.Y+r.Dy()/12, r.Max.X-r.Dx()/20, r.Max.Y-r.Dy()/10)
	dst := image.NewRGBA(image.Rect(0, 0, crop.Dx()*9/10, crop.Dy()*9/10))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, crop, draw.Src, nil)
	w := dst.Bounds().Dx()
	for y := 0; y < dst.Bounds().Dy(); y++ { // mirror
		for x := 0; x < w/2; x++ {
			a, c := dst.At(x, y), dst.At(w-1-x, y)
			dst.Set(x, y, c)
			dst.Set(w-1-x, y, a)
		}
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 60}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func createBody(id int, title, price, image string, extra string) string {
	return fmt.Sprintf(`{"event_type":"product.created","shop_id":8,"product_data":{"id":%d,"title":%q,"price":%q,"isAvailable":true,"image":%q,"catalogHeight":"60 см"%s}}`,
		id, title, price, image, extra)
}

func TestSeedFlowEndToEnd(t *testing.T) {
	images := newImageServer(t)
	dir := t.TempDir()
	srv := startServer(t, dir, nil)

	// The seed's webhook, as Bitrix sends it, for five bouquets.
	ids := map[string]int{"daisy": 101, "dandelion": 102, "roses": 888888, "sunflowers": 104, "tulips": 105}
	prices := map[string]string{"daisy": "1 500 ₸", "dandelion": "2500 тг", "roses": "2 500 ₸", "sunflowers": "₸4,000", "tulips": "5 000,50 ₸"}
	for class, id := range ids {
		r := srv.webhook(createBody(id, "Букет "+class, prices[class], images.URL+"/img/"+class+".jpg", `,"color":"mixed"`))
		if r.status != 200 {
			t.Fatalf("create %s: %d %s", class, r.status, r.raw)
		}
		want := map[string]any{"status": "success", "action": "created", "product_id": float64(id), "reindex_triggered": true}
		for k, v := range want {
			if r.body[k] != v {
				t.Fatalf("create %s: %s = %v, want %v (%s)", class, k, r.body[k], v, r.raw)
			}
		}
	}
	srv.waitFor("5 vectors", func() bool { return num(srv.stats()["vectors"]) == 5 })
	st := srv.stats()
	if st["model"] == "" || num(st["dimensions"]) <= 0 || num(st["products"].(map[string]any)["active"]) != 5 {
		t.Fatalf("stats: %v", st)
	}

	p := srv.getJSON("/api/v1/products/888888?shop_id=8").body
	idx := p["index"].(map[string]any)
	if p["title"] != "Букет roses" || p["price"] != 2500.0 || p["currency"] != "KZT" || p["price_raw"] != "2 500 ₸" ||
		p["height_cm"] != 60.0 || p["is_available"] != true || p["deleted_at"] != nil || idx["state"] != "indexed" ||
		len(idx["image_sha256"].(string)) != 64 || idx["model"] != st["model"] {
		t.Fatalf("product: %v", p)
	}
	if p5 := srv.getJSON("/api/v1/products/105?shop_id=8").body; p5["price"] != 5000.5 {
		t.Fatalf("price 5 000,50 ₸ shown as %v", p5["price"])
	}

	// A shopper's own photo of each bouquet finds it first.
	for class, id := range ids {
		r := srv.searchPhoto(rephotograph(t, readPhoto(t, class)), map[string]string{"shop_id": "8"})
		if r.status != 200 {
			t.Fatalf("search %s: %d %s", class, r.status, r.raw)
		}
		res := r.body["results"].([]any)
		if len(res) == 0 || num(res[0].(map[string]any)["product_id"]) != float64(id) {
			t.Fatalf("search with a re-photographed %s: got %s", class, r.raw)
		}
		first := res[0].(map[string]any)
		if first["score"].(float64) <= 0.5 || first["title"] != "Букет "+class || first["image_url"] == "" {
			t.Fatalf("first result: %v", first)
		}
	}

	// A price-only update neither fetches nor re-embeds.
	before := images.total()
	r := srv.webhook(`{"event_type":"product.updated","shop_id":8,"product_data":{"id":888888,"price":"9 900 ₸"}}`)
	if r.status != 200 || r.body["action"] != "updated" || r.body["reindex_triggered"] != false {
		t.Fatalf("price update: %d %s", r.status, r.raw)
	}
	time.Sleep(300 * time.Millisecond)
	if images.total() != before {
		t.Fatal("a price-only update downloaded the image again")
	}
	p = srv.getJSON("/api/v1/products/888888?shop_id=8").body
	if p["price"] != 9900.0 || p["title"] != "Букет roses" || p["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("after price update: %v", p)
	}
	// The price filter sees the new price at once.
	roses := rephotograph(t, readPhoto(t, "roses"))
	r = srv.searchPhoto(roses, map[string]string{"shop_id": "8", "price_max": "5000"})
	for _, x := range r.body["results"].([]any) {
		if num(x.(map[string]any)["product_id"]) == 888888 {
			t.Fatalf("price_max 5000 returned the 9 900 ₸ product: %s", r.raw)
		}
	}
	r = srv.searchPhoto(roses, map[string]string{"shop_id": "8", "price_min": "9000", "price_max": "10000"})
	if res := r.body["results"].([]any); len(res) != 1 || num(res[0].(map[string]any)["product_id"]) != 888888 {
		t.Fatalf("price range 9000–10000: %s", r.raw)
	}

	// A new image is fetched and embedded again.
	oldSHA := p["index"].(map[string]any)["image_sha256"]
	r = srv.webhook(`{"event_type":"product.updated","shop_id":8,"product_data":{"id":888888,"image":"` + images.URL + `/img/tulips.jpg"}}`)
	if r.status != 200 || r.body["reindex_triggered"] != true {
		t.Fatalf("image update: %d %s", r.status, r.raw)
	}
	p = srv.waitIndexed(8, 888888)
	if sha := p["index"].(map[string]any)["image_sha256"]; sha == oldSHA || p["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("after new image: %v", p)
	}
	// Two products now share a photo; each has its vector.
	if v := num(srv.stats()["vectors"]); v != 5 {
		t.Fatalf("vectors = %v, want 5", v)
	}

	// Delete: gone from search, row kept.
	r = srv.webhook(`{"event_type":"product.deleted","shop_id":8,"product_data":{"id":105}}`)
	if r.status != 200 || r.body["action"] != "deleted" {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	r = srv.searchPhoto(rephotograph(t, readPhoto(t, "tulips")), map[string]string{"shop_id": "8", "limit": "50"})
	for _, x := range r.body["results"].([]any) {
		if num(x.(map[string]any)["product_id"]) == 105 {
			t.Fatalf("deleted product found: %s", r.raw)
		}
	}
	p = srv.getJSON("/api/v1/products/105?shop_id=8").body
	if p["deleted_at"] == nil || p["title"] != "Букет tulips" {
		t.Fatalf("deleted product row: %v", p)
	}
	st = srv.stats()
	if num(st["vectors"]) != 4 || num(st["products"].(map[string]any)["deleted"]) != 1 {
		t.Fatalf("stats after delete: %v", st)
	}
	if r := srv.webhook(`{"event_type":"product.deleted","shop_id":8,"product_data":{"id":424242}}`); r.status != 200 || r.body["action"] != "deleted" {
		t.Fatalf("delete of unknown id: %d %s", r.status, r.raw)
	}

	// reindex-one on a product whose image is gone: the seed's error.
	srv.webhook(createBody(777, "Нет фото", "100", images.URL+"/img/missing.jpg", ""))
	p = srv.waitIndexed(8, 777)
	if idx := p["index"].(map[string]any); idx["state"] != "failed" || idx["error"] != "Failed to fetch image: 404 Not Found" {
		t.Fatalf("404 image: %v", p)
	}
	auth := map[string]string{"Authorization": "Bearer " + testAdmin}
	r = srv.postJSON("/reindex-one", map[string]any{"product_id": 777, "shop_id": 8}, auth)
	if r.status < 500 || r.body["success"] != false || r.body["error"] != "Failed to fetch image: 404 Not Found" {
		t.Fatalf("reindex-one 404: %d %s", r.status, r.raw)
	}
	r = srv.postJSON("/reindex-one", map[string]any{"product_id": 999, "shop_id": 8}, auth)
	if r.status != 404 || r.body["success"] != false || r.body["error"] != "Product not found" {
		t.Fatalf("reindex-one unknown: %d %s", r.status, r.raw)
	}
	r = srv.postJSON("/api/v1/reindex-one", map[string]any{"product_id": 101, "shop_id": 8}, auth)
	if r.status != 200 || r.body["success"] != true {
		t.Fatalf("reindex-one ok: %d %s", r.status, r.raw)
	}
	if q := srv.stats()["queue"].(map[string]any); num(q["failed"]) != 1 {
		t.Fatalf("queue: %v", q)
	}

	// "More like this" and an image URL query.
	r = srv.postJSON("/api/v1/search", map[string]any{"product_id": 101, "shop_id": 8, "available": "any"}, nil)
	if r.status != 200 {
		t.Fatalf("more like this: %d %s", r.status, r.raw)
	}
	for _, x := range r.body["results"].([]any) {
		if num(x.(map[string]any)["product_id"]) == 101 {
			t.Fatal("more-like-this returned the product itself")
		}
	}
	r = srv.postJSON("/api/v1/search", map[string]any{"image_url": images.URL + "/img/sunflowers.jpg", "shop_id": "8"}, nil)
	if r.status != 200 || num(r.body["results"].([]any)[0].(map[string]any)["product_id"]) != 104 {
		t.Fatalf("image_url search: %d %s", r.status, r.raw)
	}

	// Restart: everything is still there and nothing is fetched again.
	statsBefore := srv.stats()
	srv.stop()
	fetched := images.total()
	srv = startServer(t, dir, nil)
	got := srv.stats()
	if rs := got["replicas"].([]any); len(rs) != 1 || rs[0].(map[string]any)["id"] == statsBefore["replica"].(map[string]any)["id"] {
		t.Fatalf("replicas after the restart (the stopped one left, the new one has a new id): %v", rs)
	}
	if catalogueStats(got) != catalogueStats(statsBefore) {
		t.Fatalf("stats changed across restart:\n%v\n%v", statsBefore, got)
	}
	r = srv.searchPhoto(rephotograph(t, readPhoto(t, "sunflowers")), map[string]string{"shop_id": "8"})
	if r.status != 200 || num(r.body["results"].([]any)[0].(map[string]any)["product_id"]) != 104 {
		t.Fatalf("search after restart: %s", r.raw)
	}
	time.Sleep(200 * time.Millisecond)
	if images.total() != fetched {
		t.Fatal("restart fetched images again")
	}
}

func newTestServer(t *testing.T, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
