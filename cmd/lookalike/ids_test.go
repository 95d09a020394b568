package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Product ids that are codes, not numbers (YML offer ids, 1C codes), go
// everywhere a numeric id goes; numeric ids keep their numeric replies.
func TestStringProductIDs(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	auth := map[string]string{"Authorization": "Bearer " + testAdmin}
	const code = "00000085340_1"

	r := srv.webhook(`{"event_type":"product.created","shop_id":8,"product_data":{"id":"` + code + `","title":"Розы 1С","price":"2 500 ₸","image":"` + images.URL + `/img/roses.jpg"}}`)
	if r.status != 200 || !strings.Contains(r.raw, `"product_id":"`+code+`"`) || r.body["action"] != "created" {
		t.Fatalf("webhook with a code id: %d %s", r.status, r.raw)
	}
	srv.webhook(createBody(888888, "Ромашки", "1 500 ₸", images.URL+"/img/daisy.jpg", ""))
	var p map[string]any
	srv.waitFor("both indexed", func() bool {
		p = srv.getJSON("/api/v1/products/" + code + "?shop_id=8").body
		q := srv.getJSON("/api/v1/products/888888?shop_id=8").body
		return p["index"].(map[string]any)["state"] == "indexed" && q["index"].(map[string]any)["state"] == "indexed"
	})
	if p["product_id"] != code || p["title"] != "Розы 1С" {
		t.Fatalf("GET by code: %v", p)
	}

	// A numeric id answers as a number, sent as a number or as a string:
	// the same product either way.
	r = srv.webhook(`{"event_type":"product.updated","shop_id":8,"product_data":{"id":"888888","title":"Ромашки белые"}}`)
	if r.status != 200 || !strings.Contains(r.raw, `"product_id":888888`) || r.body["action"] != "updated" {
		t.Fatalf(`webhook with "888888": %d %s`, r.status, r.raw)
	}
	if g := srv.getJSON("/api/v1/products/888888?shop_id=8"); !strings.Contains(g.raw, `"product_id":888888,`) || g.body["title"] != "Ромашки белые" {
		t.Fatalf("GET 888888: %s", g.raw)
	}
	// "007" is a code, not the number 7.
	for _, id := range []string{`"007"`, `7`} {
		if r := srv.webhook(`{"event_type":"product.created","shop_id":8,"product_data":{"id":` + id + `,"title":"x"}}`); r.status != 200 || r.body["action"] != "created" {
			t.Fatalf("webhook id %s: %d %s", id, r.status, r.raw)
		}
	}
	if g := srv.getJSON("/api/v1/products/007?shop_id=8"); g.status != 200 || !strings.Contains(g.raw, `"product_id":"007"`) {
		t.Fatalf("GET 007: %d %s", g.status, g.raw)
	}

	// Search results carry the code as a string, the number as a number.
	s := srv.searchPhoto(rephotograph(t, readPhoto(t, "roses")), map[string]string{"shop_id": "8", "limit": "2", "min_band": "any"})
	if s.status != 200 || !strings.Contains(s.raw, `"product_id":"`+code+`"`) || !strings.Contains(s.raw, `"product_id":888888,`) {
		t.Fatalf("search: %d %s", s.status, s.raw)
	}
	if res := s.body["results"].([]any); res[0].(map[string]any)["product_id"] != code {
		t.Fatalf("roses are not first: %s", s.raw)
	}
	s = srv.postJSON("/api/v1/search", map[string]any{"product_id": code, "shop_id": 8, "limit": 1, "min_band": "any"}, nil)
	if s.status != 200 || !strings.Contains(s.raw, `"product_id":888888,`) {
		t.Fatalf("search by a code product: %d %s", s.status, s.raw)
	}

	// Admin: reindex-one and retry by code.
	r = srv.postJSON("/api/v1/reindex-one", map[string]any{"product_id": code, "shop_id": 8}, auth)
	if r.status != 200 || r.body["success"] != true || !strings.Contains(r.raw, `"product_id":"`+code+`"`) {
		t.Fatalf("reindex-one by code: %d %s", r.status, r.raw)
	}
	r = srv.postJSON("/api/v1/admin/retry", map[string]any{"product_id": code, "shop_id": 8}, auth)
	if r.status != 202 || r.body["product_id"] != code {
		t.Fatalf("retry by code: %d %s", r.status, r.raw)
	}
	waitSettled(srv, 2)

	// The CLI takes codes too.
	if out, err := cli(t, srv, "search", "--shop", "8", "--product", code, "--min-band", "any"); err != nil || !strings.Contains(out, "888888") {
		t.Fatalf("search --product %s: %v\n%s", code, err, out)
	}
	if out, err := cli(t, srv, "reindex", "--shop", "8", "--product", code); err != nil {
		t.Fatalf("reindex --product %s: %v\n%s", code, err, out)
	}
	var ue *usageError
	if _, err := cli(t, srv, "search", "--product", "a/b"); !errors.As(err, &ue) || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("search --product a/b: %v", err)
	}
	waitSettled(srv, 2)
	if out, err := cli(t, srv, "verify"); err != nil || !strings.Contains(out, "no problems") {
		t.Fatalf("verify: %v\n%s", err, out)
	}

	// Paging visits every product once, codes and numbers alike.
	var seen []string
	cursor := ""
	for range 10 {
		g := srv.getJSON("/api/v1/products?shop_id=8&limit=1&cursor=" + cursor)
		for _, p := range g.body["products"].([]any) {
			seen = append(seen, fmt.Sprint(p.(map[string]any)["product_id"]))
		}
		if cursor = g.body["next_cursor"].(string); cursor == "" {
			break
		}
	}
	sort.Strings(seen)
	if fmt.Sprint(seen) != "[00000085340_1 007 7 888888]" {
		t.Fatalf("pages listed %v", seen)
	}

	// Ids that are not ids are refused with a clear reason, and nothing is stored.
	for _, c := range []struct{ id, msg string }{
		{`"a/b"`, `id "a/b" contains '/', which is not allowed`},
		{`"` + strings.Repeat("7", 65) + `"`, "too long (65 characters, at most 64)"},
		{`"\""`, `contains '"', which is not allowed`},
		{`"розы"`, "not allowed"},
	} {
		r := srv.webhook(`{"event_type":"product.created","shop_id":8,"product_data":{"id":` + c.id + `,"title":"x"}}`)
		if msg := fmt.Sprint(r.body["error"]); r.status != 422 || !strings.HasPrefix(msg, "product_data.id: id ") || !strings.Contains(msg, c.msg) {
			t.Errorf("id %s: %d %s", c.id, r.status, r.raw)
		}
	}
	if st := srv.stats(); num(st["products"].(map[string]any)["active"]) != 4 {
		t.Fatalf("refused ids stored something: %v", st)
	}
	if g := srv.getJSON("/api/v1/products/a%22b"); g.status != 400 || !strings.Contains(g.raw, "not allowed") {
		t.Fatalf("GET a\"b: %d %s", g.status, g.raw)
	}
}

