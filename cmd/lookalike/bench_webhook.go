package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/app"
)

const benchWebhookUsage = `Usage: lookalike bench webhook [flags]

Load-tests webhook acknowledgement: concurrent senders post product
created/updated/deleted events (without images, so only the durable write is
measured) for -d and report throughput, p50/p99/p99.9 latency and errors.
The servers: --server (one URL, or several separated by commas: each
request goes to a random one); --replicas N, which starts N replicas of
this binary on PostgreSQL (--database-url, or a throwaway cluster made from
the installed PostgreSQL); or, with neither, one in-process server on a
temporary data directory (embedded SQLite). Every acknowledgement is
durable in all three.

--probes N measures change-to-searchable on another replica while the load
runs: one at a time, a product is created with a real photo (served from
--images by a local image host) through server k, and searched for by that
photo on server k+1 (every 25 ms, a price filter leaving it alone) until
it is found; the p50/p99 include the fetch and the embedding by whichever
replica's worker takes the job. With -c 0 the probes run alone.

Examples:
  lookalike bench webhook
  lookalike bench webhook --replicas 3 -c 48 -d 20s --probes 100
  lookalike bench webhook --replicas 3 --database-url postgres://bench@127.0.0.1:5432/bench
  lookalike bench webhook --server http://10.0.0.1:8080,http://10.0.0.2:8080 --secret "$WEBHOOK_SECRET" -c 64 -d 30s

Flags:
`

