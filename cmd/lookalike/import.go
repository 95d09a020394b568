package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/feed"
)

const importUsage = `Usage: lookalike import [flags] FILE|URL

Backfills a shop's existing catalogue into a RUNNING lookalike server. Each
product of the feed is posted as a product.updated webhook, exactly as the
CMS would send it, so the server stores it and indexes its photo. Running
the same feed again changes nothing and fetches no photo again.

The feed is a Yandex.Market YML file (what 1C-Bitrix's "Export to
Yandex.Market" and most CIS shop engines publish) or a CSV spreadsheet, read
from a file or an http(s) URL as a stream, so its size does not matter. The
format is detected from the extension or the first bytes unless --format is
given.

YML: every <offer id="N" available="true|false"> gives id, <name> (or
typePrefix+vendor+model), <price> with <currencyId>, the first <picture>, and
the <param> named by --height-param ("Высота" by default, e.g.
<param name="Высота" unit="см">60</param>); <url>, <description>,
<categoryId> and the other params are kept as extra fields.

CSV: a header line names the columns, in any order (case-insensitive):
  id         the CMS element id, a positive integer (required)
  title      product name (also: name)
  price      2500, 2500.50, "2 500 ₸" (empty: keep the stored price)
  currency   any ISO 4217 code (KZT, RUB or RUR, UAH, BYN, USD, JPY...) or
             a sign (₸, ₽, ₴); empty means what price says, or --currency
  available  Y/N, true/false, 1/0, да/нет (empty: keep the stored value)
  image      absolute URL or /upload/... path (empty: the product has no photo)
  height     60 см, 60cm, 0.6 м, 60
Any other column is kept as an extra field under its header name. The
delimiter (";", "," or tab) is detected from the header; UTF-8, with or
without a BOM (Excel: "CSV UTF-8").

Invalid rows (no id, a price that cannot be read, ...) are listed with their
line numbers and skipped; the server's 422 replies count as invalid too.

Examples:
  WEBHOOK_SECRET=change-me-please lookalike import --shop 8 cvety.yml
  lookalike import --server https://lookalike.internal:8080 --shop 8 \
      https://cvety.kz/bitrix/catalog_export/yandex.php
  lookalike import --dry-run goods.csv
  lookalike import --shop 8 --delete-missing cvety.yml

Exit status: 0 when the import ran (even if some rows were invalid; they are
listed), 1 when the feed cannot be read, the server cannot be reached or
refuses the secret, some products could not be sent, or --delete-missing was
refused, 2 for a bad command line.

Flags (some also read from the environment variable in brackets):
`

// importConfig is what `lookalike import` was told.
type importConfig struct {
	server, secret, source string
	shop                   int64
	format                 feed.Format
	heightParam, currency  string
	dryRun, deleteMissing  bool
	force                  bool
	parallel, retries      int
	timeout, feedTimeout   time.Duration
	showInvalid            int
	progressEvery          time.Duration
}

