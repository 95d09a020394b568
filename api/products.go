package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// publicJSON is what anyone may read of a product: what a shopper sees.
// The extra fields the CMS sent (purchase prices, suppliers…), the index
// state and its errors are only in productJSON, for the admin token.
type publicJSON struct {
	ProductID   catalog.ProductID `json:"product_id"`
	ShopID      int64             `json:"shop_id"`
	Title       string            `json:"title"`
	Price       *float64          `json:"price"`
	Currency    *string           `json:"currency"`
	PriceRaw    string            `json:"price_raw"`
	HeightCM    *float64          `json:"height_cm"` // shown on the shop's page next to the price
	IsAvailable bool              `json:"is_available"`
	ImageURL    string            `json:"image_url"`
	ImageSHA256 string            `json:"image_sha256"`  // GET /images/{sha} serves the stored copy
	URL         string            `json:"url,omitempty"` // the product's page on the shop's site
	Images      []imageJSON       `json:"images"`        // every photo, the main one first
}

// imageJSON is one photo of a product; image_sha256 is set once it is indexed.
type imageJSON struct {
	URL         string `json:"url"`
	ImageSHA256 string `json:"image_sha256"`
}

// photoJSON is one photo with its index state, in the full record.
type photoJSON struct {
	URL         string             `json:"url"`
	ImageSHA256 string             `json:"image_sha256"`
	State       catalog.PhotoState `json:"state"`
	Error       string             `json:"error,omitempty"`
}

