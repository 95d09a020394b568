// Package web serves lookalike's pages: the shopper's search by photo at /
// and the operator dashboard at /admin, with their static assets under
// /static/. Everything is embedded in the binary (HTML templates, one
// stylesheet, plain JavaScript, an icon) and works offline: the pages load
// nothing from any other host.
//
// The HTML is rendered once per language at start (Russian and English;
// chosen from ?lang=, the lookalike_lang cookie the page's switch sets, or
// Accept-Language) and served with Cache-Control: no-cache and an ETag.
// Assets are linked under names that carry a hash of their content
// (/static/shop.3f9a0c1e.js) and cached for a year; the plain names answer
// too, revalidated by ETag. Every reply carries a strict
// Content-Security-Policy, so the pages have no inline scripts or styles:
// the strings the scripts need travel as a JSON data block.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"math"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

//go:embed static templates widget i18n.json
var files embed.FS

// CSP is the Content-Security-Policy of every reply: only this origin's
// scripts, styles and images (plus data: and blob: images, for the preview
// of the shopper's own photo), no framing, no plugins. A shop logo on
// another host (Brand.Logo) adds that one origin to img-src.
const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Brand is the shop's name, logo and colour, shown by the shopper's page
// (title, header, icon, accent colour) and by the widget.
type Brand struct {
	Name  string `json:"name,omitempty"`  // "Цветы Алматы"; empty: the page's own name
	Logo  string `json:"logo,omitempty"`  // an absolute http(s) URL or a path on this server; empty: lookalike's icon
	Color string `json:"color,omitempty"` // the accent colour, #rgb or #rrggbb; empty: lookalike's
}

// Languages are the languages of the pages; the first is the default.
var Languages = []string{"ru", "en"}

// LangCookie is the cookie in which the pages' language switch remembers
// the choice for the server (the pages keep it in localStorage too).
const LangCookie = "lookalike_lang"

// contentTypes are the types of the assets, by extension (not from the
// system's mime.types, which differ between machines).
var contentTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
	".png": "image/png",
}

// Options configure the pages.
type Options struct {
	// DefaultLang is the language for visitors whose browser asks for none
	// of Languages; "ru" when empty.
	DefaultLang string
	// NoAdmin leaves the operator dashboard out (/admin answers 404), for
	// the public address when the dashboard is served on an admin address.
	NoAdmin bool
	// CurrencySign is how the shop's currency is written in the price
	// filter's labels ("₸", "₴", "UAH"); "₸" when empty.
	CurrencySign string
	// Brand is the shop's name, logo and colour.
	Brand Brand
}

// file is one prepared reply body: the bytes, their gzip form when that is
// smaller, and a strong ETag.
type file struct {
	ctype string
	body  []byte
	gz    []byte
	etag  string
	cache string // Cache-Control
}

type handler struct {
	csp      string
	defLang  string
	assets   map[string]*file            // by URL path, hashed and plain names
	pages    map[string]map[string]*file // by URL path, then language
	notFound map[string]*file            // the 404 page, by language
}

// Handler returns the handler of /, /admin and /static/. It panics if the
// embedded files are broken, which the package's tests rule out.
func Handler(o Options) http.Handler {
	h, err := build(o)
	if err != nil {
		panic("web: " + err.Error())
	}
	return h
}

