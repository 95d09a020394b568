package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// inCorner pastes photo into the bottom right corner of a frame of the
// unrelated stripes three times its size: a bouquet that the whole frame
// hides and a box around it finds.
func inCorner(t *testing.T, photo []byte) []byte {
	t.Helper()
	fl, err := jpeg.Decode(bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	stripes, _ := jpeg.Decode(bytes.NewReader(unrelatedPhoto(t)))
	fb := fl.Bounds()
	w, h := 3*fb.Dx(), 3*fb.Dy()
	frame := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(frame, frame.Bounds(), scaled(stripes, w, h), image.Point{}, draw.Src)
	draw.Draw(frame, image.Rect(w-fb.Dx(), h-fb.Dy(), w, h), fl, fb.Min, draw.Src)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, frame, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// touch dispatches one finger's touch event at viewport point (x, y)
// (touchEnd takes no point).
func touch(typ input.DispatchTouchEventType, x, y float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		p := input.DispatchTouchEventParams{Type: typ, TouchPoints: []*input.TouchPoint{}}
		if typ != input.DispatchTouchEventTypeTouchEnd {
			p.TouchPoints = []*input.TouchPoint{{X: x, Y: y}}
		}
		_, err := cdp.Call(ctx, t, input.DispatchTouchEvent, p)
		return err
	})
}

