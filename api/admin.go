package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

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
	id, err := catalog.ParseProductID(req.ProductID)
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
			"photos_indexed": out.Photos, "photos_failed": out.Failed,
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

// readKey reads {"product_id":…, "shop_id":…} from an admin request body.
func (s *Server) readKey(w http.ResponseWriter, r *http.Request, needID bool) (catalog.Key, error) {
	k := catalog.Key{ShopID: s.cfg.DefaultShopID}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return k, errorf(http.StatusRequestEntityTooLarge, "request body is larger than 64 KiB")
	}
	if len(bytes.TrimSpace(body)) == 0 && !needID {
		return k, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var req struct {
		ProductID any `json:"product_id"`
		ShopID    any `json:"shop_id"`
	}
	if err := dec.Decode(&req); err != nil {
		return k, errorf(http.StatusBadRequest, `request body must be JSON like {"product_id": 888888, "shop_id": 8}`)
	}
	if req.ShopID != nil {
		if k.ShopID, err = catalog.ParseID(req.ShopID); err != nil {
			return k, errorf(http.StatusUnprocessableEntity, "shop_id: %v", err)
		}
	}
	if needID || req.ProductID != nil {
		if k.ProductID, err = catalog.ParseProductID(req.ProductID); err != nil {
			return k, errorf(http.StatusUnprocessableEntity, "product_id: %v", err)
		}
	}
	return k, nil
}

// handleListFailed lists products whose reindex failed, with reasons.
func (s *Server) handleListFailed(w http.ResponseWriter, r *http.Request) {
	var shop int64
	if v := r.URL.Query().Get("shop_id"); v != "" {
		var err error
		if shop, err = s.shopParam(r); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			s.fail(w, r, errorf(http.StatusBadRequest, "limit must be a positive integer, got %q", v))
			return
		}
		limit = min(n, 1000)
	}
	list, err := s.store.ListFailed(r.Context(), shop, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type item struct {
		ProductID catalog.ProductID `json:"product_id"`
		ShopID    int64             `json:"shop_id"`
		Title     string            `json:"title"`
		ImageURL  string            `json:"image_url"`
		Error     string            `json:"error"`
		Attempts  int               `json:"attempts"`
		FailedAt  time.Time         `json:"failed_at"`
	}
	out := make([]item, 0, len(list))
	for _, f := range list {
		out = append(out, item{f.ProductID, f.ShopID, f.Title, f.ImageURL, f.IndexError, f.Attempts, f.FailedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"failed": out, "count": len(out)})
}

// handleRetry queues one product for a fresh reindex in the background.
func (s *Server) handleRetry(w http.ResponseWriter, r *http.Request) {
	k, err := s.readKey(w, r, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.Requeue(r.Context(), k, time.Now()); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			err = errorf(http.StatusNotFound, "product %s in shop %d not found, deleted, or without an image", k.ProductID, k.ShopID)
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "queued", "product_id": k.ProductID, "shop_id": k.ShopID})
}

// handleRetryAll queues every failed product (or, for reindex-all, every
// product with an image) of a shop, or of all shops without shop_id.
func (s *Server) handleRetryAll(failedOnly bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			s.fail(w, r, errorf(http.StatusRequestEntityTooLarge, "request body is larger than 64 KiB"))
			return
		}
		var shop int64
		if len(bytes.TrimSpace(body)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var req struct {
				ShopID any `json:"shop_id"`
			}
			if err := dec.Decode(&req); err != nil {
				s.fail(w, r, errorf(http.StatusBadRequest, `request body must be empty or JSON like {"shop_id": 8}`))
				return
			}
			if req.ShopID != nil {
				if shop, err = catalog.ParseID(req.ShopID); err != nil {
					s.fail(w, r, errorf(http.StatusUnprocessableEntity, "shop_id: %v", err))
					return
				}
			}
		}
		n, err := s.store.RequeueWhere(r.Context(), shop, failedOnly, time.Now())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"status": "queued", "count": n})
	}
}

// handleVerify compares catalogue and index; ?repair=true (or POST) fixes.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	repair := r.Method == http.MethodPost
	if v := r.URL.Query().Get("repair"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.fail(w, r, errorf(http.StatusBadRequest, "repair must be true or false"))
			return
		}
		repair = b
	}
	rep, err := s.verify(r.Context(), repair)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
