package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/lookalike/lookalike/catalog"
)

// The commands in this file talk to a running server (--server or
// LOOKALIKE_SERVER): search, reindex, stats and failed.

// apiClient calls the server's JSON API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newClient(server, token string) *apiClient {
	return &apiClient{base: strings.TrimRight(server, "/"), token: token, http: &http.Client{Timeout: 2 * time.Minute}}
}

// call sends a request and decodes a 2xx JSON reply into out; other replies
// become errors carrying the server's message.
func (c *apiClient) call(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s: %w (is `lookalike serve` running? set --server or LOOKALIKE_SERVER)", c.base, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return fmt.Errorf("server answered %s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("server answered %s", resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

func (c *apiClient) postJSON(ctx context.Context, path string, in, out any) error {
	b, _ := json.Marshal(in)
	return c.call(ctx, "POST", path, "application/json", bytes.NewReader(b), out)
}

type statsReply struct {
	Vectors    int64  `json:"vectors"`
	Dimensions int    `json:"dimensions"`
	Model      string `json:"model"`
	Products   struct {
		Active  int64 `json:"active"`
		Deleted int64 `json:"deleted"`
	} `json:"products"`
	Queue struct {
		Pending int64 `json:"pending"`
		Running int64 `json:"running"`
		Failed  int64 `json:"failed"`
	} `json:"queue"`
}

const searchUsage = `Usage: lookalike search [flags] PHOTO|URL
       lookalike search [flags] --text "white roses in a hat box"
       lookalike search [flags] --product ID

Finds the products most like a photo (a file or an http(s) URL), a text
(needs a CLIP model on the server) or another product, and prints a table.

Examples:
  lookalike search bouquet.jpg
  lookalike search --shop 8 --limit 5 --price-max 15000 https://example.com/bouquet.jpg
  lookalike search --product 888888 --available any

Flags:
`

func (m *Main) runSearch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, searchUsage); fs.PrintDefaults() }
	server, token := serverFlags(fs, m.Getenv)
	text := fs.String("text", "", "search by text (CLIP models only)")
	product := productFlag(fs, "find products like this product id")
	shop := fs.Int64("shop", 0, "shop id (default: the server's default shop)")
	limit := fs.Int("limit", 10, "how many results (at most 100)")
	available := fs.String("available", "", "true, false or any (default: in stock, after sold-out exact matches)")
	minBand := fs.String("min-band", "", "weakest band shown: exact, similar (default) or any")
	priceMin := fs.String("price-min", "", "lowest price, in main units")
	priceMax := fs.String("price-max", "", "highest price, in main units")
	currency := fs.String("currency", "", "ISO 4217 currency of --price-min/--price-max (default: the server's LOOKALIKE_CURRENCY); only products priced in it match")
	asJSON := fs.Bool("json", false, "print the server's JSON reply")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := product.id()
	if err != nil {
		return err
	}
	sources := fs.NArg()
	if *text != "" {
		sources++
	}
	if id != "" {
		sources++
	}
	if sources != 1 {
		fs.Usage()
		return &usageError{"give exactly one of: a photo or URL, --text, --product"}
	}
	fields := map[string]string{"limit": strconv.Itoa(*limit)}
	if *available != "" {
		fields["available"] = *available
	}
	if *minBand != "" {
		fields["min_band"] = *minBand
	}
	if *shop != 0 {
		fields["shop_id"] = strconv.FormatInt(*shop, 10)
	}
	if *priceMin != "" {
		fields["price_min"] = *priceMin
	}
	if *currency != "" {
		fields["currency"] = *currency
	}
	if *priceMax != "" {
		fields["price_max"] = *priceMax
	}
	c := newClient(*server, token())
	var reply struct {
		Results []struct {
			ProductID   catalog.ProductID `json:"product_id"`
			ShopID      int64             `json:"shop_id"`
			Score       float64           `json:"score"`
			Title       string            `json:"title"`
			Price       *float64          `json:"price"`
			Currency    *string           `json:"currency"`
			HeightCM    *float64          `json:"height_cm"`
			IsAvailable bool              `json:"is_available"`
			Band        string            `json:"band"`
		} `json:"results"`
		TookMS float64 `json:"took_ms"`
		Model  string  `json:"model"`
	}
	var raw json.RawMessage
	switch {
	case *text != "" || id != "" || strings.HasPrefix(fs.Arg(0), "http://") || strings.HasPrefix(fs.Arg(0), "https://"):
		in := map[string]any{}
		for k, v := range fields {
			in[k] = v
		}
		switch {
		case *text != "":
			in["text"] = *text
		case id != "":
			in["product_id"] = id
		default:
			in["image_url"] = fs.Arg(0)
		}
		err = c.postJSON(ctx, "/api/v1/search", in, &raw)
	default:
		photo, rerr := os.ReadFile(fs.Arg(0))
		if rerr != nil {
			return fmt.Errorf("read photo: %w", rerr)
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("image", filepath.Base(fs.Arg(0)))
		fw.Write(photo)
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		mw.Close()
		err = c.call(ctx, "POST", "/api/v1/search", mw.FormDataContentType(), &buf, &raw)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := fmt.Fprintln(m.Stdout, string(raw))
		return err
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		return fmt.Errorf("unexpected reply: %w", err)
	}
	if len(reply.Results) == 0 {
		fmt.Fprintf(m.Stdout, "no matching products (model %s, %.0f ms)\n", reply.Model, reply.TookMS)
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tBAND\tSCORE\tPRODUCT\tTITLE\tPRICE\tHEIGHT\tAVAILABLE")
	for i, r := range reply.Results {
		price, height := "—", "—"
		if r.Price != nil {
			cur := ""
			if r.Currency != nil {
				cur = *r.Currency
			}
			price = formatMoney(*r.Price, cur)
		}
		if r.HeightCM != nil {
			height = strconv.FormatFloat(*r.HeightCM, 'f', -1, 64) + " см"
		}
		avail := "yes"
		if !r.IsAvailable {
			avail = "no"
		}
		fmt.Fprintf(tw, "%d\t%s\t%.3f\t%s\t%s\t%s\t%s\t%s\n", i+1, r.Band, r.Score, r.ProductID, truncate(r.Title, 40), price, height, avail)
	}
	tw.Flush()
	fmt.Fprintf(m.Stdout, "%d results, model %s, %.0f ms\n", len(reply.Results), reply.Model, reply.TookMS)
	return nil
}

// formatMoney prints 2500.5 KZT as "2 500,50 ₸" and 1.25 KWD as "1,250 KWD",
// with as many decimals as the currency has.
func formatMoney(v float64, currency string) string {
	p := catalog.Price{Currency: currency}
	p.Minor = int64(math.Round(v * math.Pow10(p.Exponent())))
	return catalog.FormatPrice(p)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

const statsUsage = `Usage: lookalike stats [--server URL] [--json]

Prints the server's catalogue, index and queue counts.

Examples:
  lookalike stats
  lookalike stats --server http://shop-search:8080 --json

Flags:
`

func (m *Main) runStats(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, statsUsage); fs.PrintDefaults() }
	server, token := serverFlags(fs, m.Getenv)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var st statsReply
	if err := newClient(*server, token()).call(ctx, "GET", "/stats", "", nil, &st); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(m.Stdout).Encode(st)
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s (%d dimensions)\n", st.Model, st.Dimensions)
	fmt.Fprintf(tw, "products\t%d active, %d deleted\n", st.Products.Active, st.Products.Deleted)
	fmt.Fprintf(tw, "vectors\t%d\n", st.Vectors)
	fmt.Fprintf(tw, "queue\t%d pending, %d running, %d failed\n", st.Queue.Pending, st.Queue.Running, st.Queue.Failed)
	return tw.Flush()
}

