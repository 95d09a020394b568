package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The import tests run `lookalike import` in-process against a real
// `lookalike serve` (startServer), with the feed's photos served by a local
// image server.

// feedHost is the placeholder host of the fixtures' picture URLs.
const feedHost = "https://cvety.example.kz"

var fixturePicture = regexp.MustCompile(`/upload/iblock/[0-9a-f]+/(daisy|dandelion|roses|sunflowers|tulips)[-\w]*\.jpg`)

// importFixture copies testdata/feeds/NAME into a temporary directory with
// its pictures pointing at images, which then serves each of them.
func importFixture(t *testing.T, images *imageServer, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "feeds", name))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	images.mu.Lock()
	for _, m := range fixturePicture.FindAllStringSubmatch(text, -1) {
		images.files[m[0]] = readPhoto(t, m[1])
	}
	images.mu.Unlock()
	text = strings.ReplaceAll(text, feedHost+"/upload/", images.URL+"/upload/")
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type importRun struct {
	out, errOut string
	err         error
}

// runImportCmd runs `lookalike import ARGS...` with WEBHOOK_SECRET set
// unless env overrides it.
func runImportCmd(t *testing.T, env map[string]string, args ...string) importRun {
	t.Helper()
	vars := map[string]string{"WEBHOOK_SECRET": testSecret}
	for k, v := range env {
		vars[k] = v
	}
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return vars[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := m.Run(ctx, append([]string{"import"}, args...))
	return importRun{out: out.String(), errOut: errOut.String(), err: err}
}

var summaryLine = regexp.MustCompile(`(?m)^  (read|created|updated|unchanged|ignored|invalid|deleted|failed|would send)\s+(\d+)`)

// counts reads the numbers of the summary.
func (r importRun) counts() map[string]int {
	m := map[string]int{}
	for _, x := range summaryLine.FindAllStringSubmatch(r.out, -1) {
		m[x[1]], _ = strconv.Atoi(x[2])
	}
	return m
}

func (r importRun) want(t *testing.T, want map[string]int) {
	t.Helper()
	got := r.counts()
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %d, want %d\nstdout:\n%s\nstderr:\n%s\nerr: %v", k, got[k], v, r.out, r.errOut, r.err)
		}
	}
}

// waitSettled waits until no reindex job is left.
func waitSettled(srv *server, vectors int) {
	srv.waitFor(fmt.Sprintf("%d vectors and an empty queue", vectors), func() bool {
		st := srv.stats()
		q := st["queue"].(map[string]any)
		return num(st["vectors"]) == float64(vectors) && num(q["pending"]) == 0 && num(q["running"]) == 0
	})
}