// Feeds with offer ids that are codes import: YML <offer id="AB12cd">, a
// CSV id column of 1C codes.
func TestImportStringOfferIDs(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	dir := t.TempDir()
	yml := filepath.Join(dir, "feed.yml")
	os.WriteFile(yml, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<yml_catalog date="2026-12-01 09:00"><shop><currencies><currency id="KZT" rate="1"/></currencies><offers>
  <offer id="AB12cd" available="true"><price>18500</price><currencyId>KZT</currencyId>
    <picture>`+images.URL+`/img/tulips.jpg</picture><name>Тюльпаны</name></offer>
  <offer id="2001" available="true"><price>9900</price><currencyId>KZT</currencyId><name>Ромашки</name></offer>
  <offer id="A/17" available="true"><price>9900</price><currencyId>KZT</currencyId><name>Косая черта</name></offer>
</offers></shop></yml_catalog>
`), 0o644)
	r := runImportCmd(t, nil, "--server", srv.url, "--shop", "8", yml)
	r.want(t, map[string]int{"read": 3, "created": 2, "invalid": 1})
	if !strings.Contains(r.out, `id "A/17" contains '/'`) {
		t.Fatalf("the invalid row's reason:\n%s", r.out)
	}
	srv.waitFor("AB12cd indexed", func() bool {
		p := srv.getJSON("/api/v1/products/AB12cd?shop_id=8").body
		return p["index"] != nil && p["index"].(map[string]any)["state"] == "indexed"
	})
	if g := srv.getJSON("/api/v1/products/2001?shop_id=8"); !strings.Contains(g.raw, `"product_id":2001,`) {
		t.Fatalf("2001 from YML: %s", g.raw)
	}

	csv := filepath.Join(dir, "feed.csv")
	os.WriteFile(csv, []byte("id;title;price;currency;available;image\n00000085340_1;Розы;2500;KZT;Y;\nAB12cd;Тюльпаны;18500;KZT;Y;"+images.URL+"/img/tulips.jpg\n"), 0o644)
	r = runImportCmd(t, nil, "--server", srv.url, "--shop", "8", "--delete-missing", csv)
	r.want(t, map[string]int{"read": 2, "created": 1, "unchanged": 1, "deleted": 1})
	if g := srv.getJSON("/api/v1/products/00000085340_1?shop_id=8"); g.status != 200 || g.body["title"] != "Розы" {
		t.Fatalf("00000085340_1 from CSV: %d %s", g.status, g.raw)
	}
	if g := srv.getJSON("/api/v1/products/2001?shop_id=8"); g.body["deleted_at"] == nil {
		t.Fatalf("--delete-missing kept 2001: %s", g.raw)
	}
}

// A data directory of the version with integer product ids (built by that
// version, testdata/olddb) is migrated in place at start: its products,
// vectors, failed job and remembered deliveries all still answer as before.
func TestOpensOldDatabase(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "testdata", "olddb"))); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, dir, nil)
	st := srv.stats()
	prods, q := st["products"].(map[string]any), st["queue"].(map[string]any)
	if num(st["vectors"]) != 2 || num(prods["active"]) != 4 || num(prods["deleted"]) != 1 || num(q["failed"]) != 1 {
		t.Fatalf("stats of the migrated database: %v", st)
	}
	g := srv.getJSON("/api/v1/products/2001?shop_id=8")
	if !strings.Contains(g.raw, `"product_id":2001,`) || g.body["title"] != "Розы" || g.body["price"] != 18500.0 ||
		g.body["index"].(map[string]any)["state"] != "indexed" || g.body["extra"].(map[string]any)["section"] != "roses" {
		t.Fatalf("2001 after migration: %s", g.raw)
	}
	// Its single photo became its main photo, indexed, in the photo table.
	idx := g.body["index"].(map[string]any)
	sha := idx["image_sha256"].(string)
	if num(idx["photos_indexed"]) != 1 || num(idx["photos_total"]) != 1 || g.body["images"].([]any)[0].(map[string]any)["image_sha256"] != sha {
		t.Fatalf("photos of 2001 after migration: %s", g.raw)
	}
	if ph := srv.stats()["photos"].(map[string]any); num(ph["indexed"]) != 2 {
		t.Fatalf("photos after migration: %v", ph)
	}
	if resp, err := http.Get(srv.url + "/images/" + sha); err != nil || resp.StatusCode != 200 {
		t.Fatalf("stored photo of 2001: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	s := srv.searchPhoto(rephotograph(t, readPhoto(t, "roses")), map[string]string{"shop_id": "8", "min_band": "any"})
	if res, _ := s.body["results"].([]any); len(res) != 2 || !strings.Contains(s.raw, `"product_id":2001,`) || res[0].(map[string]any)["product_id"] != 2001.0 ||
		res[0].(map[string]any)["matched_image"].(map[string]any)["image_sha256"] != sha {
		t.Fatalf("search after migration: %s", s.raw)
	}
	f := srv.do("GET", "/api/v1/admin/failed?shop_id=8", map[string]string{"Authorization": "Bearer " + testAdmin}, nil)
	if !strings.Contains(f.raw, `"product_id":2004,`) {
		t.Fatalf("failed list after migration: %s", f.raw)
	}
	// A delivery the old server applied is still known; the id as a string
	// names the old product; a code id is a new one beside them.
	r := srv.do("POST", "/api/v1/webhooks/product-sync", map[string]string{"Content-Type": "application/json",
		"X-Webhook-Secret": testSecret, "webhook-id": "msg_2002"}, strings.NewReader(`{"event_type":"product.updated","shop_id":8,"product_data":{"id":2002,"title":"x"}}`))
	if r.status != 200 || r.body["action"] != "created" {
		t.Fatalf("redelivery of msg_2002: %d %s", r.status, r.raw)
	}
	if g := srv.getJSON("/api/v1/products/2002?shop_id=8"); g.body["title"] != "Ромашки" {
		t.Fatalf("a redelivered webhook changed 2002: %s", g.raw)
	}
	if r := srv.webhook(`{"event_type":"product.updated","shop_id":8,"product_data":{"id":"2003","title":"Открытка ручной работы"}}`); r.body["action"] != "updated" || !strings.Contains(r.raw, `"product_id":2003`) {
		t.Fatalf(`"2003" after migration: %s`, r.raw)
	}
	if r := srv.webhook(`{"event_type":"product.created","shop_id":8,"product_data":{"id":"00000085340_1","title":"1С"}}`); r.body["action"] != "created" {
		t.Fatalf("a code id after migration: %s", r.raw)
	}
	if r := srv.do("GET", "/api/v1/admin/verify", map[string]string{"Authorization": "Bearer " + testAdmin}, nil); r.status != 200 || len(r.body["problems"].([]any)) != 0 {
		t.Fatalf("verify after migration: %d %s", r.status, r.raw)
	}
}
