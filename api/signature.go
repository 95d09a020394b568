package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (https://www.standardwebhooks.com/) signatures:
// webhook-signature holds space-separated "v1,<base64 HMAC-SHA256>" entries
// over "<webhook-id>.<webhook-timestamp>.<raw body>", keyed with the
// base64-decoded part of a "whsec_..." secret.

// signatureTolerance is how far webhook-timestamp may be from now.
const signatureTolerance = 5 * time.Minute

// ParseSigningSecret decodes a "whsec_<base64>" secret.
func ParseSigningSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), "whsec_")
	if !ok {
		return nil, errors.New(`a signing secret must look like "whsec_<base64>"`)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 16 {
		return nil, errors.New("a signing secret must be whsec_ followed by at least 16 bytes in base64")
	}
	return key, nil
}

// Sign computes the webhook-signature value for one secret (used by tests
// and by anything in Go that sends webhooks).
func Sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// verifySignature checks the Standard Webhooks headers over the raw body.
// Its errors say what is wrong without revealing anything about the keys.
func verifySignature(keys [][]byte, id, tsHeader, sigHeader string, body []byte, now time.Time) error {
	if id == "" || tsHeader == "" || sigHeader == "" {
		return errors.New("incomplete Standard Webhooks headers: webhook-id, webhook-timestamp and webhook-signature are all required")
	}
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp must be unix seconds")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > signatureTolerance || d < -signatureTolerance {
		return fmt.Errorf("webhook-timestamp is %s away from the server's clock, more than the allowed %s", d.Abs().Round(time.Second), signatureTolerance)
	}
	var got [][]byte
	for _, part := range strings.Fields(sigHeader) {
		ver, sig, ok := strings.Cut(part, ",")
		if !ok || ver != "v1" {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(sig); err == nil {
			got = append(got, b)
		}
	}
	if len(got) == 0 {
		return errors.New("webhook-signature has no v1 signature")
	}
	for _, key := range keys {
		m := hmac.New(sha256.New, key)
		fmt.Fprintf(m, "%s.%d.", id, ts)
		m.Write(body)
		want := m.Sum(nil)
		for _, g := range got {
			if hmac.Equal(g, want) {
				return nil
			}
		}
	}
	return errors.New("webhook-signature does not match the body with any configured signing secret")
}
