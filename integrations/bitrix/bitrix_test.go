package bitrix_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookalike/lookalike/app"
	"github.com/lookalike/lookalike/catalog"
)

// These tests run the Bitrix handler (lookalike.sync/lib/lookalike.php, as
// the drop-in and as the lookalike.sync module) with the real php CLI.
// Bitrix itself is replaced by tests/stubs.php; each php run is one Bitrix
// request played by tests/driver.php. The webhooks go to a real lookalike
// server started in-process, and the results are read back through its
// GET /api/v1/products/{id}.

const (
	sharedSecret = "bitrix-shared-secret-2026"
	shop         = 8
)

// signingKey is the raw key of the test's Standard Webhooks secret.
var signingKey = []byte("lookalike-bitrix-signing-key-32b")

func signingSecret() string { return "whsec_" + base64.StdEncoding.EncodeToString(signingKey) }

// requirePHP finds php, or skips (fails when CI=true).
func requirePHP(t *testing.T) string {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		msg := "php is not installed: run scripts/install-php (Debian: apt-get install php-cli) to test the Bitrix handler"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return php
}

func TestPHPLint(t *testing.T) {
	php := requirePHP(t)
	var files []string
	filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".php") {
			files = append(files, path)
		}
		return err
	})
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		out, err := exec.Command(php, "-l", f).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "No syntax errors") {
			t.Errorf("php -l %s: %v\n%s", f, err, out)
		}
	}
}

// ---- the Bitrix request driver ----

type step map[string]any

type phpRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Options map[string]any    `json:"options"`
	Status  int               `json:"status"`
	Error   string            `json:"error"`
	Seconds float64           `json:"seconds"`
}

type phpOutput struct {
	Results  []json.RawMessage `json:"results"`
	Log      []string          `json:"log"`
	Error    *string           `json:"error"`
	Requests []phpRequest      `json:"requests"`
	DB       json.RawMessage   `json:"db"`
	elapsed  time.Duration
}

// site is one Bitrix installation: its constants and its database, which
// carries over from one request to the next.
type site struct {
	t      *testing.T
	php    string
	config map[string]any
	db     map[string]any
	// charset, when set, is the database's encoding (a windows-1251 site).
	charset string
	// The module's site (newModuleSite): its DOCUMENT_ROOT, whether
	// init.php still includes the drop-in, the admin's language and right.
	docroot string
	dropin  bool
	lang    string
	right   string
	// dropinFile, when set, is the drop-in file init.php includes.
	dropinFile string
	// box, when set, is the outbox folder (the module's option); else LOOKALIKE_OUTBOX_DIR.
	box string
}

// outboxDir is where the handler keeps its outbox.
func (s *site) outboxDir() string {
	if s.box != "" {
		return s.box
	}
	return s.config["LOOKALIKE_OUTBOX_DIR"].(string)
}

func newSite(t *testing.T, serviceURL, imagesURL string) *site {
	s := &site{t: t, php: requirePHP(t), dropin: true}
	s.config = map[string]any{
		"LOOKALIKE_URL":                serviceURL,
		"LOOKALIKE_WEBHOOK_SECRET":     sharedSecret,
		"LOOKALIKE_IBLOCK_IDS":         "2, 5",
		"LOOKALIKE_HEIGHT_PROPERTY":    "HEIGHT",
		"LOOKALIKE_SHOP_ID":            shop,
		"LOOKALIKE_SITE_URL":           imagesURL,
		"LOOKALIKE_OUTBOX_DIR":         filepath.Join(t.TempDir(), "outbox"),
		"LOOKALIKE_RETRY_BASE_SECONDS": 1,
	}
	s.db = map[string]any{
		"elements": []any{
			element(101, 2, "Букет из 25 белых роз", 11, 0, "60 см"),
			element(102, 2, "Ромашки в крафте", 0, 12, "40"),
			element(103, 2, "Тюльпаны микс", 13, 0, "45 см"),
			element(900, 3, "Новость: 8 марта", 14, 0, ""), // the news info block, not synced
		},
		"files": map[string]string{
			"11": "/upload/iblock/3f2/roses.jpg",
			"12": "/upload/iblock/c11/daisy.jpg",
			"13": "/upload/iblock/f10/tulips.jpg",
			"14": "/upload/iblock/n01/sunflowers.jpg",
		},
		"products": []any{
			map[string]any{"ID": 101, "AVAILABLE": "Y", "QUANTITY": 5, "QUANTITY_TRACE": "Y", "CAN_BUY_ZERO": "N"},
			map[string]any{"ID": 102, "AVAILABLE": "Y", "QUANTITY": 0, "QUANTITY_TRACE": "N"},
			map[string]any{"ID": 103, "AVAILABLE": "Y", "QUANTITY": 9},
		},
		"prices": []any{
			price(1, 101, 1, "18500.00", "KZT"),
			price(2, 101, 2, "15000.00", "KZT"), // wholesale, not the base price
			price(3, 102, 1, "7500.00", "KZT"),
			price(4, 103, 1, "11000.00", "KZT"),
		},
	}
	return s
}

func element(id, iblock int, name string, detail, preview int, height string) map[string]any {
	el := map[string]any{"ID": id, "IBLOCK_ID": iblock, "NAME": name, "ACTIVE": "Y", "CODE": fmt.Sprintf("bouquet-%d", id),
		"DETAIL_PAGE_URL": "#SITE_DIR#/catalog/#ELEMENT_CODE#/", "TIMESTAMP_X": "2026-01-15 10:00:00", "PROPERTIES": map[string]any{"HEIGHT": height}}
	if detail > 0 {
		el["DETAIL_PICTURE"] = detail
	}
	if preview > 0 {
		el["PREVIEW_PICTURE"] = preview
	}
	return el
}

