package main

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// fetchFrom runs a preflighted search (JSON) from the page in the browser
// and says how it went: "ok <status>" or "refused <error name>".
func fetchFrom(b *browser, api string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch('`+api+`/api/v1/search', {method: 'POST', headers: {'Content-Type': 'application/json'},
		body: '{"product_id": 201, "shop_id": 8}'}).then(r => 'ok ' + r.status, e => 'refused ' + e.name)`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("fetch from the page: %v", err)
	}
	return v
}

// demoShop is a shop's own site on another origin than lookalike: a page
// with the widget's script tag, in Russian or English, optionally with a
// hostile stylesheet, under a CSP of its own that allows lookalike's origin
// and no inline script or style.
type demoShop struct {
	*httptest.Server
	api string // lookalike's origin, set once it runs
}

var demoPage = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if eq .Lang "en"}}Almaty Flowers{{else}}Цветы Алматы{{end}}</title>
<link rel="stylesheet" href="/shop.css">{{if .Hostile}}<link rel="stylesheet" href="/hostile.css">{{end}}
</head>
<body>
{{if .Hostile}}<script src="{{.API}}/widget.js" data-shop="8"{{with .DataLang}} data-lang="{{.}}"{{end}}></script>
{{else}}<header><b>{{if eq .Lang "en"}}Almaty Flowers{{else}}Цветы Алматы{{end}}</b>
<nav>{{if eq .Lang "en"}}Catalogue · Delivery · Contacts{{else}}Каталог · Доставка · Контакты{{end}}</nav>
<lookalike-search></lookalike-search></header>
<main><h1>{{if eq .Lang "en"}}Bouquets{{else}}Букеты{{end}}</h1><div class="tiles"><div></div><div></div><div></div><div></div><div></div><div></div></div></main>
<script src="{{.API}}/widget.js" data-shop="8"></script>
{{end}}</body></html>`))

const demoCSS = `body { margin: 0; font: 15px Georgia, serif; background: #f3efe6; color: #333; }
header { display: flex; align-items: center; gap: 1.5rem; flex-wrap: wrap; padding: 1rem 1.5rem; background: #2f4f3a; color: #fff; }
header b { font-size: 1.4rem; } nav { margin-right: auto; opacity: .85; }
main { padding: 1rem 1.5rem; } .tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 1rem; }
.tiles div { aspect-ratio: 1; border-radius: 8px; background: #ddd0c2; }`

// hostileCSS is what a shop's theme might do to everything on its page.
const hostileCSS = `html { font-size: 3px !important; }
body { font-size: 1px !important; color: transparent !important; line-height: 0 !important; }
body * { display: none !important; }
lookalike-search { display: none !important; visibility: hidden !important; opacity: 0 !important; font-size: 1px !important; }
button, label, input, img, dialog, ul, li, a, p, h2, h3, span, div, section { display: none !important; font-size: 1px !important; width: 1px !important; height: 1px !important; }
* { box-sizing: content-box !important; }
:root { --accent: red; --text: transparent; --bg: black; }`

func newDemoShop(t *testing.T) *demoShop {
	d := &demoShop{}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/shop.css", "/hostile.css":
			w.Header().Set("Content-Type", "text/css")
			if r.URL.Path == "/shop.css" {
				w.Write([]byte(demoCSS))
			} else {
				w.Write([]byte(hostileCSS))
			}
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' "+d.api+"; connect-src "+d.api+"; img-src 'self' "+d.api+" blob: data:; style-src 'self'")
			q := r.URL.Query()
			lang := q.Get("lang")
			if lang == "" {
				lang = "ru"
			}
			demoPage.Execute(w, map[string]any{"Lang": lang, "Hostile": q.Get("hostile") == "1", "API": d.api, "DataLang": q.Get("data-lang")})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(d.Close)
	return d
}

