package api

import (
	"compress/gzip"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// handleWebhook takes the CMS's product events. The reply is sent only after
// the product and its reindex job are committed together.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.WebhookSecrets) == 0 && len(s.cfg.SigningKeys) == 0 {
		s.fail(w, r, &Error{Status: http.StatusServiceUnavailable, Err: errNotConfigured,
			Msg: "webhooks are disabled: start the server with WEBHOOK_SECRET (or --webhook-secret) set to the secret the CMS sends in X-Webhook-Secret, or LOOKALIKE_WEBHOOK_SIGNING_SECRET=whsec_… for signed webhooks"})
		return
	}
	// The signature covers the body, so read it (bounded) first.
	body, err := readWebhookBody(w, r, s.cfg.MaxWebhookBody)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.authenticateWebhook(r, body); err != nil {
		s.fail(w, r, err)
		return
	}
	ev, err := catalog.ParseEventWith(body, catalog.EventOptions{Currency: s.cfg.Currency})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	shop := ev.ShopID
	if shop == 0 {
		shop = s.cfg.DefaultShopID
	}
	if ev.Type == catalog.EventPing {
		// The CMS checking its URL and secret: nothing is stored.
		s.log.Info("webhook ping", "request_id", r.Context().Value(requestIDKey{}), "shop_id", shop)
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "action": "ping", "shop_id": shop})
		return
	}
	delivery := r.Header.Get("webhook-id")
	if len(delivery) > 256 {
		s.fail(w, r, errorf(http.StatusBadRequest, "webhook-id is longer than 256 characters"))
		return
	}
	res, err := s.store.ApplyEvent(r.Context(), ev, catalog.ApplyOptions{ShopID: shop, DeliveryID: delivery, Now: time.Now(), MaxPhotos: s.cfg.MaxPhotos})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res.Duplicate {
		w.Header().Set("X-Lookalike-Duplicate", "true")
	}
	s.log.Info("webhook applied", "request_id", r.Context().Value(requestIDKey{}), "event", ev.Type,
		"shop_id", shop, "product_id", ev.Product.ID, "action", res.Action, "reindex", res.ReindexTriggered,
		"changed", res.Changed, "duplicate", res.Duplicate)
	reply := map[string]any{
		"status":            "success",
		"action":            res.Action,
		"product_id":        ev.Product.ID,
		"shop_id":           shop,
		"reindex_triggered": res.ReindexTriggered,
		"changed":           res.Changed,
	}
	if res.PhotosDropped > 0 {
		s.log.Warn("webhook: photos over the limit not kept", "request_id", r.Context().Value(requestIDKey{}),
			"shop_id", shop, "product_id", ev.Product.ID, "dropped", res.PhotosDropped, "limit", s.cfg.MaxPhotos)
		reply["photos_dropped"] = res.PhotosDropped
	}
	writeJSON(w, http.StatusOK, reply)
}

// authenticateWebhook accepts either a matching X-Webhook-Secret or a valid
// Standard Webhooks signature.
func (s *Server) authenticateWebhook(r *http.Request, body []byte) error {
	unauthorized := func(msg string) error {
		return &Error{Status: http.StatusUnauthorized, Msg: msg, Err: errUnauthorized}
	}
	secret := r.Header.Get("X-Webhook-Secret")
	signed := r.Header.Get("webhook-signature") != ""
	if secret != "" && len(s.cfg.WebhookSecrets) > 0 {
		if s.secretOK(secret) {
			return nil
		}
		if !signed || len(s.cfg.SigningKeys) == 0 {
			return unauthorized("wrong webhook secret in X-Webhook-Secret")
		}
	}
	if signed && len(s.cfg.SigningKeys) > 0 {
		if err := verifySignature(s.cfg.SigningKeys, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"),
			r.Header.Get("webhook-signature"), body, time.Now()); err != nil {
			return unauthorized(err.Error())
		}
		return nil
	}
	switch {
	case len(s.cfg.SigningKeys) == 0:
		return unauthorized("missing X-Webhook-Secret header")
	case len(s.cfg.WebhookSecrets) == 0:
		return unauthorized("missing Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature)")
	}
	return unauthorized("missing X-Webhook-Secret header or Standard Webhooks signature")
}

// secretOK compares got with every configured secret in constant time.
func (s *Server) secretOK(got string) bool {
	ok := 0
	for _, want := range s.cfg.WebhookSecrets {
		ok |= subtle.ConstantTimeCompare([]byte(got), []byte(want))
	}
	return ok == 1 && got != ""
}

// readWebhookBody reads a webhook body of at most limit bytes. A body sent
// with Content-Encoding: gzip is inflated, and the limit applies to what it
// inflates to: reading stops one byte past it, so a gzip bomb costs no more
// than an honest body. Other encodings are refused with 415.
func readWebhookBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooLarge := func(err error, what string) error {
		return &Error{Status: http.StatusRequestEntityTooLarge, Msg: what + " is larger than " + humanBytes(limit), Err: err}
	}
	in := http.MaxBytesReader(w, r.Body, limit)
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		body, err := io.ReadAll(in)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(err, "webhook body")
		}
		if err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Msg: "could not read the request body: " + err.Error(), Err: err}
		}
		return body, nil
	case "gzip", "x-gzip":
	default:
		return nil, &Error{Status: http.StatusUnsupportedMediaType,
			Msg: fmt.Sprintf("Content-Encoding %q is not supported: send the webhook uncompressed or with Content-Encoding: gzip", r.Header.Get("Content-Encoding"))}
	}
	zr, err := gzip.NewReader(in)
	if err == nil {
		var body []byte
		body, err = io.ReadAll(io.LimitReader(zr, limit+1))
		if err == nil && int64(len(body)) > limit {
			return nil, tooLarge(errTooLarge, "webhook body (after gzip decompression)")
		}
		if err == nil {
			return body, nil
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge(err, "gzip-compressed webhook body")
	}
	return nil, &Error{Status: http.StatusBadRequest, Msg: "the body is not valid gzip (Content-Encoding: gzip): " + err.Error(), Err: err}
}
