package web

import (
	"regexp"
	"strings"
	"testing"
)

// /widget.js is one script with the shared code, its strings in ru, en and
// kk, its stylesheet and the shop's brand inside; it names no other host.
func TestWidgetScript(t *testing.T) {
	h := Handler(Options{Brand: Brand{Name: "Цветы <Алматы>", Color: "#0a7d5a"}})
	resp := get(t, h, "/widget.js", map[string]string{"Accept-Encoding": "gzip"})
	js := body(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET /widget.js: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{"LOOKALIKE.cropper = function", "LOOKALIKE.card = function", "customElements.define('lookalike-search'",
		`"widget.button":"Суреті бойынша табу"`, `"widget.button":"Find by photo"`, `"band.exact":"Это он"`, `--accent:#0a7d5a`, `"name":"Цветы \u003cАлматы\u003e"`} {
		if !strings.Contains(js, want) {
			t.Errorf("widget.js lacks %s", want)
		}
	}
	if strings.Contains(js, `"admin.`) || strings.Contains(js, `"filters.`) {
		t.Error("widget.js carries strings it does not use")
	}
	rest := strings.ReplaceAll(js, "http://www.w3.org/2000/svg", "")
	for _, bad := range []string{"http://", "https://", "innerHTML", "eval(", "new Function", "@import"} {
		if strings.Contains(rest, bad) {
			t.Errorf("widget.js contains %q", bad)
		}
	}
	if len(js) > 64<<10 {
		t.Errorf("widget.js is %d bytes", len(js))
	}
}

// The shop's name, logo and colour show on the shopper's page: title,
// header, icon, an accent stylesheet, and the logo's origin in img-src.
func TestBrand(t *testing.T) {
	h := Handler(Options{Brand: Brand{Name: "Цветы Алматы", Logo: "https://cvety.kz/logo.png", Color: "#fc3"}})
	resp := get(t, h, "/", nil)
	html := body(t, resp)
	for _, want := range []string{"<title data-i18n=\"shop.doc_title\">Найти букет по фото — Цветы Алматы</title>", `<link rel="icon" href="https://cvety.kz/logo.png">`,
		`<img src="https://cvety.kz/logo.png" alt="" width="28" height="28"><span data-i18n="brand">Цветы Алматы</span>`} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' https://cvety.kz data: blob:;") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	m := regexp.MustCompile(`href="(/static/brand\.[0-9a-f]{10}\.css)"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no brand stylesheet in %s", html)
	}
	if css := body(t, get(t, h, m[1], nil)); !strings.Contains(css, "--accent:#fc3;--accent-text:#111") {
		t.Errorf("brand.css: %s", css)
	}
	// Without a brand: lookalike's own name, icon and CSP.
	plain := Handler(Options{})
	resp = get(t, plain, "/", nil)
	if html := body(t, resp); strings.Contains(html, "brand.") || !strings.Contains(html, "<title data-i18n=\"shop.doc_title\">Найти букет по фото</title>") || resp.Header.Get("Content-Security-Policy") != CSP {
		t.Errorf("an unbranded page: %v %s", resp.Header, html)
	}
	for _, b := range []Brand{{Color: "red"}, {Color: "#12345"}, {Color: "#fff;}body{x:y"}, {Logo: "javascript:alert(1)"}, {Logo: "//evil.example/x.png"},
		{Logo: "logo.png"}, {Logo: "https://cvety.kz/a b.png"}, {Logo: "https://u:p@cvety.kz/x.png"}, {Name: "a\nb"}} {
		if err := b.Check(); err == nil {
			t.Errorf("%+v passed the check", b)
		}
	}
	for _, b := range []Brand{{Color: "#A8234F"}, {Logo: "/upload/logo.svg"}, {Logo: "http://127.0.0.1:8000/logo.png"}} {
		if err := b.Check(); err != nil {
			t.Errorf("%+v: %v", b, err)
		}
	}
}
