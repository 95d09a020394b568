package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookalike/lookalike/imagedecode/imagetest"
)

// uploadSearch posts photo to /api/v1/search as a multipart upload and
// returns the status and the decoded JSON reply.
func uploadSearch(client *http.Client, base string, photo []byte) (int, map[string]any, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("image", "query")
	fw.Write(photo)
	mw.Close()
	resp, err := client.Post(base+"/api/v1/search", mw.FormDataContentType(), &buf)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reply %d is not JSON: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, body, nil
}

// TestDecodeMemoryUnderAttack uploads, at once, eight 16-bit RGBA PNGs of
// 42 MP (336 MB each when decoded) and a 49 MP CMYK JPEG to the real
// binary on its defaults; then eight 30 MP 8-bit PNGs (120 MB each) that
// the decode budget takes one at a time. Every reply must be sane
// JSON (200, or 413/503 with an error), the server must not die, and its
// peak RSS must stay under 768 MiB.
func TestDecodeMemoryUnderAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and decodes large images")
	}
	bin := lookalikeBinary(t)
	addr := freePort(t)
	p := startProc(t, bin, addr, map[string]string{
		"LOOKALIKE_DATA_DIR":  t.TempDir(),
		"WEBHOOK_SECRET":      testSecret,
		"LOOKALIKE_LOG_LEVEL": "warn",
		// Memory settings stay at their defaults; a loaded test machine
		// gets more time to decode and to wait for decode memory.
		"LOOKALIKE_DECODE_TIMEOUT": "60s",
	})
	defer p.kill()
	base := "http://" + addr
	client := &http.Client{Timeout: 5 * time.Minute}

	deep := imagetest.StripedPNG(6480, 6480, 16)
	cmyk := imagetest.CMYKJPEG(7000, 7000, [4]int{})
	t.Logf("16-bit PNG %d KB, CMYK JPEG %d KB", len(deep)>>10, len(cmyk)>>10)

	wave := func(name string, photos [][]byte) map[int]int {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		for _, ph := range photos {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, body, err := uploadSearch(client, base, ph)
				mu.Lock()
				defer mu.Unlock()
				statuses[st]++
				switch {
				case err != nil:
					t.Errorf("%s: %v", name, err)
				case st == http.StatusOK:
					if _, ok := body["results"]; !ok {
						t.Errorf("%s: 200 without results: %v", name, body)
					}
				case st == http.StatusRequestEntityTooLarge || st == http.StatusServiceUnavailable:
					if msg, _ := body["error"].(string); msg == "" {
						t.Errorf("%s: %d without an error message: %v", name, st, body)
					} else {
						t.Logf("%s: %d %s", name, st, msg)
					}
				default:
					t.Errorf("%s: unexpected status %d: %v", name, st, body)
				}
			}()
		}
		wg.Wait()
		select {
		case <-p.done:
			t.Fatalf("server died during %s:\n%s", name, p.logs.String())
		default:
		}
		rss, err := p.peakRSS()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: replies %v, peak RSS so far %d MiB", name, statuses, rss>>20)
		return statuses
	}

	attack := [][]byte{cmyk}
	for range 8 {
		attack = append(attack, deep)
	}
	wave("8 × 42 MP 16-bit PNG + 49 MP CMYK JPEG", attack)

	var fitting [][]byte
	wide := imagetest.StripedPNG(6000, 5000, 8)
	for range 8 {
		fitting = append(fitting, wide)
	}
	if st := wave("8 × 30 MP 8-bit PNG", fitting); st[http.StatusOK] == 0 {
		t.Errorf("no 30 MP upload was answered: %v", st)
	}

	rss, _ := p.peakRSS()
	if rss >= 768<<20 {
		t.Errorf("peak RSS %d MiB, want under 768 MiB", rss>>20)
	}
	if t.Failed() {
		t.Logf("server log:\n%s", p.logs.String())
	}
}

