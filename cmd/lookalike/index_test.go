package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/app"
	"github.com/lookalike/lookalike/embed/builtin"
)

// indexStatus is /stats "index".
func (s *server) indexStatus() map[string]any {
	s.t.Helper()
	ix, ok := s.stats()["index"].(map[string]any)
	if !ok {
		s.t.Fatalf("/stats has no index: %v", s.stats())
	}
	return ix
}

// firstResult searches by a re-photograph of class in shop 8 and returns
// the first result's product id and matched photo URL ("" when none).
func (s *server) firstResult(class string) (id float64, photo string) {
	s.t.Helper()
	r := s.searchPhoto(rephotograph(s.t, readPhoto(s.t, class)), map[string]string{"shop_id": "8", "min_band": "any"})
	if r.status != 200 {
		s.t.Fatalf("search %s: %d %s", class, r.status, r.raw)
	}
	res := r.body["results"].([]any)
	if len(res) == 0 {
		return 0, ""
	}
	first := res[0].(map[string]any)
	return first["product_id"].(float64), first["matched_image"].(map[string]any)["url"].(string)
}

// TestHNSWIndexLifecycle runs the server with LOOKALIKE_INDEX=hnsw: photos
// sent by webhook are searchable through the graph; Stop saves it and the
// next start loads it instead of building one; after a run that wrote to
// the database without the graph (LOOKALIKE_INDEX=flat) the graph is loaded
// and the change feed since its save replayed on it; a graph whose mark
// the database's feed does not hold is stale: the exact scan answers while
// a new graph is built (changes made meanwhile included), then it serves.
func TestHNSWIndexLifecycle(t *testing.T) {
	images := newImageServer(t)
	dataDir := t.TempDir()
	hnswEnv := map[string]string{"LOOKALIKE_INDEX": "hnsw"}
	img := func(class string) string { return images.URL + "/img/" + class + ".jpg" }
	product := func(id int, main string, more ...string) string {
		list := make([]string, len(more))
		for i, m := range more {
			list[i] = fmt.Sprintf("%q", img(m))
		}
		return fmt.Sprintf(`{"event_type":"product.updated","shop_id":8,"product_data":{"id":%d,"title":"Букет %d","isAvailable":true,"image":%q,"images":[%s]}}`,
			id, id, img(main), strings.Join(list, ","))
	}
	send := func(s *server, bodies ...string) {
		t.Helper()
		for _, b := range bodies {
			if r := s.webhook(b); r.status != 200 {
				t.Fatalf("webhook: %d %s", r.status, r.raw)
			}
		}
	}
	state := func(s *server, want string) func() bool {
		return func() bool { return s.indexStatus()["state"] == want }
	}

	// An empty data directory: no graph to load, one is built (at once).
	srv := startServer(t, dataDir, hnswEnv)
	srv.waitFor("the graph to be built", state(srv, "built"))
	send(srv, product(1, "daisy", "roses"), product(2, "dandelion"))
	srv.waitFor("3 photos", func() bool { return num(srv.indexStatus()["vectors"]) == 3 })
	if ix := srv.indexStatus(); ix["kind"] != "hnsw" || ix["serving"] != "hnsw" {
		t.Fatalf("index: %v", ix)
	}
	if id, photo := srv.firstResult("roses"); id != 1 || photo != img("roses") {
		t.Fatalf("roses: product %v by %s", id, photo)
	}
	srv.stop()
	if !strings.Contains(srv.logs.String(), "index graph saved") {
		t.Fatalf("Stop did not save the graph:\n%s", srv.logs)
	}

	// Restart: the saved graph is loaded, not built.
	srv = startServer(t, dataDir, hnswEnv)
	if ix := srv.indexStatus(); ix["state"] != "loaded" || ix["serving"] != "hnsw" || num(ix["vectors"]) != 3 {
		t.Fatalf("after restart: %v\n%s", ix, srv.logs)
	}
	if logs := srv.logs.String(); !strings.Contains(logs, "index loaded from the saved graph") || strings.Contains(logs, "graph built") {
		t.Fatalf("the graph was not loaded as saved:\n%s", logs)
	}
	if id, photo := srv.firstResult("dandelion"); id != 2 || photo != img("dandelion") {
		t.Fatalf("dandelion after restart: product %v by %s", id, photo)
	}
	srv.stop()

	// A run with the exact scan changes the catalogue.
	srv = startServer(t, dataDir, map[string]string{"LOOKALIKE_INDEX": "flat"})
	if ix := srv.indexStatus(); ix["kind"] != "flat" || ix["serving"] != "flat" {
		t.Fatalf("flat: %v", ix)
	}
	send(srv, `{"event_type":"product.deleted","shop_id":8,"product_data":{"id":2}}`, product(3, "sunflowers"))
	srv.waitFor("product 3", func() bool { return num(srv.indexStatus()["vectors"]) == 3 })
	srv.stop()

	// Back on HNSW: the saved graph is loaded and the feed replayed on it.
	srv = startServer(t, dataDir, hnswEnv)
	if ix := srv.indexStatus(); ix["state"] != "loaded" || num(ix["vectors"]) != 3 {
		t.Fatalf("after the flat run: %v\n%s", ix, srv.logs)
	}
	if logs := srv.logs.String(); !strings.Contains(logs, "index loaded from the saved graph") || strings.Contains(logs, "changes_replayed=0") {
		t.Fatalf("the changes of the flat run were not replayed on the saved graph:\n%s", logs)
	}
	if id, _ := srv.firstResult("sunflowers"); id != 3 {
		t.Fatalf("sunflowers after the replay: product %v", id)
	}
	if id, _ := srv.firstResult("dandelion"); id == 2 {
		t.Fatal("the deleted product 2 found after the replay")
	}
	srv.stop()

	// A graph saved at a change the database does not hold (as after a
	// restore) is stale: rebuilt, the exact scan answering meanwhile. The
	// build is held before its swap, to see that.
	markPath := filepath.Join(dataDir, "index", builtin.Name, "graph.mark")
	b, err := os.ReadFile(markPath)
	if err != nil {
		t.Fatal(err)
	}
	var mark map[string]any
	json.Unmarshal(b, &mark)
	mark["at_us"] = num(mark["at_us"]) + 1
	b, _ = json.Marshal(mark)
	if err := os.WriteFile(markPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	held := make(chan struct{})
	app.BeforeIndexSwap = func() { close(held); <-release }
	defer func() { app.BeforeIndexSwap = nil }()
	srv = startServer(t, dataDir, hnswEnv)
	<-held
	if ix := srv.indexStatus(); ix["state"] != "building" || ix["serving"] != "flat" {
		t.Fatalf("while building: %v", ix)
	}
	if logs := srv.logs.String(); strings.Contains(logs, "index loaded from the saved graph") || !strings.Contains(logs, "no longer holds the change") {
		t.Fatalf("a stale graph was loaded:\n%s", logs)
	}
	if id, _ := srv.firstResult("sunflowers"); id != 3 {
		t.Fatalf("sunflowers while building: product %v", id)
	}
	// A change while the graph is built reaches it before it serves.
	send(srv, product(4, "tulips"))
	srv.waitFor("product 4 in the exact scan", func() bool { id, _ := srv.firstResult("tulips"); return id == 4 })
	close(release)
	srv.waitFor("the new graph to serve", state(srv, "built"))
	if ix := srv.indexStatus(); ix["serving"] != "hnsw" || num(ix["vectors"]) != 4 {
		t.Fatalf("built: %v", ix)
	}
	for class, want := range map[string]float64{"tulips": 4, "sunflowers": 3, "daisy": 1} {
		if id, _ := srv.firstResult(class); id != want {
			t.Fatalf("%s through the new graph: product %v, want %v", class, id, want)
		}
	}
	if id, _ := srv.firstResult("dandelion"); id == 2 {
		t.Fatal("the deleted product 2 found through the new graph")
	}
}