func (m *Main) runImport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, importUsage); fs.PrintDefaults() }
	ef := &envFlags{fs: fs, getenv: m.Getenv}
	var c importConfig
	var format string
	var parallel, retries, showInvalid int64
	ef.str(&c.server, "server", "LOOKALIKE_SERVER", "http://127.0.0.1:8080", "base URL of the running lookalike server")
	// Not through ef.str: its default would print the secret in -h.
	fs.StringVar(&c.secret, "webhook-secret", "", "the server's webhook secret, sent in X-Webhook-Secret (default: WEBHOOK_SECRET; the first one if comma-separated)")
	fs.Int64Var(&c.shop, "shop", 0, "shop id to import into (0: the server's default shop)")
	fs.StringVar(&format, "format", "", "feed format: yml or csv (default: detect)")
	fs.StringVar(&c.heightParam, "height-param", feed.DefaultHeightParam, "YML <param name> that holds the product height")
	ef.str(&c.currency, "currency", "LOOKALIKE_CURRENCY", catalog.DefaultCurrency, "ISO 4217 currency of prices for which the feed names none (the server's LOOKALIKE_CURRENCY)")
	fs.BoolVar(&c.dryRun, "dry-run", false, "read and validate the feed and report what would be sent; send nothing")
	fs.BoolVar(&c.deleteMissing, "delete-missing", false, "after the import, delete the shop's products that are not in the feed")
	fs.BoolVar(&c.force, "force", false, "with --delete-missing: delete even though the feed had invalid rows")
	fs.Int64Var(&parallel, "parallel", 4, "webhooks in flight at once")
	fs.Int64Var(&retries, "retries", 4, "retries of a webhook after a connection error, 429 or 5xx")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "time limit for each request to the server, and for the feed URL to answer")
	fs.DurationVar(&c.feedTimeout, "feed-timeout", time.Hour, "time limit for downloading a feed URL")
	fs.Int64Var(&showInvalid, "show-invalid", 20, "how many invalid rows the summary lists")
	fs.DurationVar(&c.progressEvery, "progress-interval", 10*time.Second, "how often to log progress when stderr is not a terminal")

	// Flags may come before or after FILE|URL.
	var positional []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(ef.errs) > 0 {
		return &usageError{strings.Join(ef.errs, "; ")}
	}
	if c.secret == "" {
		c.secret = m.Getenv("WEBHOOK_SECRET")
	}
	if len(positional) != 1 {
		fs.Usage()
		if len(positional) == 0 {
			return &usageError{"import needs a feed: a file name or an http(s) URL"}
		}
		return &usageError{fmt.Sprintf("import takes one feed, got %q", positional)}
	}
	c.source = positional[0]
	if format != "" {
		f, err := feed.ParseFormat(format)
		if err != nil {
			return &usageError{err.Error()}
		}
		c.format = f
	}
	c.parallel, c.retries, c.showInvalid = int(parallel), int(retries), int(showInvalid)
	cur, curOK := catalog.NormalizeCurrency(c.currency)
	c.currency = cur
	switch {
	case !curOK:
		return &usageError{"--currency (LOOKALIKE_CURRENCY) must be an ISO 4217 code such as KZT, RUB, UAH or USD"}
	case c.shop < 0:
		return &usageError{"--shop must be a positive shop id (or 0 for the server's default shop)"}
	case c.parallel < 1 || c.parallel > 64:
		return &usageError{"--parallel must be between 1 and 64"}
	case c.retries < 0:
		return &usageError{"--retries must not be negative"}
	case c.timeout <= 0 || c.feedTimeout <= 0:
		return &usageError{"--timeout and --feed-timeout must be positive"}
	case c.force && !c.deleteMissing:
		return &usageError{"--force only applies to --delete-missing"}
	}
	if !c.dryRun {
		u, err := url.Parse(c.server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &usageError{fmt.Sprintf("--server %q must be an http(s) URL such as http://127.0.0.1:8080", c.server)}
		}
		c.server = strings.TrimRight(c.server, "/")
		if s := strings.TrimSpace(strings.Split(c.secret, ",")[0]); s != "" {
			c.secret = s
		} else {
			return &usageError{"no webhook secret: set WEBHOOK_SECRET (or --webhook-secret) to the secret the server was started with"}
		}
	}
	im := &importer{cfg: c, out: m.Stdout, errw: m.Stderr, start: time.Now()}
	return im.run(ctx)
}

// importer runs one import.
type importer struct {
	cfg    importConfig
	out    io.Writer
	errw   io.Writer
	client *http.Client
	start  time.Time

	read      atomic.Int64 // rows read from the feed
	valid     atomic.Int64 // rows that passed the feed's checks
	bytesRead atomic.Int64
	sizeTotal int64 // -1 when unknown

	created, updated, unchanged, ignored, deleted atomic.Int64

	mu       sync.Mutex
	invalid  []rowProblem // every invalid row (the first maxKeptInvalid)
	nInvalid int
	failed   []rowProblem // rows the server could not take (5xx after retries)
	seen     map[catalog.ProductID]int
}