func TestImportYMLIdempotent(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	path := importFixture(t, images, "cvety.yml")

	r := runImportCmd(t, nil, "--server", srv.url, "--shop", "8", path)
	if r.err != nil {
		t.Fatalf("import: %v\n%s\n%s", r.err, r.out, r.errOut)
	}
	r.want(t, map[string]int{"read": 15, "created": 15, "updated": 0, "unchanged": 0, "invalid": 0})
	waitSettled(srv, 14) // 2013 has no picture

	p := srv.getJSON("/api/v1/products/2001?shop_id=8").body
	extra, _ := p["extra"].(map[string]any)
	if p["title"] != "Букет из 25 белых роз" || p["price"] != 18500.0 || p["currency"] != "KZT" || p["price_raw"] != "18 500 ₸" ||
		p["height_cm"] != 60.0 || p["is_available"] != true || p["index"].(map[string]any)["state"] != "indexed" ||
		extra["url"] != "https://cvety.example.kz/catalog/rozy/buket-iz-25-belykh-roz/" || extra["categoryId"] != "11" {
		t.Fatalf("2001: %v", p)
	}
	// 2002 has two <picture>: both its photos, the first the main one.
	if p := srv.getJSON("/api/v1/products/2002?shop_id=8").body; num(p["index"].(map[string]any)["photos_total"]) != 2 ||
		num(p["index"].(map[string]any)["photos_indexed"]) != 2 || !strings.HasSuffix(p["image_url"].(string), "/roses-51-red.jpg") ||
		!strings.HasSuffix(p["images"].([]any)[1].(map[string]any)["url"].(string), "/roses-51-red-2.jpg") {
		t.Fatalf("2002's pictures: %v", p)
	}
	if p := srv.getJSON("/api/v1/products/2010?shop_id=8").body; p["is_available"] != false {
		t.Fatalf("2010 is not available: %v", p)
	}
	if p := srv.getJSON("/api/v1/products/2013?shop_id=8").body; p["index"].(map[string]any)["state"] != "no_image" {
		t.Fatalf("2013 has no picture: %v", p)
	}
	if p := srv.getJSON("/api/v1/products/2015?shop_id=8").body; p["height_cm"] != 80.0 || p["price"] != 19900.0 {
		t.Fatalf("2015: %v", p)
	}
	if p := srv.getJSON("/api/v1/products/2012?shop_id=8").body; p["price"] != 22000.5 {
		t.Fatalf("2012: %v", p)
	}
	// A shopper's photo of sunflowers finds one of the sunflower bouquets.
	res := srv.searchPhoto(rephotograph(t, readPhoto(t, "sunflowers")), map[string]string{"shop_id": "8"})
	if res.status != 200 || !strings.Contains(" 2006 2007 2015 ", fmt.Sprintf(" %v ", res.body["results"].([]any)[0].(map[string]any)["product_id"])) {
		t.Fatalf("search: %s", res.raw)
	}

	// The same feed again: nothing changes, nothing is fetched.
	fetched, statsBefore := images.total(), srv.stats()
	r = runImportCmd(t, nil, "--server", srv.url, "--shop", "8", path)
	if r.err != nil {
		t.Fatalf("second import: %v\n%s", r.err, r.out)
	}
	r.want(t, map[string]int{"read": 15, "created": 0, "updated": 0, "unchanged": 15, "invalid": 0})
	time.Sleep(300 * time.Millisecond)
	if images.total() != fetched {
		t.Fatalf("the second import fetched %d images", images.total()-fetched)
	}
	if catalogueStats(srv.stats()) != catalogueStats(statsBefore) {
		t.Fatalf("stats changed:\n%v\n%v", statsBefore, srv.stats())
	}

	// A changed price and a changed picture: two updates, one new fetch.
	b, _ := os.ReadFile(path)
	text := strings.Replace(string(b), "<price>18500</price>", "<price>19500</price>", 1)
	text = strings.Replace(text, "/upload/iblock/c11/daisy-kraft.jpg", "/upload/iblock/c11/tulips-kraft-new.jpg", 1)
	images.mu.Lock()
	images.files["/upload/iblock/c11/tulips-kraft-new.jpg"] = readPhoto(t, "tulips")
	images.mu.Unlock()
	os.WriteFile(path, []byte(text), 0o644)
	r = runImportCmd(t, nil, "--server", srv.url, "--shop", "8", path)
	r.want(t, map[string]int{"created": 0, "updated": 2, "unchanged": 13})
	waitSettled(srv, 14)
	if images.total() != fetched+1 {
		t.Fatalf("%d fetches after one new picture", images.total()-fetched)
	}
	if p := srv.getJSON("/api/v1/products/2001?shop_id=8").body; p["price"] != 19500.0 {
		t.Fatalf("new price: %v", p)
	}
}