func price(id, product, group int, amount, currency string) map[string]any {
	return map[string]any{"ID": id, "PRODUCT_ID": product, "CATALOG_GROUP_ID": group, "PRICE": amount, "CURRENCY": currency}
}

// set changes one field of a fixture row (elements, products, prices) by ID.
func (s *site) set(table string, id int, field string, value any) {
	for _, r := range s.db[table].([]any) {
		row := r.(map[string]any)
		if num(row["ID"]) == float64(id) {
			if strings.HasPrefix(field, "PROPERTIES.") {
				row["PROPERTIES"].(map[string]any)[strings.TrimPrefix(field, "PROPERTIES.")] = value
			} else {
				row[field] = value
			}
			return
		}
	}
	s.t.Fatalf("no %s row %d", table, id)
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return 0
}

// request plays one Bitrix request. It fails the test on PHP errors,
// warnings or notices.
func (s *site) request(steps ...step) phpOutput {
	s.t.Helper()
	scenario := map[string]any{"config": s.config, "db": s.db, "steps": steps}
	if s.charset != "" {
		scenario["db_charset"] = s.charset
	}
	if s.docroot != "" {
		scenario["docroot"] = s.docroot
	}
	if !s.dropin {
		scenario["dropin"] = false
	}
	if s.dropinFile != "" {
		scenario["dropin_file"] = s.dropinFile
	}
	if s.lang != "" {
		scenario["lang"] = s.lang
	}
	if s.right != "" {
		scenario["right"] = s.right
	}
	b, _ := json.Marshal(scenario)
	path := filepath.Join(s.t.TempDir(), "scenario.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.php, "-d", "display_errors=stderr", "-d", "error_reporting=-1", "-d", "log_errors=0",
		filepath.Join("tests", "driver.php"), path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	var out phpOutput
	out.elapsed = time.Since(start)
	if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
		s.t.Fatalf("driver output is not JSON (%v, exit %v):\n%s\nstderr:\n%s", jerr, err, stdout.String(), stderr.String())
	}
	if err != nil || out.Error != nil || stderr.Len() > 0 {
		s.t.Fatalf("php: %v %v\nstderr:\n%s\nlog: %q", err, deref(out.Error), stderr.String(), out.Log)
	}
	if s.charset == "" { // keep the database (agents included) for the next request
		if err := json.Unmarshal(out.DB, &s.db); err != nil {
			s.t.Fatal(err)
		}
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (o phpOutput) result(i int, v any) {
	if err := json.Unmarshal(o.Results[i], v); err != nil {
		panic(fmt.Sprintf("result %d %s: %v", i, o.Results[i], err))
	}
}

// Events as Bitrix fires them.
func added(id, iblock int) step {
	return step{"do": "iblock", "event": "OnAfterIBlockElementAdd", "fields": map[string]any{"ID": id, "IBLOCK_ID": iblock, "RESULT": id}}
}

func updated(id, iblock int) step {
	return step{"do": "iblock", "event": "OnAfterIBlockElementUpdate", "fields": map[string]any{"ID": id, "IBLOCK_ID": iblock, "RESULT": true}}
}

func beforeDelete(id int) step {
	return step{"do": "iblock", "event": "OnBeforeIBlockElementDelete", "id": id}
}

func d7(entity, event string, params map[string]any) step {
	return step{"do": "d7", "module": "catalog", "event": `\Bitrix\Catalog\Model\` + entity + "::" + event, "params": params}
}

var endRequest = step{"do": "end_request"}

// ---- the service and the photos ----

type service struct {
	t    *testing.T
	url  string
	app  *app.App
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startService boots the real lookalike server on 127.0.0.1:0.
const testAdminToken = "bitrix-test-admin-token"

func startService(t *testing.T) *service {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := app.Config{
		Addr:              "127.0.0.1:0",
		DataDir:           t.TempDir(),
		WebhookSecrets:    []string{sharedSecret},
		SigningSecrets:    []string{signingSecret()},
		AdminToken:        testAdminToken,
		FetchAllowPrivate: true,
		RetryBaseDelay:    50 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s := &service{t: t, url: a.URL(), app: a, logs: logs}
	t.Cleanup(func() {
		cancel()
		if err := a.Stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s
}

// product reads GET /api/v1/products/{id}?shop_id=8 as the operator; nil when unknown.
func (s *service) product(id int) map[string]any {
	s.t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/products/%d?shop_id=%d", s.url, id, shop), nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken) // the full record: index state, deleted_at
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var p map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("product %d: %d %v", id, resp.StatusCode, err)
	}
	return p
}

func (s *service) waitIndexed(id int) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p := s.product(id)
		if p != nil && p["index"].(map[string]any)["state"] != "pending" {
			return p
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("product %d stays pending: %v", id, p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// images serves testdata/photos as /upload/iblock/<dir>/<class>.jpg.
type images struct {
	*httptest.Server
	mu   sync.Mutex
	hits int
}

func newImages(t *testing.T) *images {
	im := &images{}
	dir := filepath.Join("..", "..", "testdata", "photos")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if class, _, ok := strings.Cut(e.Name(), "_"); ok && strings.HasSuffix(e.Name(), ".jpg") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[class+".jpg"] = b
		}
	}
	im.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		im.mu.Lock()
		im.hits++
		im.mu.Unlock()
		b, ok := files[filepath.Base(r.URL.Path)]
		if !ok || !strings.HasPrefix(r.URL.Path, "/upload/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(b)
	}))
	t.Cleanup(im.Close)
	return im
}

func (im *images) total() int {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.hits
}

// closedURL is an address nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// outbox reads the handler's outbox file: its messages, oldest first.
func (s *site) outbox() []map[string]any {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.outboxDir(), "outbox.jsonl"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			s.t.Fatalf("outbox line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// waitBackoff sleeps until the outbox's backoff allows the next attempt.
func (s *site) waitBackoff() {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.outboxDir(), "state.json"))
	if err != nil {
		return
	}
	var st struct {
		NextAt int64 `json:"next_at"`
	}
	json.Unmarshal(b, &st)
	if d := time.Until(time.Unix(st.NextAt, 0)); d > 0 {
		if d > 10*time.Second {
			s.t.Fatalf("backoff of %v", d)
		}
		time.Sleep(d + 50*time.Millisecond)
	}
}

func bodyOf(t *testing.T, r phpRequest) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return m
}

// ---- the tests ----

// The whole life of a product, as the shop's admins and 1C cause it.
func TestBitrixHandlerAgainstServer(t *testing.T) {
	svc := startService(t)
	img := newImages(t)
	s := newSite(t, svc.url, img.URL)

	// Add, as the admin form saves a new product: the element, then its
	// price and stock. One webhook with the final state.
	out := s.request(added(101, 2),
		d7("Price", "OnAfterAdd", map[string]any{"id": 1, "fields": map[string]any{"PRODUCT_ID": 101, "PRICE": 18500, "CATALOG_GROUP_ID": 1}}),
		d7("Product", "OnAfterAdd", map[string]any{"id": 101, "fields": map[string]any{"QUANTITY": 5}}),
		endRequest)
	if len(out.Requests) != 1 {
		t.Fatalf("%d requests for one save: %+v", len(out.Requests), out.Requests)
	}
	r := out.Requests[0]
	if r.Method != "POST" || r.URL != svc.url+"/api/v1/webhooks/product-sync" || r.Status != 200 ||
		r.Headers["X-Webhook-Secret"] != sharedSecret || !strings.HasPrefix(r.Headers["Content-Type"], "application/json") ||
		num(r.Options["socketTimeout"]) != 2 || num(r.Options["streamTimeout"]) != 3 {
		t.Fatalf("request: %+v", r)
	}
	if _, signed := r.Headers["webhook-signature"]; signed {
		t.Fatal("signed without a signing secret")
	}
	if !strings.HasPrefix(r.Headers["webhook-id"], "msg_") || len(r.Headers["webhook-id"]) != 28 {
		t.Fatalf("webhook-id %q", r.Headers["webhook-id"])
	}
	body := bodyOf(t, r)
	data := body["product_data"].(map[string]any)
	if body["event_type"] != "product.created" || body["shop_id"] != float64(shop) {
		t.Fatalf("body: %s", r.Body)
	}
	wantKeys := "TIMESTAMP_X catalogHeight id image images isAvailable price title url"
	var keys []string
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if got := strings.Join(keys, " "); got != wantKeys {
		t.Fatalf("product_data keys %q, want %q", got, wantKeys)
	}
	if data["id"] != 101.0 || data["title"] != "Букет из 25 белых роз" || data["price"] != "18 500 ₸" || data["isAvailable"] != true ||
		data["image"] != img.URL+"/upload/iblock/3f2/roses.jpg" || data["catalogHeight"] != "60 см" ||
		data["url"] != img.URL+"/catalog/bouquet-101/" {
		t.Fatalf("product_data: %s", r.Body)
	}
	if ts, err := time.Parse(time.RFC3339, data["TIMESTAMP_X"].(string)); err != nil || time.Since(ts) > time.Minute {
		t.Fatalf("TIMESTAMP_X %v: %v", data["TIMESTAMP_X"], err)
	}
	p := svc.waitIndexed(101)
	if p["title"] != "Букет из 25 белых роз" || p["price"] != 18500.0 || p["price_raw"] != "18 500 ₸" || p["height_cm"] != 60.0 ||
		p["is_available"] != true || p["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("stored 101: %v", p)
	}

	// 102 has only a preview picture; its height is a bare number.
	out = s.request(added(102, 2), endRequest)
	if d := bodyOf(t, out.Requests[0])["product_data"].(map[string]any); d["image"] != img.URL+"/upload/iblock/c11/daisy.jpg" || d["catalogHeight"] != "40" {
		t.Fatalf("102: %s", out.Requests[0].Body)
	}
	if p := svc.waitIndexed(102); p["height_cm"] != 40.0 || p["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("stored 102: %v", p)
	}

	// Update: a new name and height; the photo is not fetched again.
	fetched := img.total()
	s.set("elements", 101, "NAME", "Букет из 25 белых роз «Аваланж»")
	s.set("elements", 101, "PROPERTIES.HEIGHT", "70 см")
	out = s.request(updated(101, 2), endRequest)
	if body := bodyOf(t, out.Requests[0]); body["event_type"] != "product.updated" {
		t.Fatalf("update: %s", out.Requests[0].Body)
	}
	if p := svc.product(101); p["title"] != "Букет из 25 белых роз «Аваланж»" || p["height_cm"] != 70.0 || p["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("after update: %v", p)
	}

	// A property set on its own (SetPropertyValuesEx, as 1C exchange does)
	// fires no element update, only its own event.
	s.set("elements", 101, "PROPERTIES.HEIGHT", "75 см")
	s.request(step{"do": "iblock", "event": "OnAfterIBlockElementSetPropertyValuesEx", "args": []any{101, 2, map[string]any{"HEIGHT": "75 см"}, []any{}}}, endRequest)
	if p := svc.product(101); p["height_cm"] != 75.0 {
		t.Fatalf("after SetPropertyValuesEx: %v", p)
	}

	// A price change fires no iblock event, only the catalog's D7 one, and
	// its fields do not name the product: the handler looks it up.
	s.set("prices", 1, "PRICE", "19900.00")
	out = s.request(d7("Price", "OnAfterUpdate", map[string]any{"id": 1, "fields": map[string]any{"PRICE": 19900}}), endRequest)
	if len(out.Requests) != 1 || bodyOf(t, out.Requests[0])["product_data"].(map[string]any)["price"] != "19 900 ₸" {
		t.Fatalf("price event: %+v", out.Requests)
	}
	if p := svc.product(101); p["price"] != 19900.0 || p["price_raw"] != "19 900 ₸" {
		t.Fatalf("after price change: %v", p)
	}
	// A wholesale price is not the shop's price: the webhook repeats the base one.
	s.set("prices", 2, "PRICE", "14000.00")
	out = s.request(d7("Price", "OnAfterUpdate", map[string]any{"id": 2, "fields": map[string]any{"PRICE": 14000}}), endRequest)
	if d := bodyOf(t, out.Requests[0])["product_data"].(map[string]any); d["price"] != "19 900 ₸" {
		t.Fatalf("wholesale change sent price %v", d["price"])
	}
	// Stock runs out: the catalog's product event.
	s.set("products", 101, "AVAILABLE", "N")
	s.set("products", 101, "QUANTITY", 0)
	s.request(d7("Product", "OnAfterUpdate", map[string]any{"id": 101, "fields": map[string]any{"QUANTITY": 0}}), endRequest)
	if p := svc.product(101); p["is_available"] != false {
		t.Fatalf("after stock ran out: %v", p)
	}
	// Deactivated in the admin panel.
	s.set("elements", 102, "ACTIVE", "N")
	s.request(updated(102, 2), endRequest)
	if p := svc.product(102); p["is_available"] != false {
		t.Fatalf("after deactivation: %v", p)
	}
	time.Sleep(200 * time.Millisecond)
	if img.total() != fetched {
		t.Fatalf("updates without a new photo fetched %d images", img.total()-fetched)
	}

	// What is not ours, or not a saved product, sends nothing.
	failedSave := map[string]any{"ID": 101, "IBLOCK_ID": 2, "RESULT": false}
	workflowCopy := map[string]any{"ID": 5101, "IBLOCK_ID": 2, "RESULT": 5101, "WF_PARENT_ELEMENT_ID": 101}
	noIBlockID := map[string]any{"ID": 103, "RESULT": 103} // looked up: it is ours
	out = s.request(
		updated(900, 3), // another info block
		step{"do": "iblock", "event": "OnAfterIBlockElementUpdate", "fields": failedSave},
		step{"do": "iblock", "event": "OnAfterIBlockElementUpdate", "fields": workflowCopy},
		step{"do": "iblock", "event": "OnAfterIBlockElementAdd", "fields": noIBlockID},
		beforeDelete(900),
		endRequest)
	if len(out.Requests) != 1 || bodyOf(t, out.Requests[0])["product_data"].(map[string]any)["id"] != 103.0 {
		t.Fatalf("unrelated events sent: %+v", out.Requests)
	}
	svc.waitIndexed(103)

	// Delete: read before the element goes, sent once it is gone.
	out = s.request(beforeDelete(102), step{"do": "delete_element", "id": 102}, endRequest)
	var handlerResults []any
	out.result(0, &handlerResults)
	for _, v := range handlerResults {
		if v == false {
			t.Fatal("OnBeforeIBlockElementDelete handler returned false: that cancels the delete")
		}
	}
	if body := bodyOf(t, out.Requests[0]); body["event_type"] != "product.deleted" || fmt.Sprint(body["product_data"].(map[string]any)["id"]) != "102" {
		t.Fatalf("delete: %s", out.Requests[0].Body)
	}
	if p := svc.product(102); p["deleted_at"] == nil {
		t.Fatalf("102 not deleted: %v", p)
	}
	// A delete that another handler cancelled: the element stays, and so does the product.
	out = s.request(beforeDelete(103), endRequest)
	if body := bodyOf(t, out.Requests[0]); body["event_type"] != "product.updated" {
		t.Fatalf("cancelled delete sent %s", out.Requests[0].Body)
	}
	if p := svc.product(103); p["deleted_at"] != nil {
		t.Fatal("a cancelled delete deleted the product")
	}
}

// The service is down for a while: saves do not wait, events wait in the
// outbox (coalesced per element), and the agent delivers them once it is back.
func TestBitrixOutboxWhileServiceDown(t *testing.T) {
	svc := startService(t)
	img := newImages(t)
	s := newSite(t, svc.url, img.URL)
	s.request(added(101, 2), added(102, 2), endRequest)
	svc.waitIndexed(101)

	// The agent, registered once.
	out := s.request(step{"do": "install_agent"}, step{"do": "install_agent"})
	var first, second bool
	out.result(0, &first)
	out.result(1, &second)
	if !first || second {
		t.Fatalf("installAgent: %v then %v", first, second)
	}

	s.config["LOOKALIKE_URL"] = closedURL(t)
	// One request creates 103 and changes 101: the first send fails, the
	// second is not even tried.
	s.set("elements", 101, "NAME", "Букет из 25 роз (в пути)")
	out = s.request(added(103, 2), updated(101, 2), endRequest)
	if len(out.Requests) != 1 || out.Requests[0].Status != 0 || out.elapsed > 5*time.Second {
		t.Fatalf("while down: %d requests in %v: %+v", len(out.Requests), out.elapsed, out.Requests)
	}
	if !strings.Contains(strings.Join(out.Log, "\n"), "queued for the agent") {
		t.Fatalf("log: %q", out.Log)
	}
	box := s.outbox()
	if len(box) != 2 || box[0]["key"] != "8:103" || box[1]["key"] != "8:101" {
		t.Fatalf("outbox: %v", box)
	}
	firstID := box[0]["id"]

	// More changes while down: nothing is sent, the outbox keeps one
	// message per element, the latest; a delete replaces an update.
	s.set("elements", 103, "NAME", "Тюльпаны микс, 25 шт.")
	s.set("elements", 103, "PROPERTIES.HEIGHT", "50 см")
	out = s.request(updated(103, 2), beforeDelete(101), step{"do": "delete_element", "id": 101}, endRequest)
	if len(out.Requests) != 0 {
		t.Fatalf("sent while the outbox waits: %+v", out.Requests)
	}
	s.set("prices", 4, "PRICE", "12500.00")
	s.request(d7("Price", "OnAfterUpdate", map[string]any{"id": 4, "fields": map[string]any{"PRICE": 12500}}), endRequest)
	box = s.outbox()
	if len(box) != 2 {
		t.Fatalf("outbox not coalesced: %v", box)
	}
	byKey := map[string]map[string]any{}
	for _, m := range box {
		byKey[m["key"].(string)] = m
	}
	var b103, b101 map[string]any
	json.Unmarshal([]byte(byKey["8:103"]["body"].(string)), &b103)
	json.Unmarshal([]byte(byKey["8:101"]["body"].(string)), &b101)
	if d := b103["product_data"].(map[string]any); d["title"] != "Тюльпаны микс, 25 шт." || d["price"] != "12 500 ₸" || byKey["8:103"]["id"] == firstID {
		t.Fatalf("103 in the outbox: %v", byKey["8:103"])
	}
	if b101["event_type"] != "product.deleted" {
		t.Fatalf("101 in the outbox: %v", byKey["8:101"])
	}

	// The agent runs while the service is still down: it backs off and keeps everything.
	s.waitBackoff()
	out = s.request(step{"do": "agents"})
	var ran []struct{ Name, Returned string }
	out.result(0, &ran)
	if len(ran) != 1 || ran[0].Returned != "LookalikeSync::agent();" || len(out.Requests) != 1 || len(s.outbox()) != 2 {
		t.Fatalf("agent while down: %+v, %d requests, outbox %v", ran, len(out.Requests), s.outbox())
	}
	out = s.request(step{"do": "agents"}) // within the backoff: no attempt
	if len(out.Requests) != 0 {
		t.Fatalf("the agent ignored its backoff: %+v", out.Requests)
	}
	var st map[string]any
	out = s.request(step{"do": "status"})
	out.result(0, &st)
	if st["waiting"] != 2.0 || st["failures"] != 2.0 || !strings.Contains(st["last_error"].(string), "cannot reach") {
		t.Fatalf("status: %v", st)
	}

	// Back up: the agent drains the outbox, oldest first.
	s.config["LOOKALIKE_URL"] = svc.url
	s.waitBackoff()
	out = s.request(step{"do": "agents"})
	if len(out.Requests) != 2 || len(s.outbox()) != 0 {
		t.Fatalf("agent after recovery: %+v, outbox %v", out.Requests, s.outbox())
	}
	if p := svc.waitIndexed(103); p["title"] != "Тюльпаны микс, 25 шт." || p["price"] != 12500.0 || p["height_cm"] != 50.0 ||
		p["index"].(map[string]any)["state"] != "indexed" {
		t.Fatalf("103 after recovery: %v", p)
	}
	if p := svc.product(101); p["deleted_at"] == nil {
		t.Fatalf("101 not deleted after recovery: %v", p)
	}
	out = s.request(step{"do": "status"})
	out.result(0, &st)
	if st["waiting"] != 0.0 || st["failures"] != 0.0 {
		t.Fatalf("status after recovery: %v", st)
	}
	// Live events go straight out again.
	s.set("elements", 102, "NAME", "Ромашки")
	if out := s.request(updated(102, 2), endRequest); len(out.Requests) != 1 || out.Requests[0].Status != 200 {
		t.Fatalf("after recovery: %+v", out.Requests)
	}
}

// A service that accepts the connection and never answers: the save is
// held for the stream timeout (3 s), not longer, and the event waits.
func TestBitrixTimeoutDoesNotHang(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	s := newSite(t, "http://"+ln.Addr().String(), "https://cvety.example.kz")
	out := s.request(added(101, 2), added(102, 2), endRequest)
	if len(out.Requests) != 1 || out.elapsed > 6*time.Second || out.Requests[0].Seconds < 2.5 {
		t.Fatalf("black hole: %d requests, %v: %+v", len(out.Requests), out.elapsed, out.Requests)
	}
	if box := s.outbox(); len(box) != 2 {
		t.Fatalf("outbox: %v", box)
	}
}

// Signed delivery: Standard Webhooks headers, the same webhook-id on every
// retry of one event, checked here with crypto/hmac; and the real server
// accepts the signature alone.
func TestBitrixSignedDelivery(t *testing.T) {
	svc := startService(t)
	img := newImages(t)
	type seen struct {
		header http.Header
		body   []byte
		at     time.Time
	}
	var mu sync.Mutex
	var got []seen
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Header.Clone(), b, time.Now()})
		n := len(got)
		mu.Unlock()
		if n == 1 {
			http.Error(w, `{"status":"error","error":"restarting"}`, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"success"}`))
	}))
	t.Cleanup(capture.Close)

	s := newSite(t, capture.URL+"/hooks/lookalike", img.URL)
	s.config["LOOKALIKE_SIGNING_SECRET"] = signingSecret()
	out := s.request(added(101, 2), endRequest)
	if len(out.Requests) != 1 || out.Requests[0].Status != 503 || len(s.outbox()) != 1 {
		t.Fatalf("first attempt: %+v outbox %v", out.Requests, s.outbox())
	}
	s.request(step{"do": "install_agent"})
	s.waitBackoff()
	if out := s.request(step{"do": "agents"}); len(out.Requests) != 1 || out.Requests[0].Status != 200 {
		t.Fatalf("retry: %+v", out.Requests)
	}
	if len(got) != 2 {
		t.Fatalf("%d deliveries", len(got))
	}
	for i, g := range got {
		id, ts := g.header.Get("webhook-id"), g.header.Get("webhook-timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || g.at.Sub(time.Unix(sec, 0)).Abs() > 5*time.Second {
			t.Fatalf("delivery %d: webhook-timestamp %q", i, ts)
		}
		m := hmac.New(sha256.New, signingKey)
		fmt.Fprintf(m, "%s.%s.", id, ts)
		m.Write(g.body)
		want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		if g.header.Get("webhook-signature") != want {
			t.Fatalf("delivery %d: webhook-signature %q, want %q", i, g.header.Get("webhook-signature"), want)
		}
		if !strings.HasPrefix(id, "msg_") || g.header.Get("X-Webhook-Secret") != sharedSecret {
			t.Fatalf("delivery %d headers: %v", i, g.header)
		}
		if id != got[0].header.Get("webhook-id") || !bytes.Equal(g.body, got[0].body) {
			t.Fatalf("a retry changed the webhook-id or body: %q vs %q", id, got[0].header.Get("webhook-id"))
		}
	}
	if got[0].header.Get("webhook-id") == "" {
		t.Fatal("no webhook-id")
	}

	// The real server, signature only.
	s2 := newSite(t, svc.url, img.URL)
	s2.config["LOOKALIKE_WEBHOOK_SECRET"] = ""
	s2.config["LOOKALIKE_SIGNING_SECRET"] = signingSecret()
	out = s2.request(added(103, 2), endRequest)
	if len(out.Requests) != 1 || out.Requests[0].Status != 200 || out.Requests[0].Headers["X-Webhook-Secret"] != "" {
		t.Fatalf("signed only: %+v", out.Requests)
	}
	if p := svc.product(103); p == nil || p["title"] != "Тюльпаны микс" {
		t.Fatalf("103: %v", p)
	}
	// And a wrong signing key is refused, and kept for a retry (401 may be
	// a secret being rotated).
	s2.config["LOOKALIKE_SIGNING_SECRET"] = "whsec_" + base64.StdEncoding.EncodeToString([]byte("not the key the server has!!!!!!"))
	out = s2.request(updated(103, 2), endRequest)
	if out.Requests[0].Status != 401 || len(s2.outbox()) != 1 {
		t.Fatalf("wrong key: %+v outbox %v", out.Requests, s2.outbox())
	}
}

