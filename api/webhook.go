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
	if len(s.cfg.WebhookSecrets) == 0 {
		s.fail(w, r, &Error{Status: http.StatusServiceUnavailable, Err: errNotConfigured,
			Msg: "webhooks are disabled: start the server with WEBHOOK_SECRET (or --webhook-secret) set to the secret the CMS sends in X-Webhook-Secret"})
		return
	}
	if !s.secretOK(r.Header.Get("X-Webhook-Secret")) {
		msg := "wrong webhook secret in X-Webhook-Secret"
		if r.Header.Get("X-Webhook-Secret") == "" {
			msg = "missing X-Webhook-Secret header"
		}
		s.fail(w, r, &Error{Status: http.StatusUnauthorized, Msg: msg, Err: errUnauthorized})
		return
	}
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
	ev, err := catalog.ParseEvent(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	shop := ev.ShopID
	if shop == 0 {
		shop = s.cfg.DefaultShopID
	}
	res, err := s.store.ApplyEvent(r.Context(), ev, shop, time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("webhook applied", "request_id", r.Context().Value(requestIDKey{}), "event", ev.Type,
		"shop_id", shop, "product_id", ev.Product.ID, "action", res.Action, "reindex", res.ReindexTriggered)
	writeJSON(w, http.StatusOK, map[string]any{
		"status":            "success",
		"action":            res.Action,
		"product_id":        ev.Product.ID,
		"shop_id":           shop,
		"reindex_triggered": res.ReindexTriggered,
		"changed":           res.Changed,
	})
}

// secretOK compares got with every configured secret in constant time.
func (s *Server) secretOK(got string) bool {
	ok := 0
	for _, want := range s.cfg.WebhookSecrets {
		ok |= subtle.ConstantTimeCompare([]byte(got), []byte(want))
	}
	return ok == 1 && got != ""
}
