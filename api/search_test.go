package api

import (
	"context"
	"encoding/json"
	"image"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/imagedecode"
	"github.com/lookalike/lookalike/imagedecode/imagetest"
	"github.com/lookalike/lookalike/regions"
	"github.com/lookalike/lookalike/vectorindex"
)

// TestDecodeBusyIsRetryable: a search whose photo waited too long for decode
// memory is a 503 with Retry-After and the reason, not an internal error.
func TestDecodeBusyIsRetryable(t *testing.T) {
	b := imagedecode.NewBudget(16 << 20)
	data := imagetest.StripedPNG(1500, 1000, 8) // 6 MB decoded: two fit, not three
	var held []*imagedecode.Image
	for range 2 {
		img, err := imagedecode.DecodeContext(context.Background(), data, imagedecode.Limits{Budget: b})
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, img)
	}
	defer func() {
		for _, img := range held {
			img.Release()
		}
	}()
	_, err := imagedecode.DecodeContext(context.Background(), data, imagedecode.Limits{Budget: b, Timeout: 10 * time.Millisecond})
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rec := httptest.NewRecorder()
	s.fail(rec, httptest.NewRequest("POST", "/api/v1/search", nil), err)
	var body struct{ Error string }
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(body.Error, "busy decoding other images") {
		t.Fatalf("busy decode: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}

// budgetEmbedder records how much of a decode budget is held while it embeds.
type budgetEmbedder struct {
	b    *imagedecode.Budget
	mu   sync.Mutex
	held []int64
}

func (e *budgetEmbedder) Model() string  { return "test-v1" }
func (e *budgetEmbedder) Dim() int       { return 2 }
func (e *budgetEmbedder) InputSize() int { return 50 }
func (e *budgetEmbedder) EmbedImage(ctx context.Context, img image.Image) ([]float32, error) {
	e.mu.Lock()
	e.held = append(e.held, e.b.InUse())
	e.mu.Unlock()
	return []float32{1, 0}, nil
}

// TestSearchReleasesDecodeBeforeEmbedding: a photo searched by regions is
// reduced once and its full-size decode given back to the budget before
// the regions are embedded; a crop keeps the full size while it embeds.
func TestSearchReleasesDecodeBeforeEmbedding(t *testing.T) {
	b := imagedecode.NewBudget(64 << 20)
	e := &budgetEmbedder{b: b}
	s := New(Config{DecodeBudget: b}, Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	eng := Engine{Embedder: e, Index: vectorindex.NewFlat(2)}
	photo := imagetest.StripedPNG(2000, 1500, 8)
	r := httptest.NewRequest("POST", "/api/v1/search", nil)
	if _, err := s.queryFinder(r, eng, &searchQuery{image: photo}); err != nil {
		t.Fatal(err)
	}
	if len(e.held) < 2 {
		t.Fatalf("%d regions embedded", len(e.held))
	}
	for i, n := range e.held {
		if n != 0 {
			t.Fatalf("region %d embedded while %d bytes of decode budget were held", i, n)
		}
	}
	e.held = nil
	box := regions.Box{X: 0.1, Y: 0.1, W: 0.5, H: 0.5}
	if _, err := s.queryFinder(r, eng, &searchQuery{image: photo, crop: &box}); err != nil {
		t.Fatal(err)
	}
	if len(e.held) != 1 || e.held[0] != 12e6 {
		t.Fatalf("crop embedded holding %v bytes, want the full 12000000", e.held)
	}
	if b.InUse() != 0 {
		t.Fatalf("%d bytes held after the searches", b.InUse())
	}
}

// goneStore holds only some of the products the index still has, as when
// the rest were deleted a moment ago.
type goneStore struct {
	Store
	live map[catalog.Key]catalog.Product
}

func (s goneStore) GetMany(_ context.Context, keys []catalog.Key) (map[catalog.Key]catalog.Product, error) {
	out := map[catalog.Key]catalog.Product{}
	for _, k := range keys {
		if p, ok := s.live[k]; ok {
			out[k] = p
		}
	}
	return out, nil
}

// TestLookupAsksAgainForDroppedHits: when the store check drops most of the
// best hits (products deleted since they were indexed), the index is asked
// for more until a full page is found, with no fixed margin.
func TestLookupAsksAgainForDroppedHits(t *testing.T) {
	idx := vectorindex.NewFlat(2)
	st := goneStore{live: map[catalog.Key]catalog.Product{}}
	for i := range 40 {
		k := catalog.Key{ShopID: 1, ProductID: catalog.ProductIDOf(int64(i))}
		// Product i scores 1 - i/100: the first 30 are deleted.
		s := 1 - float64(i)/100
		idx.Upsert(vectorindex.Key(k), "sha", []float32{float32(s), float32(math.Sqrt(1 - s*s))}, vectorindex.Meta{Available: true})
		if i >= 30 {
			p := catalog.Product{Key: k, Available: true}
			p.SetPhotos([]catalog.Photo{{URL: "u", SHA256: "sha", State: catalog.PhotoIndexed}})
			st.live[k] = p
		}
	}
	s := New(Config{}, Deps{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var asked []int
	find := func(k int, f vectorindex.Filter) ([]vectorindex.Hit, error) {
		asked = append(asked, k)
		return idx.Search([]float32{1, 0}, k, f)
	}
	r := httptest.NewRequest("POST", "/api/v1/search", nil)
	out, err := s.lookup(r, find, vectorindex.Filter{}, 5, embed.Thresholds{}, embed.BandWeak)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 5 || out[0].ProductID != "30" || out[4].ProductID != "34" {
		t.Fatalf("got %d results (asked the index for %v): %+v", len(out), asked, out)
	}
}