// The shopper's results lead somewhere: bands instead of percentages, the
// sold-out exact match first and marked (with the shop's "notify me"),
// cards that link to the product's page in the same tab, the closest few
// under their own heading when nothing is alike, a box drawn around the
// bouquet (mouse, then finger) that searches just that region, sorting by
// price, "show more", the height filter, and on a phone a scroll to the
// results after an upload.
func TestUIShopperResults(t *testing.T) {
	chromium(t)
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), map[string]string{"LOOKALIKE_DEFAULT_SHOP_ID": "8"})
	// The dandelions (205) are sold out and have a "notify me" page; every
	// product but the tulips has a page on the shop's site.
	seedUICatalogueWith(t, srv, images, 8, func(id int) string {
		switch id {
		case 204:
			return ""
		case 205:
			return `,"url":"/catalog/205/","notify_url":"/personal/subscribe/?id=205"`
		}
		return fmt.Sprintf(`,"url":"/catalog/%d/"`, id)
	})
	srv.waitFor("5 vectors", func() bool { return num(srv.stats()["vectors"]) == 5 })

	file := tempFiles(t)
	dandelions := file("dandelions.jpg", rephotograph(t, readPhoto(t, "dandelion")))
	corner := file("table.jpg", inCorner(t, readPhoto(t, "sunflowers")))
	stripes := file("stripes.jpg", unrelatedPhoto(t))
	roses := file("roses.jpg", rephotograph(t, readPhoto(t, "roses")))

	b := newBrowser(t)
	b.do("open the shop page", chromedp.Navigate(srv.url+"/"), chromedp.WaitVisible(chromedp.ID("drop")))
	type card struct {
		ID     int     `json:"id"`
		Band   string  `json:"band"`
		Label  string  `json:"label"`
		Text   string  `json:"text"`
		Href   string  `json:"href"`
		Target string  `json:"target"`
		Notify string  `json:"notify"`
		Price  float64 `json:"price"`
		Height string  `json:"height"`
	}
	cards := func() []card {
		return eval[[]card](b, `Array.from(document.querySelectorAll('#grid > li')).map(li => {
			const a = li.querySelector('h3 a'), n = li.querySelector('a.notify');
			const price = (li.querySelector('.price') || {}).textContent || '';
			return {id: +li.dataset.productId, band: li.dataset.band, label: li.querySelector('.thumb .band').textContent, text: li.innerText,
				href: a ? a.getAttribute('href') : '', target: a ? a.target : '', notify: n ? n.getAttribute('href') : '',
				price: +price.replace(/[^\d,]/g, '').replace(',', '.'), height: (li.querySelector('.height') || {}).textContent || ''};
		})`)
	}
	settled := `['done', 'closest', 'none'].includes(document.getElementById('results').dataset.state)`
	type rect struct{ X, Y, W, H float64 }
	var r rect
	// at is the viewport point at fractions (fx, fy) of the photo in the crop box.
	at := func(fx, fy float64) (float64, float64) {
		eval[bool](b, `(document.getElementById('crop-area').scrollIntoView({block: 'center'}), true)`)
		r = eval[rect](b, `(() => { const r = document.getElementById('crop-img').getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`)
		return r.X + fx*r.W, r.Y + fy*r.H
	}
	// mouseBox draws a box with the mouse from one point of the photo to another.
	mouseBox := func(fx0, fy0, fx1, fy1 float64) {
		x0, y0 := at(fx0, fy0)
		x1, y1 := at(fx1, fy1)
		b.do("draw the box with the mouse",
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x0, y0),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x0, y0, chromedp.ButtonLeft, chromedp.ClickCount(1)),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, (x0+x1)/2, (y0+y1)/2, chromedp.ButtonLeft),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x1, y1, chromedp.ButtonLeft),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x1, y1, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	}

	// A photo of the sold-out dandelions: they come first, "this is it",
	// marked sold out with the shop's "notify me" link; no percentage.
	b.do("upload the dandelions", chromedp.SetUploadFiles(chromedp.ID("file"), []string{dandelions}))
	b.waitJS("results", `document.getElementById('results').dataset.state === 'done'`, 15*time.Second)
	got := cards()
	if len(got) == 0 || got[0].ID != 205 || got[0].Band != "exact" || got[0].Label != "Это он" ||
		!strings.Contains(got[0].Text, "Этот букет распродан") || !strings.Contains(got[0].Text, "Нет в наличии") ||
		got[0].Notify != "/personal/subscribe/?id=205" || got[0].Href != "/catalog/205/" || strings.Contains(got[0].Text, "%") {
		t.Fatalf("first card for the sold-out dandelions: %+v%s", got, b.report())
	}
	for _, c := range got[1:] {
		if strings.Contains(c.Text, "Нет в наличии") {
			t.Fatalf("a sold-out product that is not the exact match shows by default: %+v", c)
		}
	}
	// A box around most of the photo still finds them.
	mouseBox(0.06, 0.04, 0.96, 0.97)
	b.waitJS("the boxed search", `document.getElementById('results').dataset.state === 'done' && !document.getElementById('crop-box').hidden &&
		document.querySelector('#grid > li').dataset.productId === '205'`, 15*time.Second)
	b.waitJS("thumbnails to load", `Array.from(document.querySelectorAll('#grid img')).every(i => i.complete && i.naturalWidth > 0)`, 10*time.Second)
	b.screenshots("shop", func(phone bool) {
		eval[bool](b, `(document.activeElement.blur(), document.getElementById(innerWidth < 960 ? 'crop' : 'title').scrollIntoView({block: 'start'}), true)`)
	})

	// Nothing alike (a photo of stripes): the closest few under a heading,
	// each marked as a loose match; the tulips, with no page, link nowhere.
	b.do("upload the stripes", chromedp.SetUploadFiles(chromedp.ID("file"), []string{stripes}))
	b.waitJS("the closest", `document.getElementById('results').dataset.state === 'closest'`, 15*time.Second)
	if h := eval[string](b, `document.getElementById('closest').hidden ? '' : document.getElementById('closest').textContent`); h != "Ближе всего из того, что есть" {
		t.Fatalf("closest heading %q", h)
	}
	got = cards()
	if len(got) == 0 || len(got) > 4 {
		t.Fatalf("closest: %+v", got)
	}
	for _, c := range got {
		if c.Band != "weak" || c.Label != "Отдалённо похож" {
			t.Fatalf("a loose match shown as %q/%q", c.Band, c.Label)
		}
		if (c.ID == 204) != (c.Href == "") || (c.Href != "" && c.Href != fmt.Sprintf("/catalog/%d/", c.ID)) || c.Target != "" {
			t.Fatalf("card %d links to %q (target %q)", c.ID, c.Href, c.Target)
		}
	}
	if n := eval[int](b, `document.querySelectorAll('#grid > li[data-product-id="204"] a').length`); n != 0 {
		t.Fatalf("the tulips have no page but %d links", n)
	}

	// Heights from 40 cm: the 35 cm daisies and 25 cm dandelions go.
	b.do("height from 40", chromedp.SendKeys(chromedp.ID("height-min"), "40"))
	b.waitJS("results without the short bouquets", settled+` && !document.querySelector('#grid > li[data-product-id="202"]')`, 10*time.Second)
	for _, c := range cards() {
		if c.ID == 202 || c.ID == 205 {
			t.Fatalf("a bouquet under 40 cm shows with height from 40: %+v", c)
		}
	}
	eval[bool](b, `(() => { const i = document.getElementById('height-min'); i.value = ''; i.dispatchEvent(new Event('change')); return true; })()`)
	b.waitJS("the short bouquets back", settled+` && !!document.querySelector('#grid > li[data-product-id="202"]')`, 10*time.Second)

	// The sunflowers in a corner of a table photo: the whole frame does not
	// find them; a box drawn with the mouse around them does.
	b.do("upload the table photo", chromedp.SetUploadFiles(chromedp.ID("file"), []string{corner}))
	b.waitJS("results", settled+` && !document.getElementById('crop').hidden && document.getElementById('crop-img').complete`, 15*time.Second)
	if got := cards(); len(got) > 0 && got[0].ID == 203 && got[0].Band == "exact" {
		t.Fatalf("the whole frame already finds the sunflowers; the box proves nothing: %+v", got[0])
	}
	eval[bool](b, `(window.__pointers = [], document.addEventListener('pointerdown', e => window.__pointers.push(e.pointerType), true), true)`)
	mouseBox(0.67, 0.67, 1.02, 1.02) // past the photo's corner: the box stops at the edge
	b.waitJS("the sunflowers", `document.getElementById('results').dataset.state === 'done' &&
		document.querySelector('#grid > li').dataset.productId === '203' && document.querySelector('#grid > li').dataset.band === 'exact'`, 15*time.Second)
	if box := eval[string](b, `(() => { const s = document.getElementById('crop-box').style; return [s.left, s.top].map(v => Math.round(parseFloat(v))).join(','); })()`); box != "67,67" {
		t.Fatalf("the box is at %s%%, not where it was drawn", box)
	}
	// The same with a finger: back to the whole photo, then a box drawn by
	// touch (a touch pointer; the drag does not scroll the page).
	b.do("whole photo", chromedp.Click(chromedp.ID("crop-reset")))
	b.waitJS("the whole frame again", settled+` && document.getElementById('crop-box').hidden &&
		!(document.querySelector('#grid > li') && document.querySelector('#grid > li').dataset.productId === '203' && document.querySelector('#grid > li').dataset.band === 'exact')`, 15*time.Second)
	if _, err := chromedp.Run(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 1})
		return err
	})); err != nil {
		t.Fatalf("touch emulation: %v", err)
	}
	x0, y0 := at(0.668, 0.668)
	x1, y1 := at(1.02, 1.02)
	scroll := eval[float64](b, `scrollY`)
	b.do("draw the box with a finger",
		touch(input.DispatchTouchEventTypeTouchStart, x0, y0),
		touch(input.DispatchTouchEventTypeTouchMove, (x0+x1)/2, (y0+y1)/2),
		touch(input.DispatchTouchEventTypeTouchMove, x1, y1),
		touch(input.DispatchTouchEventTypeTouchEnd, 0, 0))
	b.waitJS("the sunflowers by finger", `document.getElementById('results').dataset.state === 'done' &&
		document.querySelector('#grid > li').dataset.productId === '203' && document.querySelector('#grid > li').dataset.band === 'exact'`, 15*time.Second)
	if kinds := eval[string](b, `window.__pointers.join(',')`); !strings.Contains(kinds, "touch") {
		t.Fatalf("pointer types seen: %q, no touch", kinds)
	}
	if now := eval[float64](b, `scrollY`); now != scroll {
		t.Fatalf("the finger's drag scrolled the page from %v to %v", scroll, now)
	}

	// And with the keyboard: Escape is the whole photo again; arrows bring
	// a box, Shift with arrows shrinks it, arrows move it to the corner,
	// Enter searches it.
	b.do("focus the photo", chromedp.Focus(chromedp.ID("crop-area")), chromedp.KeyEvent(kb.Escape))
	b.waitJS("the whole frame by Escape", settled+` && document.getElementById('crop-box').hidden &&
		!(document.querySelector('#grid > li') && document.querySelector('#grid > li').dataset.productId === '203' && document.querySelector('#grid > li').dataset.band === 'exact')`, 15*time.Second)
	var keys []chromedp.Action[chromedp.Void]
	for i := 0; i < 24; i++ {
		keys = append(keys, chromedp.KeyEvent(kb.ArrowLeft, chromedp.KeyModifiers(chromedp.ModifierShift)),
			chromedp.KeyEvent(kb.ArrowUp, chromedp.KeyModifiers(chromedp.ModifierShift)))
	}
	for i := 0; i < 30; i++ {
		keys = append(keys, chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowDown))
	}
	b.do("move the box with the keys", keys...)
	if box := eval[string](b, `(() => { const s = document.getElementById('crop-box').style; return [s.left, s.top, s.width, s.height].map(v => Math.round(parseFloat(v))).join(','); })()`); box != "68,68,32,32" {
		t.Fatalf("the box moved by keys is at %s%%", box)
	}
	b.do("search the box", chromedp.KeyEvent(kb.Enter))
	b.waitJS("the sunflowers by keyboard", `document.getElementById('results').dataset.state === 'done' &&
		document.querySelector('#grid > li').dataset.productId === '203' && document.querySelector('#grid > li').dataset.band === 'exact'`, 15*time.Second)

	// Many bouquets alike (26 more with the roses' photo): a page of 24,
	// "show more" brings the rest; sorting by price orders them.
	for i := 0; i < 26; i++ {
		body := fmt.Sprintf(`{"event_type":"product.created","shop_id":8,"product_data":{"id":%d,"title":"Розы, %d шт","price":"%d ₸","isAvailable":true,"image":%q,"catalogHeight":"60 см","url":"/catalog/%d/"}}`,
			300+i, 5+i, 20000-(i*7%26)*500, images.URL+"/img/roses.jpg", 300+i)
		if r := srv.webhook(body); r.status != 200 {
			t.Fatalf("create %d: %d %s", 300+i, r.status, r.raw)
		}
	}
	srv.waitFor("31 vectors", func() bool { return num(srv.stats()["vectors"]) == 31 })
	b.do("upload the roses", chromedp.SetUploadFiles(chromedp.ID("file"), []string{roses}))
	b.waitJS("a full page", `document.getElementById('results').dataset.state === 'done' && document.querySelectorAll('#grid > li').length === 24`, 15*time.Second)
	if eval[bool](b, `document.getElementById('more').hidden`) {
		t.Fatal("no \"show more\" after a full page")
	}
	b.do("show more", chromedp.Click(chromedp.ID("more")))
	b.waitJS("the rest", `document.getElementById('results').dataset.state === 'done' && document.querySelectorAll('#grid > li').length === 27`, 15*time.Second)
	if !eval[bool](b, `document.getElementById('more').hidden`) {
		t.Fatal("\"show more\" after the last page")
	}
	seen := map[int]bool{}
	for _, c := range cards() {
		if seen[c.ID] {
			t.Fatalf("product %d twice after \"show more\"", c.ID)
		}
		seen[c.ID] = true
	}
	for _, order := range []string{"price_asc", "price_desc"} {
		eval[bool](b, fmt.Sprintf(`(() => { const s = document.getElementById('sort'); s.value = %q; s.dispatchEvent(new Event('change')); return true; })()`, order))
		got = cards()
		if len(got) != 27 {
			t.Fatalf("%s: %d cards", order, len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i-1].Band == got[i].Band && ((order == "price_asc" && got[i-1].Price > got[i].Price) || (order == "price_desc" && got[i-1].Price < got[i].Price)) {
				t.Fatalf("%s: %v before %v", order, got[i-1].Price, got[i].Price)
			}
		}
	}

	b.checkClean(srv.url)

	// A card's link opens the product's page in the same tab.
	href := eval[string](b, `document.querySelector('#grid > li h3 a').href`)
	if !strings.HasPrefix(href, srv.url+"/catalog/") {
		t.Fatalf("the card links to %s", href)
	}
	b.do("open the first product", chromedp.Click(chromedp.CSS("#grid > li h3 a")),
		chromedp.WaitVisible(chromedp.CSS("body")))
	b.waitJS("the product page in this tab", fmt.Sprintf(`location.href === %q`, href), 10*time.Second)
}