// grayPNG encodes a w×h grey PNG with a little texture.
func grayPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 13)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestStripsAndDecodeBudgetOverWebhooks: photos named in webhooks go
// through the same decode budget as searches (a 42 MP 16-bit PNG ends
// failed, saying why), and thumbnails of strips fit their box.
func TestStripsAndDecodeBudgetOverWebhooks(t *testing.T) {
	files := map[string][]byte{
		"/tall.png": grayPNG(t, 1, 1000000),
		"/thin.png": grayPNG(t, 20, 20000),
		"/deep.png": imagetest.StripedPNG(6480, 6480, 16),
	}
	host := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := files[r.URL.Path]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	srv := startServer(t, t.TempDir(), nil)
	for id, name := range []string{"/tall.png", "/thin.png", "/deep.png"} {
		if r := srv.webhook(createBody(id+1, "strip", "100", host+name, "")); r.status != 200 {
			t.Fatalf("webhook %s: %d %s", name, r.status, r.raw)
		}
	}
	idx := srv.waitIndexed(8, 3)["index"].(map[string]any)
	if msg, _ := idx["error"].(string); idx["state"] != "failed" || !strings.Contains(msg, "decodes to 320 MiB, more than the 192 MiB decode memory budget") {
		t.Fatalf("42 MP 16-bit PNG over a webhook: %v", idx)
	}
	for id := 1; id <= 2; id++ {
		idx := srv.waitIndexed(8, id)["index"].(map[string]any)
		sha, _ := idx["image_sha256"].(string)
		if idx["state"] != "indexed" || sha == "" {
			t.Fatalf("product %d: %v", id, idx)
		}
		for _, w := range []int{160, 320, 640} {
			resp, err := http.Get(fmt.Sprintf("%s/images/%s?w=%d", srv.url, sha, w))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(body))
			if resp.StatusCode != 200 || err != nil {
				t.Fatalf("product %d thumbnail at %d: %d %v %.200q", id, w, resp.StatusCode, err, body)
			}
			if cfg.Width > w || cfg.Height > 2*w {
				t.Errorf("product %d thumbnail at %d is %d×%d, outside %d×%d", id, w, cfg.Width, cfg.Height, w, 2*w)
			}
		}
	}
	// A conditional request for an image that is not there is 404, not 304.
	missing := strings.Repeat("0", 64)
	r := srv.do("GET", "/images/"+missing+"?w=320", map[string]string{"If-None-Match": `"` + missing + `-320"`}, nil)
	if r.status != 404 || r.body["error"] == nil {
		t.Fatalf("If-None-Match for a missing image: %d %s", r.status, r.raw)
	}
}

// TestExtraFieldsBounded: a webhook with 60,000 extra keys is refused with
// 422 naming the limit and nothing is stored; nor can events add up past
// the limit one under it at a time.
func TestExtraFieldsBounded(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	var many strings.Builder
	for i := range 60000 {
		fmt.Fprintf(&many, `,"k%d":%d`, i, i)
	}
	r := srv.webhook(createBody(1, "Розы", "2 500 ₸", "", many.String()))
	if msg, _ := r.body["error"].(string); r.status != 422 || !strings.Contains(msg, "64 KiB") {
		t.Fatalf("60,000 extra fields: %d %s", r.status, r.raw)
	}
	if g := srv.getJSON("/api/v1/products/1?shop_id=8"); g.status != 404 {
		t.Fatalf("refused product was stored: %d %.300s", g.status, g.raw)
	}

	half := func(prefix string) string { // about 40 KiB of extra fields
		var b strings.Builder
		for i := range 40 {
			fmt.Fprintf(&b, `,"%s%d":%q`, prefix, i, strings.Repeat("x", 1000))
		}
		return b.String()
	}
	if r := srv.webhook(createBody(2, "Тюльпаны", "1000", "", half("a"))); r.status != 200 {
		t.Fatalf("40 KiB of extra fields: %d %s", r.status, r.raw)
	}
	r = srv.webhook(strings.Replace(createBody(2, "Новое", "1000", "", half("b")), "product.created", "product.updated", 1))
	if msg, _ := r.body["error"].(string); r.status != 422 || !strings.Contains(msg, "stored before") {
		t.Fatalf("a second 40 KiB on top: %d %s", r.status, r.raw)
	}
	g := srv.getJSON("/api/v1/products/2?shop_id=8")
	if g.status != 200 || g.body["title"] != "Тюльпаны" {
		t.Fatalf("product after the refused update: %d %.300s", g.status, g.raw)
	}
}