func TestImportCSVInvalidRowsAndDeleteMissing(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	path := importFixture(t, images, "cvety.csv")
	// Products the feed no longer lists, and one in another shop.
	for _, id := range []int{3001, 3002} {
		if r := srv.webhook(createBody(id, "Снят с продажи", "1000", "", "")); r.status != 200 {
			t.Fatal(r.raw)
		}
	}
	if r := srv.webhook(`{"event_type":"product.created","shop_id":9,"product_data":{"id":3003,"title":"Другой магазин"}}`); r.status != 200 {
		t.Fatal(r.raw)
	}

	// Invalid rows refuse --delete-missing, and say so; the import itself runs.
	r := runImportCmd(t, nil, "--server", srv.url, "--shop", "8", "--delete-missing", path)
	if r.err == nil || !strings.Contains(r.err.Error(), "--delete-missing refused") || !strings.Contains(r.err.Error(), "--force") {
		t.Fatalf("delete-missing with invalid rows: %v\n%s", r.err, r.out)
	}
	var ue *usageError
	if errors.As(r.err, &ue) {
		t.Fatal("a refused --delete-missing is not a usage error")
	}
	r.want(t, map[string]int{"read": 21, "created": 15, "invalid": 6, "deleted": 0})
	for _, want := range []string{
		"line 14: missing id",
		`line 16, id A/17: id "A/17" contains '/', which is not allowed`,
		`line 18, id 2016: price "дорого"`,
		`line 19, id 2017: available: cannot read availability "maybe"`,
		"line 20, id 2018: has 5 fields, the header has 8",
		`line 21, id 2019: catalogHeight: cannot parse "высокий" as a height`,
	} {
		if !strings.Contains(r.out, "    "+want) {
			t.Errorf("summary does not list %q:\n%s", want, r.out)
		}
	}
	if p := srv.getJSON("/api/v1/products/3001?shop_id=8").body; p["deleted_at"] != nil {
		t.Fatal("3001 was deleted although --delete-missing was refused")
	}
	p := srv.getJSON("/api/v1/products/2007?shop_id=8").body
	if extra, _ := p["extra"].(map[string]any); p["title"] != "Подсолнухи и эвкалипт" || extra["color"] != "жёлтый; зелёный" {
		t.Fatalf("2007 from CSV: %v", p)
	}

	// --show-invalid limits the listing, not the count. (Wait for the photos
	// first: the server counts an event for a product still being indexed
	// as a change.)
	waitSettled(srv, 14)
	r = runImportCmd(t, nil, "--server", srv.url, "--shop", "8", "--show-invalid", "2", path)
	r.want(t, map[string]int{"unchanged": 15, "invalid": 6})
	if !strings.Contains(r.out, "… and 4 more") || strings.Contains(r.out, "line 18") {
		t.Fatalf("--show-invalid 2:\n%s", r.out)
	}

	// --force deletes what the feed does not list, in this shop only.
	r = runImportCmd(t, nil, "--server", srv.url, "--shop", "8", "--delete-missing", "--force", path)
	if r.err != nil {
		t.Fatalf("--force: %v\n%s", r.err, r.out)
	}
	r.want(t, map[string]int{"unchanged": 15, "invalid": 6, "deleted": 2})
	for _, id := range []int{3001, 3002} {
		if p := srv.getJSON(fmt.Sprintf("/api/v1/products/%d?shop_id=8", id)).body; p["deleted_at"] == nil {
			t.Fatalf("%d not deleted: %v", id, p)
		}
	}
	if p := srv.getJSON("/api/v1/products/3003?shop_id=9").body; p["deleted_at"] != nil {
		t.Fatal("a product of another shop was deleted")
	}
	if p := srv.getJSON("/api/v1/products/2001?shop_id=8").body; p["deleted_at"] != nil {
		t.Fatal("a feed product was deleted")
	}
	// Rows with a readable id but a bad field are in the feed: not deleted.
	if r := srv.webhook(createBody(2016, "Гортензии", "8000", "", "")); r.status != 200 {
		t.Fatal(r.raw)
	}
	r = runImportCmd(t, nil, "--server", srv.url, "--shop", "8", "--delete-missing", "--force", path)
	r.want(t, map[string]int{"deleted": 0})
	if p := srv.getJSON("/api/v1/products/2016?shop_id=8").body; p["deleted_at"] != nil {
		t.Fatal("2016 (in the feed, with a bad price) was deleted")
	}
}

// Deleting pages through the product list (500 a page).
func TestImportDeleteMissingPages(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	var wg sync.WaitGroup
	ids := make(chan int)
	for range 8 {
		wg.Go(func() {
			for id := range ids {
				if r := srv.webhook(createBody(id, "Старый товар", "100", "", "")); r.status != 200 {
					t.Error(r.raw)
				}
			}
		})
	}
	for id := 1; id <= 1203; id++ {
		ids <- id
	}
	close(ids)
	wg.Wait()
	path := filepath.Join(t.TempDir(), "one.csv")
	os.WriteFile(path, []byte("id,title,price\n600,Оставить,100\n"), 0o644)
	r := runImportCmd(t, nil, "--server", srv.url, "--shop", "8", "--delete-missing", path)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.out)
	}
	r.want(t, map[string]int{"updated": 1, "deleted": 1202})
	if st := srv.stats()["products"].(map[string]any); num(st["active"]) != 1 || num(st["deleted"]) != 1202 {
		t.Fatalf("after delete-missing: %v", st)
	}
	// A feed without a single valid product never empties the shop.
	os.WriteFile(path, []byte("id,title,price\nx/y,Битая строка,100\n"), 0o644)
	r = runImportCmd(t, nil, "--server", srv.url, "--shop", "8", "--delete-missing", "--force", path)
	r.want(t, map[string]int{"invalid": 1, "deleted": 0})
	os.WriteFile(path, []byte("id,title,price\n"), 0o644)
	r = runImportCmd(t, nil, "--server", srv.url, "--shop", "8", "--delete-missing", path)
	if r.err == nil || !strings.Contains(r.err.Error(), "no valid product") {
		t.Fatalf("empty feed with --delete-missing: %v\n%s", r.err, r.out)
	}
	if st := srv.stats()["products"].(map[string]any); num(st["active"]) != 1 {
		t.Fatalf("the shop was emptied: %v", st)
	}
}

