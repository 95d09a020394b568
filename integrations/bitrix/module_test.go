package bitrix_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// These tests install the lookalike.sync module the way Marketplace →
// Installed solutions does (CModule::CreateModuleObject, DoInstall), into a
// site whose DOCUMENT_ROOT holds a copy of the module in local/modules/, and
// drive its admin pages (settings, "Send the whole catalogue") as the admin
// would, against the real server. Bitrix's database (modules, registered
// handlers, agents, options) is the stand-ins' fixture, carried from one
// request to the next.

const moduleID = "lookalike.sync"

// newModuleSite is a Bitrix site with the module copied into
// DOCUMENT_ROOT/local/modules/lookalike.sync (not installed yet) and no
// drop-in in init.php.
func newModuleSite(t *testing.T, serviceURL, imagesURL string) *site {
	s := newSite(t, serviceURL, imagesURL)
	s.config = map[string]any{"LOOKALIKE_RETRY_BASE_SECONDS": 1}
	s.dropin = false
	root := t.TempDir()
	s.docroot = filepath.Join(root, "www")
	s.box = filepath.Join(root, "outbox")
	if err := os.CopyFS(filepath.Join(s.docroot, "local", "modules", moduleID), os.DirFS(moduleID)); err != nil {
		t.Fatal(err)
	}
	s.db["iblocks"] = []any{
		map[string]any{"ID": 2, "NAME": "Букеты", "IBLOCK_TYPE_ID": "catalog"},
		map[string]any{"ID": 3, "NAME": "Новости", "IBLOCK_TYPE_ID": "news"},
		map[string]any{"ID": 4, "NAME": "Предложения", "IBLOCK_TYPE_ID": "offers"},
	}
	return s
}

type moduleStep struct {
	HTML      string  `json:"html"`
	Title     string  `json:"title"`
	Exception *string `json:"exception"`
	Name      string  `json:"name"`
	Version   string  `json:"version"`
}

type pageResult struct {
	HTML     string          `json:"html"`
	Redirect *string         `json:"redirect"`
	Returned json.RawMessage `json:"returned"`
	Title    string          `json:"title"`
}

func (s *site) module(action string) moduleStep {
	s.t.Helper()
	var r moduleStep
	s.request(step{"do": action}).result(0, &r)
	return r
}

// page opens an admin page: GET with get, or POST of post (with the session id).
func (s *site) page(file string, get, post map[string]any) pageResult {
	s.t.Helper()
	st := step{"do": "page", "file": file}
	if get != nil {
		st["get"] = get
	}
	if post != nil {
		st["post"] = post
	}
	var r pageResult
	s.request(st).result(0, &r)
	return r
}

// options is the module's stored options.
func (s *site) options() map[string]string {
	s.t.Helper()
	all, _ := s.db["options"].(map[string]any)
	mod, _ := all[moduleID].(map[string]any)
	out := map[string]string{}
	for k, v := range mod {
		out[k] = fmt.Sprint(v)
	}
	return out
}

func (s *site) rows(table string) []map[string]any {
	var out []map[string]any
	list, _ := s.db[table].([]any)
	for _, r := range list {
		out = append(out, r.(map[string]any))
	}
	return out
}

func (s *site) modules() []string {
	var out []string
	for _, m := range s.db["modules"].([]any) {
		out = append(out, m.(string))
	}
	return out
}

// settingsForm is the options page's form as an admin fills it in.
func settingsForm(serviceURL, imagesURL, outbox string) map[string]any {
	return map[string]any{
		"save": "Y", "url": serviceURL, "webhook_secret": sharedSecret, "signing_secret": "", "shop_id": "8",
		"site_url": imagesURL, "iblock_ids": []string{"2", "5"}, "height_property": "HEIGHT",
		"photo_fields": []string{"DETAIL_PICTURE", "PREVIEW_PICTURE", "MORE_PHOTO"}, "more_photo_property": "MORE_PHOTO",
		"offers": "Y", "price_group_id": "0", "max_photos": "10", "outbox_dir": outbox,
	}
}

