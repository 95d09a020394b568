package feed

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CSV columns, by their header names (case-insensitive). Any other column
// is kept with the product under its header name.
var csvColumns = map[string]string{
	"id": "id", "product_id": "id",
	"title": "title", "name": "title",
	"price":    "price",
	"currency": "currency", "currencyid": "currency",
	"available": "available", "isavailable": "available",
	"image": "image", "picture": "image",
	"images": "images", "pictures": "images", "gallery": "images", "more_photo": "images",
	"height": "height", "catalogheight": "height",
}

// csvReader reads a CSV feed record by record.
type csvReader struct {
	r      *csv.Reader
	cols   []string // per column: "id", "title"… or "" for an extra column
	header []string // the header as written
	def    string   // currency of prices without one
}

func newCSV(br *bufio.Reader, currency string) (*csvReader, error) {
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	delim, err := sniffDelimiter(br)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(br)
	r.Comma = delim
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("the CSV feed is empty: expected a header line such as id,title,price,currency,available,image,height")
	}
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	c := &csvReader{r: r, cols: make([]string, len(header)), header: make([]string, len(header)), def: currency}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if !utf8.ValidString(h) {
			return nil, errors.New("the CSV header is not UTF-8: save the file as UTF-8 (\"CSV UTF-8\" in Excel)")
		}
		c.header[i] = h
		if h == "" {
			c.cols[i] = "-" // an unnamed column (a trailing delimiter): ignored
			continue
		}
		key := strings.ToLower(h)
		if seen[key] {
			return nil, fmt.Errorf("CSV header names column %q twice", h)
		}
		seen[key] = true
		c.cols[i] = csvColumns[key]
	}
	hasID := false
	for _, col := range c.cols {
		hasID = hasID || col == "id"
	}
	if !hasID {
		return nil, fmt.Errorf("the CSV header %q has no id column (expected columns id,title,price,currency,available,image,height)",
			strings.Join(c.header, string(delim)))
	}
	return c, nil
}

// sniffDelimiter picks ';', ',' or tab, whichever the header line (outside
// quotes) has most of; ',' when there is none.
func sniffDelimiter(br *bufio.Reader) (rune, error) {
	head, err := br.Peek(64 << 10)
	if len(head) == 0 && err != nil && err != io.EOF {
		return 0, fmt.Errorf("reading the feed: %w", err)
	}
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	counts := map[byte]int{}
	quoted := false
	for _, b := range head {
		switch {
		case b == '"':
			quoted = !quoted
		case !quoted && (b == ',' || b == ';' || b == '\t'):
			counts[b]++
		}
	}
	best := byte(',')
	for _, d := range []byte{';', '\t'} {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return rune(best), nil
}

func (c *csvReader) next() (Item, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return Item{}, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return Item{Line: pe.StartLine, Err: rowErrorf("malformed CSV: %v", pe.Err)}, nil
		}
		return Item{}, fmt.Errorf("reading the CSV feed: %w", err)
	}
	line, _ := c.r.FieldPos(0)
	it := Item{Line: line}
	if len(rec) != len(c.cols) {
		for i, col := range c.cols {
			if col == "id" && i < len(rec) {
				it.Product.RawID = strings.TrimSpace(rec[i])
				it.Product.ID = parseID(it.Product.RawID)
			}
		}
		it.Err = rowErrorf("has %d fields, the header has %d", len(rec), len(c.cols))
		return it, nil
	}
	it.Product, it.Err = c.product(rec)
	return it, nil
}

func (c *csvReader) product(rec []string) (Product, error) {
	var p Product
	var price, currency, available, gallery string
	for i, v := range rec {
		if !utf8.ValidString(v) {
			return p, &RowError{Msg: "is not UTF-8: save the file as UTF-8 (\"CSV UTF-8\" in Excel)"}
		}
		v = strings.TrimSpace(v)
		switch c.cols[i] {
		case "id":
			p.RawID = v
			p.ID = parseID(v)
		case "title":
			p.Title = clean(v)
		case "price":
			price = v
		case "currency":
			currency = v
		case "available":
			available = v
		case "image":
			p.Image = v
		case "images":
			gallery = v
		case "height":
			p.Height = v
		case "-":
		default:
			if p.Extra == nil {
				p.Extra = map[string]any{}
			}
			p.Extra[c.header[i]] = v
		}
	}
	if gallery != "" {
		// The images column: URLs separated by "|" or white space (neither
		// appears unescaped in a URL); with no image column, its first is
		// the main photo.
		p.setPhotos(append([]string{p.Image}, strings.FieldsFunc(gallery, func(r rune) bool { return r == '|' || unicode.IsSpace(r) })...))
	}
	var err error
	if p.Available, err = parseAvailable(available); err != nil {
		return p, &RowError{Msg: "available: " + err.Error()}
	}
	if p.Price, err = formatPrice(price, currency, c.def); err != nil {
		return p, rowErrorf("price %q: %v", price, err)
	}
	return p, nil
}