func TestImportFromURLDryRunAndProgress(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	path := importFixture(t, images, "cvety.yml")
	feedBytes, _ := os.ReadFile(path)
	var feedHits atomic.Int32
	feedURL := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		feedHits.Add(1)
		if r.URL.Path != "/bitrix/catalog_export/yandex.php" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Write(feedBytes)
	})) + "/bitrix/catalog_export/yandex.php"

	// A dry run sends nothing: point it at a server that counts requests.
	var serverHits atomic.Int32
	counting := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serverHits.Add(1)
		http.Error(w, "no", 500)
	}))
	r := runImportCmd(t, nil, "--dry-run", "--server", counting, "--shop", "8", "--delete-missing", feedURL)
	if r.err != nil {
		t.Fatalf("dry run: %v\n%s", r.err, r.out)
	}
	r.want(t, map[string]int{"read": 15, "would send": 15, "invalid": 0})
	if serverHits.Load() != 0 || !strings.Contains(r.out, "nothing was sent") || !strings.Contains(r.out, "not checked in a dry run") {
		t.Fatalf("dry run: %d server requests\n%s", serverHits.Load(), r.out)
	}
	// A dry run needs no secret either.
	if r := runImportCmd(t, map[string]string{"WEBHOOK_SECRET": ""}, "--dry-run", path); r.err != nil {
		t.Fatalf("dry run without a secret: %v", r.err)
	}

	// The real thing from the URL, the server from LOOKALIKE_SERVER, with
	// progress lines in the log (stderr is not a terminal here).
	r = runImportCmd(t, map[string]string{"LOOKALIKE_SERVER": srv.url}, "--shop", "8", "--progress-interval", "1ms", feedURL)
	if r.err != nil {
		t.Fatalf("import from URL: %v\n%s\n%s", r.err, r.out, r.errOut)
	}
	r.want(t, map[string]int{"created": 15})
	if !strings.Contains(r.errOut, "import: ") || strings.Contains(r.errOut, "\r") {
		t.Fatalf("progress log: %q", r.errOut)
	}
	if p := srv.getJSON("/api/v1/products/2003?shop_id=8").body; p["title"] != "Ромашки в крафте" {
		t.Fatalf("2003: %v", p)
	}
	// A URL that answers 404 is a failure, not a usage error.
	r = runImportCmd(t, nil, "--server", srv.url, feedURL+"x")
	var ue *usageError
	if r.err == nil || errors.As(r.err, &ue) || !strings.Contains(r.err.Error(), "404") {
		t.Fatalf("feed 404: %v", r.err)
	}
}