func with(form map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range form {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// The module's whole life: install from "Installed solutions" registers the
// handlers and the agent; the settings page stores the secret without ever
// printing it, refuses bad input as a whole, checks the connection; a save
// in the catalogue reaches the server; the outbox's depth and last error
// show; uninstall removes handlers, agent, options, outbox and admin page.
func TestBitrixModuleLifecycle(t *testing.T) {
	svc := startService(t)
	img := newImages(t)
	s := newModuleSite(t, svc.url, img.URL)

	// Copied but not installed: nothing listens.
	if out := s.request(added(101, 2), endRequest); len(out.Requests) != 0 {
		t.Fatalf("sent before the install: %+v", out.Requests)
	}

	inst := s.module("install")
	if inst.Exception != nil || !strings.Contains(inst.HTML, "The module is installed") || inst.Version != "1.1.0" ||
		inst.Name != "lookalike: search by photo" || !strings.Contains(inst.HTML, "settings.php?lang=en&amp;mid=lookalike.sync") {
		t.Fatalf("install: %+v", inst)
	}
	if !slices.Contains(s.modules(), moduleID) {
		t.Fatalf("modules after install: %v", s.modules())
	}
	var handlers []string
	for _, h := range s.rows("module_handlers") {
		if h["TO_MODULE_ID"] != moduleID || h["TO_CLASS"] != "LookalikeSync" {
			t.Fatalf("handler %v", h)
		}
		handlers = append(handlers, fmt.Sprintf("%s %s %s v%v", h["FROM_MODULE_ID"], h["MESSAGE_ID"], h["TO_METHOD"], h["VERSION"]))
	}
	slices.Sort(handlers)
	want := []string{
		`catalog \Bitrix\Catalog\Model\Price::OnAfterAdd onPriceEvent v2`,
		`catalog \Bitrix\Catalog\Model\Price::OnAfterUpdate onPriceEvent v2`,
		`catalog \Bitrix\Catalog\Model\Price::OnDelete onPriceEvent v2`,
		`catalog \Bitrix\Catalog\Model\Product::OnAfterAdd onProductEvent v2`,
		`catalog \Bitrix\Catalog\Model\Product::OnAfterUpdate onProductEvent v2`,
		"iblock OnAfterIBlockElementAdd onAfterElementAdd v1",
		"iblock OnAfterIBlockElementSetPropertyValues onPropertyValuesSet v1",
		"iblock OnAfterIBlockElementSetPropertyValuesEx onPropertyValuesSet v1",
		"iblock OnAfterIBlockElementUpdate onAfterElementUpdate v1",
		"iblock OnBeforeIBlockElementDelete onBeforeElementDelete v1",
	}
	if !slices.Equal(handlers, want) {
		t.Fatalf("registered handlers:\n%s\nwant:\n%s", strings.Join(handlers, "\n"), strings.Join(want, "\n"))
	}
	if agents := s.rows("agents"); len(agents) != 1 || agents[0]["NAME"] != "LookalikeSync::agent();" || agents[0]["MODULE_ID"] != moduleID {
		t.Fatalf("agents: %v", agents)
	}
	adminPage := filepath.Join(s.docroot, "bitrix", "admin", "lookalike_sync_backfill.php")
	if _, err := os.Stat(adminPage); err != nil {
		t.Fatalf("the backfill admin page was not installed: %v", err)
	}

	// The settings page, first visit: the info blocks to choose from, the
	// default outbox folder outside the web root.
	p := s.page("options", nil, nil)
	for _, w := range []string{`[2] Букеты (catalog)`, `[4] Предложения`, `name="url"`, `name="webhook_secret"`, "Check connection",
		filepath.Join(filepath.Dir(s.docroot), "lookalike-outbox"), `name="photo_fields[]" value="MORE_PHOTO" checked`} {
		if !strings.Contains(p.HTML, w) {
			t.Fatalf("settings page lacks %q:\n%s", w, p.HTML)
		}
	}

	// Looking makes no outbox folder.
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.docroot), "lookalike-outbox")); !os.IsNotExist(err) {
		t.Fatalf("the settings page made the outbox folder: %v", err)
	}
	// A folder that cannot be made: the page says so, and still works.
	notDir := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(notDir, nil, 0o644)
	s.db["options"] = map[string]any{moduleID: map[string]any{"outbox_dir": filepath.Join(notDir, "outbox")}}
	if p = s.page("options", nil, nil); !strings.Contains(p.HTML, "Outbox folder: cannot create or write to "+filepath.Join(notDir, "outbox")) ||
		!strings.Contains(p.HTML, `name="save"`) {
		t.Fatalf("unwritable outbox:\n%s", p.HTML)
	}

	// Save: stored, and back to the page (Post/Redirect/Get).
	form := settingsForm(svc.url, img.URL, s.box)
	p = s.page("options", nil, form)
	if p.Redirect == nil || !strings.Contains(*p.Redirect, "mid=lookalike.sync") || !strings.Contains(*p.Redirect, "saved=Y") {
		t.Fatalf("save: redirect %v, page:\n%s", p.Redirect, p.HTML)
	}
	if o := s.options(); o["webhook_secret"] != sharedSecret || o["url"] != svc.url || o["iblock_ids"] != "2,5" || o["shop_id"] != "8" ||
		o["photo_fields"] != "DETAIL_PICTURE,PREVIEW_PICTURE,MORE_PHOTO" || o["offers"] != "Y" || o["outbox_dir"] != s.box {
		t.Fatalf("stored options: %v", o)
	}
	// The secret is never printed back, in either language; the page says one is set.
	for lang, texts := range map[string][]string{"en": {"Settings saved", "set; leave empty to keep it"}, "ru": {"Настройки сохранены", "задан; оставьте поле пустым"}} {
		s.lang = lang
		p = s.page("options", map[string]any{"saved": "Y"}, nil)
		if strings.Contains(p.HTML, sharedSecret) {
			t.Fatalf("the %s page prints the secret:\n%s", lang, p.HTML)
		}
		for _, w := range append(texts, `value="`+svc.url+`"`, `<option value="2" selected>`, `<option value="3">`) {
			if !strings.Contains(p.HTML, w) {
				t.Fatalf("the %s page lacks %q:\n%s", lang, w, p.HTML)
			}
		}
	}
	s.lang = ""

	// A refused save changes nothing, says why per field, and does not echo a posted secret.
	p = s.page("options", nil, with(form, "url", "ftp://lookalike", "shop_id", "9", "outbox_dir", "relative/outbox", "webhook_secret", "posted-but-refused-secret"))
	if p.Redirect != nil {
		t.Fatalf("a bad form was saved: %v", *p.Redirect)
	}
	for _, w := range []string{"Settings not saved", "Service address: an http:// or https:// address is needed", "Outbox folder: a full path"} {
		if !strings.Contains(p.HTML, w) {
			t.Fatalf("refused save lacks %q:\n%s", w, p.HTML)
		}
	}
	if strings.Contains(p.HTML, "posted-but-refused-secret") || strings.Contains(p.HTML, sharedSecret) {
		t.Fatal("a refused save printed a secret")
	}
	if o := s.options(); o["shop_id"] != "8" || o["url"] != svc.url || o["webhook_secret"] != sharedSecret {
		t.Fatalf("a refused save changed the options: %v", o)
	}

	// A read-only admin sees the page (no secret) and cannot change anything.
	s.right = "R"
	p = s.page("options", nil, with(form, "url", "http://elsewhere.example", "check_connection", "Y"))
	if p.Redirect != nil || !strings.Contains(p.HTML, `class="adm-btn-save" disabled`) || strings.Contains(p.HTML, sharedSecret) || s.options()["url"] != svc.url {
		t.Fatalf("read-only admin: %v, options %v\n%s", p.Redirect, s.options(), p.HTML)
	}
	s.right = ""

	// Check connection (which saves the form first): a signed ping, the server's reply shown.
	p = s.page("options", nil, with(form, "check_connection", "Y"))
	if !strings.Contains(p.HTML, "Connected: the service accepted the secret") || !strings.Contains(p.HTML, `&quot;action&quot;:&quot;ping&quot;`) ||
		!strings.Contains(p.HTML, `&quot;shop_id&quot;:8`) {
		t.Fatalf("check connection:\n%s", p.HTML)
	}

	// A save in the catalogue reaches the server through the registered
	// handlers (the iblock event's and the catalog's D7 ones).
	out := s.request(added(101, 2),
		d7("Price", "OnAfterAdd", map[string]any{"id": 1, "fields": map[string]any{"PRODUCT_ID": 101, "PRICE": 18500}}),
		endRequest)
	if len(out.Requests) != 1 || out.Requests[0].Status != 200 || out.Requests[0].Headers["X-Webhook-Secret"] != sharedSecret {
		t.Fatalf("element save: %+v log %q", out.Requests, out.Log)
	}
	if p := svc.waitIndexed(101); p["title"] != "Букет из 25 белых роз" || p["price"] != 18500.0 || p["height_cm"] != 60.0 ||
		p["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("stored 101: %v", p)
	}
	s.set("prices", 1, "PRICE", "19900.00")
	out = s.request(d7("Price", "OnAfterUpdate", map[string]any{"id": 1, "fields": map[string]any{"PRICE": 19900}}), endRequest)
	if len(out.Requests) != 1 || svc.product(101)["price"] != 19900.0 {
		t.Fatalf("price event: %+v", out.Requests)
	}

	// A wrong secret: the check says so, with the server's reason.
	p = s.page("options", nil, with(form, "webhook_secret", "not-the-servers-secret", "check_connection", "Y"))
	if !strings.Contains(p.HTML, "The service refused the secret or signature (HTTP 401)") || !strings.Contains(p.HTML, "wrong webhook secret in X-Webhook-Secret") ||
		strings.Contains(p.HTML, "not-the-servers-secret") {
		t.Fatalf("check with a wrong secret:\n%s", p.HTML)
	}
	s.page("options", nil, form)

	// The service down: the change waits, the page shows the outbox and the
	// error, and the module's agent delivers once it is back.
	down := closedURL(t)
	s.page("options", nil, with(form, "url", down))
	s.set("elements", 101, "NAME", "Букет из 25 роз (в пути)")
	if out := s.request(updated(101, 2), endRequest); len(out.Requests) != 1 || len(s.outbox()) != 1 {
		t.Fatalf("while down: %+v outbox %v", out.Requests, s.outbox())
	}
	p = s.page("options", nil, with(form, "url", down, "check_connection", "Y"))
	if !strings.Contains(p.HTML, "Cannot reach the service") || !strings.Contains(p.HTML, `<td id="lookalike_status_waiting">1</td>`) ||
		!regexp.MustCompile(`<td id="lookalike_status_error">cannot reach http://127\.0\.0\.1:\d+/api/v1/webhooks/product-sync`).MatchString(p.HTML) {
		t.Fatalf("page while down:\n%s", p.HTML)
	}
	s.page("options", nil, form)
	s.waitBackoff()
	out = s.request(step{"do": "agents"})
	if len(out.Requests) != 1 || out.Requests[0].Status != 200 || len(s.outbox()) != 0 {
		t.Fatalf("agent: %+v outbox %v log %q", out.Requests, s.outbox(), out.Log)
	}
	if p := svc.product(101); p["title"] != "Букет из 25 роз (в пути)" {
		t.Fatalf("101 after the agent: %v", p)
	}
	if p = s.page("options", nil, nil); !strings.Contains(p.HTML, `<td id="lookalike_status_waiting">0</td>`) || !strings.Contains(p.HTML, `<td id="lookalike_status_error">—</td>`) {
		t.Fatalf("page after recovery:\n%s", p.HTML)
	}

	// The admin menu's entry.
	var menu map[string]any
	if p = s.page("menu", nil, nil); json.Unmarshal(p.Returned, &menu) != nil || menu["url"] != "lookalike_sync_backfill.php?lang=en" ||
		menu["parent_menu"] != "global_menu_services" {
		t.Fatalf("menu: %s", p.Returned)
	}

	// Uninstall, with one change still waiting: everything goes, and says so.
	s.page("options", nil, with(form, "url", down))
	s.request(updated(102, 2), endRequest)
	if len(s.outbox()) != 1 {
		t.Fatalf("outbox before uninstall: %v", s.outbox())
	}
	s.lang = "ru"
	un := s.module("uninstall")
	if !strings.Contains(un.HTML, "Модуль удалён") || !strings.Contains(un.HTML, "Не отправлено и удалено из очереди изменений: 1.") {
		t.Fatalf("uninstall: %+v", un)
	}
	if slices.Contains(s.modules(), moduleID) || len(s.rows("module_handlers")) != 0 || len(s.rows("agents")) != 0 || len(s.options()) != 0 {
		t.Fatalf("left after uninstall: modules %v, handlers %v, agents %v, options %v", s.modules(), s.rows("module_handlers"), s.rows("agents"), s.options())
	}
	if _, err := os.Stat(s.box); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(s.box)
		t.Fatalf("the outbox folder stays: %v %v", err, entries)
	}
	if _, err := os.Stat(adminPage); !os.IsNotExist(err) {
		t.Fatalf("the admin page stays: %v", err)
	}
	if out := s.request(updated(101, 2), endRequest); len(out.Requests) != 0 {
		t.Fatalf("sent after the uninstall: %+v", out.Requests)
	}
}