// rowProblem is a row that was not imported, and why.
type rowProblem struct {
	line int
	id   string
	msg  string
}

const maxKeptInvalid = 10000

func (im *importer) addInvalid(line int, id, msg string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.nInvalid++
	if len(im.invalid) < maxKeptInvalid {
		im.invalid = append(im.invalid, rowProblem{line, id, msg})
	}
}

func (im *importer) run(ctx context.Context) error {
	c := im.cfg
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = c.parallel + 2
	transport.ResponseHeaderTimeout = c.timeout
	im.client = &http.Client{Transport: transport}

	if !c.dryRun {
		if err := im.checkServer(ctx); err != nil {
			return err
		}
	}
	feedCtx, cancelFeed := context.WithTimeout(ctx, c.feedTimeout)
	defer cancelFeed()
	src, err := im.openFeed(feedCtx)
	if err != nil {
		return err
	}
	defer src.Close()

	prog := newProgress(im)
	defer prog.stop()

	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	jobs := make(chan feed.Item, 2*c.parallel)
	var wg sync.WaitGroup
	if !c.dryRun {
		for range c.parallel {
			wg.Go(func() {
				for it := range jobs {
					im.sendProduct(ctx, abort, it)
				}
			})
		}
	}
	readErr := im.readFeed(ctx, src, jobs)
	close(jobs)
	wg.Wait()
	prog.stop()

	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		im.summary(nil)
		return cause
	}
	if err := ctx.Err(); err != nil {
		im.summary(nil)
		return fmt.Errorf("import interrupted: %w", context.Cause(ctx))
	}
	if readErr != nil {
		im.summary(nil)
		return readErr
	}

	var deleteErr error
	var deleteNote []string
	if c.deleteMissing {
		deleteNote, deleteErr = im.deleteMissing(ctx, abort)
	}
	im.summary(deleteNote)
	if deleteErr != nil {
		return deleteErr
	}
	if n := len(im.failed); n > 0 {
		return fmt.Errorf("%d product(s) could not be sent; run the import again to retry them", n)
	}
	return nil
}

// checkServer makes sure the server answers before anything is read.
func (im *importer) checkServer(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, im.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", im.cfg.server+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := im.client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the lookalike server at %s (is `lookalike serve` running? set --server or LOOKALIKE_SERVER): %w",
			im.cfg.server, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the lookalike server at %s is not healthy: /healthz answered %s", im.cfg.server, resp.Status)
	}
	return nil
}

// feedSource is an open feed.
type feedSource struct {
	io.Reader
	closers     []io.Closer
	name        string
	contentType string
}

func (f *feedSource) Close() error {
	for i := len(f.closers) - 1; i >= 0; i-- {
		f.closers[i].Close()
	}
	return nil
}

// countingReader counts the bytes of the feed read so far, for progress.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (im *importer) openFeed(ctx context.Context) (*feedSource, error) {
	src := im.cfg.source
	fs := &feedSource{name: src}
	im.sizeTotal = -1
	var body io.ReadCloser
	if u, err := url.Parse(src); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		req, err := http.NewRequestWithContext(ctx, "GET", src, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", "lookalike-import/"+Version)
		resp, err := im.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("cannot download the feed: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("cannot download the feed: %s answered %s", redactURL(u), resp.Status)
		}
		body, fs.contentType, im.sizeTotal = resp.Body, resp.Header.Get("Content-Type"), resp.ContentLength
		fs.name = u.Path
	} else {
		f, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("cannot read the feed: %w", err)
		}
		st, err := f.Stat()
		if err != nil || st.IsDir() {
			f.Close()
			return nil, fmt.Errorf("cannot read the feed: %s is not a file", src)
		}
		body, im.sizeTotal = f, st.Size()
	}
	fs.closers = append(fs.closers, body)
	fs.Reader = countingReader{body, &im.bytesRead}
	if strings.HasSuffix(strings.ToLower(fs.name), ".gz") {
		zr, err := gzip.NewReader(fs.Reader)
		if err != nil {
			fs.Close()
			return nil, fmt.Errorf("cannot read the feed: %w", err)
		}
		fs.closers = append(fs.closers, zr)
		fs.Reader = zr
		fs.name = strings.TrimSuffix(fs.name, ".gz")
	}
	return fs, nil
}

