// Package catalog parses the product webhooks that the shop's 1C-Bitrix CMS
// sends, turning loosely typed values ("2 500 ₸", "60 см", "Y") into exact,
// typed fields.
package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	maxTitleRunes = 1000
	maxImageURL   = 2048
)

// MaxExtraBytes bounds the product_data fields kept beyond the known ones
// (Patch.Extra, and a product's Extra after merging events): at most this
// many bytes of JSON, so a CMS (or whoever holds its secret) cannot make a
// product, and every list of products, arbitrarily large.
const MaxExtraBytes = 64 << 10

var (
	// ErrMalformed means the body is not a single JSON object (HTTP 400).
	ErrMalformed = errors.New("malformed JSON")
	// ErrInvalid means the JSON is well formed but its content is not
	// acceptable (HTTP 422). Errors carrying it are *FieldError.
	ErrInvalid = errors.New("invalid payload")
)

// FieldError reports which field of a webhook is wrong and why. It wraps
// ErrInvalid.
type FieldError struct {
	Field string // JSON path, e.g. "product_data.price"
	Msg   string // what is wrong, e.g. `cannot parse "abc" as a price (...)`
}

// Error returns "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap returns ErrInvalid so that errors.Is(err, ErrInvalid) holds.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// EventType is the kind of change a webhook reports.
type EventType string

// The event types Bitrix sends.
const (
	EventCreated EventType = "product.created"
	EventUpdated EventType = "product.updated"
	EventDeleted EventType = "product.deleted"
	// EventPing checks the connection (the Bitrix module's "Check
	// connection"): authenticated like any webhook, it carries no
	// product_data and changes nothing.
	EventPing EventType = "ping"
)

// Event is one parsed webhook.
type Event struct {
	Type    EventType
	ShopID  int64 // 0 when absent (the caller applies a default)
	Product Patch
}

// Patch holds the product fields present in product_data. A nil pointer
// means the field was absent (or JSON null): keep the stored value.
type Patch struct {
	ID        ProductID
	Title     *string  // trimmed of surrounding white space
	Price     *Price   // parsed price
	PriceRaw  *string  // the price as sent: "2 500 ₸", or "2500" for a JSON number
	HeightCM  *float64 // catalogHeight in centimetres; an empty string counts as absent (so does an empty price)
	HeightRaw *string  // catalogHeight as sent
	Available *bool    // isAvailable
	Image     *string  // the main photo, trimmed; "" removes it
	// Images is the gallery (product_data.images), each URL trimmed; nil
	// when absent. MergePhotoURLs says how it combines with Image.
	Images *[]string
	// Version orders events for the product (from version, updated_at or
	// TIMESTAMP_X); nil when the event carries none. An event older than
	// the stored state is ignored.
	Version *int64
	// Extra holds the product_data fields not listed above, verbatim. It is
	// nil when there are none.
	Extra map[string]json.RawMessage
}

// Names of the product_data fields Patch understands.
const (
	keyID        = "id"
	keyTitle     = "title"
	keyPrice     = "price"
	keyHeight    = "catalogHeight"
	keyAvailable = "isAvailable"
	keyImage     = "image"
	keyImages    = "images"
)

// ParseEvent parses a webhook body of the form
//
//	{"event_type":"product.updated","shop_id":8,
//	 "product_data":{"id":888888,"title":"Розы","price":"2 500 ₸",...}}
//
// Keys are case-sensitive. A body that is not exactly one JSON object gives
// an error wrapping ErrMalformed; a well-formed body with missing or bad
// fields gives a *FieldError (wrapping ErrInvalid).
func ParseEvent(body []byte) (Event, error) { return ParseEventWith(body, EventOptions{}) }

// EventOptions qualify ParseEventWith.
type EventOptions struct {
	// Currency is the ISO 4217 code of prices that name no currency (a
	// number, or "2500"); DefaultCurrency (KZT) when empty.
	Currency string
}

