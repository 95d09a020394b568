package main

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/datadir"
	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/sqlite"
)

// Changes committed by another store on the server's database (as another
// replica would make them) reach the server's in-memory index through the
// change feed: two products indexed there become searchable here, and a
// delete there takes one out of the index here.
func TestChangeFromAnotherStoreReachesTheIndex(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, nil)
	other, err := sqlite.Open(context.Background(), filepath.Join(dir, datadir.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	emb := builtin.New()
	for i, id := range []int{301, 302} {
		ev, err := catalog.ParseEvent([]byte(`{"event_type":"product.created","product_data":{"id":` + strconv.Itoa(id) + `,"title":"elsewhere","image":"https://x/` + strconv.Itoa(id) + `.jpg"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.ApplyEvent(ctx, ev, catalog.ApplyOptions{ShopID: 8}); err != nil {
			t.Fatal(err)
		}
		j, err := other.ClaimProduct(ctx, catalog.Key{ShopID: 8, ProductID: catalog.ProductIDOf(int64(id))}, time.Now(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		vec := make([]float32, emb.Dim())
		vec[0], vec[1+i] = 1, 0.1 // two close vectors
		if _, err := other.Settle(ctx, j, emb.Model(), []catalog.PhotoResult{{URL: j.Photos[0].URL, SHA256: "feed" + strconv.Itoa(id), Vector: vec}}, false, time.Now(), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	srv.waitFor("the other store's two products in the index", func() bool { return srv.metric("lookalike_index_vectors") == 2 })
	r := srv.postJSON("/api/v1/search", map[string]any{"product_id": 301, "shop_id": 8, "available": "any"}, nil)
	if res, _ := r.body["results"].([]any); r.status != 200 || len(res) != 1 || num(res[0].(map[string]any)["product_id"]) != 302 {
		t.Fatalf("more like 301: %d %s", r.status, r.raw)
	}
	ev, _ := catalog.ParseEvent([]byte(`{"event_type":"product.deleted","product_data":{"id":302}}`))
	if _, err := other.ApplyEvent(ctx, ev, catalog.ApplyOptions{ShopID: 8}); err != nil {
		t.Fatal(err)
	}
	srv.waitFor("the other store's delete in the index", func() bool { return srv.metric("lookalike_index_vectors") == 1 })
}