// redactURL drops credentials and the query (tokens) from a URL for messages.
func redactURL(u *url.URL) string {
	v := *u
	v.User, v.RawQuery = nil, ""
	return v.String()
}

// readFeed reads every row, records invalid ones and hands the rest to the
// senders (or, in a dry run, just counts them).
func (im *importer) readFeed(ctx context.Context, src *feedSource, jobs chan<- feed.Item) error {
	rd, err := feed.NewReader(src, feed.Options{Format: im.cfg.format, Name: src.name,
		ContentType: src.contentType, HeightParam: im.cfg.heightParam, Currency: im.cfg.currency})
	if err != nil {
		return fmt.Errorf("cannot read the feed: %w", err)
	}
	im.seen = map[catalog.ProductID]int{}
	for {
		it, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot read the rest of the feed after %d rows: %w", im.read.Load(), err)
		}
		im.read.Add(1)
		id := it.Product.RawID
		if it.Err == nil {
			if first, dup := im.seen[it.Product.ID]; dup {
				it.Err = fmt.Errorf("duplicate id %s (first on line %d); skipped", it.Product.ID, first)
			}
		}
		if it.Product.ID != "" {
			if _, ok := im.seen[it.Product.ID]; !ok {
				im.seen[it.Product.ID] = it.Line
			}
		}
		if it.Err != nil {
			im.addInvalid(it.Line, id, it.Err.Error())
			continue
		}
		im.valid.Add(1)
		if im.cfg.dryRun {
			continue
		}
		select {
		case jobs <- it:
		case <-ctx.Done():
			return nil
		}
	}
}

// hookReply is the server's answer to a webhook.
type hookReply struct {
	Status  string `json:"status"`
	Action  string `json:"action"`
	Changed *bool  `json:"changed"`
	Error   string `json:"error"`
}

// sendError is a webhook that did not go through.
type sendError struct {
	kind   string // "invalid" (4xx about the row), "failed" (5xx), "fatal" (stop the import)
	msg    string
	status int
	retry  string // Retry-After of a 429 or 503
}

func (e *sendError) Error() string { return e.msg }

func (im *importer) sendProduct(ctx context.Context, abort context.CancelCauseFunc, it feed.Item) {
	body, err := feed.EventBody(catalog.EventUpdated, im.cfg.shop, &it.Product)
	if err != nil {
		im.addInvalid(it.Line, it.Product.RawID, err.Error())
		return
	}
	r, err := im.post(ctx, body)
	if err != nil {
		im.recordSendError(abort, it.Line, it.Product.RawID, err)
		return
	}
	switch {
	case r.Action == string(catalog.ActionCreated):
		im.created.Add(1)
	case r.Action == string(catalog.ActionIgnored):
		im.ignored.Add(1)
	case r.Changed != nil && !*r.Changed:
		im.unchanged.Add(1)
	default:
		im.updated.Add(1)
	}
}

func (im *importer) recordSendError(abort context.CancelCauseFunc, line int, id string, err error) {
	var se *sendError
	if !errors.As(err, &se) {
		return // the import was cancelled
	}
	switch se.kind {
	case "invalid":
		im.addInvalid(line, id, "the server refused it: "+se.msg)
	case "failed":
		im.mu.Lock()
		im.failed = append(im.failed, rowProblem{line, id, se.msg})
		im.mu.Unlock()
	default:
		abort(errors.New(se.msg))
	}
}