// ParseEventWith is ParseEvent with options.
func ParseEventWith(body []byte, o EventOptions) (Event, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Event{}, fmt.Errorf("%w: expected an object, got %s", ErrMalformed, typeErr.Value)
		}
		return Event{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if top == nil {
		return Event{}, fmt.Errorf("%w: expected an object, got null", ErrMalformed)
	}

	var ev Event
	typ, err := eventType(top["event_type"])
	if err != nil {
		return Event{}, err
	}
	ev.Type = typ

	if raw := top["shop_id"]; !isNull(raw) {
		v, err := decodeValue(raw)
		if err != nil {
			return Event{}, fieldErr("shop_id", err)
		}
		if ev.ShopID, err = ParseID(v); err != nil {
			return Event{}, fieldErr("shop_id", err)
		}
	}

	if ev.Type == EventPing {
		return ev, nil
	}

	raw := top["product_data"]
	if isNull(raw) {
		return Event{}, &FieldError{Field: "product_data", Msg: "is missing"}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Event{}, &FieldError{Field: "product_data", Msg: "must be an object"}
	}
	if ev.Product, err = parsePatch(fields, o); err != nil {
		return Event{}, err
	}
	if err := checkExtra(ev.Product.Extra, "sends"); err != nil {
		return Event{}, err
	}
	if err := checkLinks(ev.Product.Extra); err != nil {
		return Event{}, err
	}
	for _, key := range versionKeys {
		raw, ok := ev.Product.Extra[key]
		if !ok || isNull(raw) {
			continue
		}
		v, err := decodeValue(raw)
		if err == nil {
			var ver int64
			if ver, err = ParseVersion(v); err == nil {
				ev.Product.Version = &ver
				break
			}
		}
		return Event{}, fieldErr("product_data."+key, err)
	}
	return ev, nil
}

// MergeExtra returns the extra fields of a product after an event: old
// with patch's fields set over it. It is a *FieldError (ErrInvalid) when
// the result would be over MaxExtraBytes; old is never modified.
func MergeExtra(old, patch map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	if len(patch) == 0 {
		return old, nil
	}
	merged := make(map[string]json.RawMessage, len(old)+len(patch))
	for k, v := range old {
		merged[k] = v
	}
	for k, v := range patch {
		merged[k] = v
	}
	if err := checkExtra(merged, "would keep, with the fields stored before,"); err != nil {
		return nil, err
	}
	return merged, nil
}

// checkExtra refuses extra fields over MaxExtraBytes of JSON (as stored:
// compact). what says whose fields they are, for the message.
func checkExtra(extra map[string]json.RawMessage, what string) error {
	if len(extra) == 0 {
		return nil
	}
	b, err := json.Marshal(extra)
	if err != nil {
		return &FieldError{Field: "product_data", Msg: "extra fields are not valid JSON: " + err.Error()}
	}
	if len(b) <= MaxExtraBytes {
		return nil
	}
	return &FieldError{Field: "product_data", Msg: fmt.Sprintf(
		"this event %s %d extra fields in %d bytes of JSON, over the limit of %d bytes (%d KiB) kept beyond id, title, price, catalogHeight, isAvailable and image; send only the fields the shop needs",
		what, len(extra), len(b), MaxExtraBytes, MaxExtraBytes>>10)}
}

// versionKeys name the product_data fields that order events, in order of
// preference. They stay in Extra too, as sent.
var versionKeys = []string{"version", "updated_at", "timestamp_x", "TIMESTAMP_X"}

// versionLayouts are the timestamp forms accepted as versions: RFC 3339 and
// the forms Bitrix prints TIMESTAMP_X in (site and database formats). Times
// without a zone are read as UTC: only their order matters.
var versionLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05.999999",
	"02.01.2006 15:04:05",
	"02.01.2006 15:04",
	"02.01.2006",
	"2006-01-02",
}

// ParseVersion reads an event's version: a non-negative integer (a counter
// or unix time), or a timestamp, which becomes microseconds since 1970.
func ParseVersion(v any) (int64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case float64:
		if x < 0 || x != math.Trunc(x) || x > 1<<53 {
			return 0, fmt.Errorf("version %v must be a non-negative integer or a timestamp", x)
		}
		return int64(x), nil
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, fmt.Errorf("version must be a number or a timestamp string, got %s", describe(v))
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("version %d must not be negative", n)
		}
		return n, nil
	}
	for _, layout := range versionLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMicro(), nil
		}
	}
	return 0, fmt.Errorf("cannot read %q as a version: use an integer or a timestamp like 2026-11-27 15:04:05 or 27.11.2026 15:04:05", s)
}

func eventType(raw json.RawMessage) (EventType, error) {
	const expected = "(expected product.created, product.updated, product.deleted or ping)"
	if isNull(raw) {
		return "", &FieldError{Field: "event_type", Msg: "is missing " + expected}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &FieldError{Field: "event_type", Msg: "must be a string " + expected}
	}
	switch t := EventType(s); t {
	case EventCreated, EventUpdated, EventDeleted, EventPing:
		return t, nil
	}
	return "", &FieldError{Field: "event_type", Msg: fmt.Sprintf("unknown event type %s %s", quoteShort(s), expected)}
}