func (m *Main) runBenchWebhook(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench webhook", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, benchWebhookUsage); fs.PrintDefaults() }
	var target benchTarget
	target.register(fs)
	conc := fs.Int("c", 32, "concurrent senders (0: none, for --probes alone)")
	dur := fs.Duration("d", 10*time.Second, "how long to send (and measure)")
	warmup := fs.Duration("warmup", 3*time.Second, "how long to send before measuring (a new database's tables fill and the servers' statement caches settle; with --replicas the database is analyzed half way, as autovacuum would within a minute)")
	products := fs.Int("products", 10000, "distinct product ids")
	probes := fs.Int("probes", 0, "change-to-searchable probes (see above; needs 2 servers or more to be about another replica)")
	imagesDir := fs.String("images", "testdata/photos", "with --probes: folder of photos for the probes' products")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *conc < 0 || *dur <= 0 || *warmup < 0 || *products < 1 || *probes < 0 || (*conc == 0 && *probes == 0) {
		return &usageError{"-c, --probes and --warmup must not be negative (-c and --probes not both 0); -d and --products must be positive"}
	}
	if *conc == 0 {
		*warmup = 0
	}
	var host *photoHost
	if *probes > 0 {
		var err error
		if host, err = startPhotoHost(*imagesDir); err != nil {
			return err
		}
		defer host.Close()
	}
	fl, err := m.startTarget(ctx, &target, app.Config{FetchAllowPrivate: true}, nil)
	if err != nil {
		return err
	}
	defer fl.Close()
	if target.servers == "" && target.replicas == 0 {
		fmt.Fprintf(m.Stderr, "started an in-process server on %s\n", fl.URLs[0])
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc + 2, MaxConnsPerHost: *conc + 2}, Timeout: 30 * time.Second}

	var probeRep *probeReport
	probeDone := make(chan struct{})
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *probes > 0 {
		go func() {
			defer close(probeDone)
			if !sleepCtx(loadCtx, *warmup) {
				return
			}
			probeRep = runProbes(loadCtx, client, fl, host, *probes)
			if *conc == 0 {
				cancel()
			}
		}()
	} else {
		close(probeDone)
	}
	if *conc > 0 {
		t := time.AfterFunc(*warmup+*dur, cancel)
		defer t.Stop()
	}
	if fl.DB != "" && *warmup > 0 {
		go func() {
			if sleepCtx(loadCtx, *warmup/2) {
				if err := fl.analyze(loadCtx); err != nil {
					fmt.Fprintf(m.Stderr, "ANALYZE after half the warm-up: %v\n", err)
				}
			}
		}()
	}
	var (
		mu      sync.Mutex
		lats    []time.Duration
		errs    atomic.Int64
		wg      sync.WaitGroup
		firstEr atomic.Value
	)
	start := time.Now().Add(*warmup) // what is sent from then on is measured
	for g := 0; g < *conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			local := make([]time.Duration, 0, 4096)
			for loadCtx.Err() == nil {
				id := rng.IntN(*products) + 1
				ev := "product.updated"
				switch r := rng.IntN(20); {
				case r == 0:
					ev = "product.deleted"
				case r < 4:
					ev = "product.created"
				}
				body := fmt.Sprintf(`{"event_type":%q,"product_data":{"id":%d,"title":"Букет №%d","price":"%d ₸","isAvailable":%v,"catalogHeight":"%d см"}}`,
					ev, id, id, 1000+rng.IntN(50000), rng.IntN(4) != 0, 30+rng.IntN(60))
				url := fl.URLs[rng.IntN(len(fl.URLs))] + "/api/v1/webhooks/product-sync"
				t0 := time.Now()
				err := postWebhook(context.WithoutCancel(loadCtx), client, url, fl.Secret, body)
				if t0.Before(start) {
					continue // warming up
				}
				if err != nil {
					errs.Add(1)
					firstEr.CompareAndSwap(nil, err.Error())
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(start)
	<-probeDone
	fmt.Fprintf(m.Stdout, "servers: %s\n", fl.Note)
	if *conc > 0 {
		slices.Sort(lats)
		fmt.Fprintf(m.Stdout, "webhooks: %d acknowledged in %s with %d senders (%d errors)\n", len(lats), elapsed.Round(time.Millisecond), *conc, errs.Load())
		fmt.Fprintf(m.Stdout, "throughput: %.0f webhooks/s\n", float64(len(lats))/elapsed.Seconds())
		fmt.Fprintf(m.Stdout, "latency: p50 %s  p99 %s  p99.9 %s  max %s\n", pct(lats, 0.50), pct(lats, 0.99), pct(lats, 0.999), pct(lats, 1))
		if e := firstEr.Load(); e != nil {
			fmt.Fprintf(m.Stdout, "first error: %s\n", e)
		}
	}
	if probeRep != nil {
		probeRep.print(m.Stdout, *conc > 0)
	}
	if *conc > 0 && len(lats) == 0 {
		return fmt.Errorf("no webhook was acknowledged")
	}
	if probeRep != nil && probeRep.err != nil {
		return probeRep.err
	}
	return nil
}

// sleepCtx waits d, or less if ctx ends first (then false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// pct is the p-quantile of sorted durations (0 when there are none).
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// postWebhook posts one event; a reply other than 200 is an error.
func postWebhook(ctx context.Context, client *http.Client, url, secret, body string) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", secret)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// probeReport is what the change-to-searchable probes measured.
type probeReport struct {
	servers int
	lats    []time.Duration
	err     error
}

func (r *probeReport) print(w io.Writer, duringLoad bool) {
	when := "alone"
	if duringLoad {
		when = "during the webhook load"
	}
	where := "on the next server"
	if r.servers == 1 {
		where = "on the same server (only one)"
	}
	slices.Sort(r.lats)
	fmt.Fprintf(w, "change to searchable %s (created through one server, found by its photo %s; fetch and embedding included): %d probes, p50 %s  p99 %s  max %s\n",
		when, where, len(r.lats), pct(r.lats, 0.5).Round(time.Millisecond), pct(r.lats, 0.99).Round(time.Millisecond), pct(r.lats, 1).Round(time.Millisecond))
	if r.err != nil {
		fmt.Fprintf(w, "probe error: %v\n", r.err)
	}
}

// probeBase is the first probe product's id (far from the load's ids) and
// price (each probe's is its own: the search's price filter leaves it alone).
const probeBase = 900_000_000

// runProbes runs n probes one after the other until ctx ends.
func runProbes(ctx context.Context, client *http.Client, fl *benchFleet, host *photoHost, n int) *probeReport {
	rep := &probeReport{servers: len(fl.URLs)}
	run := time.Now().UnixMilli() % 1_000_000 // a rerun on the same database makes new products
	for k := 0; k < n && ctx.Err() == nil; k++ {
		id := probeBase + run*100 + int64(k)
		price := id % 1_000_000_000
		from, to := fl.URLs[k%len(fl.URLs)], fl.URLs[(k+1)%len(fl.URLs)]
		body := fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"probe %d","price":"%d ₸","image":"%s/p/%d.jpg"}}`,
			id, k, price, host.URL, id)
		t0 := time.Now()
		if err := postWebhook(ctx, client, from+"/api/v1/webhooks/product-sync", fl.Secret, body); err != nil {
			rep.err = fmt.Errorf("probe %d: %w", k, err)
			return rep
		}
		photo := host.photo(int(id))
		for {
			found, err := searchByPhoto(ctx, client, to, photo, price, id)
			if err != nil && ctx.Err() == nil {
				rep.err = fmt.Errorf("probe %d: search on %s: %w", k, to, err)
				return rep
			}
			if found {
				rep.lats = append(rep.lats, time.Since(t0))
				break
			}
			if time.Since(t0) > time.Minute {
				rep.err = fmt.Errorf("probe %d created through %s not searchable on %s after a minute", k, from, to)
				return rep
			}
			select {
			case <-ctx.Done():
				return rep
			case <-time.After(25 * time.Millisecond):
			}
		}
	}
	return rep
}

// searchByPhoto searches server base by an uploaded photo, with a price
// filter only product id passes, and reports whether id came first.
func searchByPhoto(ctx context.Context, client *http.Client, base string, photo []byte, price, id int64) (bool, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("image", "probe.jpg")
	fw.Write(photo)
	for k, v := range map[string]string{"price_min": fmt.Sprint(price), "price_max": fmt.Sprint(price), "min_band": "any", "limit": "1", "available": "any"} {
		mw.WriteField(k, v)
	}
	mw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/search", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return false, fmt.Errorf("status %s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	var res struct {
		Results []struct {
			ProductID json.Number `json:"product_id"`
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return false, err
	}
	return len(res.Results) > 0 && res.Results[0].ProductID.String() == fmt.Sprint(id), nil
}

// benchSecret is the webhook secret of the servers a benchmark starts.
const benchSecret = "bench-secret-0123456789"

// startBenchServer starts a quiet in-process server on a temporary data
// directory; stop shuts it down and removes the directory.
func startBenchServer(ctx context.Context, cfg app.Config) (*app.App, func(), error) {
	dir, err := os.MkdirTemp("", "lookalike-bench-")
	if err != nil {
		return nil, nil, err
	}
	cfg.Addr, cfg.DataDir, cfg.WebhookSecrets = "127.0.0.1:0", dir, []string{benchSecret}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		if err = a.Start(ctx); err != nil {
			a.Stop(context.Background())
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return a, func() { a.Stop(context.Background()); os.RemoveAll(dir) }, nil
}