type backfillReply struct {
	Cursor    int    `json:"cursor"`
	Done      bool   `json:"done"`
	Queued    int    `json:"queued"`
	Delivered int    `json:"delivered"`
	Waiting   int    `json:"waiting"`
	Total     int    `json:"total"`
	Remaining int    `json:"remaining"`
	Stalled   bool   `json:"stalled"`
	LastError string `json:"last_error"`
	Error     string `json:"error"`
}

func (s *site) backfillStep(cursor int) backfillReply {
	s.t.Helper()
	p := s.page("backfill", nil, map[string]any{"step": "Y", "cursor": cursor})
	var r backfillReply
	if err := json.Unmarshal([]byte(p.HTML), &r); err != nil {
		s.t.Fatalf("backfill step answered %q: %v", p.HTML, err)
	}
	return r
}

// "Send the whole catalogue": step by step through the admin page, each
// step a batch through the outbox, until every element of the synced info
// blocks is at the server; while the service is down the steps queue and
// the agent delivers later.
func TestBitrixModuleBackfill(t *testing.T) {
	svc := startService(t)
	img := newImages(t)
	s := newModuleSite(t, svc.url, img.URL)
	elements := s.db["elements"].([]any)
	for id := 1001; id <= 1117; id++ { // without photos: nothing to fetch
		elements = append(elements, element(id, 2, fmt.Sprintf("Букет №%d", id), 0, 0, ""))
	}
	s.db["elements"] = elements
	s.module("install")
	form := with(settingsForm(svc.url, img.URL, s.box), "iblock_ids", []string{"2"})
	if p := s.page("options", nil, form); p.Redirect == nil {
		t.Fatalf("save:\n%s", p.HTML)
	}

	for _, lang := range []string{"en", "ru"} {
		s.lang = lang
		p := s.page("backfill", nil, nil)
		button := map[string]string{"en": `value="Send the whole catalogue"`, "ru": `value="Отправить весь каталог"`}[lang]
		if !strings.Contains(p.HTML, button) || strings.Contains(p.HTML, button+" disabled") || p.Title == "" {
			t.Fatalf("backfill page (%s):\n%s", lang, p.HTML)
		}
	}
	s.lang = ""
	// A step without the session id does nothing.
	st := step{"do": "page", "file": "backfill", "post": map[string]any{"step": "Y", "cursor": 0}, "sessid": false}
	var bad pageResult
	s.request(st).result(0, &bad)
	if !strings.Contains(bad.HTML, `"error":"The session expired`) {
		t.Fatalf("step without a session: %s", bad.HTML)
	}
	cursor, steps, sent := 0, 0, 0
	for {
		r := s.backfillStep(cursor)
		steps++
		if r.Error != "" || r.Total != 120 || r.Delivered != r.Queued || r.Waiting != 0 {
			t.Fatalf("step %d: %+v", steps, r)
		}
		sent += r.Queued
		cursor = r.Cursor
		if r.Done {
			if r.Remaining != 0 {
				t.Fatalf("done with %d remaining", r.Remaining)
			}
			break
		}
		if steps > 5 {
			t.Fatalf("no end after %d steps: %+v", steps, r)
		}
	}
	if steps != 3 || sent != 120 {
		t.Fatalf("%d steps sent %d", steps, sent)
	}
	for _, id := range []int{101, 102, 103, 1001, 1050, 1117} {
		if p := svc.product(id); p == nil || p["deleted_at"] != nil {
			t.Fatalf("product %d after the backfill: %v", id, p)
		}
	}
	if p := svc.product(1117); p["title"] != "Букет №1117" {
		t.Fatalf("1117: %v", p)
	}
	if svc.product(900) != nil {
		t.Fatal("the news info block was sent")
	}
	if p := svc.waitIndexed(101); p["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("101: %v", p)
	}

	// The service down: steps queue their batches and say why they wait,
	// up to twice a batch; then a step pauses, reading nothing (the outbox
	// is not for the whole catalogue). The agent delivers them later.
	s.page("options", nil, with(form, "url", closedURL(t)))
	r := s.backfillStep(0)
	if r.Queued != 50 || r.Delivered != 0 || r.Waiting != 50 || !strings.Contains(r.LastError, "cannot reach") || r.Done || r.Stalled {
		t.Fatalf("step while down: %+v", r)
	}
	if r = s.backfillStep(r.Cursor); r.Queued != 50 || r.Waiting != 100 || r.Stalled {
		t.Fatalf("second step while down: %+v", r)
	}
	cursor = r.Cursor
	if r = s.backfillStep(cursor); !r.Stalled || r.Queued != 0 || r.Waiting != 100 || r.Cursor != cursor || r.Done {
		t.Fatalf("third step while down: %+v", r)
	}
	s.page("options", nil, form)
	s.waitBackoff()
	out := s.request(step{"do": "agents"})
	if len(out.Requests) != 100 || len(s.outbox()) != 0 {
		t.Fatalf("agent after the backfill: %d requests, outbox %d", len(out.Requests), len(s.outbox()))
	}
}

