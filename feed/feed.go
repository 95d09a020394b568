// Package feed reads a shop's product catalogue from the feeds CIS shops
// publish: the Yandex.Market YML feed (XML) that 1C-Bitrix and most shop
// engines export, and CSV spreadsheets. Both are read as a stream, one
// product at a time, in constant memory however large the feed.
//
// Every product comes out as the product_data of a lookalike webhook and is
// validated by the same parser the server uses (catalog.ParseEvent), so a
// row the feed reader accepts is a row the server accepts.
package feed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/lookalike/lookalike/catalog"
)

// Format is a feed format.
type Format string

// The supported formats.
const (
	YML Format = "yml" // Yandex.Market YML: <yml_catalog><shop><offers><offer>…
	CSV Format = "csv" // a header line, then one product per line
)

// ParseFormat reads a --format value: "yml" (or "xml") or "csv".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yml", "xml", "yandex":
		return YML, nil
	case "csv":
		return CSV, nil
	}
	return "", fmt.Errorf("unknown feed format %q (use yml or csv)", s)
}

// DefaultHeightParam is the YML <param name="…"> that holds a product's
// height, as Russian-language shops name it.
const DefaultHeightParam = "Высота"

// Options tune a Reader.
type Options struct {
	// Format of the feed; empty means detect it from Name, then from the
	// first bytes.
	Format Format
	// Name is the file name or URL the feed came from, for detection.
	Name string
	// ContentType is the feed's HTTP Content-Type, if it came over HTTP.
	ContentType string
	// HeightParam is the YML <param name> holding the height
	// (DefaultHeightParam when empty). Matching ignores case.
	HeightParam string
	// Currency is the ISO 4217 code of prices for which the feed names no
	// currency (catalog.DefaultCurrency, KZT, when empty).
	Currency string
}

// Product is one product as a webhook's product_data. Empty strings are
// left out of the webhook, except Image: an empty Image says the product
// has no picture. Images is always sent (as [] without a gallery): the feed
// is the whole list of a product's photos.
type Product struct {
	ID        catalog.ProductID // "" when the row has no valid id
	RawID     string            // the id as the feed wrote it
	Title     string
	Price     string // formatted the shop's way, "2 500 ₸"
	Available *bool  // nil when the feed does not say
	Image     string
	Images    []string // the other photos (the gallery), after Image
	Height    string   // "60 см"
	// Extra holds the other fields kept with the product (YML url,
	// description, categoryId, other params; extra CSV columns).
	Extra map[string]any
}

// Data returns the product as a webhook's product_data object.
func (p *Product) Data() map[string]any {
	m := make(map[string]any, 6+len(p.Extra))
	for k, v := range p.Extra {
		m[k] = v
	}
	if p.ID != "" {
		m["id"] = p.ID
	} else {
		m["id"] = p.RawID
	}
	m["title"] = p.Title
	if p.Price != "" {
		m["price"] = p.Price
	}
	if p.Available != nil {
		m["isAvailable"] = *p.Available
	}
	m["image"] = p.Image
	m["images"] = append([]string{}, p.Images...)
	if p.Height != "" {
		m["catalogHeight"] = p.Height
	}
	return m
}

// MaxPictures is how many photos of a product a feed gives (YML allows 10
// <picture>); the server keeps at most LOOKALIKE_MAX_PHOTOS of them.
const MaxPictures = 10

// setPhotos takes the product's photo URLs in order: the first non-empty
// one is the main photo, the rest (up to MaxPictures in all) the gallery.
func (p *Product) setPhotos(urls []string) {
	p.Image, p.Images = "", nil
	for _, u := range urls {
		u = strings.TrimSpace(u)
		switch {
		case u == "":
		case p.Image == "":
			p.Image = u
		case len(p.Images) < MaxPictures-1:
			p.Images = append(p.Images, u)
		}
	}
}

// EventBody returns the webhook body for p: event type typ
// ("product.updated", "product.deleted"…), and shop_id when shop > 0.
func EventBody(typ catalog.EventType, shop int64, p *Product) ([]byte, error) {
	ev := map[string]any{"event_type": string(typ)}
	if shop > 0 {
		ev["shop_id"] = shop
	}
	if typ == catalog.EventDeleted {
		ev["product_data"] = map[string]any{"id": p.ID}
	} else {
		ev["product_data"] = p.Data()
	}
	// json.Marshal (HTML escaping on) writes extra fields byte for byte the
	// way the server stores them, so a repeated import compares equal.
	return json.Marshal(ev)
}

// Item is one product read from a feed. Err, when set, says why the row is
// unusable (Product may then be partly filled); the reader carries on with
// the next row.
type Item struct {
	Line    int // line of the <offer> start tag or of the CSV record
	Product Product
	Err     error
}

// RowError is a problem with one row. It never stops a Reader.
type RowError struct{ Msg string }

func (e *RowError) Error() string { return e.Msg }

func rowErrorf(format string, args ...any) *RowError {
	return &RowError{Msg: fmt.Sprintf(format, args...)}
}

// Reader yields the products of one feed.
type Reader struct {
	format Format
	next   func() (Item, error)
}