// On a phone, the results are below the picker and the filters: after an
// upload the page scrolls to them.
func TestUIShopperPhoneScrollsToResults(t *testing.T) {
	chromium(t)
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	seedUICatalogue(t, srv, images, 8)
	srv.waitFor("5 vectors", func() bool { return num(srv.stats()["vectors"]) == 5 })
	photo := filepath.Join(t.TempDir(), "roses.jpg")
	os.WriteFile(photo, rephotograph(t, readPhoto(t, "roses")), 0o644)

	b := newBrowser(t)
	b.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.do("open the shop page", chromedp.Navigate(srv.url+"/?shop=8"), chromedp.WaitVisible(chromedp.ID("drop")))
	if y := eval[float64](b, `scrollY`); y != 0 {
		t.Fatalf("the page starts scrolled to %v", y)
	}
	b.do("upload", chromedp.SetUploadFiles(chromedp.ID("file"), []string{photo}))
	b.waitJS("the results", `document.getElementById('results').dataset.state === 'done'`, 15*time.Second)
	// At the results' top, or as far as the page goes.
	b.waitJS("the results in view", `scrollY > 0 && (Math.abs(document.getElementById('results').getBoundingClientRect().top) < 2 ||
		Math.abs(scrollY + innerHeight - document.documentElement.scrollHeight) < 2)`, 5*time.Second)
	b.checkClean(srv.url)
}