// The widget on a shop's own site (another origin): one script tag gives a
// button and a dialog, in the page's language, that uploads a photo through
// the file input and shows bands, product links on the shop's site in the
// same tab and the sold-out exact match marked, with a hostile stylesheet on
// the page and under the page's own strict CSP; every request goes to the
// page's origin or lookalike's. A fetch from a listed origin passes the CORS
// preflight; from an unlisted one the browser refuses it, and the widget
// there says it cannot reach the server. With LOOKALIKE_SCREENSHOTS=1 it
// rewrites docs/screenshots/widget-{ru,en}-{desktop,phone}.png.
func TestUIWidget(t *testing.T) {
	chromium(t)
	images := newImageServer(t)
	site := newDemoShop(t)
	other := newDemoShop(t) // not listed
	srv := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_DEFAULT_SHOP_ID": "8", "LOOKALIKE_ALLOWED_ORIGINS": site.URL,
		"LOOKALIKE_SHOP_NAME": "Цветы Алматы", "LOOKALIKE_SHOP_COLOR": "#2f6b4a"})
	site.api, other.api = srv.url, srv.url
	seedUICatalogueWith(t, srv, images, 8, func(id int) string { return fmt.Sprintf(`,"url":"/catalog/%d/"`, id) })
	srv.waitFor("5 vectors", func() bool { return num(srv.stats()["vectors"]) == 5 })
	file := tempFiles(t)
	roses := file("roses.jpg", rephotograph(t, readPhoto(t, "roses")))
	dandelions := file("dandelions.jpg", rephotograph(t, readPhoto(t, "dandelion")))

	b := newBrowser(t)
	const sh = `document.querySelector('lookalike-search').shadowRoot`
	type card struct {
		ID               int
		Band, Text, Href string
		Target, Img, Cls string
	}
	cards := func() []card {
		return eval[[]card](b, `Array.from(`+sh+`.querySelectorAll('.grid > li')).map(li => {
			const a = li.querySelector('h3 a'), img = li.querySelector('img');
			return {ID: +li.dataset.productId, Band: li.dataset.band, Text: li.innerText, Href: a ? a.href : '', Target: a ? a.target : '',
				Img: img ? img.src : '', Cls: li.className};
		})`)
	}
	settled := sh + `.querySelector('.results').dataset.state`
	search := func(photo string) {
		b.do("choose a photo", chromedp.SetUploadFiles(chromedp.JSPath(sh+`.querySelector('#file')`), []string{photo}))
		b.waitJS("the results", `['done', 'closest', 'none', 'error'].includes(`+settled+`) && `+sh+`.querySelector('.crop-area img').complete`, 20*time.Second)
	}
	open := func(url string) {
		b.do("open "+url, chromedp.Navigate(url))
		b.waitJS("the widget", sh+` && `+sh+`.querySelector('.open')`, 10*time.Second)
	}

	// The hostile page: the widget's button shows at its own size, opens
	// the dialog, and a photo of roses finds the roses, "this is it",
	// linking to their page on the shop's site in the same tab.
	open(site.URL + "/?hostile=1")
	type box struct {
		W, H    float64
		Font    string
		Label   string
		Display string
	}
	btn := eval[box](b, `(() => { const e = `+sh+`.querySelector('.open'), r = e.getBoundingClientRect(), h = document.querySelector('lookalike-search');
		return {W: r.width, H: r.height, Font: getComputedStyle(e).fontSize, Label: e.textContent, Display: getComputedStyle(h).display}; })()`)
	if btn.W < 100 || btn.H < 40 || btn.Font != "16px" || btn.Label != "Найти по фото" || btn.Display == "none" {
		t.Fatalf("the button on the hostile page: %+v%s", btn, b.report())
	}
	eval[bool](b, `(`+sh+`.querySelector('.open').click(), true)`)
	b.waitJS("the dialog", sh+`.querySelector('dialog').open && `+sh+`.querySelector('dialog').getBoundingClientRect().width > 300`, 5*time.Second)
	if title := eval[string](b, sh+`.querySelector('#title').textContent`); title != "Цветы Алматы" {
		t.Errorf("the dialog's title is %q, not the shop's name", title)
	}
	search(roses)
	cs := cards()
	if len(cs) == 0 || cs[0].ID != 201 || cs[0].Band != "exact" || !strings.Contains(cs[0].Text, "Это он") || !strings.Contains(nbsp(cs[0].Text), "9 900 ₸") {
		t.Fatalf("roses on the hostile page: %+v%s", cs, b.report())
	}
	if cs[0].Href != site.URL+"/catalog/201/" || cs[0].Target != "" || !strings.HasPrefix(cs[0].Img, srv.url+"/images/") {
		t.Errorf("the roses' link and photo: %+v", cs[0])
	}
	fit := eval[box](b, `(() => { const e = `+sh+`.querySelector('.grid > li'), r = e.getBoundingClientRect();
		return {W: r.width, H: r.height, Font: getComputedStyle(e.querySelector('h3')).fontSize, Display: getComputedStyle(e).display}; })()`)
	if fit.W < 120 || fit.H < 150 || fit.Font < "14px" || fit.Display != "flex" {
		t.Errorf("a result card on the hostile page: %+v", fit)
	}
	b.waitJS("the photos", `Array.from(`+sh+`.querySelectorAll('.grid img')).slice(0, 2).every(i => i.complete && i.naturalWidth > 0)`, 10*time.Second)

	// The crop box works inside the shadow root (the code the shopper's page
	// uses): a box drawn with the mouse searches that region again.
	searches := strings.Count(srv.logs.String(), "path=/api/v1/search ")
	type rect struct{ X, Y, W, H float64 }
	r := eval[rect](b, `(() => { const r = `+sh+`.querySelector('.crop-area img').getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`)
	x0, y0, x1, y1 := r.X+0.1*r.W, r.Y+0.1*r.H, r.X+0.9*r.W, r.Y+0.9*r.H
	b.do("draw a box",
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x0, y0),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x0, y0, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, (x0+x1)/2, (y0+y1)/2, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x1, y1, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x1, y1, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	srv.waitFor("a search of the box", func() bool { return strings.Count(srv.logs.String(), "path=/api/v1/search ") > searches })
	b.waitJS("its results", `['done', 'closest', 'none'].includes(`+settled+`)`, 20*time.Second)
	drawn := eval[rect](b, `(() => { const r = `+sh+`.querySelector('.crop-box').getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`)
	if drawn.W < 0.7*r.W || drawn.H < 0.7*r.H || eval[bool](b, sh+`.querySelector('.crop button').hidden`) || cards()[0].ID != 201 {
		t.Errorf("the box drawn in the widget: %+v over %+v, results %+v", drawn, r, cards())
	}

	// It leaves the page as it was: no global, no stylesheet of the page's.
	if leak := eval[string](b, `[typeof LOOKALIKE, typeof WIDGET, typeof SCRIPT, document.styleSheets.length, document.adoptedStyleSheets.length].join()`); leak != "undefined,undefined,undefined,2,0" {
		t.Errorf("the widget changed the page (globals, sheets): %s", leak)
	}

	// The sold-out dandelions: first, "this is it", marked sold out.
	search(dandelions)
	cs = cards()
	if len(cs) == 0 || cs[0].ID != 205 || cs[0].Band != "exact" || !strings.Contains(cs[0].Cls, "sold-out") || !strings.Contains(cs[0].Text, "Этот букет распродан") {
		t.Errorf("the sold-out dandelions: %+v", cs)
	}

	// A preflighted request (JSON) from the listed origin passes.
	if st := fetchFrom(b, srv.url); st != "ok 200" {
		t.Errorf("a preflighted search from the listed origin: %s", st)
	}

	// The language: the page's <html lang>, or the tag's data-lang.
	open(site.URL + "/?hostile=1&lang=en")
	if l := eval[string](b, sh+`.querySelector('.open').textContent`); l != "Find by photo" {
		t.Errorf("the button on an English page: %q", l)
	}
	open(site.URL + "/?hostile=1&data-lang=kk")
	if l := eval[string](b, sh+`.querySelector('.open').textContent`); l != "Суреті бойынша табу" {
		t.Errorf("the button with data-lang=kk: %q", l)
	}

	// Everything so far came from the two origins, without a script error.
	b.mu.Lock()
	for _, u := range b.requests {
		if !strings.HasPrefix(u, srv.url+"/") && !strings.HasPrefix(u, site.URL+"/") && !strings.HasPrefix(u, "blob:") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s", u)
		}
	}
	if len(b.problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(b.problems, "\n"))
	}
	b.mu.Unlock()

	// Screenshots of the demo shop page with the widget's results, RU and EN.
	for _, lang := range []string{"ru", "en"} {
		if os.Getenv("LOOKALIKE_SCREENSHOTS") != "1" {
			break
		}
		open(site.URL + "/?lang=" + lang)
		eval[bool](b, `(`+sh+`.querySelector('.open').click(), true)`)
		search(dandelions) // sold out: "this is it", marked
		b.waitJS("the photos", `Array.from(`+sh+`.querySelectorAll('.grid img')).slice(0, 4).every(i => i.complete && i.naturalWidth > 0)`, 10*time.Second)
		b.phoneScale = 1 // each picture under 200 KB
		b.screenshots("widget-"+lang, func(phone bool) {
			eval[bool](b, `(`+sh+`.querySelector('dialog').scrollTop = 0, `+sh+`.activeElement && `+sh+`.activeElement.blur(), true)`)
			b.waitJS("the photos", `Array.from(`+sh+`.querySelectorAll('.grid img')).slice(0, 2).every(i => i.complete && i.naturalWidth > 0)`, 10*time.Second)
		})
	}

	// From an unlisted origin the browser refuses the replies: the
	// preflighted fetch fails, and the widget says it cannot reach the server.
	open(other.URL + "/?hostile=1")
	if st := fetchFrom(b, srv.url); st != "refused TypeError" {
		t.Errorf("a search from an unlisted origin: %s", st)
	}
	eval[bool](b, `(`+sh+`.querySelector('.open').click(), true)`)
	search(roses)
	if msg := eval[string](b, sh+`.querySelector('.error').innerText`); !strings.Contains(msg, "Нет связи с сервером") || eval[int](b, sh+`.querySelectorAll('.grid > li').length`) != 0 {
		t.Errorf("the widget on an unlisted origin: %q", msg)
	}
}
