package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/lookalike/lookalike/embed/builtin"
)

// The tests here drive the real pages in Debian's headless Chromium against
// the whole program (startServer): a shopper uploads a photo, filters and
// asks for more like a result; an operator signs in, retries a failed
// product, looks one up and reindexes everything. Every request the pages
// make must go to the server itself. With LOOKALIKE_SCREENSHOTS=1 they also
// rewrite the screenshots in docs/screenshots/.

// chromium finds the browser, or skips the test (fails it when CI=true).
func chromium(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	const hint = "Chromium is not installed: run ./scripts/install-chromium (Debian: apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(hint)
	}
	t.Skip(hint)
	return ""
}

// browser is one headless Chromium with one tab, recording every request
// the tab makes and every script error or console error it reports.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	requests []string
	problems []string

	phoneScale float64 // device pixels per CSS pixel of the phone screenshots; 0: 2
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromium(t)
	profile, err := os.MkdirTemp("", "lookalike-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root here
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "ru-RU"),
		chromedp.Flag("accept-lang", "ru-RU,ru"),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// A guard: a stuck test fails instead of hanging the package.
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc() // waits for the browser to exit
		for i := 0; i < 50; i++ {
			if os.RemoveAll(profile) == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	b := &browser{t: t, ctx: ctx}
	err = chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, e.Request.URL)
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.problems = append(b.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.problems = append(b.problems, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
			}
		case *log.EventEntryAdded:
			// Failed requests are logged with source "network": the tests
			// provoke some on purpose (422 for a file that is no photo) and
			// check the page's answer to them instead. Anything else at
			// error level (a CSP violation, a script error) is a bug.
			if e.Entry.Level == log.EntryLevelError && e.Entry.Source != log.EntrySourceNetwork {
				b.problems = append(b.problems, fmt.Sprintf("%s %s: %s (%s)", e.Entry.Source, e.Entry.Level, e.Entry.Text, e.Entry.URL))
			}
		}
	})
	if err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v%s", what, err, b.report())
	}
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v%s", expr, err, b.report())
	}
	return v
}

// waitJS waits until a JavaScript expression is truthy.
func (b *browser) waitJS(what, expr string, timeout time.Duration) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		b.t.Fatalf("waiting for %s (%s): %v%s", what, expr, err, b.report())
	}
}

