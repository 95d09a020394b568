package api

import (
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
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
	// The signature covers the raw body, so read it (bounded) first.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxWebhookBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(w, r, &Error{Status: http.StatusRequestEntityTooLarge, Msg: "webhook body is larger than " + humanBytes(mbe.Limit), Err: err})
			return
		}
		s.fail(w, r, &Error{Status: http.StatusBadRequest, Msg: "could not read the request body: " + err.Error(), Err: err})
		return
	}
	if err := s.authenticateWebhook(r, body); err != nil {
		s.fail(w, r, err)
		return
	}
	ev, err := catalog.ParseEvent(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	shop := ev.ShopID
	if shop == 0 {
		shop = s.cfg.DefaultShopID
	}
	delivery := r.Header.Get("webhook-id")
	if len(delivery) > 256 {
		s.fail(w, r, errorf(http.StatusBadRequest, "webhook-id is longer than 256 characters"))
		return
	}
	res, err := s.store.ApplyEvent(r.Context(), ev, catalog.ApplyOptions{ShopID: shop, DeliveryID: delivery, Now: time.Now()})
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
	writeJSON(w, http.StatusOK, map[string]any{
		"status":            "success",
		"action":            res.Action,
		"product_id":        ev.Product.ID,
		"shop_id":           shop,
		"reindex_triggered": res.ReindexTriggered,
		"changed":           res.Changed,
	})
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