// A site moving from the drop-in: the module takes over its constants (the
// secret included) and its agent, and the drop-in, still included from
// init.php, stands aside: one webhook per save, not two.
func TestBitrixModuleTakesOverDropin(t *testing.T) {
	svc := startService(t)
	img := newImages(t)
	s := newModuleSite(t, svc.url, img.URL)
	dropin := newSite(t, svc.url, img.URL)
	s.config, s.dropin = dropin.config, true
	s.request(step{"do": "install_agent"})
	if inst := s.module("install"); inst.Exception != nil {
		t.Fatalf("install: %+v", inst)
	}
	if o := s.options(); o["url"] != svc.url || o["webhook_secret"] != sharedSecret || o["iblock_ids"] != "2, 5" || o["shop_id"] != "8" ||
		o["outbox_dir"] != dropin.config["LOOKALIKE_OUTBOX_DIR"] {
		t.Fatalf("options taken over: %v", o)
	}
	if agents := s.rows("agents"); len(agents) != 1 || agents[0]["MODULE_ID"] != moduleID {
		t.Fatalf("agents: %v", agents)
	}
	out := s.request(added(101, 2), endRequest)
	if len(out.Requests) != 1 || out.Requests[0].Status != 200 {
		t.Fatalf("%d requests for one save: %+v", len(out.Requests), out.Requests)
	}
	if !strings.Contains(strings.Join(out.Log, "\n"), "the lookalike.sync module is installed: remove the lookalike lines from init.php") {
		t.Fatalf("log: %q", out.Log)
	}
}

