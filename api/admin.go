package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/reindex"
)

// handleReindexOne reindexes one product now and answers in the seed's
// shape: {"success":true,...} or {"success":false,"error":"Failed to fetch image: 404 Not Found"}.
func (s *Server) handleReindexOne(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		s.failAdmin(w, r, http.StatusRequestEntityTooLarge, "request body is larger than 64 KiB")
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var req struct {
		ProductID any `json:"product_id"`
		ShopID    any `json:"shop_id"`
	}
	if err := dec.Decode(&req); err != nil {
		s.failAdmin(w, r, http.StatusBadRequest, `request body must be JSON like {"product_id": 888888, "shop_id": 8}`)
		return
	}
	id, err := catalog.ParseID(req.ProductID)
	if err != nil {
		s.failAdmin(w, r, http.StatusUnprocessableEntity, "product_id: "+err.Error())
		return
	}
	shop := s.cfg.DefaultShopID
	if req.ShopID != nil {
		if shop, err = catalog.ParseID(req.ShopID); err != nil {
			s.failAdmin(w, r, http.StatusUnprocessableEntity, "shop_id: "+err.Error())
			return
		}
	}
	k := catalog.Key{ShopID: shop, ProductID: id}
	out, err := s.worker.ReindexNow(r.Context(), k)
	var re *reindex.Error
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]any{
			"success": true, "product_id": id, "shop_id": shop, "image_sha256": out.ImageSHA256,
			"model": out.Model, "reused_vector": out.Reused, "took_ms": out.Duration.Milliseconds(),
		})
	case errors.Is(err, catalog.ErrNotFound):
		s.failAdmin(w, r, http.StatusNotFound, "Product not found")
	case errors.Is(err, reindex.ErrNoImage):
		s.failAdmin(w, r, http.StatusUnprocessableEntity, "Product has no image")
	case errors.Is(err, catalog.ErrStale):
		s.failAdmin(w, r, http.StatusConflict, "Product changed while it was being reindexed; the newer change is being indexed")
	case errors.As(err, &re):
		status := http.StatusBadGateway
		if !re.Permanent {
			status = http.StatusServiceUnavailable // queued for a retry
		}
		s.failAdmin(w, r, status, re.Msg)
	default:
		s.log.Error("reindex-one", "err", err)
		s.failAdmin(w, r, http.StatusInternalServerError, "internal error: "+err.Error())
	}
}