// report is what the page shows and what went wrong in it, for a failure message.
func (b *browser) report() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ''`))
	b.mu.Lock()
	defer b.mu.Unlock()
	return fmt.Sprintf("\npage text:\n%s\nproblems: %q", text, b.problems)
}

// checkClean fails the test if the pages reported a script error or
// loaded anything from a host other than the server.
func (b *browser) checkClean(server string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		b.t.Errorf("the page reported problems:\n%s", strings.Join(b.problems, "\n"))
	}
	if len(b.requests) == 0 {
		b.t.Error("no requests recorded")
	}
	for _, u := range b.requests {
		if !strings.HasPrefix(u, server+"/") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "blob:") {
			b.t.Errorf("the page requested %s, which is not on the server %s", u, server)
		}
	}
}

// requested says whether a request URL with this prefix was made.
func (b *browser) requested(prefix string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.requests {
		if strings.HasPrefix(u, prefix) {
			return true
		}
	}
	return false
}

// screenshot saves docs/screenshots/<name>-phone.png and -desktop.png of
// the current page when LOOKALIKE_SCREENSHOTS=1. prepare runs at each size
// before the picture (to scroll, say).
func (b *browser) screenshots(name string, prepare func(phone bool)) {
	b.t.Helper()
	if os.Getenv("LOOKALIKE_SCREENSHOTS") != "1" {
		return
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	for _, size := range []struct {
		suffix string
		w, h   int64
		phone  bool
	}{{"phone", 390, 844, true}, {"desktop", 1280, 900, false}} {
		if size.phone {
			scale := b.phoneScale
			if scale == 0 {
				scale = 2
			}
			b.do("phone viewport", chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateScale(scale), chromedp.EmulateMobile))
		} else {
			b.do("desktop viewport", chromedp.EmulateViewport(size.w, size.h))
		}
		b.do("settle", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1), chromedp.Sleep(300*time.Millisecond))
		if prepare != nil {
			prepare(size.phone)
		}
		b.waitJS("images in view to load", `Array.from(document.images).every(i => {
			const r = i.getBoundingClientRect();
			return r.bottom < 0 || r.top > innerHeight || r.width === 0 || (i.complete && i.naturalWidth > 0);
		})`, 10*time.Second)
		png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			b.t.Fatalf("screenshot: %v", err)
		}
		path := filepath.Join(dir, name+"-"+size.suffix+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("wrote %s (%d KiB)", path, len(png)>>10)
	}
	b.do("reset viewport", chromedp.ResetViewport(), chromedp.Sleep(200*time.Millisecond))
}

// The catalogue of the browser tests: five bouquets in shop 8, one out of stock.
var uiCatalogue = []struct {
	class, title, price, height string
	id                          int
	available                   bool
}{
	{"roses", "Розы «Классика»", "9 900 ₸", "60 см", 201, true},
	{"daisy", "Ромашковое поле", "1 500 ₸", "35 см", 202, true},
	{"sunflowers", "Подсолнухи", "4 000 ₸", "70 см", 203, true},
	{"tulips", "Тюльпаны микс", "5 000,50 ₸", "40 см", 204, true},
	{"dandelion", "Одуванчики", "2 500 ₸", "25 см", 205, false},
}

func seedUICatalogue(t *testing.T, srv *server, images *imageServer, shop int) {
	t.Helper()
	seedUICatalogueWith(t, srv, images, shop, func(int) string { return "" })
}

// seedUICatalogueWith adds extra(id) to each product's fields (`,"url":…`).
func seedUICatalogueWith(t *testing.T, srv *server, images *imageServer, shop int, extra func(id int) string) {
	t.Helper()
	for _, p := range uiCatalogue {
		body := fmt.Sprintf(`{"event_type":"product.created","shop_id":%d,"product_data":{"id":%d,"title":%q,"price":%q,"isAvailable":%t,"image":%q,"catalogHeight":%q%s}}`,
			shop, p.id, p.title, p.price, p.available, images.URL+"/img/"+p.class+".jpg", p.height, extra(p.id))
		if r := srv.webhook(body); r.status != 200 {
			t.Fatalf("create %s: %d %s", p.class, r.status, r.raw)
		}
	}
}

// tempFiles returns a function that writes a file into a temporary
// directory of the test and returns its path (for uploads).
func tempFiles(t *testing.T) func(name string, b []byte) string {
	dir := t.TempDir()
	return func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// nbsp turns the page's non-breaking spaces into plain ones.
func nbsp(s string) string { return strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(s) }

func TestUIShopperSearch(t *testing.T) {
	chromium(t)
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	seedUICatalogue(t, srv, images, 8)
	srv.waitFor("5 vectors", func() bool { return num(srv.stats()["vectors"]) == 5 })

	dir := t.TempDir()
	photo := filepath.Join(dir, "my-roses.jpg")
	if err := os.WriteFile(photo, rephotograph(t, readPhoto(t, "roses")), 0o644); err != nil {
		t.Fatal(err)
	}
	notPhoto := filepath.Join(dir, "notes.jpg")
	os.WriteFile(notPhoto, []byte("this is a shopping list, not a photo"), 0o644)

	b := newBrowser(t)
	start := time.Now()
	b.do("open the shop page", chromedp.Navigate(srv.url+"/?shop=8"), chromedp.WaitVisible(chromedp.ID("drop")))
	if lang := eval[string](b, `document.documentElement.lang`); lang != "ru" {
		t.Fatalf("page language %q for a Russian browser", lang)
	}
	if s := eval[string](b, `document.getElementById('status').textContent`); !strings.Contains(s, "фото букета") {
		t.Fatalf("empty state hint: %q", s)
	}
	if eval[bool](b, `!document.getElementById('textform').hidden`) {
		t.Fatal("the text search box shows although the built-in descriptor cannot search by text")
	}

	// The keyboard reaches the photo picker (after the skip link, the brand
	// and the language switch), and the drop zone shows the focus.
	for i := 0; i < 8 && eval[string](b, `document.activeElement.id`) != "file"; i++ {
		b.do("tab", chromedp.KeyEvent("\t"))
	}
	if got := eval[string](b, `document.activeElement.id + ' ' + getComputedStyle(document.getElementById('drop')).outlineStyle`); got != "file solid" {
		t.Fatalf("keyboard focus on the photo picker: %q", got)
	}

	// Upload a shopper's own photo of the roses: they come first.
	b.do("upload", chromedp.SetUploadFiles(chromedp.ID("file"), []string{photo}))
	b.waitJS("results", `document.getElementById('results').dataset.state === 'done'`, 15*time.Second)
	type card struct {
		ID    int    `json:"id"`
		Text  string `json:"text"`
		Src   string `json:"src"`
		Alt   string `json:"alt"`
		Lazy  string `json:"lazy"`
		Price string `json:"price"`
	}
	cards := func() []card {
		return eval[[]card](b, `Array.from(document.querySelectorAll('#grid > li')).map(li => {
			const img = li.querySelector('img');
			return {id: +li.dataset.productId, text: li.innerText, src: img ? img.getAttribute('src') : '',
				alt: img ? img.alt : '', lazy: img ? img.loading : '', price: (li.querySelector('.price') || {}).textContent || ''};
		})`)
	}
	got := cards()
	// The roses, "this is it"; the other bouquets are not alike enough to show.
	if len(got) != 1 || got[0].ID != 201 {
		t.Fatalf("results for a photo of roses: %+v%s", got, b.report())
	}
	first := got[0]
	first.Text = nbsp(first.Text)
	if nbsp(first.Price) != "9 900 ₸" || !strings.Contains(first.Text, "60 см") || !strings.Contains(first.Text, "В наличии") ||
		!strings.Contains(first.Text, "Это он") || strings.Contains(first.Text, "%") || !strings.Contains(first.Text, "Розы «Классика»") {
		t.Fatalf("first card: %q price %q", first.Text, first.Price)
	}
	if !strings.HasPrefix(first.Src, "/images/") || !strings.HasSuffix(first.Src, "?w=320") || first.Alt != "Розы «Классика»" || first.Lazy != "lazy" {
		t.Fatalf("first card image: %+v", first)
	}
	for _, c := range got {
		if c.ID == 205 {
			t.Fatal("an out-of-stock bouquet shows under the default 'in stock' filter")
		}
		if c.ID == 204 && nbsp(c.Price) != "5 000,50 ₸" {
			t.Fatalf("price of 5 000,50 ₸ shown as %q", c.Price)
		}
	}
	if src := eval[string](b, `document.getElementById('crop-img').src`); !strings.HasPrefix(src, "blob:") {
		t.Fatalf("the query photo is not shown: %q", src)
	}
	b.waitJS("thumbnails to load", `Array.from(document.querySelectorAll('#grid img')).slice(0, 2).every(i => i.complete && i.naturalWidth > 0)`, 10*time.Second)

	// A price limit re-runs the search: the 9 900 ₸ roses go.
	b.do("price up to 5000", chromedp.SendKeys(chromedp.ID("price-max"), "5000"))
	b.waitJS("results without the roses", `['done', 'closest'].includes(document.getElementById('results').dataset.state) &&
		!document.querySelector('#grid > li[data-product-id="201"]')`, 10*time.Second)
	got = cards()
	// Nothing close under 5000 ₸: the closest in stock (the daisies and the
	// sunflowers; the dandelions are out of stock) under their heading.
	if h := eval[string](b, `document.getElementById('closest').hidden ? '' : document.getElementById('closest').textContent`); h != "Ближе всего из того, что есть" {
		t.Fatalf("closest heading %q", h)
	}
	if len(got) != 2 {
		t.Fatalf("results up to 5000 ₸: %+v", got)
	}
	for _, c := range got {
		if c.ID == 201 || c.ID == 204 {
			t.Fatalf("product %d (over 5000 ₸) shows with a 5000 ₸ limit: %+v", c.ID, got)
		}
	}

	// Availability "all" brings the out-of-stock dandelions in.
	eval[bool](b, `(() => { const s = document.getElementById('available'); s.value = 'any'; s.dispatchEvent(new Event('change')); return true; })()`)
	b.waitJS("the out-of-stock bouquet", `['done', 'closest'].includes(document.getElementById('results').dataset.state) &&
		!!document.querySelector('#grid > li[data-product-id="205"]')`, 10*time.Second)
	if txt := eval[string](b, `document.querySelector('#grid > li[data-product-id="205"]').innerText`); !strings.Contains(txt, "Нет в наличии") {
		t.Fatalf("out-of-stock card: %q", txt)
	}

	// More like this: the first result's neighbours, without itself.
	firstID := eval[int](b, `+document.querySelector('#grid > li').dataset.productId`)
	firstTitle := eval[string](b, `document.querySelector('#grid > li h3').textContent`)
	b.do("more like this", chromedp.Click(chromedp.CSS("#grid > li:first-child button.more")))
	b.waitJS("similar results", fmt.Sprintf(`['done', 'closest'].includes(document.getElementById('results').dataset.state) &&
		document.getElementById('query-label').textContent.includes('Похожие на') &&
		!document.querySelector('#grid > li[data-product-id="%d"]')`, firstID), 10*time.Second)
	if label := eval[string](b, `document.getElementById('query-label').textContent`); label != "Похожие на «"+firstTitle+"»" {
		t.Fatalf("query label %q", label)
	}
	if n := len(cards()); n == 0 {
		t.Fatal("no similar bouquets")
	}

	// The language switch: English at once, and still English after a reload.
	b.do("switch to English", chromedp.Click(chromedp.CSS(`.lang button[data-lang="en"]`)))
	if label := eval[string](b, `document.getElementById('query-label').textContent`); label != "Like “"+firstTitle+"”" {
		t.Fatalf("query label in English: %q", label)
	}
	if txt := eval[string](b, `document.querySelector('#grid > li button.more').textContent + '|' + document.documentElement.lang + '|' + document.getElementById('status').textContent`); !strings.HasPrefix(txt, "More like this|en|No bouquet like this one.") && !strings.HasPrefix(txt, "More like this|en|Found: ") {
		t.Fatalf("English page: %q", txt)
	}
	b.do("reload", chromedp.Navigate(srv.url+"/?shop=8"), chromedp.WaitVisible(chromedp.ID("drop")))
	if txt := eval[string](b, `document.documentElement.lang + '|' + document.querySelector('.drop-title').textContent`); txt != "en|Choose a photo" {
		t.Fatalf("after a reload the page is %q, not English", txt)
	}

	// A file that is not a photo: a clear message, no results.
	b.do("upload a text file", chromedp.SetUploadFiles(chromedp.ID("file"), []string{notPhoto}))
	b.waitJS("the error", `!document.getElementById('error').hidden`, 10*time.Second)
	if msg := eval[string](b, `document.getElementById('error-msg').textContent`); !strings.Contains(msg, "does not look like a photo") {
		t.Fatalf("error for a text file: %q", msg)
	}
	if n := len(cards()); n != 0 {
		t.Fatalf("%d results shown with an error", n)
	}

	if !b.requested(srv.url+"/images/") || !b.requested(srv.url+"/api/v1/search") {
		t.Fatal("the page never asked for thumbnails or searches")
	}
	b.checkClean(srv.url)
	t.Logf("browser part took %s", time.Since(start).Round(time.Millisecond))
}

// The states a shopper can run into: nothing found, a photo over the
// limit, a busy service (429) and a server that is gone.
func TestUIShopperStates(t *testing.T) {
	chromium(t)
	srv := startServer(t, t.TempDir(), map[string]string{
		"LOOKALIKE_MAX_IMAGE_BYTES": "4096",
		"LOOKALIKE_SEARCH_RATE":     "0.01",
		"LOOKALIKE_SEARCH_BURST":    "2",
	})
	dir := t.TempDir()
	small := filepath.Join(dir, "small.jpg")
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 48, 48))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil || buf.Len() > 4096 {
		t.Fatalf("small photo: %v, %d bytes", err, buf.Len())
	}
	os.WriteFile(small, buf.Bytes(), 0o644)
	large := filepath.Join(dir, "large.jpg")
	os.WriteFile(large, readPhoto(t, "roses"), 0o644)

	b := newBrowser(t)
	b.do("open the shop page", chromedp.Navigate(srv.url+"/"), chromedp.WaitVisible(chromedp.ID("drop")))
	status := func() string {
		return eval[string](b, `document.getElementById('results').dataset.state + '|' + document.getElementById('status').textContent + '|' +
			(document.getElementById('error').hidden ? '' : document.getElementById('error-msg').textContent)`)
	}

	// An empty catalogue: nothing found.
	b.do("upload", chromedp.SetUploadFiles(chromedp.ID("file"), []string{small}))
	b.waitJS("no results", `document.getElementById('results').dataset.state === 'none'`, 10*time.Second)
	if s := status(); !strings.Contains(s, "Ничего не нашлось") {
		t.Fatalf("empty results: %q", s)
	}
	// A photo over the limit: the limit, in the page's words.
	b.do("upload a large photo", chromedp.SetUploadFiles(chromedp.ID("file"), []string{large}))
	b.waitJS("the error", `document.getElementById('results').dataset.state === 'error'`, 10*time.Second)
	if s := nbsp(status()); !strings.Contains(s, "Фото слишком большое: можно не больше 4 КБ") {
		t.Fatalf("too large: %q", s)
	}
	// The third search in a burst of two: busy, with the wait.
	b.do("upload again", chromedp.SetUploadFiles(chromedp.ID("file"), []string{small}))
	b.waitJS("the 429", `document.getElementById('error-msg').textContent.includes('много запросов')`, 10*time.Second)
	if s := status(); !strings.Contains(s, "Попробуйте через 100 с") && !strings.Contains(s, "Попробуйте через 99 с") {
		t.Fatalf("busy: %q", s)
	}
	// The server goes away: a connection message and a way to try again.
	srv.stop()
	eval[bool](b, `(() => { const s = document.getElementById('available'); s.value = 'any'; s.dispatchEvent(new Event('change')); return true; })()`)
	b.waitJS("the network error", `document.getElementById('error-msg').textContent.includes('Нет связи')`, 10*time.Second)
	if eval[bool](b, `document.getElementById('error-retry').hidden`) {
		t.Fatal("no way to try again after a network error")
	}
	b.checkClean(srv.url)
}

func TestUIAdminDashboard(t *testing.T) {
	chromium(t)
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	seedUICatalogue(t, srv, images, 1)
	// One product whose photo is not there (yet).
	r := srv.webhook(`{"event_type":"product.created","product_data":{"id":50,"title":"Пионы (фото потерялось)","price":"12 000 ₸","isAvailable":true,"image":"` + images.URL + `/img/x.jpg"}}`)
	if r.status != 200 {
		t.Fatalf("create 50: %d %s", r.status, r.raw)
	}
	srv.waitFor("5 vectors and one failure", func() bool {
		st := srv.stats()
		return num(st["vectors"]) == 5 && num(st["queue"].(map[string]any)["failed"]) == 1
	})
	for _, class := range []string{"roses", "tulips", "daisy"} { // some searches for the chart
		if r := srv.searchPhoto(rephotograph(t, readPhoto(t, class)), nil); r.status != 200 {
			t.Fatalf("search: %d %s", r.status, r.raw)
		}
	}

	b := newBrowser(t)
	start := time.Now()
	b.do("open the dashboard", chromedp.Navigate(srv.url+"/admin"), chromedp.WaitVisible(chromedp.ID("token")))

	// A wrong token is refused and stays out of storage.
	b.do("wrong token", chromedp.SendKeys(chromedp.ID("token"), "not-the-token"), chromedp.Click(chromedp.CSS("#login-form button")))
	b.waitJS("the refusal", `document.getElementById('login-error').textContent.includes('не принял')`, 10*time.Second)
	if eval[bool](b, `!document.getElementById('dash').hidden || sessionStorage.length > 0`) {
		t.Fatal("a wrong token opened the dashboard or was stored")
	}

	// The right one shows the counts.
	b.do("right token", chromedp.SendKeys(chromedp.ID("token"), testAdmin), chromedp.Click(chromedp.CSS("#login-form button")))
	b.waitJS("the dashboard", `!document.getElementById('dash').hidden && document.getElementById('s-active').textContent === '6'`, 10*time.Second)
	type stats struct {
		Active, Vectors, Pending, Running, Failed, Model, Deleted, Health, Webhooks string
		Lines                                                                       int
	}
	read := func() stats {
		return eval[stats](b, `(() => { const x = id => document.getElementById(id).textContent; return {
			Active: x('s-active'), Vectors: x('s-vectors'), Pending: x('s-pending'), Running: x('s-running'), Failed: x('s-failed'),
			Model: x('s-model'), Deleted: x('s-deleted'), Health: x('health'), Webhooks: x('s-wh-count'),
			Lines: document.querySelectorAll('#chart polyline').length}; })()`)
	}
	st := read()
	if st.Vectors != "5" || st.Failed != "1" || st.Pending != "0" || st.Model != builtin.Name || st.Deleted != "удалено: 0" ||
		st.Health != "С ошибкой: 1" || st.Lines != 2 || !strings.Contains(st.Webhooks, "всего: 6") {
		t.Fatalf("dashboard: %+v", st)
	}
	if tok := eval[string](b, `sessionStorage.getItem('lookalike.adminToken')`); tok != testAdmin {
		t.Fatalf("token in sessionStorage: %q", tok)
	}
	// The failed product, with its reason.
	b.waitJS("the failed product", `!!document.querySelector('#failed li[data-product-id="50"]')`, 10*time.Second)
	if txt := eval[string](b, `document.querySelector('#failed li[data-product-id="50"]').innerText`); !strings.Contains(txt, "404 Not Found") || !strings.Contains(txt, "Пионы") {
		t.Fatalf("failed item: %q", txt)
	}
	b.screenshots("admin", nil)

	// The photo appears; Retry indexes it and it leaves the list.
	images.mu.Lock()
	images.files["/img/x.jpg"] = readPhoto(t, "roses")
	images.mu.Unlock()
	b.do("retry", chromedp.Click(chromedp.CSS(`#failed li[data-product-id="50"] button.retry`)))
	b.waitJS("the product to leave the failed list", `!document.querySelector('#failed li[data-product-id="50"]')`, 10*time.Second)
	b.waitJS("6 vectors, no failures", `document.getElementById('s-vectors').textContent === '6' && document.getElementById('s-failed').textContent === '0'`, 15*time.Second)
	if p := srv.getJSON("/api/v1/products/50"); p.body["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("product 50 after retry: %s", p.raw)
	}
	if txt := eval[string](b, `document.getElementById('failed-msg').textContent`); !strings.Contains(txt, "Ошибок нет") {
		t.Fatalf("failed list after retry: %q", txt)
	}

	// Look the product up: its fields, index state and neighbours.
	b.do("look up 50", chromedp.SendKeys(chromedp.ID("lookup-id"), "50"), chromedp.Click(chromedp.CSS("#lookup button")))
	b.waitJS("neighbours", `document.querySelectorAll('#product .neighbours li').length > 0`, 10*time.Second)
	txt := nbsp(eval[string](b, `document.getElementById('product').innerText`))
	for _, want := range []string{"Пионы (фото потерялось)", "12 000 ₸", "проиндексирован", builtin.Name, "Ближайшие соседи"} {
		if !strings.Contains(txt, want) {
			t.Fatalf("product view lacks %q:\n%s", want, txt)
		}
	}
	// Its photo is the roses' photo, so the roses are its nearest neighbour.
	if id := eval[int](b, `+document.querySelector('#product .neighbours li').dataset.productId`); id != 201 {
		t.Fatalf("nearest neighbour of a roses photo: %d", id)
	}
	if n := eval[int](b, `Array.from(document.querySelectorAll('#product img')).filter(i => i.getAttribute('src').startsWith('/images/')).length`); n < 2 {
		t.Fatalf("%d thumbnails in the product view", n)
	}

	// Reindex all, with its progress reaching the end.
	b.do("reindex all", chromedp.Click(chromedp.ID("reindex")), chromedp.Click(chromedp.ID("reindex-yes")))
	b.waitJS("the reindex to finish", `document.getElementById('reindex-status').textContent.startsWith('Готово')`, 20*time.Second)
	if v := eval[[]float64](b, `[document.getElementById('reindex-progress').value, document.getElementById('reindex-progress').max]`); v[0] != 6 || v[1] != 6 {
		t.Fatalf("progress bar at the end: %v", v)
	}

	// English, and the token survives a reload of the tab.
	b.do("switch to English", chromedp.Click(chromedp.CSS(`.lang button[data-lang="en"]`)))
	b.do("reload", chromedp.Navigate(srv.url+"/admin"))
	b.waitJS("the dashboard again", `!document.getElementById('dash').hidden && document.getElementById('s-vectors').textContent === '6'`, 10*time.Second)
	if txt := eval[string](b, `document.querySelector('#dash h1').textContent + '|' + document.getElementById('health').textContent`); txt != "Index health|Everything is indexed" {
		t.Fatalf("dashboard in English: %q", txt)
	}
	b.do("sign out", chromedp.Click(chromedp.ID("logout")))
	if eval[bool](b, `document.getElementById('login').hidden || sessionStorage.getItem('lookalike.adminToken') !== null`) {
		t.Fatal("signing out left the dashboard or the token")
	}
	b.checkClean(srv.url)
	t.Logf("browser part took %s", time.Since(start).Round(time.Millisecond))
}