// A copy of the drop-in older than the module, still included from
// init.php: the install stops and says what to do, and registers nothing.
func TestBitrixModuleRefusesOldDropin(t *testing.T) {
	s := newModuleSite(t, "http://127.0.0.1:9", "")
	s.dropin = true
	s.dropinFile = filepath.Join(t.TempDir(), "lookalike.php")
	old := "<?php\nfinal class LookalikeSync\n{\n    public static $logger;\n\n    public static function register()\n    {\n    }\n}\n"
	if err := os.WriteFile(s.dropinFile, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	inst := s.module("install")
	if inst.Exception == nil || !strings.Contains(*inst.Exception, "An older lookalike.php is included from /local/php_interface/init.php") ||
		!strings.Contains(inst.HTML, "The module is not installed") {
		t.Fatalf("install over an old drop-in: %+v", inst)
	}
	if slices.Contains(s.modules(), moduleID) || len(s.rows("module_handlers")) != 0 || len(s.rows("agents")) != 0 {
		t.Fatalf("registered anyway: %v %v %v", s.modules(), s.rows("module_handlers"), s.rows("agents"))
	}
}

// The drop-in is still one file with no dependencies: the module's
// lib/lookalike.php, copied alone, is what init.php includes.
func TestBitrixDropinSingleFile(t *testing.T) {
	svc := startService(t)
	img := newImages(t)
	s := newSite(t, svc.url, img.URL)
	s.dropinFile = filepath.Join(t.TempDir(), "lookalike.php")
	b, err := os.ReadFile(filepath.Join(moduleID, "lib", "lookalike.php"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.dropinFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := s.request(added(103, 2), endRequest); len(out.Requests) != 1 || out.Requests[0].Status != 200 {
		t.Fatalf("drop-in: %+v", out.Requests)
	}
	if p := svc.product(103); p == nil || p["title"] != "Тюльпаны микс" {
		t.Fatalf("103: %v", p)
	}
}

var (
	messageKey  = regexp.MustCompile(`\$MESS\['([A-Z0-9_]+)'\]\s*=`)
	messageUse  = regexp.MustCompile(`Loc::getMessage\('([A-Z0-9_]+)'\s*[,)]`)
	messageCode = regexp.MustCompile(`\$msg\('([A-Z0-9_]+)'\)`) // options.php: LOOKALIKE_SYNC_ + code
)

func langKeys(t *testing.T, path string) map[string]bool {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("language file: %v", err)
	}
	keys := map[string]bool{}
	for _, m := range messageKey.FindAllSubmatch(b, -1) {
		keys[string(m[1])] = true
	}
	return keys
}

// Every message a module file names is in its ru and en language files,
// and the two languages have the same messages.
var componentDir = regexp.MustCompile(`^(.*/install/components/[^/]+/[^/]+)/`)

func TestBitrixModuleLanguageFiles(t *testing.T) {
	checked := 0
	err := filepath.WalkDir(moduleID, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".php") || strings.Contains(path, string(filepath.Separator)+"lang"+string(filepath.Separator)) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var used []string
		for _, m := range messageUse.FindAllSubmatch(b, -1) {
			used = append(used, string(m[1]))
		}
		for _, m := range messageCode.FindAllSubmatch(b, -1) {
			used = append(used, "LOOKALIKE_SYNC_"+string(m[1]))
		}
		if len(used) == 0 {
			return nil
		}
		// A component's messages are in its own lang folder.
		root := moduleID
		if m := componentDir.FindStringSubmatch(filepath.ToSlash(path)); m != nil {
			root = m[1]
		}
		rel, _ := filepath.Rel(root, path)
		ru := langKeys(t, filepath.Join(root, "lang", "ru", rel))
		en := langKeys(t, filepath.Join(root, "lang", "en", rel))
		for _, k := range used {
			if !ru[k] || !en[k] {
				t.Errorf("%s: message %s missing (ru %v, en %v)", rel, k, ru[k], en[k])
			}
		}
		for k := range ru {
			if !en[k] {
				t.Errorf("%s: %s is in ru, not in en", rel, k)
			}
		}
		for k := range en {
			if !ru[k] {
				t.Errorf("%s: %s is in en, not in ru", rel, k)
			}
		}
		checked++
		return nil
	})
	if err != nil || checked < 5 {
		t.Fatalf("checked %d files: %v", checked, err)
	}
}