const failedUsage = `Usage: lookalike failed [--retry] [--shop N] [--server URL]

Lists products whose reindex failed, with the reason. --retry queues them
all again. Needs the admin token (LOOKALIKE_ADMIN_TOKEN or --token).

Examples:
  lookalike failed
  lookalike failed --retry --shop 8

Flags:
`

func (m *Main) runFailed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("failed", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, failedUsage); fs.PrintDefaults() }
	server, token := serverFlags(fs, m.Getenv)
	retry := fs.Bool("retry", false, "queue every failed product again")
	shop := fs.Int64("shop", 0, "only this shop")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c := newClient(*server, token())
	if *retry {
		in := map[string]any{}
		if *shop != 0 {
			in["shop_id"] = *shop
		}
		var out struct{ Count int }
		if err := c.postJSON(ctx, "/api/v1/admin/retry-failed", in, &out); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "queued %d failed product(s) for another try\n", out.Count)
		return nil
	}
	path := "/api/v1/admin/failed?limit=1000"
	if *shop != 0 {
		path += "&shop_id=" + strconv.FormatInt(*shop, 10)
	}
	var out struct {
		Failed []struct {
			ProductID catalog.ProductID `json:"product_id"`
			ShopID    int64             `json:"shop_id"`
			Title     string            `json:"title"`
			Error     string            `json:"error"`
			Attempts  int               `json:"attempts"`
			FailedAt  time.Time         `json:"failed_at"`
		} `json:"failed"`
	}
	if err := c.call(ctx, "GET", path, "", nil, &out); err != nil {
		return err
	}
	if len(out.Failed) == 0 {
		fmt.Fprintln(m.Stdout, "no failed products")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SHOP\tPRODUCT\tTITLE\tATTEMPTS\tFAILED AT\tREASON")
	for _, f := range out.Failed {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", f.ShopID, f.ProductID, truncate(f.Title, 30), f.Attempts, f.FailedAt.Local().Format("2006-01-02 15:04"), f.Error)
	}
	tw.Flush()
	fmt.Fprintf(m.Stdout, "%d failed; `lookalike failed --retry` queues them again\n", len(out.Failed))
	return nil
}

