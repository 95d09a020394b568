package bitrix_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// requireChromium finds the browser, or skips (fails when CI=true).
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "Chromium is not installed: run ./scripts/install-chromium (Debian: apt-get install chromium) to test the module's admin page in a browser"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// serve runs the site's admin pages with PHP's web server (tests/router.php)
// until the test ends, and returns its address. The site's database lives
// in a file meanwhile; sync reads it back into s.db.
func (s *site) serve() (addr string, sync func()) {
	s.t.Helper()
	path := filepath.Join(s.t.TempDir(), "site.json")
	scenario := map[string]any{"config": s.config, "db": s.db, "docroot": s.docroot, "lang": s.lang}
	b, _ := json.Marshal(scenario)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		s.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	cmd := exec.Command(s.php, "-d", "display_errors=stderr", "-d", "error_reporting=-1", "-d", "log_errors=0",
		"-S", addr, filepath.Join("tests", "router.php"))
	cmd.Env = append(os.Environ(), "LOOKALIKE_TEST_SITE="+path)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		for _, bad := range []string{"Warning", "Notice", "Deprecated", "Fatal", "Parse error", "Uncaught"} {
			if strings.Contains(out.String(), bad) {
				s.t.Errorf("PHP's server reported problems:\n%s", out.String())
				break
			}
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("php -S %s does not listen: %v\n%s", addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, func() {
		b, err := os.ReadFile(path)
		var back struct {
			DB map[string]any `json:"db"`
		}
		if err != nil || json.Unmarshal(b, &back) != nil {
			s.t.Fatalf("site database: %v", err)
		}
		s.db = back.DB
	}
}

// "Send the whole catalogue" as the admin presses it, in Chromium: the
// page's script posts step after step (each a batch through the outbox)
// until it says done, and every product is at the server.
func TestBitrixModuleBackfillInBrowser(t *testing.T) {
	exe := requireChromium(t)
	svc := startService(t)
	img := newImages(t)
	s := newModuleSite(t, svc.url, img.URL)
	elements := s.db["elements"].([]any)
	for id := 1001; id <= 1117; id++ {
		elements = append(elements, element(id, 2, fmt.Sprintf("Букет №%d", id), 0, 0, ""))
	}
	s.db["elements"] = elements
	s.module("install")
	if p := s.page("options", nil, with(settingsForm(svc.url, img.URL, s.box), "iblock_ids", []string{"2"})); p.Redirect == nil {
		t.Fatalf("save:\n%s", p.HTML)
	}
	s.lang = "ru"
	addr, syncDB := s.serve()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(exe), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			problems = append(problems, e.ExceptionDetails.Text)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate("http://"+addr+"/bitrix/admin/lookalike_sync_backfill.php?lang=ru"),
		chromedp.WaitVisible(chromedp.ID("lookalike-start")),
		chromedp.Click(chromedp.ID("lookalike-start")),
		chromedp.Poll[chromedp.Void](`(() => { const t = document.getElementById('lookalike-state').textContent; return t.startsWith('Готово') || t.startsWith('Остановлено'); })()`,
			chromedp.WithPollingTimeout(60*time.Second)))
	state, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("lookalike-state")))
	if err != nil {
		t.Fatalf("browser: %v (state %q)", err, state)
	}
	mu.Lock()
	defer mu.Unlock()
	if state != "Готово: отправлено 120 из 120." || len(problems) > 0 {
		t.Fatalf("the page says %q; script errors %q", state, problems)
	}
	syncDB()
	if len(s.outbox()) != 0 {
		t.Fatalf("outbox after the backfill: %v", s.outbox())
	}
	for _, id := range []int{101, 102, 103, 1001, 1117} {
		if p := svc.product(id); p == nil {
			t.Fatalf("product %d is not at the server", id)
		}
	}
}
