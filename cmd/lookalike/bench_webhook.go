package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/app"
)

const benchWebhookUsage = `Usage: lookalike bench webhook [flags]

Load-tests webhook acknowledgement: concurrent senders post product
created/updated/deleted events (without images, so only the durable write is
measured) for --duration and report throughput and p50/p99/p999 latency.
Without --server it starts a server in-process on a temporary data directory
(embedded SQLite, every acknowledgement durable).

Examples:
  lookalike bench webhook
  lookalike bench webhook --server http://127.0.0.1:8080 --secret "$WEBHOOK_SECRET" -c 64 -d 30s

Flags:
`

func (m *Main) runBenchWebhook(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench webhook", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, benchWebhookUsage); fs.PrintDefaults() }
	server := fs.String("server", "", "base URL of a running server (default: start one in-process)")
	secret := fs.String("secret", "", "webhook secret of --server (default: $WEBHOOK_SECRET)")
	conc := fs.Int("c", 32, "concurrent senders")
	dur := fs.Duration("d", 10*time.Second, "how long to send")
	products := fs.Int("products", 10000, "distinct product ids")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *conc < 1 || *dur <= 0 || *products < 1 {
		return &usageError{"-c, -d and --products must be positive"}
	}
	if *secret == "" {
		*secret = m.Getenv("WEBHOOK_SECRET")
	}
	base := *server
	if base == "" {
		*secret = benchSecret
		a, stop, err := startBenchServer(ctx, app.Config{})
		if err != nil {
			return err
		}
		defer stop()
		base = a.URL()
		fmt.Fprintf(m.Stderr, "started an in-process server on %s\n", base)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}, Timeout: 30 * time.Second}
	url := base + "/api/v1/webhooks/product-sync"

	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	var (
		mu      sync.Mutex
		lats    []time.Duration
		errs    atomic.Int64
		wg      sync.WaitGroup
		firstEr atomic.Value
	)
	start := time.Now()
	for g := 0; g < *conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			local := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
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
				req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), "POST", url, bytes.NewReader([]byte(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Webhook-Secret", *secret)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %s", resp.Status)
					}
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
	slices.Sort(lats)
	pct := func(p float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		return lats[min(len(lats)-1, int(p*float64(len(lats))))]
	}
	fmt.Fprintf(m.Stdout, "webhooks: %d acknowledged in %s with %d senders (%d errors)\n", len(lats), elapsed.Round(time.Millisecond), *conc, errs.Load())
	fmt.Fprintf(m.Stdout, "throughput: %.0f webhooks/s\n", float64(len(lats))/elapsed.Seconds())
	fmt.Fprintf(m.Stdout, "latency: p50 %s  p99 %s  p99.9 %s  max %s\n", pct(0.50), pct(0.99), pct(0.999), pct(1))
	if e := firstEr.Load(); e != nil {
		fmt.Fprintf(m.Stdout, "first error: %s\n", e)
	}
	if len(lats) == 0 {
		return fmt.Errorf("no webhook was acknowledged")
	}
	return nil
}

// benchSecret is the webhook secret of in-process benchmark servers.
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