// NewReader starts reading a feed from r. It detects the format when
// opts.Format is empty and fails only if the feed cannot be read at all.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	format := opts.Format
	if format == "" {
		var err error
		if format, err = Detect(br, opts.Name, opts.ContentType); err != nil {
			return nil, err
		}
	}
	if opts.HeightParam == "" {
		opts.HeightParam = DefaultHeightParam
	}
	if opts.Currency == "" {
		opts.Currency = catalog.DefaultCurrency
	}
	if _, ok := catalog.CurrencyExponent(opts.Currency); !ok {
		return nil, fmt.Errorf("unknown currency %q (expected an ISO 4217 code such as KZT)", opts.Currency)
	}
	rd := &Reader{format: format}
	switch format {
	case YML:
		rd.next = newYML(br, opts).next
	case CSV:
		c, err := newCSV(br, opts.Currency)
		if err != nil {
			return nil, err
		}
		rd.next = c.next
	default:
		return nil, fmt.Errorf("unknown feed format %q", format)
	}
	return rd, nil
}

// Format is the feed's format, as given or detected.
func (r *Reader) Format() Format { return r.format }

// Next returns the next product, io.EOF after the last one, or another
// error when the rest of the feed cannot be read (a broken XML document,
// a network failure).
func (r *Reader) Next() (Item, error) {
	it, err := r.next()
	if err != nil {
		return it, err
	}
	if it.Err == nil {
		it.Err = validate(&it.Product)
	}
	return it, nil
}

// validate runs the server's own parser on the event the product becomes.
func validate(p *Product) error {
	if p.ID == "" {
		if strings.TrimSpace(p.RawID) == "" {
			return &RowError{Msg: "missing id"}
		}
		_, err := catalog.ParseProductIDText(p.RawID)
		return &RowError{Msg: err.Error()}
	}
	if strings.TrimSpace(p.Title) == "" {
		return &RowError{Msg: "missing title (name)"}
	}
	body, err := EventBody(catalog.EventUpdated, 0, p)
	if err != nil {
		return rowErrorf("cannot encode: %v", err)
	}
	if _, err := catalog.ParseEvent(body); err != nil {
		var fe *catalog.FieldError
		if errors.As(err, &fe) {
			return rowErrorf("%s: %s", strings.TrimPrefix(fe.Field, "product_data."), fe.Msg)
		}
		return &RowError{Msg: err.Error()}
	}
	return nil
}

// Detect decides a feed's format from its name (extension), its HTTP
// Content-Type, or its first bytes: XML starts with "<".
func Detect(br *bufio.Reader, name, contentType string) (Format, error) {
	n := strings.ToLower(name)
	if i := strings.IndexAny(n, "?#"); i >= 0 && strings.Contains(n, "://") {
		n = n[:i]
	}
	switch path.Ext(strings.TrimSuffix(n, ".gz")) {
	case ".yml", ".xml", ".yaml":
		return YML, nil
	case ".csv", ".tsv", ".txt":
		return CSV, nil
	}
	ct := strings.ToLower(contentType)
	switch {
	case strings.Contains(ct, "xml"):
		return YML, nil
	case strings.Contains(ct, "csv"):
		return CSV, nil
	}
	head, err := br.Peek(512)
	if len(head) == 0 {
		if err == nil || err == io.EOF {
			return "", errors.New("the feed is empty")
		}
		return "", fmt.Errorf("reading the feed: %w", err)
	}
	head = bytes.TrimPrefix(head, utf8BOM)
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) > 0 && head[0] == '<' {
		return YML, nil
	}
	return CSV, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// formatPrice turns a feed price ("2500", "2500.50", "2 500 ₸") and an
// optional currency (an ISO 4217 code, RUR, or a sign such as ₸) into the
// shop's notation, "2 500 ₸" or "1 500,50 UAH". A price that names no
// currency, with no currency given, is in def. It returns "" for an empty
// price.
func formatPrice(amount, currency, def string) (string, error) {
	amount = strings.TrimSpace(amount)
	if amount == "" {
		return "", nil
	}
	if c := strings.TrimSpace(currency); c != "" {
		code, ok := catalog.NormalizeCurrency(c)
		if !ok {
			return "", fmt.Errorf("unsupported currency %q (expected an ISO 4217 code such as KZT, RUB, UAH, USD, or RUR)", currency)
		}
		def = code
	}
	p, err := catalog.ParsePriceIn(amount, def)
	if err != nil {
		return "", err
	}
	if p.Currency != def && strings.TrimSpace(currency) != "" {
		return "", fmt.Errorf("the price says %s but the currency is %s", p.Currency, def)
	}
	return catalog.FormatPrice(p), nil
}

// parseAvailable reads an availability flag as feeds write it.
func parseAvailable(s string) (*bool, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	t, f := true, false
	switch v {
	case "":
		return nil, nil
	case "true", "1", "y", "yes", "да", "в наличии", "instock", "in stock":
		return &t, nil
	case "false", "0", "n", "no", "нет", "нет в наличии", "outofstock", "out of stock":
		return &f, nil
	}
	return nil, fmt.Errorf("cannot read availability %q (expected true/false, Y/N, 1/0, да/нет)", s)
}

// parseID reads a feed id (a YML offer id, a CSV id column): a Bitrix
// element id, or a code such as 00000085340_1; "" when it is not one.
func parseID(raw string) catalog.ProductID {
	id, err := catalog.ParseProductIDText(raw)
	if err != nil {
		return ""
	}
	return id
}