// Connection errors and 5xx are retried; the same event is never lost.
func TestImportRetries(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	var calls atomic.Int32
	target := srv.url
	flaky := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path == "/api/v1/webhooks/product-sync" && n%2 == 0 {
			if n%4 == 0 { // drop the connection
				hj, _ := w.(http.Hijacker)
				c, _, _ := hj.Hijack()
				c.Close()
				return
			}
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"status":"error","error":"busy"}`, http.StatusServiceUnavailable)
			return
		}
		req, _ := http.NewRequest(r.Method, target+r.URL.RequestURI(), r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	path := filepath.Join(t.TempDir(), "feed.csv")
	var b strings.Builder
	b.WriteString("id;title;price\n")
	for id := 1; id <= 40; id++ {
		fmt.Fprintf(&b, "%d;Букет %d;%d\n", id, id, 1000+id)
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	r := runImportCmd(t, nil, "--server", flaky, "--retries", "6", path)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.out)
	}
	r.want(t, map[string]int{"created": 40, "invalid": 0})
	if st := srv.stats()["products"].(map[string]any); num(st["active"]) != 40 {
		t.Fatalf("stored: %v", st)
	}

	// A server that keeps failing one product: reported, exit status 1.
	broken := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte("ok"))
			return
		}
		http.Error(w, `{"status":"error","error":"database is on fire"}`, http.StatusInternalServerError)
	}))
	os.WriteFile(path, []byte("id;title\n1;Розы\n"), 0o644)
	r = runImportCmd(t, nil, "--server", broken, "--retries", "1", path)
	if r.err == nil || !strings.Contains(r.err.Error(), "could not be sent") || !strings.Contains(r.out, "database is on fire") {
		t.Fatalf("5xx: %v\n%s", r.err, r.out)
	}
	r.want(t, map[string]int{"failed": 1})
}

// The server's 422 (a row it will not take) counts as invalid, with its reason.
func TestImportServerRefusalIsInvalid(t *testing.T) {
	fake := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(b), `"id":2,`) {
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write([]byte(`{"status":"error","error":"product_data.title: is too long"}`))
			return
		}
		w.Write([]byte(`{"status":"success","action":"created","changed":true}`))
	}))
	path := filepath.Join(t.TempDir(), "feed.csv")
	os.WriteFile(path, []byte("id;title\n1;Розы\n2;Тюльпаны\n3;Ромашки\n"), 0o644)
	r := runImportCmd(t, nil, "--server", fake, path)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.out)
	}
	r.want(t, map[string]int{"created": 2, "invalid": 1})
	if !strings.Contains(r.out, "line 3, id 2: the server refused it: product_data.title: is too long") {
		t.Fatalf("summary:\n%s", r.out)
	}
}

func TestImportCommandLine(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	path := filepath.Join(t.TempDir(), "feed.csv")
	os.WriteFile(path, []byte("id,title\n1,Розы\n"), 0o644)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	var ue *usageError
	for _, args := range [][]string{
		{},
		{path, path},
		{"--format", "json", path},
		{"--parallel", "0", path},
		{"--shop", "-1", path},
		{"--force", path},
		{"--server", "ftp://x", path},
		{"--no-such-flag", path},
	} {
		r := runImportCmd(t, nil, args...)
		if !errors.As(r.err, &ue) {
			t.Errorf("import %q: %v, want a usage error", args, r.err)
		}
	}
	if r := runImportCmd(t, map[string]string{"WEBHOOK_SECRET": ""}, "--server", srv.url, path); !errors.As(r.err, &ue) ||
		!strings.Contains(r.err.Error(), "WEBHOOK_SECRET") {
		t.Errorf("no secret: %v", r.err)
	}
	r := runImportCmd(t, nil, "--help")
	if !errors.Is(r.err, errHelp) || !strings.Contains(r.errOut, "Examples:") || !strings.Contains(r.errOut, "--delete-missing") ||
		strings.Contains(r.errOut, testSecret) {
		t.Errorf("--help: %v\n%s", r.err, r.errOut)
	}

	// Failures (exit status 1), each saying what to do.
	for _, c := range []struct {
		env  map[string]string
		args []string
		msg  string
	}{
		{nil, []string{"--server", closed, path}, "cannot reach the lookalike server"},
		{nil, []string{"--server", srv.url, filepath.Join(t.TempDir(), "missing.yml")}, "cannot read the feed"},
		{map[string]string{"WEBHOOK_SECRET": "wrong-secret-123"}, []string{"--server", srv.url, path}, "refused the webhook secret"},
	} {
		r := runImportCmd(t, c.env, c.args...)
		if r.err == nil || errors.As(r.err, &ue) || !strings.Contains(r.err.Error(), c.msg) {
			t.Errorf("import %q: %v, want an error saying %q", c.args, r.err, c.msg)
		}
	}
	// A feed that breaks off: what came before is imported, then exit status 1.
	broken := filepath.Join(t.TempDir(), "broken.yml")
	os.WriteFile(broken, []byte(`<yml_catalog><shop><offers>
<offer id="7"><name>Розы</name><price>100</price></offer>
<offer id="8"><name>Тюльпаны</nam></offer>`), 0o644)
	r = runImportCmd(t, nil, "--server", srv.url, broken)
	if r.err == nil || errors.As(r.err, &ue) || !strings.Contains(r.err.Error(), "after 1 rows") || !strings.Contains(r.err.Error(), "line 3") {
		t.Fatalf("broken feed: %v\n%s", r.err, r.out)
	}
	r.want(t, map[string]int{"created": 1})

	// Flags after the feed work too; so does the format flag on an odd name.
	odd := filepath.Join(t.TempDir(), "export.dat")
	os.WriteFile(odd, []byte(`<yml_catalog><shop><offers><offer id="5"><name>Розы</name><price>2500</price></offer></offers></shop></yml_catalog>`), 0o644)
	r = runImportCmd(t, nil, odd, "--server", srv.url, "--format", "yml")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.out)
	}
	r.want(t, map[string]int{"created": 1})
	if p := srv.getJSON("/api/v1/products/5").body; p["price_raw"] != "2 500 ₸" {
		t.Fatalf("product 5: %v", p)
	}
}

func TestImportInUsage(t *testing.T) {
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), []string{"help"}); err != nil || !strings.Contains(out.String(), "lookalike import") {
		t.Fatalf("help: %v\n%s", err, out.String())
	}
}