// productJSON is the full record: the public view, everything else the CMS
// sent, and the index state.
type productJSON struct {
	publicJSON
	HeightRaw string     `json:"height_raw"`
	Extra     any        `json:"extra,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	DeletedAt *time.Time `json:"deleted_at"`
	Index     indexJSON  `json:"index"`
}

type indexJSON struct {
	State       catalog.IndexState `json:"state"`
	Error       string             `json:"error"`
	IndexedAt   *time.Time         `json:"indexed_at"`
	ImageSHA256 string             `json:"image_sha256"`
	Model       string             `json:"model"`
	// PhotosIndexed of PhotosTotal photos have a current vector; the
	// product is searchable when at least one has.
	PhotosIndexed int         `json:"photos_indexed"`
	PhotosTotal   int         `json:"photos_total"`
	Photos        []photoJSON `json:"photos"`
}

func toPublicJSON(p *catalog.Product) publicJSON {
	out := publicJSON{ProductID: p.ProductID, ShopID: p.ShopID, Title: p.Title, PriceRaw: p.PriceRaw,
		HeightCM: p.HeightCM, IsAvailable: p.Available, ImageURL: p.ImageURL, ImageSHA256: p.ImageSHA256, URL: p.PageURL(),
		Images: make([]imageJSON, len(p.Photos))}
	for i, ph := range p.Photos {
		out.Images[i] = imageJSON{URL: ph.URL, ImageSHA256: ph.SHA256}
	}
	if p.Price != nil {
		major, cur := p.Price.Major(), p.Price.Currency
		out.Price, out.Currency = &major, &cur
	}
	return out
}

func toJSON(p *catalog.Product) productJSON {
	out := productJSON{publicJSON: toPublicJSON(p), HeightRaw: p.HeightRaw,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, DeletedAt: p.DeletedAt,
		Index: indexJSON{State: p.IndexState, Error: p.IndexError, IndexedAt: p.IndexedAt,
			ImageSHA256: p.ImageSHA256, Model: p.Model, PhotosIndexed: catalog.CountPhotos(p.Photos), PhotosTotal: len(p.Photos),
			Photos: make([]photoJSON, len(p.Photos))},
	}
	for i, ph := range p.Photos {
		out.Index.Photos[i] = photoJSON{URL: ph.URL, ImageSHA256: ph.SHA256, State: ph.State, Error: ph.Error}
	}
	if len(p.Extra) > 0 {
		out.Extra = p.Extra
	}
	return out
}

// view is the product as the request may see it: the full record or the
// public view.
func view(p *catalog.Product, full bool) any {
	if full {
		return toJSON(p)
	}
	return toPublicJSON(p)
}

// productRead serves a product read in the view the request may see:
// without credentials the public view; with the admin token, the full
// record (a wrong token is refused rather than answered with less). On the
// public address (public) the full record is never served: a request with
// a token there gets 404, as every internal endpoint does.
func (s *Server) productRead(h func(w http.ResponseWriter, r *http.Request, full bool), public bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") == "":
			h(w, r, false)
		case public:
			s.fail(w, r, errorf(http.StatusNotFound, "full product records are served on the admin address (LOOKALIKE_ADMIN_ADDR) only; this address answers the public view, without a token"))
		case s.authorized(w, r):
			h(w, r, true)
		}
	}
}

// shopParam reads shop_id from the query, defaulting to the default shop.
func (s *Server) shopParam(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("shop_id")
	if v == "" {
		return s.cfg.DefaultShopID, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(http.StatusBadRequest, "shop_id must be a positive integer, got %q", v)
	}
	return id, nil
}

func (s *Server) handleGetProduct(w http.ResponseWriter, r *http.Request, full bool) {
	id, err := catalog.ParseProductIDText(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, errorf(http.StatusBadRequest, "product id: %v", err))
		return
	}
	shop, err := s.shopParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.store.Get(r.Context(), catalog.Key{ShopID: shop, ProductID: id})
	if err == nil && !full && p.DeletedAt != nil {
		err = catalog.ErrNotFound // gone for shoppers; the operator still sees the tombstone
	}
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			err = errorf(http.StatusNotFound, "product %s not found in shop %d", id, shop)
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(&p, full))
}

// A list reads the store a chunk at a time and writes each product as it
// goes, so memory is bounded by a chunk, not the page, and no read is held
// open while a slow client takes its bytes. A chunk is as many products as
// fit in listChunkBytes of decoded extra fields, judged by the largest of
// the chunk before (the first is one product): a catalogue of ordinary
// products goes listChunkMax at a time, one whose products carry
// megabytes of extra fields one at a time.
const (
	listChunkBytes = 1 << 20
	listChunkMax   = 32
)

// nextChunk is how many products to read after prev, with left still to go.
func nextChunk(prev []catalog.Product, left int) int {
	most := 1
	for i := range prev {
		cost := 0
		for k, v := range prev[i].Extra {
			cost += len(k) + len(v) + 64 // the map entry and the two headers, roughly
		}
		most = max(most, cost)
	}
	return min(left, listChunkMax, max(1, listChunkBytes/most))
}

func (s *Server) handleListProducts(w http.ResponseWriter, r *http.Request, full bool) {
	q := r.URL.Query()
	shop, err := s.shopParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o := catalog.ListOptions{ShopID: shop, Limit: 50}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			s.fail(w, r, errorf(http.StatusBadRequest, "limit must be a positive integer, got %q", v))
			return
		}
		o.Limit = min(n, 500)
	}
	if v := q.Get("available"); v != "" && v != "any" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.fail(w, r, errorf(http.StatusBadRequest, "available must be true, false or any, got %q", v))
			return
		}
		o.Available = &b
	}
	if v := q.Get("cursor"); v != "" {
		id, err := catalog.ParseProductIDText(v)
		if err != nil {
			s.fail(w, r, errorf(http.StatusBadRequest, "cursor %q is not one this API returned", v))
			return
		}
		o.After = id
	}
	limit := o.Limit
	o.Limit = 1
	chunk, more, err := s.store.List(r.Context(), o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// From here the reply is 200 and streamed: a store error now can only
	// cut the connection, so a client never takes a partial page for a
	// whole one.
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	encode := func(v any) {
		if err := enc.Encode(v); err != nil {
			s.abortList(r, err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	buf.WriteString(`{"products":[`)
	n, cursor := 0, ""
	for {
		for i := range chunk {
			if n > 0 {
				buf.WriteByte(',')
			}
			encode(view(&chunk[i], full))
			n++
			if _, err := w.Write(buf.Bytes()); err != nil {
				return // the client went away
			}
			buf.Reset()
		}
		if !more || n >= limit {
			break
		}
		o.After, o.Limit = chunk[len(chunk)-1].ProductID, nextChunk(chunk, limit-n)
		chunk = nil // let the written chunk go before reading the next
		if chunk, more, err = s.store.List(r.Context(), o); err != nil {
			s.abortList(r, err)
		}
	}
	if more {
		cursor = chunk[len(chunk)-1].ProductID.String()
	}
	buf.WriteString(`],"next_cursor":`)
	encode(cursor)
	buf.WriteString("}\n")
	w.Write(buf.Bytes())
}

// abortList ends a list whose 200 is already sent: it logs why and cuts the
// connection, so the client sees a broken reply, not a short page.
func (s *Server) abortList(r *http.Request, err error) {
	s.log.Error("product list cut short", "request_id", r.Context().Value(requestIDKey{}), "path", r.URL.Path, "err", err)
	panic(http.ErrAbortHandler)
}
