package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/sqlite"
)

// listStore is the real store whose List can be made to fail from its
// n-th call on.
type listStore struct {
	*sqlite.Store
	calls  atomic.Int32
	failAt int32 // 0: never
}

func (s *listStore) List(ctx context.Context, o catalog.ListOptions) ([]catalog.Product, bool, error) {
	if n := s.calls.Add(1); s.failAt > 0 && n >= s.failAt {
		return nil, false, errors.New("disk I/O error")
	}
	return s.Store.List(ctx, o)
}

func listServer(t testing.TB, products int) (*listStore, string) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "list.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ls := &listStore{Store: st}
	s := New(Config{WebhookSecrets: []string{"list-secret-123"}, AdminToken: "list-admin"}, Deps{Store: ls, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	for id := 1; id <= products; id++ {
		body := fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"p%d","price":"100","secret_cost":"%d","notes":"%s"}}`,
			id, id, id, strings.Repeat("n", 5000)) // one product is more than the server's write buffer
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/webhooks/product-sync", strings.NewReader(body))
		req.Header.Set("X-Webhook-Secret", "list-secret-123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("create %d: %d", id, resp.StatusCode)
		}
	}
	return ls, srv.URL
}

func getList(t testing.TB, url string, token string) (int, string, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err // a connection cut before the headers went out
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestListPagesAcrossChunks: a page read from the store a few products at a
// time is the same page: every product once, in order, and the cursor of
// the last one when more follow.
func TestListPagesAcrossChunks(t *testing.T) {
	_, url := listServer(t, 11)
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		status, body, err := getList(t, url+"/api/v1/products?limit=6&cursor="+cursor, "list-admin")
		var page struct {
			Products []struct {
				ProductID json.Number       `json:"product_id"`
				Extra     map[string]string `json:"extra"`
			} `json:"products"`
			NextCursor string `json:"next_cursor"`
		}
		if err != nil || status != 200 || json.Unmarshal([]byte(body), &page) != nil || !strings.HasSuffix(body, "}\n") {
			t.Fatalf("page %d: %d %v %q", pages, status, err, body)
		}
		for _, p := range page.Products {
			if p.Extra["secret_cost"] != p.ProductID.String() {
				t.Fatalf("product %s: extra %v", p.ProductID, p.Extra)
			}
			got = append(got, p.ProductID.String())
		}
		if page.NextCursor == "" {
			break
		}
		if page.NextCursor != got[len(got)-1] {
			t.Fatalf("next_cursor %q after %v", page.NextCursor, got)
		}
		cursor = page.NextCursor
	}
	// Ids are text, in byte order.
	if want := "1 10 11 2 3 4 5 6 7 8 9"; strings.Join(got, " ") != want {
		t.Fatalf("listed %v, want %s", got, want)
	}
	if _, body, _ := getList(t, url+"/api/v1/products?limit=500", ""); strings.Contains(body, "secret_cost") {
		t.Fatalf("anonymous list shows extra fields: %s", body)
	}
}

// TestListCutOnStoreError: a store error after the 200 has gone out cuts
// the connection; the client never gets a well-formed short page.
func TestListCutOnStoreError(t *testing.T) {
	ls, url := listServer(t, 10)
	ls.failAt = 2 // the first chunk is written, the second read fails
	status, body, err := getList(t, url+"/api/v1/products?limit=10", "list-admin")
	var page map[string]any
	if status != 200 || err == nil || json.Unmarshal([]byte(body), &page) == nil {
		t.Fatalf("a list failing after its first products: %d %v %.100s", status, err, body)
	}
	// A failure before anything is written is an ordinary error reply.
	ls.calls.Store(0)
	ls.failAt = 1
	if status, body, err := getList(t, url+"/api/v1/products?limit=10", "list-admin"); err != nil || status != 500 || !strings.Contains(body, `"status":"error"`) {
		t.Fatalf("failure on the first read: %d %v %s", status, err, body)
	}
}

// BenchmarkListPage lists a full page of 500 products with the admin token.
func BenchmarkListPage(b *testing.B) {
	_, url := listServer(b, 500)
	b.ResetTimer()
	for range b.N {
		if status, _, err := getList(b, url+"/api/v1/products?limit=500", "list-admin"); status != 200 || err != nil {
			b.Fatal(status, err)
		}
	}
}

// TestNextChunk: products with megabytes of extra fields are read one at a
// time, ordinary ones many at a time.
func TestNextChunk(t *testing.T) {
	extra := func(keys, size int) catalog.Product {
		p := catalog.Product{Extra: map[string]json.RawMessage{}}
		for k := range keys {
			p.Extra[fmt.Sprintf("k%06d", k)] = json.RawMessage(strings.Repeat("1", size))
		}
		return p
	}
	for _, c := range []struct {
		prev       []catalog.Product
		left, want int
	}{
		{nil, 500, listChunkMax},
		{[]catalog.Product{{}}, 3, 3},
		{[]catalog.Product{extra(10, 10)}, 500, listChunkMax},
		{[]catalog.Product{extra(10, 10), extra(60000, 5)}, 500, 1},
		{[]catalog.Product{extra(1, 200<<10)}, 500, 5},
	} {
		if got := nextChunk(c.prev, c.left); got != c.want {
			t.Errorf("nextChunk(%d products, %d left) = %d, want %d", len(c.prev), c.left, got, c.want)
		}
	}
}
