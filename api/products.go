package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// productJSON is a product as the API shows it.
type productJSON struct {
	ProductID   catalog.ProductID `json:"product_id"`
	ShopID      int64             `json:"shop_id"`
	Title       string            `json:"title"`
	Price       *float64          `json:"price"`
	Currency    *string           `json:"currency"`
	PriceRaw    string            `json:"price_raw"`
	HeightCM    *float64          `json:"height_cm"`
	HeightRaw   string            `json:"height_raw"`
	IsAvailable bool              `json:"is_available"`
	ImageURL    string            `json:"image_url"`
	Extra       any               `json:"extra,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	DeletedAt   *time.Time        `json:"deleted_at"`
	Index       indexJSON         `json:"index"`
}

type indexJSON struct {
	State       catalog.IndexState `json:"state"`
	Error       string             `json:"error"`
	IndexedAt   *time.Time         `json:"indexed_at"`
	ImageSHA256 string             `json:"image_sha256"`
	Model       string             `json:"model"`
}

func toJSON(p *catalog.Product) productJSON {
	out := productJSON{
		ProductID: p.ProductID, ShopID: p.ShopID, Title: p.Title, PriceRaw: p.PriceRaw,
		HeightCM: p.HeightCM, HeightRaw: p.HeightRaw, IsAvailable: p.Available, ImageURL: p.ImageURL,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, DeletedAt: p.DeletedAt,
		Index: indexJSON{State: p.IndexState, Error: p.IndexError, IndexedAt: p.IndexedAt,
			ImageSHA256: p.ImageSHA256, Model: p.Model},
	}
	if len(p.Extra) > 0 {
		out.Extra = p.Extra
	}
	if p.Price != nil {
		major, cur := p.Price.Major(), p.Price.Currency
		out.Price, out.Currency = &major, &cur
	}
	return out
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

func (s *Server) handleGetProduct(w http.ResponseWriter, r *http.Request) {
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
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			err = errorf(http.StatusNotFound, "product %s not found in shop %d", id, shop)
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(&p))
}

func (s *Server) handleListProducts(w http.ResponseWriter, r *http.Request) {
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
	list, more, err := s.store.List(r.Context(), o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Products   []productJSON `json:"products"`
		NextCursor string        `json:"next_cursor"`
	}{Products: make([]productJSON, 0, len(list))}
	for i := range list {
		out.Products = append(out.Products, toJSON(&list[i]))
	}
	if more {
		out.NextCursor = list[len(list)-1].ProductID.String()
	}
	writeJSON(w, http.StatusOK, out)
}
