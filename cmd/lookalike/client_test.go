package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cli runs a command of the program against srv, as a user would.
func cli(t *testing.T, srv *server, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string {
		return map[string]string{"LOOKALIKE_SERVER": srv.url, "LOOKALIKE_ADMIN_TOKEN": testAdmin}[k]
	}}
	err := m.Run(context.Background(), args)
	return out.String(), err
}

func TestCLICommands(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	for i, c := range []string{"daisy", "roses", "sunflowers"} {
		srv.webhook(fmt.Sprintf(`{"event_type":"product.created","shop_id":8,"product_data":{"id":%d,"title":"Букет %s","price":"%d 500 ₸","catalogHeight":"60 см","image":"%s/img/%s.jpg"}}`,
			i+1, c, i+2, images.URL, c))
	}
	srv.webhook(`{"event_type":"product.created","shop_id":8,"product_data":{"id":9,"title":"Пропал","image":"` + images.URL + `/img/none.jpg"}}`)
	srv.waitFor("indexing", func() bool {
		st := srv.stats()
		return num(st["vectors"]) == 3 && num(st["queue"].(map[string]any)["failed"]) == 1
	})

	// search: a photo file, a URL, a product.
	photo := filepath.Join(t.TempDir(), "query.jpg")
	os.WriteFile(photo, rephotograph(t, readPhoto(t, "roses")), 0o644)
	out, err := cli(t, srv, "search", "--shop", "8", photo)
	if err != nil {
		t.Fatalf("search: %v\n%s", err, out)
	}
	lines := strings.Split(out, "\n")
	if !strings.Contains(lines[0], "SCORE") || !strings.Contains(lines[1], "Букет roses") || !strings.Contains(lines[1], "3 500 ₸") || !strings.Contains(lines[1], "60 см") {
		t.Fatalf("search table:\n%s", out)
	}
	if out, err := cli(t, srv, "search", "--shop", "8", "--limit", "1", images.URL+"/img/sunflowers.jpg"); err != nil || !strings.Contains(out, "Букет sunflowers") || !strings.Contains(out, "1 results") {
		t.Fatalf("search by URL: %v\n%s", err, out)
	}
	if out, err := cli(t, srv, "search", "--shop", "8", "--product", "1", "--json"); err != nil || !strings.Contains(out, `"results"`) {
		t.Fatalf("search --product --json: %v\n%s", err, out)
	}
	if out, err := cli(t, srv, "search", "--text", "white roses"); err == nil || !strings.Contains(err.Error(), "CLIP") {
		t.Fatalf("text search without CLIP: %v\n%s", err, out)
	}
	var ue *usageError
	if _, err := cli(t, srv, "search"); !errors.As(err, &ue) {
		t.Fatalf("search without a query: %v", err)
	}

	// stats
	if out, err := cli(t, srv, "stats"); err != nil || !strings.Contains(out, "4 active, 0 deleted") || !strings.Contains(out, "0 pending, 0 running, 1 failed") {
		t.Fatalf("stats: %v\n%s", err, out)
	}

	if out, err := cli(t, srv, "healthcheck"); err != nil || strings.TrimSpace(out) != "ready" {
		t.Fatalf("healthcheck: %v\n%s", err, out)
	}

	// failed, then retry after the image appears
	out, err = cli(t, srv, "failed")
	if err != nil || !strings.Contains(out, "Пропал") || !strings.Contains(out, "404 Not Found") {
		t.Fatalf("failed: %v\n%s", err, out)
	}
	images.mu.Lock()
	images.files["/img/none.jpg"] = readPhoto(t, "tulips")
	images.mu.Unlock()
	if out, err := cli(t, srv, "failed", "--retry"); err != nil || !strings.Contains(out, "queued 1") {
		t.Fatalf("failed --retry: %v\n%s", err, out)
	}
	srv.waitFor("the retry", func() bool { return num(srv.stats()["vectors"]) == 4 })

	// reindex with progress until done
	out, err = cli(t, srv, "reindex", "--shop", "8")
	if err != nil || !strings.Contains(out, "queued 4") || !strings.Contains(out, "reindex finished: 4 vectors, 0 failed") {
		t.Fatalf("reindex --shop: %v\n%s", err, out)
	}
	if out, err := cli(t, srv, "reindex", "--product", "2", "--shop", "8"); err != nil || !strings.Contains(out, "queued 1") {
		t.Fatalf("reindex --product: %v\n%s", err, out)
	}
	if _, err := cli(t, srv, "reindex"); !errors.As(err, &ue) {
		t.Fatalf("reindex without a target: %v", err)
	}

	// Every command has --help with an example; a dead server is a clear error.
	for _, cmd := range []string{"serve", "search", "reindex", "stats", "failed", "verify", "bench webhook"} {
		out, err := cli(t, srv, append(strings.Fields(cmd), "--help")...)
		if !errors.Is(err, errHelp) || !strings.Contains(out, "Usage: lookalike "+cmd) {
			t.Errorf("%s --help: %v\n%s", cmd, err, out)
		}
	}
	// -h never prints a secret taken from the environment.
	var help bytes.Buffer
	m := &Main{Stdout: &help, Stderr: &help, Getenv: func(k string) string {
		return map[string]string{"WEBHOOK_SECRET": "very-secret-value", "LOOKALIKE_ADMIN_TOKEN": "very-secret-token",
			"LOOKALIKE_WEBHOOK_SIGNING_SECRET": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"}[k]
	}}
	for _, cmd := range []string{"serve", "stats", "failed", "verify", "reindex", "search", "bench webhook", "import"} {
		help.Reset()
		m.Run(context.Background(), append(strings.Fields(cmd), "-h"))
		if strings.Contains(help.String(), "very-secret") || strings.Contains(help.String(), "c2VjcmV0") {
			t.Errorf("%s -h shows a secret:\n%s", cmd, help.String())
		}
	}
	dead := &server{url: "http://127.0.0.1:1"}
	if _, err := cli(t, dead, "stats"); err == nil || !strings.Contains(err.Error(), "cannot reach the server") {
		t.Fatalf("dead server: %v", err)
	}
	if _, err := cli(t, dead, "healthcheck", "--timeout", "2s"); err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Fatalf("healthcheck of a dead server: %v", err)
	}
}