// post sends one webhook, retrying connection errors, 429 and 5xx with
// exponential backoff.
func (im *importer) post(ctx context.Context, body []byte) (hookReply, error) {
	target := im.cfg.server + "/api/v1/webhooks/product-sync"
	var last *sendError
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			delay := min(250*time.Millisecond<<(attempt-1), 5*time.Second)
			delay += rand.N(delay/2 + 1)
			if last.status == http.StatusTooManyRequests || last.status == http.StatusServiceUnavailable {
				delay = max(delay, last.retryAfter())
			}
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return hookReply{}, ctx.Err()
			}
		}
		r, err := im.postOnce(ctx, target, body)
		if err == nil {
			return r, nil
		}
		if ctx.Err() != nil {
			return hookReply{}, ctx.Err()
		}
		var se *sendError
		if !errors.As(err, &se) || se.kind != "retry" {
			return hookReply{}, err
		}
		last = se
		if attempt >= im.cfg.retries {
			switch {
			case se.status == 0:
				return hookReply{}, &sendError{kind: "fatal", msg: fmt.Sprintf("the lookalike server at %s stopped answering: %s", im.cfg.server, se.msg)}
			case se.status == http.StatusServiceUnavailable:
				return hookReply{}, &sendError{kind: "fatal", msg: "the server does not take webhooks: " + se.msg}
			}
			return hookReply{}, &sendError{kind: "failed", msg: se.msg, status: se.status}
		}
	}
}

// retryAfter is a 429/503's Retry-After, capped at 30 s; set by postOnce.
func (e *sendError) retryAfter() time.Duration {
	if e == nil {
		return 0
	}
	if n, err := strconv.Atoi(e.retry); err == nil && n > 0 {
		return min(time.Duration(n)*time.Second, 30*time.Second)
	}
	return 0
}

