package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// unrelatedPhoto is a picture of no bouquet: blue and grey stripes.
func unrelatedPhoto(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 240, 180))
	for y := 0; y < 180; y++ {
		for x := 0; x < 240; x++ {
			c := color.RGBA{30, 60, 200, 255}
			if (x/12)%2 == 0 {
				c = color.RGBA{128, 128, 128, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// resultsTestShop starts a server with the five test bouquets of shop 8:
// roses are sold out, with a "notify me" page; every product but the
// dandelions has a page (a path on the shop's site, or an absolute URL).
func resultsTestShop(t *testing.T) *server {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_IMAGE_BASE_URL": "https://cvety.kz", "LOOKALIKE_DEFAULT_SHOP_ID": "8"})
	heights := map[string]string{"daisy": "40 см", "dandelion": "50", "roses": "60 см", "sunflowers": "70 см", "tulips": "80"}
	ids := map[string]int{"daisy": 101, "dandelion": 102, "roses": 103, "sunflowers": 104, "tulips": 105}
	for class, id := range ids {
		extra := fmt.Sprintf(`,"url":"/catalog/%s/%d/"`, class, id)
		switch class {
		case "dandelion":
			extra = ""
		case "tulips":
			extra = `,"url":"https://tulips.example/p/105"`
		case "roses":
			extra += `,"notify_url":"/personal/subscribe/?id=103"`
		}
		body := fmt.Sprintf(`{"event_type":"product.created","shop_id":8,"product_data":{"id":%d,"title":"Букет %s","price":"%d 000 ₸","isAvailable":%v,"image":%q,"catalogHeight":%q%s}}`,
			id, class, id-100, class != "roses", images.URL+"/img/"+class+".jpg", heights[class], extra)
		if r := srv.webhook(body); r.status != 200 {
			t.Fatalf("create %s: %d %s", class, r.status, r.raw)
		}
	}
	srv.waitFor("5 vectors", func() bool { return num(srv.stats()["vectors"]) == 5 })
	return srv
}

func resultsOf(t *testing.T, r reply) []map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("search: %d %s", r.status, r.raw)
	}
	var out []map[string]any
	for _, v := range r.body["results"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func TestSearchBandsSoldOutAndLinks(t *testing.T) {
	srv := resultsTestShop(t)

	// A shopper's photo of the sold-out roses: they come first, exact,
	// marked sold out, with the shop's page and "notify me" link (absolute,
	// on the shop's site); what follows is in stock.
	res := resultsOf(t, srv.searchPhoto(rephotograph(t, readPhoto(t, "roses")), map[string]string{"min_band": "any"}))
	if len(res) < 2 {
		t.Fatalf("results: %v", res)
	}
	first := res[0]
	if num(first["product_id"]) != 103 || first["band"] != "exact" || first["is_available"] != false ||
		first["url"] != "https://cvety.kz/catalog/roses/103/" || first["notify_url"] != "https://cvety.kz/personal/subscribe/?id=103" {
		t.Fatalf("first result: %v", first)
	}
	for _, r := range res[1:] {
		if r["is_available"] != true || num(r["product_id"]) == 103 {
			t.Fatalf("after the sold-out exact match: %v", r)
		}
		if r["notify_url"] != nil {
			t.Fatalf("notify_url on an in-stock product: %v", r)
		}
		switch num(r["product_id"]) {
		case 102:
			if _, ok := r["url"]; ok {
				t.Fatalf("a product without a page has a url: %v", r)
			}
		case 105:
			if r["url"] != "https://tulips.example/p/105" {
				t.Fatalf("tulips url: %v", r)
			}
		}
	}

	// An explicit available=true is strict: no sold-out product at all.
	for _, r := range resultsOf(t, srv.searchPhoto(rephotograph(t, readPhoto(t, "roses")), map[string]string{"available": "true", "min_band": "any"})) {
		if num(r["product_id"]) == 103 {
			t.Fatalf("available=true listed the sold-out roses: %v", r)
		}
	}

	// Every re-photographed in-stock bouquet is "this is it".
	for class, id := range map[string]float64{"daisy": 101, "sunflowers": 104, "tulips": 105} {
		res := resultsOf(t, srv.searchPhoto(rephotograph(t, readPhoto(t, class)), nil))
		if len(res) == 0 || num(res[0]["product_id"]) != id || res[0]["band"] != "exact" {
			t.Fatalf("re-photographed %s: %v", class, res)
		}
		for _, r := range res {
			if r["band"] != "exact" && r["band"] != "similar" {
				t.Fatalf("default search returned band %v", r["band"])
			}
		}
	}

	// A photo of no bouquet: nothing is shown by default; asked for, the
	// closest come back as weak.
	if res := resultsOf(t, srv.searchPhoto(unrelatedPhoto(t), nil)); len(res) != 0 {
		t.Fatalf("unrelated photo found %v", res)
	}
	weak := resultsOf(t, srv.searchPhoto(unrelatedPhoto(t), map[string]string{"min_band": "any", "available": "any"}))
	if len(weak) != 5 {
		t.Fatalf("min_band=any: %v", weak)
	}
	for _, r := range weak {
		if r["band"] != "weak" {
			t.Fatalf("unrelated photo: band %v", r["band"])
		}
	}

	// min_band must be one of the three.
	for _, v := range []string{"best", "EXACT", "0.9"} {
		if r := srv.searchPhoto(unrelatedPhoto(t), map[string]string{"min_band": v}); r.status != 422 || r.body["error"] == nil {
			t.Fatalf("min_band=%s: %d %s", v, r.status, r.raw)
		}
	}
	if r := srv.postJSON("/api/v1/search", map[string]any{"product_id": 101, "shop_id": 8, "min_band": "all"}, nil); r.status != 422 {
		t.Fatalf("JSON min_band=all: %d %s", r.status, r.raw)
	}
}

func TestSearchHeightAndPages(t *testing.T) {
	srv := resultsTestShop(t)
	q := unrelatedPhoto(t)

	// Heights 40, 50, 60 (roses, sold out), 70, 80.
	res := resultsOf(t, srv.searchPhoto(q, map[string]string{"min_band": "any", "available": "any", "height_min": "50 см", "height_max": "70"}))
	got := map[float64]bool{}
	for _, r := range res {
		got[num(r["product_id"])] = true
	}
	if len(got) != 3 || !got[102] || !got[103] || !got[104] {
		t.Fatalf("height 50–70: %v", res)
	}
	for _, f := range []map[string]string{{"height_min": "tall"}, {"height_min": "80", "height_max": "40"}} {
		if r := srv.searchPhoto(q, f); r.status != 400 {
			t.Fatalf("%v: %d %s", f, r.status, r.raw)
		}
	}

	// Pages: two, two, then the last one; together each product once.
	seen := map[float64]int{}
	offset := 0
	for page := 0; ; page++ {
		r := srv.searchPhoto(q, map[string]string{"min_band": "any", "available": "any", "limit": "2", "offset": fmt.Sprint(offset)})
		res := resultsOf(t, r)
		for _, x := range res {
			seen[num(x["product_id"])]++
		}
		next, more := r.body["next_offset"]
		if page < 2 {
			if !more || len(res) != 2 || num(next) != float64(offset+2) {
				t.Fatalf("page %d: %s", page, r.raw)
			}
			offset = int(num(next))
			continue
		}
		if more || len(res) != 1 {
			t.Fatalf("last page: %s", r.raw)
		}
		break
	}
	if len(seen) != 5 {
		t.Fatalf("pages showed %v", seen)
	}
	if r := srv.searchPhoto(q, map[string]string{"offset": "-1"}); r.status != 400 {
		t.Fatalf("offset -1: %d", r.status)
	}
}

// The search re-ranks its best hits by local features, read from the
// stored photos' thumbnails and kept in memory: /stats counts them. With
// LOOKALIKE_RERANK=0 there is no re-ranking and no such cache.
func TestSearchRerankCache(t *testing.T) {
	srv := resultsTestShop(t)
	res := resultsOf(t, srv.searchPhoto(rephotograph(t, readPhoto(t, "tulips")), map[string]string{"min_band": "any", "available": "any"}))
	if len(res) != 5 || num(res[0]["product_id"]) != 105 || res[0]["band"] != "exact" {
		t.Fatalf("re-photographed tulips: %v", res)
	}
	rr, ok := srv.stats()["rerank"].(map[string]any)
	if !ok || num(rr["best"]) != 10 || num(rr["cached_photos"]) != 5 || num(rr["cached_bytes"]) < 5*1000 || num(rr["cache_limit"]) != 4096 {
		t.Fatalf("stats rerank: %v", srv.stats()["rerank"])
	}

	off := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_RERANK": "0"})
	if _, ok := off.stats()["rerank"]; ok {
		t.Fatalf("LOOKALIKE_RERANK=0: stats rerank %v", off.stats()["rerank"])
	}
}