func build(o Options) (*handler, error) {
	h := &handler{csp: CSP, defLang: Languages[0], assets: map[string]*file{}, pages: map[string]map[string]*file{}}
	pages := []struct{ path, tmpl string }{{"/", "shop.html"}, {"/admin", "admin.html"}, {"", "notfound.html"}}
	if o.NoAdmin {
		pages = slices.Delete(pages, 1, 2)
	}
	if o.DefaultLang != "" {
		if !isLang(o.DefaultLang) {
			return nil, fmt.Errorf("DefaultLang %q is not one of %v", o.DefaultLang, Languages)
		}
		h.defLang = o.DefaultLang
	}

	// Assets: /static/name.HASH.ext (immutable) and /static/name.ext (revalidated).
	hashed := map[string]string{}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		ext := path.Ext(name)
		ctype, ok := contentTypes[ext]
		if !ok {
			return fmt.Errorf("%s: no content type for %q files", p, ext)
		}
		sum := sha256.Sum256(b)
		hash := hex.EncodeToString(sum[:])[:10]
		hname := strings.TrimSuffix(name, ext) + "." + hash + ext
		hashed[name] = "/static/" + hname
		h.assets["/static/"+hname] = prepare(ctype, b, "public, max-age=31536000, immutable")
		h.assets["/static/"+name] = prepare(ctype, b, "no-cache")
		return nil
	})
	if err != nil {
		return nil, err
	}

	raw, err := files.ReadFile("i18n.json")
	if err != nil {
		return nil, err
	}
	var dict map[string]map[string]string
	if err := json.Unmarshal(raw, &dict); err != nil {
		return nil, fmt.Errorf("i18n.json: %w", err)
	}
	sign := o.CurrencySign
	if sign == "" {
		sign = "₸"
	}
	for _, l := range append(slices.Clone(Languages), WidgetLanguages...) {
		if dict[l] == nil {
			return nil, fmt.Errorf("i18n.json has no %q strings", l)
		}
		for k, v := range dict[l] {
			dict[l][k] = strings.ReplaceAll(v, "{currency}", sign)
		}
	}
	if h.assets["/widget.js"], err = widgetScript(dict, o.Brand); err != nil {
		return nil, err
	}
	icon, err := h.brand(o.Brand, hashed)
	if err != nil {
		return nil, err
	}
	// The pages' strings: their languages only, with the shop's name.
	pageDict := map[string]map[string]string{}
	for _, l := range Languages {
		pageDict[l] = maps.Clone(dict[l])
		if o.Brand.Name != "" {
			pageDict[l]["brand"] = o.Brand.Name
			pageDict[l]["shop.doc_title"] += " — " + o.Brand.Name
		}
	}
	dict = pageDict

	for _, pg := range pages {
		byLang := map[string]*file{}
		if pg.path == "" {
			h.notFound = byLang
		} else {
			h.pages[pg.path] = byLang
		}
		for _, l := range Languages {
			var missing []string
			funcs := template.FuncMap{
				"t": func(key string) string {
					s, ok := dict[l][key]
					if !ok {
						missing = append(missing, key)
					}
					return s
				},
				"asset": func(name string) (string, error) {
					u, ok := hashed[name]
					if !ok {
						return "", fmt.Errorf("no asset %q", name)
					}
					return u, nil
				},
				"icon":  func() string { return icon },
				"brand": func() string { return hashed["brand.css"] }, // "" without a colour
			}
			t, err := template.New(pg.tmpl).Funcs(funcs).ParseFS(files, "templates/"+pg.tmpl, "templates/layout.html")
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			err = t.ExecuteTemplate(&buf, pg.tmpl, map[string]any{"Lang": l, "I18N": dict})
			if err != nil {
				return nil, err
			}
			if len(missing) > 0 {
				sort.Strings(missing)
				return nil, fmt.Errorf("%s: no %q strings for %v", pg.tmpl, l, missing)
			}
			byLang[l] = prepare("text/html; charset=utf-8", buf.Bytes(), "no-cache")
		}
	}
	return h, nil
}

func prepare(ctype string, b []byte, cache string) *file {
	sum := sha256.Sum256(b)
	f := &file{ctype: ctype, body: b, etag: `"` + hex.EncodeToString(sum[:])[:20] + `"`, cache: cache}
	if strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") || strings.Contains(ctype, "json") || strings.Contains(ctype, "svg") {
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		w.Write(b)
		w.Close()
		if gz.Len() < len(b) {
			f.gz = gz.Bytes()
		}
	}
	return f
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	p := r.URL.Path
	if p == "/admin/" {
		p = "/admin"
	}
	pg, isPage := h.pages[p]
	asset, isAsset := h.assets[p]
	if !isPage && !isAsset {
		h.notFoundPage(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path+"; use GET")
		return
	}
	if isAsset {
		hd.Set("Vary", "Accept-Encoding")
		h.serve(w, r, asset)
		return
	}
	hd.Set("Vary", "Accept-Encoding, Accept-Language, Cookie")
	if p == "/admin" {
		hd.Set("X-Robots-Tag", "noindex")
	}
	h.serve(w, r, pg[h.lang(r)])
}

// notFoundPage answers a browser with a page and anything else (API clients
// that got a path wrong) with the API's JSON error.
func (h *handler) notFoundPage(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html") {
		f := h.notFound[h.lang(r)]
		hd := w.Header()
		hd.Set("Cache-Control", "no-cache")
		hd.Set("Content-Type", f.ctype)
		hd.Set("Content-Length", strconv.Itoa(len(f.body)))
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			w.Write(f.body)
		}
		return
	}
	writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
}

