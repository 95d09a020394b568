package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/vectorindex/weaviate"
	"github.com/lookalike/lookalike/vectorindex/weaviate/weaviatetest"
)

// TestMain runs the tests in a private network namespace where a Weaviate
// server can run (see weaviatetest).
func TestMain(m *testing.M) { weaviatetest.Main(m) }

const testSecret = "test-webhook-secret-0123456789"

// pattern is a 96×96 PNG of stripes of two colours, a different photo per n.
func pattern(n int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	a := color.RGBA{uint8(60 * n), uint8(255 - 70*n), uint8(40 + 90*n), 255}
	b := color.RGBA{uint8(255 - 50*n), uint8(30 * n), uint8(200 - 40*n), 255}
	for y := 0; y < 96; y++ {
		for x := 0; x < 96; x++ {
			if (x/(4+4*n)+y/(6+2*n))%2 == 0 {
				img.Set(x, y, a)
			} else {
				img.Set(x, y, b)
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startApp(t *testing.T, cfg Config) *App {
	t.Helper()
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}

func post(t *testing.T, url string, header map[string]string, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (a *App) reconciliation() *Reconciliation {
	a.ix.mu.Lock()
	defer a.ix.mu.Unlock()
	return a.ix.reconciled
}

// With LOOKALIKE_VECTOR_URL the vectors live in Weaviate: webhooks index
// products there and searches find them; a restart loads nothing into
// memory, and its reconciliation adds the photo Weaviate lost and removes
// the one no product has, keeping the others as they are.
func TestVectorsInWeaviate(t *testing.T) {
	images := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/img/%d.png", &n)
		w.Header().Set("Content-Type", "image/png")
		w.Write(pattern(n))
	}))
	defer images.Close()
	cfg := Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), WebhookSecrets: []string{testSecret}, FetchAllowPrivate: true,
		RetryBaseDelay: 50 * time.Millisecond, VectorURL: weaviatetest.URL(t), VectorClassPrefix: fmt.Sprintf("AppTest%d", time.Now().UnixNano())}
	a := startApp(t, cfg)
	eng := a.engine.Load()
	model, dim := eng.embedder.Model(), eng.embedder.Dim()
	class := weaviate.ClassName(cfg.VectorClassPrefix, model)
	x, err := weaviate.New(context.Background(), weaviate.Config{URL: cfg.VectorURL, Class: class, Dim: dim, Model: model})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		x.Drop(context.Background())
		x.Close()
	}()
	if _, ok := eng.index.(*weaviate.Index); !ok {
		t.Fatalf("LOOKALIKE_VECTOR_URL chose %T", eng.index)
	}
	for id := 1; id <= 3; id++ {
		body := fmt.Sprintf(`{"event_type":"product.created","shop_id":8,"product_data":{"id":%d,"title":"Букет %d","price":"2 500 ₸","isAvailable":true,"image":"%s/img/%d.png"}}`, id, id, images.URL, id)
		if code, out := post(t, a.URL()+"/api/v1/webhooks/product-sync", map[string]string{"X-Webhook-Secret": testSecret}, body); code != 200 {
			t.Fatalf("webhook %d: %d %v", id, code, out)
		}
	}
	waitUntil(t, "3 photos in Weaviate", func() bool { return x.Len() == 3 })
	waitUntil(t, "the first reconciliation", func() bool { return a.reconciliation() != nil })
	for id := 1; id <= 3; id++ {
		code, out := post(t, a.URL()+"/api/v1/search", nil, fmt.Sprintf(`{"image_url":"%s/img/%d.png","shop_id":8}`, images.URL, id))
		res, _ := out["results"].([]any)
		if code != 200 || len(res) == 0 || res[0].(map[string]any)["product_id"] != float64(id) {
			t.Fatalf("search with photo %d: %d %v", id, code, out)
		}
	}
	st := a.indexStatus().(IndexStatus)
	if st.Kind != IndexWeaviate || st.Serving != IndexWeaviate || st.State != "shared" || st.Vectors != 3 {
		t.Fatalf("index status %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// While no server runs, Weaviate loses product 2's photo and gains a
	// photo of a product the catalogue does not have.
	lost := vectorindex.Key{ShopID: 8, ProductID: "2"}
	photos, err := x.Photos(lost)
	if err != nil || len(photos) != 1 {
		t.Fatalf("photos of product 2: %v %v", photos, err)
	}
	if err := x.DeletePhoto(lost, photos[0]); err != nil {
		t.Fatal(err)
	}
	stray := vectorindex.Key{ShopID: 8, ProductID: "99"}
	v := make([]float32, dim)
	v[0] = 1
	if err := x.Upsert(stray, "stray", v, vectorindex.Meta{Available: true}); err != nil {
		t.Fatal(err)
	}

	a = startApp(t, cfg)
	defer a.Stop(context.Background())
	waitUntil(t, "the reconciliation", func() bool { return a.reconciliation() != nil })
	got := *a.reconciliation()
	got.TookMS = 0
	if want := (Reconciliation{Kept: 2, Added: 1, Removed: 1}); !reflect.DeepEqual(got, want) {
		t.Fatalf("reconciliation %+v, want %+v", got, want)
	}
	if p, _ := x.Photos(lost); !reflect.DeepEqual(p, photos) {
		t.Fatalf("product 2's photos after the reconciliation: %v, want %v", p, photos)
	}
	if p, _ := x.Photos(stray); len(p) != 0 || x.Len() != 3 {
		t.Fatalf("the stray photo stayed: %v, %d photos", p, x.Len())
	}
}
