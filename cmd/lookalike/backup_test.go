package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/draw"
)

// cropped is a photo with i pixels cut off the left: a different file, a
// near-identical picture.
func cropped(t *testing.T, b []byte, i int) []byte {
	t.Helper()
	src, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, r.Dx()-i, r.Dy()))
	draw.Copy(dst, image.Point{}, src, image.Rect(r.Min.X+i, r.Min.Y, r.Max.X, r.Max.Y), draw.Src, nil)
	var out bytes.Buffer
	jpeg.Encode(&out, dst, &jpeg.Options{Quality: 90})
	return out.Bytes()
}

// call makes a request to a server process and decodes its JSON reply.
func call(t *testing.T, method, url string, body any, admin bool) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", testSecret)
	if admin {
		req.Header.Set("Authorization", "Bearer "+testAdmin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func runBin(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(lookalikeBinary(t), args...).CombinedOutput()
	return string(out), err
}

// A backup of a running server under webhook load, restored into a fresh
// directory, serves every product acknowledged before the backup began,
// with every photo present and searchable, and verifies clean.
func TestBackupUnderLoadAndRestore(t *testing.T) {
	bin := lookalikeBinary(t)
	images := newImageServer(t)
	classes := []string{"daisy", "dandelion", "roses", "sunflowers", "tulips"}
	const photos = 15
	variants := map[int][]byte{}
	for i := range photos {
		variants[i] = cropped(t, images.files["/img/"+classes[i%5]+".jpg"], 1+i/5)
		images.mu.Lock()
		images.files[fmt.Sprintf("/img/v%d.jpg", i)] = variants[i]
		images.mu.Unlock()
	}
	dir := t.TempDir()
	env := map[string]string{"LOOKALIKE_DATA_DIR": dir, "WEBHOOK_SECRET": testSecret, "LOOKALIKE_ADMIN_TOKEN": testAdmin,
		"LOOKALIKE_FETCH_ALLOW_PRIVATE": "true", "LOOKALIKE_LOG_LEVEL": "warn", "LOOKALIKE_SEARCH_RATE": "0"}
	addr := freePort(t)
	p := startProc(t, bin, addr, env)
	defer p.kill()
	base := "http://" + addr
	hook := func(base string, id int, title, image string) int {
		st, _ := call(t, "POST", base+"/api/v1/webhooks/product-sync",
			fmt.Sprintf(`{"event_type":"product.updated","product_data":{"id":%d,"title":%q,"price":1500,"image":%q}}`, id, title, image), false)
		return st
	}
	for i := range photos {
		if st := hook(base, i+1, fmt.Sprintf("photo %d", i), fmt.Sprintf("%s/img/v%d.jpg", images.URL, i)); st != 200 {
			t.Fatalf("webhook: %d", st)
		}
	}
	waitQueue := func(base string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, st := call(t, "GET", base+"/stats", nil, false)
			if q, ok := st["queue"].(map[string]any); ok && num(q["pending"])+num(q["running"]) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue did not drain: %v", st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitQueue(base)

	// Load: senders keep posting while the backup runs.
	var mu sync.Mutex
	ackedAt := map[int]time.Time{} // id -> when its webhook was acknowledged
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := 1000 + g*10000 + i
				if hook(base, id, fmt.Sprintf("load %d", id), fmt.Sprintf("%s/img/%s.jpg", images.URL, classes[i%5])) == 200 {
					mu.Lock()
					ackedAt[id] = time.Now()
					mu.Unlock()
				}
			}
		}()
	}
	waitAcks := func(n int) {
		for {
			mu.Lock()
			k := len(ackedAt)
			mu.Unlock()
			if k >= n {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAcks(50)
	dest := filepath.Join(t.TempDir(), "backup")
	began := time.Now()
	out, err := runBin(t, "backup", "--data-dir", dir, dest)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	mu.Lock()
	atBackup := len(ackedAt)
	mu.Unlock()
	waitAcks(atBackup + 50) // the load went on after the backup too
	close(stop)
	wg.Wait()
	t.Logf("%s(%d webhooks acknowledged under load)", out, len(ackedAt))
	if !strings.Contains(out, fmt.Sprintf("%d photos", photos)) && !strings.Contains(out, "photos") {
		t.Errorf("backup output: %s", out)
	}

	// Restore refuses a directory a server runs on, and a non-empty one.
	if out, err := runBin(t, "restore", dest, "--data-dir", dir, "--force"); err == nil || !strings.Contains(out, "in use") {
		t.Fatalf("restore over a running server: %v\n%s", err, out)
	}
	fresh := filepath.Join(t.TempDir(), "restored")
	os.MkdirAll(fresh, 0o755)
	os.WriteFile(filepath.Join(fresh, "lookalike.db"), []byte("x"), 0o644)
	if out, err := runBin(t, "restore", dest, "--data-dir", fresh); err == nil || !strings.Contains(out, "--force") {
		t.Fatalf("restore into a non-empty directory: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(fresh, "lookalike.db"))
	if out, err := runBin(t, "restore", dest, "--data-dir", fresh); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	p.kill()

	env2 := map[string]string{}
	for k, v := range env {
		env2[k] = v
	}
	env2["LOOKALIKE_DATA_DIR"] = fresh
	addr2 := freePort(t)
	p2 := startProc(t, bin, addr2, env2)
	defer p2.kill()
	base2 := "http://" + addr2
	waitQueue(base2)
	mu.Lock()
	var before []int
	for id, at := range ackedAt {
		if at.Before(began) {
			before = append(before, id)
		}
	}
	mu.Unlock()
	if len(before) < 50 {
		t.Fatalf("only %d webhooks acknowledged before the backup began", len(before))
	}
	for _, id := range before {
		if st, got := call(t, "GET", fmt.Sprintf("%s/api/v1/products/%d", base2, id), nil, true); st != 200 || got["title"] != fmt.Sprintf("load %d", id) {
			t.Errorf("product %d acknowledged before the backup: %d %v", id, st, got)
		}
	}
	for i := range photos {
		st, got := call(t, "GET", fmt.Sprintf("%s/api/v1/products/%d", base2, i+1), nil, true)
		sha, _ := got["image_sha256"].(string)
		if idx, _ := got["index"].(map[string]any); st != 200 || idx["state"] != "indexed" {
			t.Errorf("product %d: %d %v", i+1, st, got)
			continue
		}
		if sha == "" {
			sha, _ = got["index"].(map[string]any)["image_sha256"].(string)
		}
		if resp, err := http.Get(base2 + "/images/" + sha); err != nil || resp.StatusCode != 200 {
			t.Errorf("photo of product %d (%s) not served: %v %v", i+1, sha, err, resp)
		} else {
			resp.Body.Close()
		}
		st, res := call(t, "POST", base2+"/api/v1/search", map[string]any{"image_base64": base64.StdEncoding.EncodeToString(variants[i])}, false)
		found := false
		for _, r := range asList(res["results"]) {
			if num(r["product_id"]) == float64(i+1) && num(r["score"]) > 0.999 {
				found = true
			}
		}
		if st != 200 || !found {
			t.Errorf("search by photo %d: %d, product %d not found: %v", i, st, i+1, res)
		}
	}
	if st, rep := call(t, "GET", base2+"/api/v1/admin/verify", nil, true); st != 200 || len(asList(rep["problems"])) != 0 {
		t.Errorf("verify after restore: %d %v", st, rep)
	}
	if t.Failed() {
		t.Logf("restored server log:\n%s", p2.logs.String())
	}
}

func asList(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
