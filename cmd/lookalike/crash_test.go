package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// lookalikeBinary builds the real binary once per test run.
func lookalikeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lookalike-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "lookalike")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// proc is one `lookalike serve` process.
type proc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

func startProc(t *testing.T, bin, addr string, env map[string]string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "LOOKALIKE_ADDR="+addr)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("server exited at start:\n%s", p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready:\n%s", p.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// peakRSS reads the process's high-water resident memory (VmHWM) in bytes.
func (p *proc) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM")
}

// expected is a product's last acknowledged state.
type expected struct {
	deleted bool
	title   string
	price   int
	image   string
}

// TestCrashRecovery kills the real server process with SIGKILL several times
// while concurrent senders post create/update/delete events, retrying until
// each is acknowledged as a CMS would. Every product must end equal to its
// last acknowledged event, and the vectors equal the live products.
func TestCrashRecovery(t *testing.T) {
	bin := lookalikeBinary(t)
	images := newImageServer(t)
	addr := freePort(t)
	env := map[string]string{
		"LOOKALIKE_DATA_DIR":            t.TempDir(),
		"WEBHOOK_SECRET":                testSecret,
		"LOOKALIKE_ADMIN_TOKEN":         testAdmin,
		"LOOKALIKE_FETCH_ALLOW_PRIVATE": "true",
		"LOOKALIKE_JOB_LEASE":           "2s",
		"LOOKALIKE_RETRY_BASE_DELAY":    "50ms",
		"LOOKALIKE_LOG_LEVEL":           "warn",
	}
	var mu sync.Mutex
	p := startProc(t, bin, addr, env)
	defer func() {
		mu.Lock()
		p.kill()
		mu.Unlock()
	}()

	const senders, perSender, products = 8, 300, 30
	classes := []string{"daisy", "dandelion", "roses", "sunflowers", "tulips"}
	want := make([]map[int]expected, senders)
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	var acked, retries int64
	var countMu sync.Mutex
	for g := 0; g < senders; g++ {
		want[g] = map[int]expected{}
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for i := 0; i < perSender; i++ {
				id := g*1000 + 1 + rng.Intn(products)
				var body string
				var e expected
				if rng.Intn(8) == 0 {
					e = expected{deleted: true}
					body = fmt.Sprintf(`{"event_type":"product.deleted","product_data":{"id":%d}}`, id)
				} else {
					e = expected{title: fmt.Sprintf("s%d e%d", g, i), price: 1000 + rng.Intn(9000)}
					if rng.Intn(10) != 0 {
						e.image = images.URL + "/img/" + classes[rng.Intn(len(classes))] + ".jpg"
					}
					kind := "product.updated"
					if rng.Intn(2) == 0 {
						kind = "product.created"
					}
					body = fmt.Sprintf(`{"event_type":%q,"product_data":{"id":%d,"title":%q,"price":%d,"image":%q}}`, kind, id, e.title, e.price, e.image)
				}
				deliveryID := fmt.Sprintf("msg_%d_%d", g, i)
				for attempt := 0; ; attempt++ {
					if attempt > 2000 {
						t.Errorf("event %s never acknowledged", deliveryID)
						return
					}
					req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/webhooks/product-sync", strings.NewReader(body))
					req.Header.Set("X-Webhook-Secret", testSecret)
					req.Header.Set("webhook-id", deliveryID)
					resp, err := client.Do(req)
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == 200 {
							break
						}
						if resp.StatusCode < 500 {
							t.Errorf("event %s refused: %d", deliveryID, resp.StatusCode)
							return
						}
					}
					countMu.Lock()
					retries++
					countMu.Unlock()
					time.Sleep(time.Duration(5+rng.Intn(20)) * time.Millisecond)
				}
				want[g][id] = e
				countMu.Lock()
				acked++
				countMu.Unlock()
			}
		}(g)
	}

	// The killer: SIGKILL and restart while the senders run.
	stop := make(chan struct{})
	kills := 0
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for kills < 4 {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(300+rand.Intn(400)) * time.Millisecond):
			}
			mu.Lock()
			p.kill()
			kills++
			p = startProc(t, bin, addr, env)
			mu.Unlock()
		}
	}()
	wg.Wait()
	close(stop)
	<-killerDone
	if kills == 0 {
		t.Fatal("the server was never killed; the test proves nothing")
	}
	t.Logf("%d events acknowledged, %d retried sends, %d kills", acked, retries, kills)

	// Let the queue drain (jobs of killed workers come back after their lease).
	base := "http://" + addr
	getJSON := func(path string, out any) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+testAdmin) // the full record, with deleted_at and the index state
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(out)
		return resp.StatusCode
	}
	deadline := time.Now().Add(60 * time.Second)
	var st map[string]any
	for {
		st = map[string]any{}
		getJSON("/stats", &st)
		q := st["queue"].(map[string]any)
		if num(q["pending"]) == 0 && num(q["running"]) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue did not drain: %v\n%s", st, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	live, withImage := 0, 0
	for g := range want {
		for id, e := range want[g] {
			var got map[string]any
			status := getJSON(fmt.Sprintf("/api/v1/products/%d", id), &got)
			if e.deleted {
				if status == 200 && got["deleted_at"] == nil {
					t.Errorf("product %d: acknowledged delete lost: %v", id, got)
				}
				continue
			}
			live++
			if e.image != "" {
				withImage++
			}
			idx, _ := got["index"].(map[string]any)
			if status != 200 || got["deleted_at"] != nil || got["title"] != e.title || num(got["price"]) != float64(e.price) || got["image_url"] != e.image {
				t.Errorf("product %d: got %v, want %+v", id, got, e)
			} else if e.image != "" && idx["state"] != "indexed" {
				t.Errorf("product %d: index %v", id, idx)
			}
		}
	}
	if a := num(st["products"].(map[string]any)["active"]); int(a) != live {
		t.Errorf("active products %v, want %d", a, live)
	}
	if v := num(st["vectors"]); int(v) != withImage {
		t.Errorf("vectors %v, want %d (live products with an image)", v, withImage)
	}
	if q := st["queue"].(map[string]any); num(q["failed"]) != 0 {
		t.Errorf("failed jobs: %v", q)
	}

	// verify agrees, and the process stayed small.
	req, _ := http.NewRequest("GET", base+"/api/v1/admin/verify", nil)
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct{ Problems []any }
	json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if len(rep.Problems) != 0 {
		t.Errorf("verify after crashes: %v", rep.Problems)
	}
	mu.Lock()
	if rss, err := p.peakRSS(); err == nil {
		t.Logf("peak RSS of the last server process: %d MiB", rss>>20)
		if rss > 1<<30 {
			t.Errorf("peak RSS %d MiB over 1 GiB", rss>>20)
		}
	}
	mu.Unlock()
	if t.Failed() {
		t.Logf("last server log:\n%s", p.logs.String())
	}
}
