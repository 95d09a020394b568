package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// SIGTERM stops accepting, lets the job in flight finish within the
// shutdown timeout, and leaves what it cut short queued for the next start.
func TestGracefulShutdown(t *testing.T) {
	bin := lookalikeBinary(t)
	photo := readPhoto(t, "tulips")
	var started atomic.Int32
	var slower atomic.Int64
	slower.Store(int64(4 * time.Second))
	host := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		d := 800 * time.Millisecond
		if r.URL.Path == "/slower.jpg" {
			d = time.Duration(slower.Load())
		}
		select {
		case <-time.After(d):
			w.Write(photo)
		case <-r.Context().Done():
		}
	}))
	dir := t.TempDir()
	env := map[string]string{
		"LOOKALIKE_DATA_DIR": dir, "WEBHOOK_SECRET": testSecret, "LOOKALIKE_ADMIN_TOKEN": testAdmin, "LOOKALIKE_FETCH_ALLOW_PRIVATE": "true",
		"LOOKALIKE_JOB_LEASE": "1s", "LOOKALIKE_LOG_LEVEL": "info", "LOOKALIKE_WORKERS": "1",
	}
	addr := freePort(t)

	// 1. A job in flight finishes before the process exits.
	p := startProc(t, bin, addr, env)
	srv := &server{t: t, url: "http://" + addr, logs: p.logs}
	srv.webhook(fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":1,"image":"%s/slow.jpg"}}`, host))
	waitUntil(t, "the fetch to start", func() bool { return started.Load() == 1 })
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatal("process did not exit after SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.logs.String())
	}
	if _, err := http.Get(srv.url + "/healthz"); err == nil {
		t.Fatal("still accepting after exit")
	}

	// 2. With a short deadline, a slower job is cut short and stays queued.
	env["LOOKALIKE_SHUTDOWN_TIMEOUT"] = "500ms"
	p = startProc(t, bin, addr, env)
	srv.logs = p.logs
	if got := srv.getJSON("/api/v1/products/1").body; got["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("job in flight at SIGTERM was not finished: %v", got)
	}
	srv.webhook(fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":2,"image":"%s/slower.jpg"}}`, host))
	waitUntil(t, "the second fetch to start", func() bool { return started.Load() == 2 })
	t0 := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("shutdown took %v with a 500ms deadline", d)
	}
	slower.Store(0) // the host recovers
	p = startProc(t, bin, addr, env)
	defer p.kill()
	srv.logs = p.logs
	waitUntil(t, "the cut-short job to run again", func() bool {
		return srv.getJSON("/api/v1/products/2").body["index"].(map[string]any)["state"] == "indexed"
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