// The component lookalike:search.button: installed with the module into
// /bitrix/components/, it prints the widget's script tag for the module's
// service URL (its origin: the widget is served there) and shop, with the
// language and band chosen in its parameters, everything escaped and
// checked (a bad parameter is left out, not printed); without a URL it
// prints nothing; uninstall removes it.
func TestBitrixSearchButton(t *testing.T) {
	s := newModuleSite(t, "https://lookalike.cvety.kz:8443/api/v1/webhooks/product-sync", "https://cvety.kz")
	if inst := s.module("install"); inst.Exception != nil {
		t.Fatalf("install: %+v", inst)
	}
	dir := filepath.Join(s.docroot, "bitrix", "components", "lookalike", "search.button")
	for _, f := range []string{".description.php", ".parameters.php", "component.php", "templates/.default/template.php", "lang/ru/.parameters.php"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("the install did not copy the component: %v", err)
		}
	}
	s.page("options", nil, settingsForm("https://lookalike.cvety.kz:8443/api/v1/webhooks/product-sync", "https://cvety.kz", filepath.Join(t.TempDir(), "box")))
	button := func(params map[string]any) string {
		t.Helper()
		var html string
		s.request(step{"do": "component", "name": "lookalike:search.button", "params": params}).result(0, &html)
		return strings.TrimSpace(html)
	}
	cases := []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{}, `<script src="https://lookalike.cvety.kz:8443/widget.js" data-shop="8" async></script>`},
		{map[string]any{"SHOP_ID": "12", "LANG": "kk", "MIN_BAND": "similar"},
			`<script src="https://lookalike.cvety.kz:8443/widget.js" data-shop="12" data-lang="kk" data-min-band="similar" async></script>`},
		{map[string]any{"SHOP_ID": `8" onload="alert(1)`, "LANG": `"><script>alert(1)</script>`, "MIN_BAND": "any"},
			`<script src="https://lookalike.cvety.kz:8443/widget.js" async></script>`},
	}
	for _, c := range cases {
		if got := button(c.params); got != c.want {
			t.Errorf("%v:\n got %s\nwant %s", c.params, got, c.want)
		}
	}
	// A URL with markup in it: only its origin is printed, escaped.
	s.db["options"].(map[string]any)[moduleID].(map[string]any)["url"] = `https://lookalike.example/"><script>alert(1)</script>`
	if got := button(nil); got != `<script src="https://lookalike.example/widget.js" data-shop="8" async></script>` {
		t.Errorf("a URL with markup: %s", got)
	}
	s.db["options"].(map[string]any)[moduleID].(map[string]any)["url"] = ""
	if got := button(nil); got != "" {
		t.Errorf("without a URL: %q", got)
	}
	// What the visual editor shows, in Russian.
	s.lang = "ru"
	var desc struct{ NAME string }
	s.request(step{"do": "component_file", "name": "lookalike:search.button", "file": ".description.php"}).result(0, &desc)
	var params struct {
		PARAMETERS map[string]struct {
			NAME   string
			VALUES map[string]string
		}
	}
	s.request(step{"do": "component_file", "name": "lookalike:search.button", "file": ".parameters.php"}).result(0, &params)
	if desc.NAME != "Поиск по фото (кнопка)" || params.PARAMETERS["LANG"].VALUES["kk"] != "Қазақша" || params.PARAMETERS["SHOP_ID"].NAME == "" {
		t.Errorf("the component's description and parameters: %+v %+v", desc, params)
	}
	if un := s.module("uninstall"); un.Exception != nil {
		t.Fatalf("uninstall: %+v", un)
	}
	if _, err := os.Stat(filepath.Join(s.docroot, "bitrix", "components", "lookalike")); !os.IsNotExist(err) {
		t.Errorf("the component stays after the uninstall: %v", err)
	}
}