func (im *importer) postOnce(ctx context.Context, target string, body []byte) (hookReply, error) {
	ctx, cancel := context.WithTimeout(ctx, im.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", target, bytes.NewReader(body))
	if err != nil {
		return hookReply{}, &sendError{kind: "fatal", msg: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", im.cfg.secret)
	req.Header.Set("User-Agent", "lookalike-import/"+Version)
	resp, err := im.client.Do(req)
	if err != nil {
		var ne net.Error
		msg := err.Error()
		if errors.As(err, &ne) && ne.Timeout() {
			msg = "no answer within " + im.cfg.timeout.String()
		}
		return hookReply{}, &sendError{kind: "retry", msg: msg}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var r hookReply
	jsonErr := json.Unmarshal(raw, &r)
	msg := r.Error
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	msg = fmt.Sprintf("%s: %s", resp.Status, msg)
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		if jsonErr != nil || r.Status != "success" {
			return hookReply{}, &sendError{kind: "failed", msg: "unexpected webhook reply: " + msg, status: code}
		}
		return r, nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return hookReply{}, &sendError{kind: "fatal", status: code,
			msg: "the server refused the webhook secret (" + msg + "); set WEBHOOK_SECRET or --webhook-secret to the server's secret"}
	case code == http.StatusNotFound:
		return hookReply{}, &sendError{kind: "fatal", status: code,
			msg: fmt.Sprintf("%s has no webhook endpoint (%s); is --server the lookalike server?", im.cfg.server, msg)}
	case code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge || code == http.StatusUnprocessableEntity:
		return hookReply{}, &sendError{kind: "invalid", msg: r.Error, status: code}
	case code == http.StatusTooManyRequests || code >= 500:
		return hookReply{}, &sendError{kind: "retry", msg: msg, status: code, retry: resp.Header.Get("Retry-After")}
	}
	return hookReply{}, &sendError{kind: "failed", msg: msg, status: resp.StatusCode}
}

// deleteMissing deletes the shop's live products that the feed does not
// list. It returns lines for the summary.
func (im *importer) deleteMissing(ctx context.Context, abort context.CancelCauseFunc) ([]string, error) {
	c := im.cfg
	im.mu.Lock()
	nInvalid := im.nInvalid
	im.mu.Unlock()
	valid := im.valid.Load()
	switch {
	case nInvalid > 0 && !c.force:
		msg := fmt.Sprintf("--delete-missing refused: the feed had %d invalid row(s), and a product whose row could not be read would be deleted; fix the feed, or add --force to delete anyway", nInvalid)
		if c.dryRun {
			return []string{"would refuse --delete-missing: the feed has invalid rows (add --force to delete anyway)"}, nil
		}
		return nil, errors.New(msg)
	case valid == 0:
		msg := "--delete-missing refused: the feed lists no valid product, and an empty or unreadable feed never empties a shop (delete products with product.deleted webhooks instead)"
		if c.dryRun {
			return []string{"would refuse --delete-missing: the feed lists no valid product"}, nil
		}
		return nil, errors.New(msg)
	case len(im.failed) > 0:
		return nil, errors.New("--delete-missing skipped: some products could not be sent; run the import again")
	case c.dryRun:
		return []string{"--delete-missing: not checked in a dry run (it needs the server's product list)"}, nil
	}

	missing, err := im.listMissing(ctx)
	if err != nil {
		return nil, err
	}
	jobs := make(chan catalog.ProductID)
	var wg sync.WaitGroup
	for range c.parallel {
		wg.Go(func() {
			for id := range jobs {
				body, _ := feed.EventBody(catalog.EventDeleted, c.shop, &feed.Product{ID: id})
				if _, err := im.post(ctx, body); err != nil {
					im.recordSendError(abort, 0, id.String(), err)
					continue
				}
				im.deleted.Add(1)
			}
		})
	}
loop:
	for _, id := range missing {
		select {
		case jobs <- id:
		case <-ctx.Done():
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		return nil, fmt.Errorf("--delete-missing stopped: %w", cause)
	}
	return nil, nil
}

// listMissing pages through the shop's live products and returns the ids the
// feed did not have.
func (im *importer) listMissing(ctx context.Context) ([]catalog.ProductID, error) {
	var missing []catalog.ProductID
	cursor := ""
	for {
		q := url.Values{"limit": {"500"}}
		if im.cfg.shop > 0 {
			q.Set("shop_id", strconv.FormatInt(im.cfg.shop, 10))
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Products []struct {
				ProductID catalog.ProductID `json:"product_id"`
			} `json:"products"`
			NextCursor string `json:"next_cursor"`
		}
		if err := im.getJSON(ctx, "/api/v1/products?"+q.Encode(), &page); err != nil {
			return nil, fmt.Errorf("--delete-missing: listing the shop's products: %w", err)
		}
		for _, p := range page.Products {
			if _, ok := im.seen[p.ProductID]; !ok {
				missing = append(missing, p.ProductID)
			}
		}
		if page.NextCursor == "" || page.NextCursor == cursor {
			return missing, nil
		}
		cursor = page.NextCursor
	}
}

func (im *importer) getJSON(ctx context.Context, path string, v any) error {
	var lastErr error
	for attempt := 0; attempt <= im.cfg.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(250 * time.Millisecond << (attempt - 1)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		rctx, cancel := context.WithTimeout(ctx, im.cfg.timeout)
		req, _ := http.NewRequestWithContext(rctx, "GET", im.cfg.server+path, nil)
		resp, err := im.client.Do(req)
		if err != nil {
			cancel()
			lastErr = err
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		cancel()
		switch {
		case err != nil:
			lastErr = err
			continue
		case resp.StatusCode >= 500:
			lastErr = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(raw))
			continue
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(raw))
		}
		return json.Unmarshal(raw, v)
	}
	return lastErr
}

// summary prints what the import did.
func (im *importer) summary(notes []string) {
	c := im.cfg
	w := im.out
	elapsed := time.Since(im.start).Round(time.Millisecond)
	shop := "the server's default shop"
	if c.shop > 0 {
		shop = fmt.Sprintf("shop %d", c.shop)
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if c.dryRun {
		fmt.Fprintf(w, "Dry run of %s for %s: nothing was sent.\n", c.source, shop)
		fmt.Fprintf(w, "  read        %d rows\n", im.read.Load())
		fmt.Fprintf(w, "  would send  %d product.updated events\n", im.valid.Load())
	} else {
		fmt.Fprintf(w, "Imported %s into %s (%s).\n", c.source, c.server, shop)
		fmt.Fprintf(w, "  read        %d rows\n", im.read.Load())
		fmt.Fprintf(w, "  created     %d\n", im.created.Load())
		fmt.Fprintf(w, "  updated     %d\n", im.updated.Load())
		fmt.Fprintf(w, "  unchanged   %d\n", im.unchanged.Load())
		if n := im.ignored.Load(); n > 0 {
			fmt.Fprintf(w, "  ignored     %d (the server holds newer data from the CMS)\n", n)
		}
	}
	fmt.Fprintf(w, "  invalid     %d\n", im.nInvalid)
	slices.SortStableFunc(im.invalid, func(a, b rowProblem) int { return a.line - b.line })
	for i, p := range im.invalid {
		if i == c.showInvalid {
			fmt.Fprintf(w, "    … and %d more (--show-invalid N lists more)\n", im.nInvalid-i)
			break
		}
		fmt.Fprintf(w, "    %s\n", p)
	}
	if len(im.failed) > 0 {
		fmt.Fprintf(w, "  failed      %d (the server could not take them; run the import again)\n", len(im.failed))
		for i, p := range im.failed {
			if i == c.showInvalid {
				fmt.Fprintf(w, "    … and %d more\n", len(im.failed)-i)
				break
			}
			fmt.Fprintf(w, "    %s\n", p)
		}
	}
	if c.deleteMissing && !c.dryRun {
		fmt.Fprintf(w, "  deleted     %d\n", im.deleted.Load())
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintf(w, "  elapsed     %s\n", elapsed)
}

func (p rowProblem) String() string {
	var b strings.Builder
	if p.line > 0 {
		fmt.Fprintf(&b, "line %d", p.line)
	}
	if p.id != "" {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "id %s", p.id)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.msg)
	return b.String()
}

// progress shows how far the import is: a bar redrawn in place when stderr
// is a terminal, a log line every --progress-interval otherwise.
type progress struct {
	im       *importer
	terminal bool
	done     chan struct{}
	stopped  sync.Once
	wg       sync.WaitGroup
}

func newProgress(im *importer) *progress {
	p := &progress{im: im, terminal: isTerminal(im.errw), done: make(chan struct{})}
	every := im.cfg.progressEvery
	if p.terminal {
		every = 200 * time.Millisecond
	}
	p.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				if p.terminal {
					fmt.Fprint(im.errw, "\r\033[K")
				}
				return
			case <-t.C:
				p.draw()
			}
		}
	})
	return p
}

