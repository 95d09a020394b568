package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookalike/lookalike/imagedecode/imagetest"
)

// hostileServer serves misbehaving image hosts and hostile files.
type hostileServer struct {
	url  string
	mu   sync.Mutex
	hits map[string]int
}

func (h *hostileServer) hit(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hits[path]++
	return h.hits[path]
}

// pngHeaderOnly is a PNG whose header claims w×h pixels and has no data:
// a decompression bomb must be refused from the header alone.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	imagetest.PNGChunk(&b, "IHDR", ihdr)
	imagetest.PNGChunk(&b, "IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	imagetest.PNGChunk(&b, "IEND", nil)
	return b.Bytes()
}

func newHostileServer(t *testing.T, photo []byte) *hostileServer {
	hs := &hostileServer{hits: map[string]int{}}
	big := image.NewNRGBA(image.Rect(0, 0, 6000, 6000)) // 36 MP, legitimately large
	for y := 0; y < 6000; y += 7 {
		for x := 0; x < 6000; x++ {
			big.Set(x, y, color.NRGBA{200, 30, 60, 255})
		}
	}
	var bigPNG bytes.Buffer
	png.Encode(&bigPNG, big)
	mux := http.NewServeMux()
	mux.HandleFunc("/429-then-ok.jpg", func(w http.ResponseWriter, r *http.Request) {
		if hs.hit(r.URL.Path) == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Write(photo)
	})
	mux.HandleFunc("/500-then-ok.jpg", func(w http.ResponseWriter, r *http.Request) {
		if hs.hit(r.URL.Path) <= 2 {
			http.Error(w, "oops", http.StatusInternalServerError)
			return
		}
		w.Write(photo)
	})
	mux.HandleFunc("/trickle.jpg", func(w http.ResponseWriter, r *http.Request) {
		hs.hit(r.URL.Path)
		w.Header().Set("Content-Length", fmt.Sprint(len(photo)))
		for i := 0; i < len(photo); i += 10 {
			if _, err := w.Write(photo[i:min(i+10, len(photo))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/reset.jpg", func(w http.ResponseWriter, r *http.Request) {
		hs.hit(r.URL.Path)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
		conn.Close()
	})
	mux.HandleFunc("/loop.jpg", func(w http.ResponseWriter, r *http.Request) {
		hs.hit(r.URL.Path)
		http.Redirect(w, r, "/loop.jpg?n="+fmt.Sprint(time.Now().UnixNano()), http.StatusFound)
	})
	mux.HandleFunc("/to-private.jpg", func(w http.ResponseWriter, r *http.Request) {
		hs.hit(r.URL.Path)
		// Redirect to a host that is not on the allow-list and is loopback.
		_, port, _ := net.SplitHostPort(r.Host)
		http.Redirect(w, r, "http://localhost:"+port+"/ok.jpg", http.StatusFound)
	})
	mux.HandleFunc("/ok.jpg", func(w http.ResponseWriter, r *http.Request) { hs.hit(r.URL.Path); w.Write(photo) })
	mux.HandleFunc("/bomb.png", func(w http.ResponseWriter, r *http.Request) { w.Write(pngHeaderOnly(100000, 100000)) })
	mux.HandleFunc("/page.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg") // lies
		w.Write([]byte("<!DOCTYPE html><html><body>Not found</body></html>"))
	})
	mux.HandleFunc("/truncated.jpg", func(w http.ResponseWriter, r *http.Request) { w.Write(photo[:len(photo)/2]) })
	mux.HandleFunc("/empty.jpg", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/huge.jpg", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte{0xff}, 1<<20)
		for i := 0; i < 30; i++ { // 30 MiB, chunked: no Content-Length to refuse up front
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/big.png", func(w http.ResponseWriter, r *http.Request) { w.Write(bigPNG.Bytes()) })
	hs.url = newTestServer(t, mux)
	return hs
}

// TestFaultInjection runs the real binary against a misbehaving image host:
// each fault ends as the right index state with a clear reason, the server
// stays up, and its peak memory stays under 1 GiB.
func TestFaultInjection(t *testing.T) {
	bin := lookalikeBinary(t)
	photo := readPhoto(t, "roses")
	hs := newHostileServer(t, photo)
	addr := freePort(t)
	p := startProc(t, bin, addr, map[string]string{
		"LOOKALIKE_DATA_DIR":            t.TempDir(),
		"WEBHOOK_SECRET":                testSecret,
		"LOOKALIKE_ADMIN_TOKEN":         testAdmin, // srv.getJSON reads the full record
		"LOOKALIKE_FETCH_ALLOW_PRIVATE": "false",
		"LOOKALIKE_FETCH_ALLOW_HOSTS":   "127.0.0.1",
		"LOOKALIKE_FETCH_TIMEOUT":       "1s",
		"LOOKALIKE_RETRY_BASE_DELAY":    "100ms",
		"LOOKALIKE_MAX_ATTEMPTS":        "3",
		"LOOKALIKE_LOG_LEVEL":           "warn",
	})
	defer p.kill()
	srv := &server{t: t, url: "http://" + addr, logs: p.logs}

	cases := []struct {
		id     int
		path   string
		state  string
		reason string // part of index.error
	}{
		{1, "/429-then-ok.jpg", "indexed", ""},
		{2, "/500-then-ok.jpg", "indexed", ""},
		{3, "/trickle.jpg", "failed", "gave up after 3 attempts"},
		{4, "/reset.jpg", "failed", "gave up after 3 attempts"},
		{5, "/loop.jpg", "failed", "redirects"},
		{6, "/to-private.jpg", "failed", "loopback"},
		{7, "/bomb.png", "failed", "limit"},
		{8, "/page.jpg", "failed", "HTML"},
		{9, "/truncated.jpg", "failed", "Failed to decode image"},
		{10, "/empty.jpg", "failed", "empty"},
		{11, "/huge.jpg", "failed", "MiB"},
		{12, "/big.png", "indexed", ""},
		{13, "/missing.jpg", "failed", "404 Not Found"},
	}
	for _, c := range cases {
		r := srv.webhook(fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"t","image":"%s%s"}}`, c.id, hs.url, c.path))
		if r.status != 200 || r.body["reindex_triggered"] != true {
			t.Fatalf("%s: webhook %d %s", c.path, r.status, r.raw)
		}
	}
	for _, c := range cases {
		var got map[string]any
		deadline := time.Now().Add(45 * time.Second)
		for {
			got = srv.getJSON(fmt.Sprintf("/api/v1/products/%d", c.id)).body
			if got["index"].(map[string]any)["state"] != "pending" || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		idx := got["index"].(map[string]any)
		t.Logf("%-18s %-8v %v", c.path, idx["state"], idx["error"])
		if idx["state"] != c.state || !strings.Contains(fmt.Sprint(idx["error"]), c.reason) {
			t.Errorf("%s: index %v, want state %s with %q", c.path, idx, c.state, c.reason)
		}
	}
	hs.mu.Lock()
	if n := hs.hits["/429-then-ok.jpg"]; n != 2 {
		t.Errorf("429 path fetched %d times, want 2", n)
	}
	if n := hs.hits["/ok.jpg"]; n != 0 {
		t.Errorf("the redirect to a private address was followed (%d hits)", n)
	}
	hs.mu.Unlock()
	if r := srv.getJSON("/healthz"); r.status != 200 {
		t.Fatal("server not healthy after the faults")
	}
	rss, err := p.peakRSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("peak RSS: %d MiB", rss>>20)
	if rss > 1<<30 {
		t.Errorf("peak RSS %d MiB is over 1 GiB", rss>>20)
	}
	if t.Failed() {
		t.Logf("server log:\n%s", p.logs.String())
	}
}

func TestDecodeTimeout(t *testing.T) {
	big := image.NewNRGBA(image.Rect(0, 0, 4000, 4000))
	for i := range big.Pix {
		big.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	png.Encode(&b, big)
	host := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(b.Bytes()) }))
	srv := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_DECODE_TIMEOUT": "1ms"})
	srv.webhook(`{"event_type":"product.created","product_data":{"id":1,"image":"` + host + `/big.png"}}`)
	idx := srv.waitIndexed(1, 1)["index"].(map[string]any)
	if idx["state"] != "failed" || !strings.Contains(idx["error"].(string), "took too long") {
		t.Fatalf("slow decode: %v", idx)
	}
}
