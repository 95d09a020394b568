package app

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// LOOKALIKE_PPROF_ADDR serves Go's profiles on an address of its own, and
// never on the public one.
func TestPprofOnItsOwnAddress(t *testing.T) {
	var cfg Config
	cfg.Defaults()
	cfg.Addr, cfg.DataDir, cfg.PprofAddr = "127.0.0.1:0", t.TempDir(), "127.0.0.1:0"
	a := startApp(t, cfg)
	defer a.Stop(context.Background())
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if a.PprofURL() == "" {
		t.Fatal("PprofURL is empty with PprofAddr set")
	}
	if code, body := get(a.PprofURL() + "/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Errorf("profiler: %d %.80q", code, body)
	}
	if code, _ := get(a.URL() + "/debug/pprof/goroutine?debug=1"); code == 200 {
		t.Error("the public address serves the profiler")
	}
}

func TestNoPprofByDefault(t *testing.T) {
	var cfg Config
	cfg.Defaults()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	a := startApp(t, cfg)
	defer a.Stop(context.Background())
	if a.PprofURL() != "" {
		t.Errorf("PprofURL %q without PprofAddr", a.PprofURL())
	}
}
