package feed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/catalog"
)

func readAll(t *testing.T, r io.Reader, opts Options) ([]Item, error) {
	t.Helper()
	rd, err := NewReader(r, opts)
	if err != nil {
		return nil, err
	}
	var items []Item
	for {
		it, err := rd.Next()
		if err == io.EOF {
			return items, nil
		}
		if err != nil {
			return items, err
		}
		items = append(items, it)
	}
}

func openFixture(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "feeds", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func byID(items []Item) map[catalog.ProductID]Item {
	m := map[catalog.ProductID]Item{}
	for _, it := range items {
		if it.Err == nil {
			m[it.Product.ID] = it
		}
	}
	return m
}

func TestYMLFixture(t *testing.T) {
	items, err := readAll(t, openFixture(t, "cvety.yml"), Options{Name: "cvety.yml"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 15 {
		t.Fatalf("%d items, want 15", len(items))
	}
	for _, it := range items {
		if it.Err != nil {
			t.Errorf("line %d: %v", it.Line, it.Err)
		}
	}
	m := byID(items)
	p := m["2001"].Product
	if m["2001"].Line != 22 || p.Title != "Букет из 25 белых роз" || p.Price != "18 500 ₸" || p.Height != "60 см" ||
		p.Image != "https://cvety.example.kz/upload/iblock/3f2/roses-25-white.jpg" || p.Available == nil || !*p.Available {
		t.Fatalf("2001 (line %d): %+v", m["2001"].Line, p)
	}
	if p.Extra["url"] != "https://cvety.example.kz/catalog/rozy/buket-iz-25-belykh-roz/" || p.Extra["categoryId"] != "11" ||
		!strings.Contains(p.Extra["description"].(string), "60&nbsp;см") ||
		fmt.Sprint(p.Extra["params"]) != "map[Количество цветов:25 шт Цвет:белый]" {
		t.Fatalf("2001 extra: %#v", p.Extra)
	}
	if d := m["2002"].Product.Extra["description"]; d != "Классика для признания в любви & на юбилей." {
		t.Fatalf("2002 description %q", d)
	}
	if p := m["2002"].Product; !strings.HasSuffix(p.Image, "roses-51-red.jpg") || len(p.Images) != 1 || !strings.HasSuffix(p.Images[0], "roses-51-red-2.jpg") {
		t.Fatalf("2002: the first picture is the main photo, the second the gallery; got %q %q", p.Image, p.Images)
	}
	p2002, p2001 := m["2002"].Product, m["2001"].Product
	if imgs := p2002.Data()["images"]; fmt.Sprint(imgs) != "[https://cvety.example.kz/upload/iblock/a07/roses-51-red-2.jpg]" {
		t.Fatalf("2002 webhook images: %v", imgs)
	}
	if imgs := p2001.Data()["images"]; imgs == nil || len(imgs.([]string)) != 0 {
		t.Fatalf("a product with one picture sends images:[] (its gallery is empty): %#v", imgs)
	}
	if h := m["2007"].Product.Height; h != "60 см" {
		t.Fatalf("param name matching ignores case: %q", h)
	}
	if a := m["2010"].Product.Available; a == nil || *a {
		t.Fatal("2010 is available=false")
	}
	if img := m["2013"].Product.Image; img != "" {
		t.Fatalf("2013 has no picture, got %q", img)
	}
	if pr := m["2012"].Product.Price; pr != "22 000,50 ₸" {
		t.Fatalf("2012 price %q", pr)
	}
	if h := m["2015"].Product.Height; h != "0.8 м" {
		t.Fatalf("2015 height %q", h)
	}
}

func TestCSVFixture(t *testing.T) {
	items, err := readAll(t, openFixture(t, "cvety.csv"), Options{Name: "cvety.csv"})
	if err != nil {
		t.Fatal(err)
	}
	var invalid []string
	for _, it := range items {
		if it.Err != nil {
			invalid = append(invalid, fmt.Sprintf("%d: %v", it.Line, it.Err))
		}
	}
	want := []string{
		"14: missing id",
		`16: id "A/17" contains '/', which is not allowed`,
		`18: price "дорого"`,
		`19: available: cannot read availability "maybe"`,
		"20: has 5 fields, the header has 8",
		`21: catalogHeight: cannot parse "высокий" as a height`,
	}
	if len(invalid) != len(want) {
		t.Fatalf("invalid rows:\n%s", strings.Join(invalid, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(invalid[i], want[i]) {
			t.Errorf("invalid row %d: %q, want prefix %q", i, invalid[i], want[i])
		}
	}
	m := byID(items)
	if len(m) != 15 {
		t.Fatalf("%d valid products, want 15", len(m))
	}
	p := m["2007"].Product
	if p.Title != "Подсолнухи и эвкалипт" || p.Price != "14 500 ₸" || p.Extra["color"] != "жёлтый; зелёный" || p.Height != "60 см" {
		t.Fatalf("2007: %+v", p)
	}
	if p := m["2008"].Product; p.Title != "Тюльпаны микс, 25 шт." {
		t.Fatalf("quoted title: %q", p.Title)
	}
	if p := m["2002"].Product; p.Price != "35 000 ₸" {
		t.Fatalf("2002 price %q", p.Price)
	}
	if p := m["2012"].Product; p.Price != "22 000,50 ₸" {
		t.Fatalf("2012 price %q", p.Price)
	}
	if p := m["2005"].Product; p.Price != "5 200 ₸" {
		t.Fatalf("no currency means KZT: %q", p.Price)
	}
	if a := m["2010"].Product.Available; a == nil || *a {
		t.Fatal("2010 is N")
	}
	if _, ok := m["2001"].Product.Extra["color"]; !ok {
		t.Fatal("extra column color is not kept")
	}
}

// The same products in both fixtures become the same core fields.
func TestFixturesAgree(t *testing.T) {
	yml, err := readAll(t, openFixture(t, "cvety.yml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	csv, err := readAll(t, openFixture(t, "cvety.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := byID(yml), byID(csv)
	for id, x := range a {
		y := b[id]
		px, py := x.Product, y.Product
		if px.Title != py.Title || px.Price != py.Price || px.Image != py.Image || *px.Available != *py.Available {
			t.Errorf("%s: yml %+v\ncsv %+v", id, px, py)
		}
	}
}

// A YML offer has up to 10 <picture>; a CSV row an images column of URLs
// separated by "|" or white space.
func TestFeedGalleries(t *testing.T) {
	var pics strings.Builder
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&pics, "<picture>https://x/%d.jpg</picture>", i)
	}
	items, err := readAll(t, strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><offers><offer id="7"><name>Розы</name><price>100</price>`+
		pics.String()+`<picture> </picture></offer></offers></shop></yml_catalog>`), Options{Format: YML})
	if err != nil || len(items) != 1 || items[0].Err != nil {
		t.Fatalf("YML: %+v %v", items, err)
	}
	if p := items[0].Product; p.Image != "https://x/1.jpg" || len(p.Images) != 9 || p.Images[8] != "https://x/10.jpg" {
		t.Fatalf("YML pictures: %q %q", p.Image, p.Images)
	}
	items, err = readAll(t, strings.NewReader("id;title;image;images\n"+
		"7;Розы;https://x/a.jpg;https://x/b.jpg|https://x/c.jpg\n"+
		"8;Тюльпаны;;https://x/d.jpg https://x/e.jpg\n"+
		"9;Ромашки;https://x/f.jpg;\n"), Options{Format: CSV})
	if err != nil || len(items) != 3 {
		t.Fatalf("CSV: %+v %v", items, err)
	}
	for i, want := range []string{"https://x/a.jpg [https://x/b.jpg https://x/c.jpg]", "https://x/d.jpg [https://x/e.jpg]", "https://x/f.jpg []"} {
		if p := items[i].Product; fmt.Sprint(p.Image, " ", p.Images) != want {
			t.Errorf("CSV row %d: %q %q, want %s", i, p.Image, p.Images, want)
		}
	}
}

// An offer's <url> becomes the product's page only when the service takes
// it as one; a bad one leaves the product without a page, not unimported.
func TestYMLPageURL(t *testing.T) {
	for in, want := range map[string]any{
		"https://x.kz/catalog/101/": "https://x.kz/catalog/101/",
		" https://x.kz/p/розы 25/ ": "https://x.kz/p/розы%2025/",
		"/catalog/101/":             "/catalog/101/",
		"catalog/101":               nil,
		"javascript:alert(1)":       nil,
		"":                          nil,
	} {
		items, err := readAll(t, strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><offers><offer id="7"><name>Розы</name><price>100</price><url>`+
			in+`</url></offer></offers></shop></yml_catalog>`), Options{Format: YML})
		if err != nil || len(items) != 1 || items[0].Err != nil {
			t.Fatalf("%q: %+v %v", in, items, err)
		}
		if got, ok := items[0].Product.Extra["url"]; (want == nil && ok) || (want != nil && got != want) {
			t.Errorf("<url>%s</url>: url %v, want %v", in, got, want)
		}
	}
}

func TestCSVVariants(t *testing.T) {
	cases := map[string]string{
		"comma":            "id,title,price,currency,available,image,height\n7,Розы,2500,KZT,Y,/img/roses.jpg,60 см\n",
		"semicolon CRLF":   "id;title;price\r\n7;Розы;2 500 ₸\r\n",
		"tab":              "id\ttitle\tprice\n7\tРозы\t2500\n",
		"BOM":              "\uFEFFid;title;price\n7;Розы;2500\n",
		"upper-case names": "ID;Name;PRICE;Picture\n7;Розы;2500;\n",
		"quoted header":    "\"id\";\"title\";\"price\"\n\"7\";\"Розы\";\"2500\"\n",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			items, err := readAll(t, strings.NewReader(in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || items[0].Err != nil || items[0].Product.ID != "7" || items[0].Product.Title != "Розы" ||
				items[0].Product.Price != "2 500 ₸" || items[0].Line != 2 {
				t.Fatalf("%+v", items)
			}
		})
	}

	_, err := readAll(t, strings.NewReader("title;price\nРозы;2500\n"), Options{Format: CSV})
	if err == nil || !strings.Contains(err.Error(), "no id column") {
		t.Fatalf("header without id: %v", err)
	}
	items, err := readAll(t, strings.NewReader("id;title\n7;\xcf\xf0\xe8\xe2\xe5\xf2\n"), Options{Format: CSV})
	if err != nil || len(items) != 1 || items[0].Err == nil || !strings.Contains(items[0].Err.Error(), "UTF-8") {
		t.Fatalf("a windows-1251 row: %v %+v", err, items)
	}
	items, err = readAll(t, strings.NewReader("id,title\n7,\"Розы\n8,Тюльпаны\n"), Options{Format: CSV})
	if err != nil || len(items) != 1 || items[0].Err == nil || !strings.Contains(items[0].Err.Error(), "malformed CSV") {
		t.Fatalf("unterminated quote: %v %+v", err, items)
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name, ct, head string
		want           Format
	}{
		{"cvety.yml", "", "id,title", YML},
		{"https://cvety.kz/bitrix/catalog_export/yandex.php?x=1", "", "<?xml", YML},
		{"https://cvety.kz/export/feed.xml?token=abc", "", "id", YML},
		{"goods.CSV", "", "<", CSV},
		{"https://cvety.kz/feed", "text/csv; charset=utf-8", "<", CSV},
		{"https://cvety.kz/feed", "application/xml", "id", YML},
		{"-", "", "\uFEFF  \n<?xml version=\"1.0\"?>", YML},
		{"-", "", "id;title;price", CSV},
	}
	for _, c := range cases {
		got, err := Detect(bufio.NewReader(strings.NewReader(c.head)), c.name, c.ct)
		if err != nil || got != c.want {
			t.Errorf("Detect(%q, %q, %q) = %v, %v; want %v", c.name, c.ct, c.head, got, err, c.want)
		}
	}
	if _, err := Detect(bufio.NewReader(strings.NewReader("")), "", ""); err == nil {
		t.Error("an empty feed is detected")
	}
}

func TestYMLErrors(t *testing.T) {
	head := `<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><offers>`
	offer := `<offer id="1"><name>Розы</name><price>100</price></offer>`

	// A syntax error stops the feed, after the good offers before it.
	items, err := readAll(t, strings.NewReader(head+offer+"\n<offer id=\"2\"><name>x</nam></offer>"), Options{})
	if len(items) != 1 || err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("broken XML: %d items, %v", len(items), err)
	}
	// Not a YML feed.
	if _, err := readAll(t, strings.NewReader(`<?xml version="1.0"?><rss><channel/></rss>`), Options{}); err == nil ||
		!strings.Contains(err.Error(), "<offers>") {
		t.Fatalf("RSS: %v", err)
	}
	// Bad rows do not stop it.
	rows := head + "\n" +
		`<offer id=""><name>Без id</name></offer>` + "\n" +
		`<offer id="2"><name>Розы</name><price>100</price><currencyId>XYZ</currencyId></offer>` + "\n" +
		`<offer id="3" available="может быть"><name>Розы</name></offer>` + "\n" +
		`<offer id="4"><price>100</price></offer>` + "\n" +
		`<offer id="5" type="vendor.model"><typePrefix>Ваза</typePrefix><vendor>Bohemia</vendor><model>Optic 30 см</model><price>100</price></offer>` + "\n" +
		`</offers></shop></yml_catalog>`
	items, err = readAll(t, strings.NewReader(rows), Options{})
	if err != nil || len(items) != 5 {
		t.Fatalf("%v %+v", err, items)
	}
	for i, want := range []string{"missing id", "unsupported currency", "availability", "missing title", ""} {
		got := ""
		if items[i].Err != nil {
			got = items[i].Err.Error()
		}
		if items[i].Line != i+2 || !strings.Contains(got, want) || (want == "") != (got == "") {
			t.Errorf("offer %d line %d: %q, want %q", i, items[i].Line, got, want)
		}
	}
	if items[4].Product.Title != "Ваза Bohemia Optic 30 см" {
		t.Errorf("vendor.model title %q", items[4].Product.Title)
	}
	// Unknown encodings are refused clearly.
	_, err = readAll(t, strings.NewReader(`<?xml version="1.0" encoding="koi8-r"?><yml_catalog/>`), Options{})
	if err == nil || !strings.Contains(err.Error(), "koi8-r") {
		t.Fatalf("koi8-r: %v", err)
	}
}

func TestWindows1251(t *testing.T) {
	// "Букет «Ёлка» №1" and "60 см" in windows-1251.
	enc := func(s string) []byte {
		var out []byte
		for _, r := range s {
			switch {
			case r < 0x80:
				out = append(out, byte(r))
			case r >= 0x0410 && r <= 0x044F:
				out = append(out, byte(r-0x0410+0xC0))
			default:
				for i, h := range cp1251High {
					if h == r {
						out = append(out, byte(0x80+i))
					}
				}
			}
		}
		return out
	}
	doc := enc(`<?xml version="1.0" encoding="windows-1251"?><yml_catalog><shop><offers>` +
		`<offer id="9"><name>Букет «Ёлка» №1 — ёжик</name><price>2500</price><param name="Высота" unit="см">60</param></offer>` +
		`</offers></shop></yml_catalog>`)
	items, err := readAll(t, bytes.NewReader(doc), Options{})
	if err != nil || len(items) != 1 || items[0].Err != nil {
		t.Fatalf("%v %+v", err, items)
	}
	if p := items[0].Product; p.Title != "Букет «Ёлка» №1 — ёжик" || p.Height != "60 см" {
		t.Fatalf("%+v", p)
	}
}

// offerStream is an endless YML feed: it never ends, so a reader that
// buffers the whole document would never return.
type offerStream struct {
	n     int
	bytes int
	buf   []byte
}

func (s *offerStream) Read(p []byte) (int, error) {
	if len(s.buf) == 0 {
		if s.n == 0 {
			s.buf = []byte(`<?xml version="1.0" encoding="UTF-8"?><yml_catalog date="2026-11-27"><shop><offers>`)
		}
		s.n++
		s.buf = fmt.Appendf(s.buf, "\n"+`<offer id="%d" available="true"><url>https://cvety.example.kz/p/%d/</url><price>%d</price>`+
			`<currencyId>KZT</currencyId><picture>https://cvety.example.kz/upload/%d.jpg</picture><name>Букет №%d</name>`+
			`<description>%s</description><param name="Высота" unit="см">60</param></offer>`,
			s.n, s.n, 1000+s.n, s.n, s.n, strings.Repeat("Очень красивый букет. ", 200))
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	s.bytes += n
	return n, nil
}

func TestStreamingConstantMemory(t *testing.T) {
	n := 2500
	if testing.Short() {
		n = 1000
	}
	src := &offerStream{}
	rd, err := NewReader(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	var peak uint64
	for i := 1; i <= n; i++ {
		it, err := rd.Next()
		if err != nil || it.Err != nil || it.Product.ID != catalog.ProductIDOf(int64(i)) || it.Line != i+1 {
			t.Fatalf("offer %d: %v %+v", i, err, it)
		}
		if i%500 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	// ~20 MB of feed went through; the heap must not hold it.
	t.Logf("%d offers, %d MiB read, peak heap in use %d MiB", n, src.bytes>>20, peak>>20)
	if peak > 4<<20 {
		t.Fatalf("heap in use reached %d MiB reading %d offers", peak>>20, n)
	}
}

func TestEventBodyIsWhatTheServerParses(t *testing.T) {
	avail := false
	p := &Product{ID: "2001", Title: "Букет <b>из</b> 25 роз", Price: "18 500 ₸", Available: &avail, Image: "", Height: "60 см",
		Extra: map[string]any{"url": "https://x/?a=1&b=2", "params": map[string]string{"Цвет": "белый"}}}
	body, err := EventBody(catalog.EventUpdated, 8, p)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := catalog.ParseEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ShopID != 8 || ev.Product.ID != "2001" || *ev.Product.Title != p.Title || ev.Product.Price.Minor != 1850000 ||
		*ev.Product.Available || *ev.Product.Image != "" || *ev.Product.HeightCM != 60 || len(ev.Product.Extra) != 2 {
		t.Fatalf("%s → %+v", body, ev)
	}
	body, _ = EventBody(catalog.EventDeleted, 0, p)
	if string(body) != `{"event_type":"product.deleted","product_data":{"id":2001}}` {
		t.Fatalf("delete body %s", body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"yml": YML, "XML": YML, "csv": CSV} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("%q: %v %v", in, f, err)
		}
	}
	if _, err := ParseFormat("json"); err == nil {
		t.Error("json accepted")
	}
	var re *RowError
	if !errors.As(error(&RowError{Msg: "x"}), &re) {
		t.Fatal("RowError")
	}
}

// Feeds in any ISO 4217 currency are read with that currency's decimals:
// UAH, BYN, KGS, UZS, AMD, GEL as well as JPY (none) and KWD (three).
func TestFeedCurrencies(t *testing.T) {
	offer := func(id int, price, cur string) string {
		return fmt.Sprintf(`<offer id="%d"><name>Товар %d</name><price>%s</price><currencyId>%s</currencyId></offer>`+"\n", id, id, price, cur)
	}
	yml := `<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><offers>` + "\n" +
		offer(1, "1500.50", "UAH") + offer(2, "12.3", "BYN") + offer(3, "5000", "KGS") + offer(4, "120000", "UZS") +
		offer(5, "2500", "AMD") + offer(6, "45.5", "GEL") + offer(7, "1500", "JPY") + offer(8, "1.250", "KWD") +
		offer(9, "990", "RUR") + offer(10, "1500.5", "JPY") + offer(11, "2 500 ₸", "UAH") +
		`</offers></shop></yml_catalog>`
	items, err := readAll(t, strings.NewReader(yml), Options{})
	if err != nil || len(items) != 11 {
		t.Fatalf("%v %+v", err, items)
	}
	want := []string{"1 500,50 UAH", "12,30 BYN", "5 000 KGS", "120 000 UZS", "2 500 AMD", "45,50 GEL", "1 500 JPY",
		"1,250 KWD", "990 ₽"}
	for i, w := range want {
		if items[i].Err != nil || items[i].Product.Price != w {
			t.Errorf("offer %d: %q, %v; want %q", i+1, items[i].Product.Price, items[i].Err, w)
		}
	}
	if err := items[9].Err; err == nil || !strings.Contains(err.Error(), "JPY has none") {
		t.Errorf("1500.5 JPY: %v", err)
	}
	if err := items[10].Err; err == nil || !strings.Contains(err.Error(), "says KZT but the currency is UAH") {
		t.Errorf("₸ price with currencyId UAH: %v", err)
	}

	// CSV: the currency column, and Options.Currency for rows without one.
	csv := "id;title;price;currency\n1;Розы;1500,5;uah\n2;Тюльпаны;1500;\n3;Пионы;1500,5;\n"
	items, err = readAll(t, strings.NewReader(csv), Options{Currency: "JPY"})
	if err != nil || len(items) != 3 {
		t.Fatalf("%v %+v", err, items)
	}
	if items[0].Err != nil || items[0].Product.Price != "1 500,50 UAH" || items[1].Err != nil || items[1].Product.Price != "1 500 JPY" {
		t.Errorf("CSV currencies: %+v", items[:2])
	}
	if err := items[2].Err; err == nil || !strings.Contains(err.Error(), "JPY has none") {
		t.Errorf("1500,5 in a JPY shop: %v", err)
	}
	if _, err := NewReader(strings.NewReader(csv), Options{Currency: "XYZ"}); err == nil {
		t.Error("an unknown default currency is accepted")
	}
}
