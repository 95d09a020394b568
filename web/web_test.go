package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, headers map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var assetRef = regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`)

func TestPagesAndHeaders(t *testing.T) {
	h := Handler(Options{})
	for _, path := range []string{"/", "/admin", "/admin/"} {
		resp := get(t, h, path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		want := map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Cache-Control":           "no-cache",
			"Content-Security-Policy": CSP,
			"X-Content-Type-Options":  "nosniff",
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		if !strings.HasPrefix(CSP, "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'") {
			t.Errorf("CSP %q", CSP)
		}
		html := body(t, resp)
		refs := assetRef.FindAllStringSubmatch(html, -1)
		if len(refs) < 4 {
			t.Fatalf("%s links %d assets: %s", path, len(refs), html)
		}
		for _, m := range refs {
			if !regexp.MustCompile(`^/static/[a-z]+\.[0-9a-f]{10}\.(js|css|svg)$`).MatchString(m[1]) {
				t.Errorf("%s links %s, not a content-hashed name", path, m[1])
			}
			a := get(t, h, m[1], nil)
			if a.StatusCode != 200 || a.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || a.Header.Get("ETag") == "" {
				t.Errorf("%s: %d %v", m[1], a.StatusCode, a.Header)
			}
		}
		// ETag revalidation.
		etag := resp.Header.Get("ETag")
		if r := get(t, h, path, map[string]string{"If-None-Match": etag}); r.StatusCode != 304 {
			t.Errorf("%s with If-None-Match: %d", path, r.StatusCode)
		}
	}
	if r := get(t, h, "/admin", nil); r.Header.Get("X-Robots-Tag") != "noindex" {
		t.Error("admin page can be indexed")
	}
}

func TestAssetsPlainNamesAndGzip(t *testing.T) {
	h := Handler(Options{})
	r := get(t, h, "/static/shop.js", nil)
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-cache" || r.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("/static/shop.js: %d %v", r.StatusCode, r.Header)
	}
	plain := body(t, r)
	if r2 := get(t, h, "/static/shop.js", map[string]string{"If-None-Match": r.Header.Get("ETag")}); r2.StatusCode != 304 {
		t.Fatalf("revalidate: %d", r2.StatusCode)
	}
	gz := get(t, h, "/static/shop.js", map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if gz.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(gz.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip: %v", gz.Header)
	}
	if body(t, gz) != plain {
		t.Fatal("gzip body differs")
	}
	if gz.Header.Get("ETag") == r.Header.Get("ETag") {
		t.Fatal("the gzip and plain bodies share an ETag")
	}
	if r2 := get(t, h, "/static/shop.js", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": gz.Header.Get("ETag")}); r2.StatusCode != 304 {
		t.Fatalf("revalidate gzip: %d", r2.StatusCode)
	}
	if g := get(t, h, "/static/shop.js", map[string]string{"Accept-Encoding": "gzip;q=0"}); g.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip sent though refused")
	}
	if r := get(t, h, "/static/icon.svg", nil); r.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("icon: %v", r.Header)
	}
}

func TestNoAdmin(t *testing.T) {
	h := Handler(Options{NoAdmin: true})
	for _, p := range []string{"/admin", "/admin/"} {
		if r := get(t, h, p, map[string]string{"Accept": "text/html"}); r.StatusCode != 404 {
			t.Errorf("%s without the dashboard: %d", p, r.StatusCode)
		}
	}
	if r := get(t, h, "/", nil); r.StatusCode != 200 {
		t.Errorf("/ without the dashboard: %d", r.StatusCode)
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := Handler(Options{})
	for _, p := range []string{"/nope", "/static/", "/static/nope.js", "/static/../web.go", "/admin/x", "/404"} {
		// API clients get the API's JSON error...
		r := get(t, h, p, nil)
		var e map[string]string
		if err := json.Unmarshal([]byte(body(t, r)), &e); err != nil || r.StatusCode != 404 || e["status"] != "error" || e["error"] != "no such endpoint: GET "+p {
			t.Errorf("%s: %d %v %v", p, r.StatusCode, e, err)
		}
		// ...browsers a page.
		r = get(t, h, p, map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "en"})
		if b := body(t, r); r.StatusCode != 404 || !strings.Contains(b, "Page not found") || r.Header.Get("Content-Security-Policy") != CSP {
			t.Errorf("%s as a browser: %d %.100s", p, r.StatusCode, b)
		}
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{{"POST", "/", 405}, {"DELETE", "/admin", 405}, {"PUT", "/static/shop.js", 405}, {"POST", "/nope", 404}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader("x")))
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), `"status":"error"`) {
			t.Errorf("%s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
		if c.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", c.method, c.path, rec.Header().Get("Allow"))
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("HEAD", "/", nil))
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
		t.Fatalf("HEAD /: %d %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestLanguage(t *testing.T) {
	h := Handler(Options{})
	cases := []struct {
		headers map[string]string
		path    string
		want    string
	}{
		{nil, "/", "ru"},
		{map[string]string{"Accept-Language": "en-US,en;q=0.9"}, "/", "en"},
		{map[string]string{"Accept-Language": "de-DE,en;q=0.5,ru;q=0.7"}, "/", "ru"},
		{map[string]string{"Accept-Language": "kk-KZ,en;q=0.9"}, "/", "ru"},
		{map[string]string{"Accept-Language": "fr"}, "/", "ru"},
		{map[string]string{"Accept-Language": "ru", "Cookie": LangCookie + "=en"}, "/admin", "en"},
		{map[string]string{"Cookie": LangCookie + "=en"}, "/?lang=ru", "ru"},
		{map[string]string{"Cookie": LangCookie + "=xx"}, "/", "ru"},
	}
	for _, c := range cases {
		r := get(t, h, c.path, c.headers)
		b := body(t, r)
		if !strings.Contains(b, `<html lang="`+c.want+`">`) {
			t.Errorf("%s %v: not %s", c.path, c.headers, c.want)
		}
		if !strings.Contains(r.Header.Get("Vary"), "Accept-Language") {
			t.Errorf("Vary: %q", r.Header.Get("Vary"))
		}
	}
	en := body(t, get(t, h, "/?lang=en", nil))
	ru := body(t, get(t, h, "/?lang=ru", nil))
	if !strings.Contains(en, "Choose a photo") || !strings.Contains(ru, "Выберите фото") {
		t.Fatal("pages are not rendered in their language")
	}
	if h := Handler(Options{DefaultLang: "en"}); !strings.Contains(body(t, get(t, h, "/", nil)), `<html lang="en">`) {
		t.Fatal("DefaultLang ignored")
	}
	if _, err := build(Options{DefaultLang: "de"}); err == nil {
		t.Fatal("DefaultLang de accepted")
	}
}

func TestStrings(t *testing.T) {
	raw, _ := files.ReadFile("i18n.json")
	var dict map[string]map[string]string
	if err := json.Unmarshal(raw, &dict); err != nil {
		t.Fatal(err)
	}
	for _, l := range Languages {
		for k, v := range dict[Languages[0]] {
			if strings.TrimSpace(dict[l][k]) == "" {
				t.Errorf("%s: %q has no string", l, k)
			}
			// Placeholders must match between languages.
			ph := regexp.MustCompile(`\{\w+\}`)
			a, b := ph.FindAllString(v, -1), ph.FindAllString(dict[l][k], -1)
			sort.Strings(a)
			sort.Strings(b)
			if strings.Join(a, ",") != strings.Join(b, ",") {
				t.Errorf("%s: %q placeholders %v, %s has %v", l, k, b, Languages[0], a)
			}
		}
		if len(dict[l]) != len(dict[Languages[0]]) {
			t.Errorf("%s has %d strings, %s %d", l, len(dict[l]), Languages[0], len(dict[Languages[0]]))
		}
	}
	// Every key the pages and scripts use exists.
	used := map[string]bool{}
	keyRe := []*regexp.Regexp{
		regexp.MustCompile(`data-i18n(?:-placeholder|-aria-label)?="([\w.]+)"`),
		regexp.MustCompile(`\bt\('([\w.]+)'`),
		regexp.MustCompile(`\{\{t "([\w.]+)"\}\}`),
		regexp.MustCompile(`key: '([\w.]+)'`),
		regexp.MustCompile(`showError\('([\w.]+)'`),
		regexp.MustCompile(`signOut\('([\w.]+)'`),
	}
	fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() || !(strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".html")) {
			return nil
		}
		b, _ := files.ReadFile(p)
		for _, re := range keyRe {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				if strings.HasSuffix(m[1], ".") { // a prefix completed at run time
					continue
				}
				used[m[1]] = true
				if _, ok := dict[Languages[0]][m[1]]; !ok {
					t.Errorf("%s uses %q, which i18n.json lacks", p, m[1])
				}
			}
		}
		return nil
	})
	if len(used) < 60 {
		t.Errorf("found only %d string keys in use; the patterns above are stale", len(used))
	}
}

// The CSP forbids inline script and style; nothing may rely on them, and
// nothing may load from another host.
func TestNoInlineCodeNoOtherHosts(t *testing.T) {
	h := Handler(Options{})
	inline := []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`), // a script with a body...
		regexp.MustCompile(`(?i)\sstyle=`),
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)\son[a-z]+=`),
		regexp.MustCompile(`(?i)javascript:`),
	}
	for _, path := range []string{"/", "/admin", "/?lang=en", "/admin?lang=en"} {
		html := body(t, get(t, h, path, nil))
		for _, re := range inline {
			for _, m := range re.FindAllStringIndex(html, -1) {
				frag := html[m[0]:min(len(html), m[1]+60)]
				if strings.Contains(frag, `type="application/json"`) { // ...other than the data block
					continue
				}
				t.Errorf("%s has inline code: %q", path, frag)
			}
		}
		if strings.Contains(html, "http://") || strings.Contains(html, "https://") {
			t.Errorf("%s refers to another host", path)
		}
	}
	fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() {
			return nil
		}
		b, _ := files.ReadFile(p)
		s := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "")
		for _, bad := range []string{"http://", "https://", "//fonts.", "@import", "innerHTML", "eval(", "new Function", ".setAttribute('style'"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", p, bad)
			}
		}
		return nil
	})
}

// The pages stay small: every asset, gzipped, well under what a phone on a
// slow connection fetches in a moment.
func TestAssetBudget(t *testing.T) {
	h, err := build(Options{})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for p, f := range h.assets {
		if strings.Count(p, ".") < 2 { // hashed names only
			continue
		}
		n := len(f.body)
		if f.gz != nil {
			n = len(f.gz)
		}
		total += n
	}
	for _, pg := range h.pages {
		for _, f := range pg {
			if len(f.gz) > 12<<10 {
				t.Errorf("a page is %d bytes gzipped", len(f.gz))
			}
		}
	}
	if total > 40<<10 {
		t.Errorf("assets are %d bytes gzipped, over the 40 KiB budget", total)
	}
	t.Logf("assets: %d bytes gzipped", total)
}

func TestDataBlockIsJSON(t *testing.T) {
	h := Handler(Options{})
	html := body(t, get(t, h, "/", nil))
	m := regexp.MustCompile(`(?s)<script type="application/json" id="i18n">(.*?)</script>`).FindStringSubmatch(html)
	if m == nil {
		t.Fatal("no i18n data block")
	}
	var dict map[string]map[string]string
	if err := json.NewDecoder(bytes.NewReader([]byte(m[1]))).Decode(&dict); err != nil {
		t.Fatalf("data block is not JSON: %v\n%.200s", err, m[1])
	}
	if dict["en"]["drop.title"] != "Choose a photo" {
		t.Fatalf("data block: %v", dict["en"]["drop.title"])
	}
}