// The signature as PHP computes it equals Go's crypto/hmac over the same
// Standard Webhooks vector.
func TestBitrixSignatureVector(t *testing.T) {
	s := newSite(t, "http://127.0.0.1:9", "")
	cases := []struct {
		id   string
		ts   int64
		body string
	}{
		{"msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, `{"test": 2432232314}`},
		{"msg_0123456789abcdef01234567", 1795800000, `{"event_type":"product.updated","shop_id":8,"product_data":{"id":101,"title":"Букет из 25 белых роз","price":"18 500 ₸"}}`},
	}
	var steps []step
	for _, c := range cases {
		steps = append(steps, step{"do": "sign", "secret": signingSecret(), "id": c.id, "ts": c.ts, "body": c.body})
	}
	// The example secret of the Standard Webhooks specification.
	steps = append(steps, step{"do": "sign", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id": cases[0].id, "ts": cases[0].ts, "body": cases[0].body})
	out := s.request(steps...)
	for i, c := range cases {
		m := hmac.New(sha256.New, signingKey)
		m.Write([]byte(c.id + "." + strconv.FormatInt(c.ts, 10) + "." + c.body))
		want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		var got string
		out.result(i, &got)
		if got != want {
			t.Errorf("case %d: PHP %q, Go %q", i, got, want)
		}
	}
	key, _ := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	m := hmac.New(sha256.New, key)
	m.Write([]byte(cases[0].id + "." + strconv.FormatInt(cases[0].ts, 10) + "." + cases[0].body))
	var got string
	out.result(2, &got)
	if want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("specification example: PHP %q, Go %q", got, want)
	}
}

// Prices as the shop writes them, and as the service reads them back.
func TestBitrixPriceFormat(t *testing.T) {
	s := newSite(t, "http://127.0.0.1:9", "")
	cases := []struct {
		amount, currency, want string
		minor                  int64
	}{
		{"2500", "KZT", "2 500 ₸", 250000},
		{"2500.00", "", "2 500 ₸", 250000},
		{"2500.5", "KZT", "2 500,50 ₸", 250050},
		{"999", "KZT", "999 ₸", 99900},
		{"1234567.89", "RUB", "1 234 567,89 ₽", 123456789},
		{"12.3", "USD", "12,30 $", 1230},
		{"0", "EUR", "0 €", 0},
		{"18500.004", "KZT", "18 500 ₸", 1850000},
		{"99.5", "UAH", "99,50 UAH", 9950},
		{"1500", "JPY", "1 500 JPY", 1500},
		{"1500.00", "JPY", "1 500 JPY", 1500},
		{"1.255", "KWD", "1,255 KWD", 1255},
		{"1234.5", "BHD", "1 234,500 BHD", 1234500},
	}
	var steps []step
	for _, c := range cases {
		steps = append(steps, step{"do": "format_price", "amount": c.amount, "currency": c.currency})
	}
	out := s.request(steps...)
	for i, c := range cases {
		var got string
		out.result(i, &got)
		if got != c.want {
			t.Errorf("formatPrice(%s, %q) = %q, want %q", c.amount, c.currency, got, c.want)
			continue
		}
		p, err := catalog.ParsePrice(got)
		if err != nil || p.Minor != c.minor {
			t.Errorf("the service reads %q as %+v, %v; want %d", got, p, err, c.minor)
		}
	}
}

// Product pages: DETAIL_PAGE_URL's templates filled in and made absolute
// with LOOKALIKE_SITE_URL, in a form the service's webhook accepts; none
// when a template is left or there is no page.
func TestBitrixPageURL(t *testing.T) {
	s := newSite(t, "http://127.0.0.1:9", "https://cvety.kz")
	cases := []struct {
		el   map[string]any
		want string
	}{
		{map[string]any{"ID": 101, "CODE": "roses-25", "DETAIL_PAGE_URL": "#SITE_DIR#/catalog/#ELEMENT_CODE#/"}, "https://cvety.kz/catalog/roses-25/"},
		{map[string]any{"ID": 101, "DETAIL_PAGE_URL": "/catalog/detail.php?ID=#ELEMENT_ID#&x=a b"}, "https://cvety.kz/catalog/detail.php?ID=101&x=a%20b"},
		{map[string]any{"ID": 7, "CODE": "розы", "DETAIL_PAGE_URL": "/catalog/#CODE#/"}, "https://cvety.kz/catalog/%D1%80%D0%BE%D0%B7%D1%8B/"},
		{map[string]any{"ID": 7, "DETAIL_PAGE_URL": "https://shop.example/p/7"}, "https://shop.example/p/7"},
		{map[string]any{"ID": 7, "DETAIL_PAGE_URL": "/catalog/#SECTION_CODE#/7/"}, ""},
		{map[string]any{"ID": 7, "DETAIL_PAGE_URL": ""}, ""},
		{map[string]any{"ID": 7}, ""},
	}
	var steps []step
	for _, c := range cases {
		steps = append(steps, step{"do": "page_url", "element": c.el})
	}
	out := s.request(steps...)
	for i, c := range cases {
		var got string
		out.result(i, &got)
		if got != c.want {
			t.Errorf("pageUrl(%v) = %q, want %q", c.el, got, c.want)
			continue
		}
		if _, err := catalog.Link(got); err != nil {
			t.Errorf("the service refuses %q: %v", got, err)
		}
	}
}

// The handler's table of currencies without two decimals is the service's.
func TestBitrixCurrencyDecimalsMatchCatalog(t *testing.T) {
	php, err := os.ReadFile(filepath.Join("lookalike.sync", "lib", "lookalike.php"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)\$currencyDecimals = array\((.*?)\);`).FindSubmatch(php)
	if block == nil {
		t.Fatal("no $currencyDecimals in lookalike.php")
	}
	inPHP := map[string]int{}
	for _, m := range regexp.MustCompile(`'([A-Z]{3})' => (\d)`).FindAllSubmatch(block[1], -1) {
		inPHP[string(m[1])], _ = strconv.Atoi(string(m[2]))
	}
	if want := catalog.OddExponents(); !maps.Equal(inPHP, want) {
		t.Errorf("lookalike.php lists currencies without two decimals as %v; ISO 4217: %v", inPHP, want)
	}
}

// Refusals (422) are not retried forever: they go to the dead-letter file.
// Events at the end of a script that never reaches Bitrix's epilog are
// still sent (at shutdown). A windows-1251 site sends UTF-8.
func TestBitrixEdgeCases(t *testing.T) {
	svc := startService(t)
	img := newImages(t)
	s := newSite(t, svc.url, img.URL)

	s.set("prices", 4, "CURRENCY", "XYZ") // not an ISO 4217 currency
	out := s.request(added(103, 2), endRequest)
	if out.Requests[0].Status != 422 || len(s.outbox()) != 0 {
		t.Fatalf("422: %+v outbox %v", out.Requests, s.outbox())
	}
	dead, err := os.ReadFile(filepath.Join(s.config["LOOKALIKE_OUTBOX_DIR"].(string), "dead.jsonl"))
	if err != nil || !strings.Contains(string(dead), `"key":"8:103"`) || !strings.Contains(string(dead), "HTTP 422") {
		t.Fatalf("dead letters: %s %v", dead, err)
	}
	if !strings.Contains(strings.Join(out.Log, "\n"), "refused") {
		t.Fatalf("log: %q", out.Log)
	}

	// No end_request: sent by the shutdown function.
	out = s.request(added(101, 2))
	if len(out.Requests) != 1 || out.Requests[0].Status != 200 {
		t.Fatalf("at shutdown: %+v", out.Requests)
	}

	// A site in windows-1251.
	w := newSite(t, svc.url, img.URL)
	w.charset = "windows-1251"
	w.config["SITE_CHARSET"] = "windows-1251"
	w.set("elements", 102, "NAME", "Ромашки «Лето» — №5")
	w.set("elements", 102, "PROPERTIES.HEIGHT", "35 см")
	out = w.request(added(102, 2), endRequest)
	if out.Requests[0].Status != 200 {
		t.Fatalf("cp1251: %+v", out.Requests)
	}
	if p := svc.product(102); p["title"] != "Ромашки «Лето» — №5" || p["height_cm"] != 35.0 {
		t.Fatalf("cp1251 product: %v", p)
	}

	// Without the catalog module: no price, availability from ACTIVE only.
	n := newSite(t, svc.url, img.URL)
	n.db["modules"] = []string{"main", "iblock"}
	n.set("elements", 101, "NAME", "Без каталога")
	out = n.request(updated(101, 2), endRequest)
	d := bodyOf(t, out.Requests[0])["product_data"].(map[string]any)
	if _, hasPrice := d["price"]; hasPrice || d["isAvailable"] != true {
		t.Fatalf("without catalog: %s", out.Requests[0].Body)
	}
	if p := svc.product(101); p["title"] != "Без каталога" || p["price"] != 18500.0 {
		t.Fatalf("the stored price must stay: %v", p)
	}
}

// Many PHP processes writing the outbox at once lose nothing (flock).
func TestBitrixOutboxConcurrentWriters(t *testing.T) {
	requirePHP(t)
	dir := filepath.Join(t.TempDir(), "outbox")
	down := closedURL(t)
	var wg sync.WaitGroup
	const writers = 6
	for w := range writers {
		wg.Go(func() {
			s := newSite(t, down, "https://cvety.example.kz")
			s.config["LOOKALIKE_OUTBOX_DIR"] = dir
			var elements []any
			var steps []step
			for i := range 5 {
				id := 1000 + w*10 + i
				elements = append(elements, element(id, 2, fmt.Sprintf("Букет %d", id), 0, 0, ""))
				steps = append(steps, added(id, 2))
			}
			s.db["elements"] = elements
			s.request(append(steps, endRequest)...)
		})
	}
	wg.Wait()
	s := newSite(t, down, "")
	s.config["LOOKALIKE_OUTBOX_DIR"] = dir
	box := s.outbox()
	if len(box) != writers*5 {
		t.Fatalf("%d messages in the outbox, want %d", len(box), writers*5)
	}
}

// The handler sends the gallery: DETAIL_PICTURE, PREVIEW_PICTURE, the
// MORE_PHOTO property, then the photos of the product's active trade
// offers, repeats dropped, cut to LOOKALIKE_MAX_PHOTOS. An offer's change
// is its parent product's update; the offer is never sent as a product.
func TestBitrixGallery(t *testing.T) {
	svc := startService(t)
	img := newImages(t)
	s := newSite(t, svc.url, img.URL)
	s.config["LOOKALIKE_MAX_PHOTOS"] = 4
	files := s.db["files"].(map[string]string)
	files["15"] = "/upload/iblock/d01/dandelion.jpg"
	files["16"] = "/upload/iblock/e5a/sunflowers.jpg"
	files["17"] = "/upload/iblock/x01/tulips.jpg"
	files["18"] = "/upload/iblock/x02/roses.jpg"
	s.set("elements", 101, "PREVIEW_PICTURE", 15)
	s.set("elements", 101, "PROPERTIES.MORE_PHOTO", []any{16, 11}) // 11 is the detail picture again
	offer := func(id, parent, picture int, active string) map[string]any {
		el := element(id, 4, fmt.Sprintf("Оффер %d", id), picture, 0, "")
		el["CML2_LINK"], el["ACTIVE"] = parent, active
		return el
	}
	s.db["elements"] = append(s.db["elements"].([]any),
		offer(301, 101, 12, "Y"), // 15 stems: daisy
		offer(302, 101, 13, "N"), // inactive
		offer(303, 101, 17, "Y")) // over the limit of 4

	out := s.request(added(101, 2), endRequest)
	if len(out.Requests) != 1 {
		t.Fatalf("%d requests: %+v", len(out.Requests), out.Requests)
	}
	data := bodyOf(t, out.Requests[0])["product_data"].(map[string]any)
	u := func(path string) string { return img.URL + path }
	want := []any{u("/upload/iblock/d01/dandelion.jpg"), u("/upload/iblock/e5a/sunflowers.jpg"), u("/upload/iblock/c11/daisy.jpg")}
	if data["image"] != u("/upload/iblock/3f2/roses.jpg") || fmt.Sprint(data["images"]) != fmt.Sprint(want) {
		t.Fatalf("photos sent: image %v, images %v", data["image"], data["images"])
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ix := svc.product(101)["index"].(map[string]any)
		if num(ix["photos_indexed"]) == 4 && num(ix["photos_total"]) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("101's photos: %v", ix)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// An offer saved (its own info block is not synced): its parent's
	// webhook, now with the offer's new photo.
	s.set("elements", 301, "DETAIL_PICTURE", 18)
	out = s.request(updated(301, 4), endRequest)
	if len(out.Requests) != 1 {
		t.Fatalf("%d requests for an offer's save: %+v", len(out.Requests), out.Requests)
	}
	body := bodyOf(t, out.Requests[0])
	data = body["product_data"].(map[string]any)
	if body["event_type"] != "product.updated" || data["id"] != 101.0 || data["title"] != "Букет из 25 белых роз" ||
		fmt.Sprint(data["images"]) != fmt.Sprint([]any{want[0], want[1], u("/upload/iblock/x02/roses.jpg")}) {
		t.Fatalf("offer save: %s", out.Requests[0].Body)
	}
	if svc.product(301) != nil {
		t.Fatal("an offer was stored as a product")
	}
	// The offer deleted: the parent loses its photo, and the next offer's
	// fits under the limit.
	out = s.request(beforeDelete(301), step{"do": "delete_element", "id": 301}, endRequest)
	if len(out.Requests) != 1 {
		t.Fatalf("%d requests for an offer's delete: %+v", len(out.Requests), out.Requests)
	}
	body = bodyOf(t, out.Requests[0])
	if data = body["product_data"].(map[string]any); body["event_type"] != "product.updated" || data["id"] != 101.0 ||
		fmt.Sprint(data["images"]) != fmt.Sprint([]any{want[0], want[1], u("/upload/iblock/x01/tulips.jpg")}) {
		t.Fatalf("offer delete: %s", out.Requests[0].Body)
	}
	// An offer's price changed: the parent's webhook.
	out = s.request(d7("Price", "OnAfterUpdate", map[string]any{"id": 9, "fields": map[string]any{"PRODUCT_ID": 303, "PRICE": 9000}}), endRequest)
	if len(out.Requests) != 1 || bodyOf(t, out.Requests[0])["product_data"].(map[string]any)["id"] != 101.0 {
		t.Fatalf("offer price: %+v", out.Requests)
	}
}