func (p *progress) stop() {
	p.stopped.Do(func() { close(p.done) })
	p.wg.Wait()
}

func (p *progress) draw() {
	im := p.im
	read, got := im.read.Load(), im.bytesRead.Load()
	sent := im.created.Load() + im.updated.Load() + im.unchanged.Load() + im.ignored.Load()
	im.mu.Lock()
	invalid := im.nInvalid
	im.mu.Unlock()
	rate := float64(read) / max(time.Since(im.start).Seconds(), 0.001)
	size := humanSize(got)
	pct := -1.0
	if im.sizeTotal > 0 {
		pct = min(100, 100*float64(got)/float64(im.sizeTotal))
		size += " of " + humanSize(im.sizeTotal)
	}
	if !p.terminal {
		fmt.Fprintf(im.errw, "import: %d rows read (%s), %d sent, %d invalid, %.0f rows/s\n", read, size, sent, invalid, rate)
		return
	}
	const width = 30
	if pct >= 0 {
		n := int(pct / 100 * width)
		bar := strings.Repeat("█", n) + strings.Repeat("·", width-n)
		fmt.Fprintf(im.errw, "\r\033[K%3.0f%% %s %d rows, %d sent, %d invalid, %.0f/s", pct, bar, read, sent, invalid, rate)
		return
	}
	fmt.Fprintf(im.errw, "\r\033[K%d rows (%s), %d sent, %d invalid, %.0f/s", read, size, sent, invalid, rate)
}