// writeError answers in the API's error shape.
func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"status": "error", "error": msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, f *file) {
	hd := w.Header()
	body, etag := f.body, f.etag
	if f.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		// Another representation, so another strong ETag.
		body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Cache-Control", f.cache)
	hd.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		hd.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", f.ctype)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return qValue(params) > 0
		}
	}
	return false
}

// lang picks the page language: ?lang=, then the switch's cookie, then
// Accept-Language (Kazakh counts as Russian, which every Kazakh site also
// speaks), then the default.
func (h *handler) lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); isLang(l) {
		return l
	}
	if c, err := r.Cookie(LangCookie); err == nil && isLang(c.Value) {
		return c.Value
	}
	if l := fromAcceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return h.defLang
}

func isLang(l string) bool {
	for _, x := range Languages {
		if l == x {
			return true
		}
	}
	return false
}

// fromAcceptLanguage returns the supported language the header prefers
// most, or "".
func fromAcceptLanguage(header string) string {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if primary == "kk" || primary == "be" || primary == "uk" {
			primary = "ru"
		}
		if !isLang(primary) {
			continue
		}
		if q := qValue(params); q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best
}

// qValue reads q= from ";q=0.8"-style parameters; 1 when absent.
func qValue(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || q < 0 {
				return 0
			}
			return q
		}
	}
	return 1
}

// brand adds the shop's colour as /static/brand.css (the pages allow no
// inline style) and its logo's origin to the CSP, and returns the icon the
// pages show.
func (h *handler) brand(b Brand, hashed map[string]string) (icon string, err error) {
	if err := b.Check(); err != nil {
		return "", err
	}
	icon = hashed["icon.svg"]
	if b.Logo != "" {
		icon = b.Logo
		if u, _ := url.Parse(b.Logo); u.Host != "" {
			h.csp = strings.Replace(CSP, "img-src 'self'", "img-src 'self' "+u.Scheme+"://"+u.Host, 1)
		}
	}
	if b.Color != "" {
		css := fmt.Sprintf(":root{--accent:%s;--accent-text:%s;--accent-soft:color-mix(in srgb,%[1]s 12%%,#fff)}\n", b.Color, textOn(b.Color))
		sum := sha256.Sum256([]byte(css))
		hname := "/static/brand." + hex.EncodeToString(sum[:])[:10] + ".css"
		hashed["brand.css"] = hname
		h.assets[hname] = prepare(contentTypes[".css"], []byte(css), "public, max-age=31536000, immutable")
	}
	return icon, nil
}

var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// Check reports what is wrong with the brand, in words that name the
// environment variables.
func (b Brand) Check() error {
	if len(b.Name) > 100 || strings.ContainsFunc(b.Name, unicode.IsControl) {
		return fmt.Errorf("LOOKALIKE_SHOP_NAME must be one line of at most 100 bytes, got %q", b.Name)
	}
	if b.Color != "" && !hexColor.MatchString(b.Color) {
		return fmt.Errorf("LOOKALIKE_SHOP_COLOR %q must be a colour in hex, such as #a8234f or #c25", b.Color)
	}
	if b.Logo != "" {
		u, err := url.Parse(b.Logo)
		path := err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(b.Logo, "/") && !strings.HasPrefix(b.Logo, "//")
		abs := err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
		if (!path && !abs) || strings.ContainsAny(b.Logo, "\"' <>;,") {
			return fmt.Errorf("LOOKALIKE_SHOP_LOGO %q must be an http(s) URL such as https://cvety.kz/logo.png or a path such as /upload/logo.png", b.Logo)
		}
	}
	return nil
}

// textOn is black or white, whichever reads better on the colour c.
func textOn(c string) string {
	c = strings.TrimPrefix(c, "#")
	if len(c) == 3 {
		c = string([]byte{c[0], c[0], c[1], c[1], c[2], c[2]})
	}
	v, _ := strconv.ParseUint(c, 16, 32)
	lin := func(x uint64) float64 {
		f := float64(x) / 255
		if f <= 0.04045 {
			return f / 12.92
		}
		return math.Pow((f+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(v>>16&255) + 0.7152*lin(v>>8&255) + 0.0722*lin(v&255)
	if l > 0.179 {
		return "#111"
	}
	return "#fff"
}
