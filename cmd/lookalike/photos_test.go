package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/datadir"
)

// metric reads one sample (name with its labels, as printed) from /metrics.
func (s *server) metric(sample string) float64 {
	s.t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	io.Copy(io.Discard, resp.Body)
	return 0
}

// photosOf returns a product's photos from its full record: url -> sha.
func (s *server) photosOf(shop, id int) (index map[string]any, photos map[string]string) {
	s.t.Helper()
	r := s.getJSON(fmt.Sprintf("/api/v1/products/%d?shop_id=%d", id, shop))
	if r.status != 200 {
		s.t.Fatalf("product %d: %d %s", id, r.status, r.raw)
	}
	index = r.body["index"].(map[string]any)
	photos = map[string]string{}
	for _, ph := range r.body["images"].([]any) {
		m := ph.(map[string]any)
		photos[m["url"].(string)] = m["image_sha256"].(string)
	}
	return index, photos
}

// A product with three photos is found by a re-photograph of any of them,
// once, with matched_image naming that photo; replacing one photo fetches
// and embeds only it; removing one takes its vector out of the index.
func TestSeveralPhotosPerProduct(t *testing.T) {
	images := newImageServer(t)
	dataDir := t.TempDir()
	srv := startServer(t, dataDir, nil)
	img := func(class string) string { return images.URL + "/img/" + class + ".jpg" }
	gallery := func(id int, main string, more ...string) string {
		list := make([]string, len(more))
		for i, m := range more {
			list[i] = strconv.Quote(img(m))
		}
		return fmt.Sprintf(`{"event_type":"product.updated","shop_id":8,"product_data":{"id":%d,"title":"Букет %d","isAvailable":true,"image":%q,"images":[%s]}}`,
			id, id, img(main), strings.Join(list, ","))
	}
	for _, body := range []string{gallery(1, "daisy", "roses", "tulips"), gallery(2, "dandelion")} {
		if r := srv.webhook(body); r.status != 200 {
			t.Fatalf("webhook: %d %s", r.status, r.raw)
		}
	}
	srv.waitFor("4 photos of 2 products", func() bool {
		st := srv.stats()
		return num(st["vectors"]) == 2 && num(st["photos"].(map[string]any)["indexed"]) == 4
	})
	index, shas := srv.photosOf(8, 1)
	if index["state"] != "indexed" || num(index["photos_indexed"]) != 3 || num(index["photos_total"]) != 3 || len(shas) != 3 {
		t.Fatalf("product 1: %v %v", index, shas)
	}
	if st := srv.stats()["photos"].(map[string]any); num(st["total"]) != 4 {
		t.Fatalf("stats photos: %v", st)
	}
	if n := srv.metric("lookalike_embed_duration_seconds_count"); n != 4 {
		t.Fatalf("%v embeddings for 4 photos", n)
	}

	// A backup copies every photo, the gallery's too.
	dest := filepath.Join(t.TempDir(), "backup")
	if _, err := datadir.Backup(t.Context(), dataDir, dest); err != nil {
		t.Fatal(err)
	}
	for url, sha := range shas {
		if _, err := os.Stat(filepath.Join(dest, "images", sha[:2], sha)); err != nil {
			t.Fatalf("the backup lacks the photo %s: %v", url, err)
		}
	}

	// Found by any of its photos, once, naming the photo.
	search := func(class string) (first map[string]any, times int) {
		t.Helper()
		r := srv.searchPhoto(rephotograph(t, readPhoto(t, class)), map[string]string{"shop_id": "8", "min_band": "any"})
		if r.status != 200 {
			t.Fatalf("search %s: %d %s", class, r.status, r.raw)
		}
		res := r.body["results"].([]any)
		for _, x := range res {
			if x.(map[string]any)["product_id"] == 1.0 {
				times++
			}
		}
		return res[0].(map[string]any), times
	}
	for _, class := range []string{"daisy", "roses", "tulips"} {
		first, times := search(class)
		m := first["matched_image"].(map[string]any)
		if first["product_id"] != 1.0 || times != 1 || m["url"] != img(class) || m["image_sha256"] != shas[img(class)] {
			t.Fatalf("search by %s: first %v, product 1 listed %d times", class, first, times)
		}
	}

	// Replace tulips by sunflowers: one fetch, one embedding; the others
	// are neither fetched nor embedded again.
	before := map[string]int{}
	images.mu.Lock()
	for k, v := range images.hits {
		before[k] = v
	}
	images.mu.Unlock()
	if r := srv.webhook(gallery(1, "daisy", "roses", "sunflowers")); r.status != 200 || r.body["reindex_triggered"] != true {
		t.Fatalf("replace a photo: %d %s", r.status, r.raw)
	}
	srv.waitFor("the new photo", func() bool {
		index, _ := srv.photosOf(8, 1)
		return num(index["photos_indexed"]) == 3 && srv.metric("lookalike_embed_duration_seconds_count") == 5
	})
	images.mu.Lock()
	for _, class := range []string{"daisy", "roses", "tulips", "dandelion"} {
		if images.hits["/img/"+class+".jpg"] != before["/img/"+class+".jpg"] {
			t.Errorf("%s fetched again after another photo changed", class)
		}
	}
	if images.hits["/img/sunflowers.jpg"] != 1 {
		t.Errorf("the new photo fetched %d times", images.hits["/img/sunflowers.jpg"])
	}
	images.mu.Unlock()
	if first, _ := search("sunflowers"); first["product_id"] != 1.0 || first["matched_image"].(map[string]any)["url"] != img("sunflowers") {
		t.Fatalf("search by the new photo: %v", first)
	}
	if first, _ := search("tulips"); first["matched_image"].(map[string]any)["url"] == img("tulips") {
		t.Fatalf("the replaced photo still matches: %v", first)
	}
	if v := srv.getJSON("/api/v1/admin/overview").body["index_vectors"]; num(v) != 4 {
		t.Fatalf("index vectors after the replacement: %v", v)
	}

	// Remove roses (images sent without it): its vector leaves the index.
	if r := srv.webhook(gallery(1, "daisy", "sunflowers")); r.status != 200 || r.body["reindex_triggered"] != false {
		t.Fatalf("remove a photo: %d %s", r.status, r.raw)
	}
	if v := srv.getJSON("/api/v1/admin/overview").body["index_vectors"]; num(v) != 3 {
		t.Fatalf("index vectors after a photo was removed: %v", v)
	}
	if first, _ := search("roses"); first["matched_image"].(map[string]any)["url"] == img("roses") {
		t.Fatalf("the removed photo still matches: %v", first)
	}
	index, _ = srv.photosOf(8, 1)
	if num(index["photos_indexed"]) != 2 || num(index["photos_total"]) != 2 {
		t.Fatalf("product 1 after the removal: %v", index)
	}
	if r := srv.getJSON("/api/v1/admin/verify"); r.status != 200 || len(r.body["problems"].([]any)) != 0 || num(r.body["vectors"]) != 3 {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	// Housekeeping keeps every photo a product refers to.
	srv.app.Prune(t.Context(), 0)
	for _, class := range []string{"daisy", "sunflowers", "dandelion"} {
		sha := map[string]string{}
		_, sha = srv.photosOf(8, 1)
		if class == "dandelion" {
			_, sha = srv.photosOf(8, 2)
		}
		if resp, err := http.Get(srv.url + "/images/" + sha[img(class)]); err != nil || resp.StatusCode != 200 {
			t.Fatalf("photo %s after prune: %v %v", class, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	if r := srv.getJSON("/api/v1/admin/verify"); len(r.body["problems"].([]any)) != 0 {
		t.Fatalf("verify after prune: %s", r.raw)
	}
}