const reindexUsage = `Usage: lookalike reindex --all | --shop N | --product ID [--shop N] [--no-wait]

Queues a fresh reindex and shows progress until the queue is empty.
Needs the admin token (LOOKALIKE_ADMIN_TOKEN or --token).

Examples:
  lookalike reindex --product 888888 --shop 8
  lookalike reindex --shop 8
  lookalike reindex --all

Flags:
`

func (m *Main) runReindex(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, reindexUsage); fs.PrintDefaults() }
	server, token := serverFlags(fs, m.Getenv)
	all := fs.Bool("all", false, "every product of every shop")
	shop := fs.Int64("shop", 0, "every product of this shop (or the shop of --product)")
	product := productFlag(fs, "one product")
	noWait := fs.Bool("no-wait", false, "queue and return without waiting")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := product.id()
	if err != nil {
		return err
	}
	if !*all && *shop == 0 && id == "" {
		fs.Usage()
		return &usageError{"say what to reindex: --all, --shop N or --product ID"}
	}
	if *all && (*shop != 0 || id != "") {
		return &usageError{"--all cannot be combined with --shop or --product"}
	}
	c := newClient(*server, token())
	var queued int
	switch {
	case id != "":
		in := map[string]any{"product_id": id}
		if *shop != 0 {
			in["shop_id"] = *shop
		}
		if err := c.postJSON(ctx, "/api/v1/admin/retry", in, nil); err != nil {
			return err
		}
		queued = 1
	default:
		in := map[string]any{}
		if *shop != 0 {
			in["shop_id"] = *shop
		}
		var out struct{ Count int }
		if err := c.postJSON(ctx, "/api/v1/admin/reindex-all", in, &out); err != nil {
			return err
		}
		queued = out.Count
	}
	fmt.Fprintf(m.Stderr, "queued %d product(s)\n", queued)
	if *noWait || queued == 0 {
		return nil
	}
	return m.waitForQueue(ctx, c, queued)
}

// waitForQueue shows progress until nothing is pending or running: a bar on
// a terminal, a line every few seconds otherwise.
func (m *Main) waitForQueue(ctx context.Context, c *apiClient, total int) error {
	tty := isTerminal(m.Stderr)
	start := time.Now()
	lastLog := time.Time{}
	for {
		var st statsReply
		if err := c.call(ctx, "GET", "/stats", "", nil, &st); err != nil {
			return err
		}
		left := int(st.Queue.Pending + st.Queue.Running)
		done := max(0, total-left)
		if tty {
			const width = 30
			filled := width * done / max(total, 1)
			fmt.Fprintf(m.Stderr, "\r[%s%s] %d/%d  %d failed  %s ", strings.Repeat("█", filled), strings.Repeat("░", width-filled),
				done, total, st.Queue.Failed, time.Since(start).Round(time.Second))
		} else if time.Since(lastLog) > 2*time.Second || left == 0 {
			fmt.Fprintf(m.Stderr, "reindex: %d/%d done, %d failed, %s\n", done, total, st.Queue.Failed, time.Since(start).Round(time.Second))
			lastLog = time.Now()
		}
		if left == 0 {
			if tty {
				fmt.Fprintln(m.Stderr)
			}
			fmt.Fprintf(m.Stdout, "reindex finished: %d vectors, %d failed (see `lookalike failed`)\n", st.Vectors, st.Queue.Failed)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// idFlag is a --product flag: a product id as the shop writes it (888888,
// 00000085340_1).
type idFlag struct{ text *string }

func productFlag(fs *flag.FlagSet, usage string) idFlag {
	return idFlag{fs.String("product", "", usage)}
}

// id returns the flag's id, "" when it was not given.
func (f idFlag) id() (catalog.ProductID, error) {
	if *f.text == "" {
		return "", nil
	}
	id, err := catalog.ParseProductIDText(*f.text)
	if err != nil {
		return "", &usageError{"--product: " + err.Error()}
	}
	return id, nil
}

const healthcheckUsage = `Usage: lookalike healthcheck [--server URL]

Asks a running server's /readyz and exits 0 when it is ready, 1 otherwise
(with the reason). For container HEALTHCHECKs and service monitors, which
need no curl in the image.

`

func (m *Main) runHealthcheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, healthcheckUsage); fs.PrintDefaults() }
	server, _ := serverFlags(fs, m.Getenv)
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := newClient(*server, "")
	if err := c.call(ctx, "GET", "/readyz", "", nil, nil); err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	fmt.Fprintln(m.Stdout, "ready")
	return nil
}
