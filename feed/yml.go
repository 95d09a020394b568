package feed

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lookalike/lookalike/catalog"
)

// ymlReader walks a YML document token by token and decodes one <offer> at
// a time, so memory does not grow with the feed.
type ymlReader struct {
	dec         *xml.Decoder
	heightParam string
	currency    string // of prices without <currencyId>
	seenOffers  bool
}

// ymlOffer is one <offer> of a Yandex.Market YML feed.
type ymlOffer struct {
	ID          string     `xml:"id,attr"`
	Available   string     `xml:"available,attr"`
	Type        string     `xml:"type,attr"`
	Name        string     `xml:"name"`
	TypePrefix  string     `xml:"typePrefix"`
	Vendor      string     `xml:"vendor"`
	Model       string     `xml:"model"`
	Price       string     `xml:"price"`
	CurrencyID  string     `xml:"currencyId"`
	Pictures    []string   `xml:"picture"`
	URL         string     `xml:"url"`
	Description string     `xml:"description"`
	CategoryID  string     `xml:"categoryId"`
	Params      []ymlParam `xml:"param"`
}

type ymlParam struct {
	Name  string `xml:"name,attr"`
	Unit  string `xml:"unit,attr"`
	Value string `xml:",chardata"`
}

func newYML(r io.Reader, opts Options) *ymlReader {
	dec := xml.NewDecoder(r)
	dec.CharsetReader = charsetReader
	dec.Entity = xml.HTMLEntity // &nbsp; and friends appear in descriptions
	return &ymlReader{dec: dec, heightParam: opts.HeightParam, currency: opts.Currency}
}

func (y *ymlReader) next() (Item, error) {
	for {
		tok, err := y.dec.Token()
		if err == io.EOF {
			if !y.seenOffers {
				return Item{}, errors.New("no <offers> element: this does not look like a YML (Yandex.Market) feed")
			}
			return Item{}, io.EOF
		}
		if err != nil {
			return Item{}, fmt.Errorf("YML feed is not well-formed XML: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "offers":
			y.seenOffers = true
			continue
		case "offer":
		default:
			continue
		}
		y.seenOffers = true
		line, _ := y.dec.InputPos()
		var o ymlOffer
		if err := y.dec.DecodeElement(&o, &se); err != nil {
			return Item{}, fmt.Errorf("line %d: YML feed is not well-formed XML: %w", line, err)
		}
		it := Item{Line: line}
		it.Product, it.Err = y.product(&o)
		return it, nil
	}
}

func (y *ymlReader) product(o *ymlOffer) (Product, error) {
	p := Product{RawID: strings.TrimSpace(o.ID)}
	p.ID = parseID(p.RawID)
	p.Title = clean(o.Name)
	if p.Title == "" && (o.Model != "" || o.Vendor != "") { // type="vendor.model"
		p.Title = clean(strings.Join(nonEmpty(o.TypePrefix, o.Vendor, o.Model), " "))
	}
	p.setPhotos(o.Pictures) // every <picture>: the first is the main photo
	extra := map[string]any{}
	// The offer's page, when it is one the service takes (catalog.Link):
	// spaces are encoded; anything else (a relative path without "/", a
	// javascript: URL) is left out rather than failing the product.
	if s, err := catalog.Link(strings.ReplaceAll(strings.TrimSpace(o.URL), " ", "%20")); err == nil && s != "" {
		extra["url"] = s
	}
	if s := strings.TrimSpace(o.Description); s != "" {
		extra["description"] = s
	}
	if s := strings.TrimSpace(o.CategoryID); s != "" {
		extra["categoryId"] = s
	}
	var params map[string]string
	for _, prm := range o.Params {
		name, value := clean(prm.Name), clean(prm.Value)
		if value == "" {
			continue
		}
		unit := clean(prm.Unit)
		if strings.EqualFold(name, y.heightParam) {
			if p.Height == "" {
				p.Height = strings.TrimSpace(value + " " + unit)
			}
			continue
		}
		if unit != "" {
			value += " " + unit
		}
		if params == nil {
			params = map[string]string{}
		}
		if old, ok := params[name]; ok {
			value = old + ", " + value
		}
		params[name] = value
	}
	if params != nil {
		extra["params"] = params
	}
	if len(extra) > 0 {
		p.Extra = extra
	}

	var err error
	if p.Available, err = parseAvailable(o.Available); err != nil {
		return p, &RowError{Msg: "available: " + err.Error()}
	}
	if p.Price, err = formatPrice(o.Price, o.CurrencyID, y.currency); err != nil {
		return p, rowErrorf("price %q: %v", strings.TrimSpace(o.Price), err)
	}
	return p, nil
}

// clean collapses runs of white space, as XML text is often indented.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// charsetReader lets encoding/xml read the windows-1251 feeds that older
// Bitrix installations export.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "utf-8", "utf8", "":
		return input, nil
	case "windows-1251", "cp1251", "win-1251", "x-cp1251":
		return newCP1251Reader(input), nil
	}
	return nil, fmt.Errorf("unsupported feed encoding %q (supported: utf-8, windows-1251)", charset)
}
