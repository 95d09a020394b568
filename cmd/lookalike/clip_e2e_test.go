package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/embed/builtin"
)

func testgen(t *testing.T, dir string, seed string) {
	t.Helper()
	if r := runModelCmd(t, "model", "testgen", "--arch", "tiny", "--seed", seed, "--out", dir); r.err != nil {
		t.Fatalf("testgen: %v\n%s", r.err, r.errOut)
	}
}

// With a CLIP model installed the service embeds with it, records it on
// every vector, and answers text queries from the same space.
func TestServeWithCLIPModel(t *testing.T) {
	needORTLibrary(t)
	images := newImageServer(t)
	model := filepath.Join(t.TempDir(), "tiny")
	testgen(t, model, "1")
	srv := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_MODEL_DIR": model, "LOOKALIKE_EMBED_THREADS": "1"})
	st := srv.stats()
	name := st["model"].(string)
	if name == builtin.Name || st["text_search"] != true {
		t.Fatalf("stats with a CLIP model: %v", st)
	}
	for i, c := range []string{"daisy", "roses", "tulips"} {
		srv.webhook(`{"event_type":"product.created","product_data":{"id":` + string(rune('1'+i)) + `,"title":"` + c + `","image":"` + images.URL + `/img/` + c + `.jpg"}}`)
	}
	srv.waitFor("3 vectors", func() bool { return num(srv.stats()["vectors"]) == 3 })
	p := srv.getJSON("/api/v1/products/2").body
	if p["index"].(map[string]any)["model"] != name {
		t.Fatalf("vector model: %v", p["index"])
	}
	r := srv.postJSON("/api/v1/search", map[string]any{"text": "белые розы в шляпной коробке"}, nil)
	if r.status != 200 || len(r.body["results"].([]any)) != 3 || r.body["model"] != name {
		t.Fatalf("text search: %d %s", r.status, r.raw)
	}
	r = srv.searchPhoto(readPhoto(t, "roses"), nil)
	if r.status != 200 || num(r.body["results"].([]any)[0].(map[string]any)["product_id"]) != 2 {
		t.Fatalf("photo search with CLIP: %s", r.raw)
	}
}

// Starting with a different model re-embeds the catalogue in the background
// from the stored images and switches over in one step; a model that fails
// to load leaves the old one serving.
func TestModelSwitch(t *testing.T) {
	needORTLibrary(t)
	dir, images, fetched := indexFourAndStop(t)

	// A corrupt model: the service keeps the index's model and says why.
	broken := filepath.Join(t.TempDir(), "broken")
	testgen(t, broken, "2")
	os.WriteFile(filepath.Join(broken, "visual.onnx"), []byte("not a model"), 0o644)
	srv := startServer(t, dir, map[string]string{"LOOKALIKE_MODEL_DIR": broken})
	if st := srv.stats(); st["model"] != builtin.Name || num(st["vectors"]) != 4 {
		t.Fatalf("after a broken model: %v", st)
	}
	if !strings.Contains(srv.logs.String(), "the configured model failed to load") {
		t.Fatal("the broken model was not reported")
	}
	srv.stop()

	// A good new model: the catalogue moves to it without fetching anything.
	model := filepath.Join(t.TempDir(), "tiny")
	testgen(t, model, "3")
	srv = startServer(t, dir, map[string]string{"LOOKALIKE_MODEL_DIR": model, "LOOKALIKE_EMBED_THREADS": "1"})
	waitForSwitch(t, srv, builtin.Name)
	if images.total() != fetched {
		t.Fatal("the switch downloaded images again instead of using the stored copies")
	}
	p := srv.getJSON("/api/v1/products/3").body
	if p["index"].(map[string]any)["model"] == builtin.Name {
		t.Fatalf("product still on the old model: %v", p)
	}
	srv.stop()

	// Restarting with the same model changes nothing.
	srv = startServer(t, dir, map[string]string{"LOOKALIKE_MODEL_DIR": model, "LOOKALIKE_EMBED_THREADS": "1"})
	if st := srv.stats(); st["migration"] != nil || num(st["vectors"]) != 4 {
		t.Fatalf("restart on the new model: %v", st)
	}
}

// indexFourAndStop indexes four photos with the built-in descriptor in a
// new data directory and stops the server: the directory, the image
// server and how many downloads that took.
func indexFourAndStop(t *testing.T) (string, *imageServer, int) {
	images := newImageServer(t)
	dir := t.TempDir()
	srv := startServer(t, dir, nil)
	for i, c := range []string{"daisy", "roses", "tulips", "sunflowers"} {
		srv.webhook(`{"event_type":"product.created","product_data":{"id":` + string(rune('1'+i)) + `,"title":"` + c + `","image":"` + images.URL + `/img/` + c + `.jpg"}}`)
	}
	srv.waitFor("4 builtin vectors", func() bool { return num(srv.stats()["vectors"]) == 4 })
	srv.stop()
	return dir, images, images.total()
}

// waitForSwitch searches until the catalogue of four products has moved
// off model old: every search during the switch answers in full from one
// model.
func waitForSwitch(t *testing.T, srv *server, old string) {
	sawOld := false
	for {
		st := srv.stats()
		r := srv.searchPhoto(readPhoto(t, "roses"), map[string]string{"min_band": "any"})
		if r.status != 200 || len(r.body["results"].([]any)) != 4 {
			t.Fatalf("search during the switch: %d %s (stats %v)", r.status, r.raw, st)
		}
		sawOld = sawOld || r.body["model"] == old
		if st["model"] != old && st["migration"] == nil {
			if num(st["vectors"]) != 4 {
				t.Fatalf("after the switch: %v", st)
			}
			if r.body["model"] != st["model"] {
				continue // the switch happened between the two calls: look once more
			}
			break
		}
	}
	t.Logf("a search was answered by the old model %s during the switch: %v", old, sawOld)
}

func TestModelLoadErrors(t *testing.T) {
	// A fresh service with a model it cannot load does not start, and says why.
	var out strings.Builder
	env := map[string]string{"LOOKALIKE_ADDR": "127.0.0.1:0", "LOOKALIKE_DATA_DIR": t.TempDir(),
		"LOOKALIKE_MODEL_DIR": filepath.Join(t.TempDir(), "nothing-here")}
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }}
	err := m.Run(context.Background(), []string{"serve"})
	if err == nil || !strings.Contains(err.Error(), "nothing-here") {
		t.Fatalf("missing model dir: %v", err)
	}
	model := filepath.Join(t.TempDir(), "tiny")
	testgen(t, model, "1")
	env["LOOKALIKE_MODEL_DIR"], env["LOOKALIKE_ORT_LIB"] = model, "/nonexistent/libonnxruntime.so"
	err = m.Run(context.Background(), []string{"serve"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libonnxruntime.so") {
		t.Fatalf("missing library: %v", err)
	}
}