func parsePatch(fields map[string]json.RawMessage, o EventOptions) (Patch, error) {
	var p Patch
	name := func(key string) string { return "product_data." + key }

	// values decodes the present, non-null fields; errors are impossible
	// for RawMessages that came out of a successful Unmarshal.
	values := make(map[string]any, 6)
	for key, raw := range fields {
		switch key {
		case keyID, keyTitle, keyPrice, keyHeight, keyAvailable, keyImage, keyImages:
			if isNull(raw) {
				continue
			}
			v, err := decodeValue(raw)
			if err != nil {
				return Patch{}, fieldErr(name(key), err)
			}
			values[key] = v
		default:
			if p.Extra == nil {
				p.Extra = make(map[string]json.RawMessage)
			}
			p.Extra[key] = raw
		}
	}

	id, ok := values[keyID]
	if !ok {
		return Patch{}, &FieldError{Field: name(keyID), Msg: "is missing"}
	}
	var err error
	if p.ID, err = ParseProductID(id); err != nil {
		return Patch{}, fieldErr(name(keyID), err)
	}

	if v, ok := values[keyTitle]; ok {
		s, ok := v.(string)
		if !ok {
			return Patch{}, &FieldError{Field: name(keyTitle), Msg: "must be a string, got " + describe(v)}
		}
		s = strings.TrimSpace(s)
		if n := utf8.RuneCountInString(s); n > maxTitleRunes {
			return Patch{}, &FieldError{Field: name(keyTitle),
				Msg: fmt.Sprintf("is too long (%d characters, at most %d)", n, maxTitleRunes)}
		}
		p.Title = &s
	}

	if v, ok := values[keyPrice]; ok && !isBlank(v) {
		price, err := ParsePriceIn(v, o.Currency)
		if err != nil {
			return Patch{}, fieldErr(name(keyPrice), err)
		}
		raw := rawText(v)
		p.Price, p.PriceRaw = &price, &raw
	}

	if v, ok := values[keyHeight]; ok {
		if !isBlank(v) {
			cm, err := ParseHeight(v)
			if err != nil {
				return Patch{}, fieldErr(name(keyHeight), err)
			}
			raw := rawText(v)
			p.HeightCM, p.HeightRaw = &cm, &raw
		}
	}

	if v, ok := values[keyAvailable]; ok {
		b, err := ParseBool(v)
		if err != nil {
			return Patch{}, fieldErr(name(keyAvailable), err)
		}
		p.Available = &b
	}

	if v, ok := values[keyImage]; ok {
		s, ok := v.(string)
		if !ok {
			return Patch{}, &FieldError{Field: name(keyImage), Msg: "must be a string URL, got " + describe(v)}
		}
		s, err := imageURL(s)
		if err != nil {
			return Patch{}, fieldErr(name(keyImage), err)
		}
		p.Image = &s
	}

	if v, ok := values[keyImages]; ok {
		list, ok := v.([]any)
		if !ok {
			return Patch{}, &FieldError{Field: name(keyImages), Msg: "must be a list of image URLs, got " + describe(v)}
		}
		if len(list) > MaxPhotosSent {
			return Patch{}, &FieldError{Field: name(keyImages),
				Msg: fmt.Sprintf("has %d entries, at most %d are read (and LOOKALIKE_MAX_PHOTOS kept)", len(list), MaxPhotosSent)}
		}
		urls := make([]string, 0, len(list))
		for i, item := range list {
			field := fmt.Sprintf("%s[%d]", name(keyImages), i)
			s, ok := item.(string)
			if !ok {
				return Patch{}, &FieldError{Field: field, Msg: "must be a string URL, got " + describe(item)}
			}
			s, err := imageURL(s)
			if err != nil {
				return Patch{}, fieldErr(field, err)
			}
			urls = append(urls, s)
		}
		p.Images = &urls
	}
	return p, nil
}

// imageURL trims an image URL and checks its length.
func imageURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxImageURL {
		return "", fmt.Errorf("URL is too long (%d bytes, at most %d)", len(s), maxImageURL)
	}
	return s, nil
}

// decodeValue decodes one JSON value keeping numbers as json.Number.
func decodeValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// rawText returns a scalar's text as the shop sent it.
func rawText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	}
	return fmt.Sprint(v)
}

func isNull(raw json.RawMessage) bool {
	return raw == nil || string(bytes.TrimSpace(raw)) == "null"
}

func fieldErr(field string, err error) *FieldError {
	return &FieldError{Field: field, Msg: err.Error()}
}

// isBlank reports an empty or all-space string: CMS fields left empty (no
// price set, no height) count as absent rather than as errors.
func isBlank(v any) bool {
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}
