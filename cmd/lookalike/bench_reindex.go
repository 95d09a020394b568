package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/jpeg"
	"io"
	"math/rand"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lookalike/lookalike/app"
	"github.com/lookalike/lookalike/imagedecode"
	"github.com/lookalike/lookalike/quality"
)

const benchReindexUsage = `Usage: lookalike bench reindex [flags]

Measures the whole pipeline on this machine, in-process: a local image
server serves --n distinct product photos (made from the photos in --images;
each copy gets unique trailing bytes so nothing is deduplicated), --n
product webhooks are posted, and the time until every product is indexed is
reported as products per second. Then --searches searches by re-photographed
photos (cropped, rescaled, re-encoded) report p50/p90/p99 latency and the
index lookup's share.

Examples:
  lookalike bench reindex --images ../photos --n 1000
  lookalike model testgen --arch vit-b-32 --no-text --out /tmp/vitb32
  lookalike bench reindex --model-dir /tmp/vitb32 --images ../photos --n 1000 --workers 8

Flags:
`

func (m *Main) runBenchReindex(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench reindex", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, benchReindexUsage); fs.PrintDefaults() }
	var target benchTarget
	target.register(fs)
	modelDir := fs.String("model-dir", "", "CLIP model directory (default: the built-in descriptor)")
	imagesDir := fs.String("images", "testdata/photos", "folder of photos (searched recursively)")
	n := fs.Int("n", 1000, "products to index")
	workers := fs.Int("workers", 8, "reindex workers (of each replica)")
	threads := fs.Int("threads", 0, "ONNX Runtime threads (0: all cores)")
	searches := fs.Int("searches", 200, "searches to time after indexing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *workers < 1 || *searches < 0 {
		return &usageError{"--n and --workers must be positive"}
	}
	if target.servers != "" {
		return &usageError{"bench reindex starts its servers: --replicas N, or neither for one in-process server"}
	}
	host, err := startPhotoHost(*imagesDir)
	if err != nil {
		return err
	}
	defer host.Close()
	photos, hostURL := host.photos, host.URL

	env := map[string]string{"LOOKALIKE_WORKERS": strconv.Itoa(*workers), "LOOKALIKE_EMBED_THREADS": strconv.Itoa(*threads)}
	if *modelDir != "" {
		env["LOOKALIKE_MODEL_DIR"] = *modelDir
	}
	fl, err := m.startTarget(ctx, &target, app.Config{FetchAllowPrivate: true, Workers: *workers, ModelDir: *modelDir, EmbedThreads: *threads}, env)
	if err != nil {
		return err
	}
	defer fl.Close()
	secret, base := fl.Secret, fl.URLs[0]
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: time.Minute}
	var st statsReply
	c := newClient(base, "")
	if err := c.call(ctx, "GET", "/stats", "", nil, &st); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "model %s, %d products from %d photos, %d workers on each of %d server(s)\n", st.Model, *n, len(photos), *workers, len(fl.URLs))

	start := time.Now()
	ids := make(chan int)
	var wg sync.WaitGroup
	var postErr error
	var errMu sync.Mutex
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				body := fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"Букет %d","price":"%d ₸","image":"%s/p/%d.jpg"}}`,
					i+1, i+1, 1000+i, hostURL, i)
				req, _ := http.NewRequestWithContext(ctx, "POST", fl.URLs[i%len(fl.URLs)]+"/api/v1/webhooks/product-sync", strings.NewReader(body))
				req.Header.Set("X-Webhook-Secret", secret)
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("webhook: %s", resp.Status)
					}
				}
				if err != nil {
					errMu.Lock()
					postErr = err
					errMu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < *n; i++ {
		ids <- i
	}
	close(ids)
	wg.Wait()
	if postErr != nil {
		return postErr
	}
	acked := time.Since(start)
	tty := isTerminal(m.Stderr)
	for {
		if err := c.call(ctx, "GET", "/stats", "", nil, &st); err != nil {
			return err
		}
		if tty {
			fmt.Fprintf(m.Stderr, "\rindexed %d/%d ", st.Vectors, *n)
		}
		if st.Queue.Pending+st.Queue.Running == 0 {
			all, err := indexesHold(ctx, fl.URLs, st.Vectors)
			if err != nil {
				return err
			}
			if all {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if tty {
		fmt.Fprintln(m.Stderr)
	}
	elapsed := time.Since(start)
	rep := map[string]any{
		"servers": fl.Note, "model": st.Model, "products": *n, "indexed": st.Vectors, "failed": st.Queue.Failed, "workers": *workers,
		"webhooks_acknowledged_s": acked.Seconds(), "reindex_s": elapsed.Seconds(),
		"products_per_s": float64(st.Vectors) / elapsed.Seconds(),
	}

	// Searches by re-photographed catalogue photos.
	if *searches > 0 {
		rng := rand.New(rand.NewSource(1))
		var took, total []float64
		for i := 0; i < *searches; i++ {
			img, _, err := imagedecode.Decode(photos[i%len(photos)], imagedecode.Limits{})
			if err != nil {
				return err
			}
			q, err := quality.Transform(img, rng)
			if err != nil {
				return err
			}
			var jb bytes.Buffer
			if err := jpeg.Encode(&jb, q, &jpeg.Options{Quality: 90}); err != nil {
				return err
			}
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			fw, _ := mw.CreateFormFile("image", "q.jpg")
			fw.Write(jb.Bytes())
			mw.Close()
			t0 := time.Now()
			var sr struct {
				TookMS float64 `json:"took_ms"`
			}
			if err := c.call(ctx, "POST", "/api/v1/search", mw.FormDataContentType(), &buf, &sr); err != nil {
				return err
			}
			total = append(total, float64(time.Since(t0).Microseconds())/1000)
			took = append(took, sr.TookMS)
		}
		lookupMS, err := metricMean(ctx, base, "lookalike_search_index_lookup_seconds")
		if err != nil {
			return err
		}
		slices.Sort(took)
		slices.Sort(total)
		p := func(xs []float64, q float64) float64 { return xs[min(len(xs)-1, int(q*float64(len(xs))))] }
		rep["searches"] = *searches
		rep["search_server_ms"] = map[string]float64{"p50": p(took, .5), "p90": p(took, .9), "p99": p(took, .99)}
		rep["search_client_ms"] = map[string]float64{"p50": p(total, .5), "p90": p(total, .9), "p99": p(total, .99)}
		rep["index_lookup_mean_ms"] = lookupMS * 1000
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(m.Stdout, "servers: %s\n", fl.Note)
	fmt.Fprintf(m.Stdout, "model %s: %v of %d products indexed (%v failed; in every server's index) in %.1f s with %d workers per server: %.1f products/s (webhooks acknowledged in %.2f s)\n",
		st.Model, st.Vectors, *n, st.Queue.Failed, elapsed.Seconds(), *workers, rep["products_per_s"], acked.Seconds())
	if *searches > 0 {
		s, cl := rep["search_server_ms"].(map[string]float64), rep["search_client_ms"].(map[string]float64)
		fmt.Fprintf(m.Stdout, "search by photo (%d): server p50 %.1f ms, p90 %.1f ms, p99 %.1f ms; client p50 %.1f ms; index lookup mean %.3f ms\n",
			*searches, s["p50"], s["p90"], s["p99"], cl["p50"], rep["index_lookup_mean_ms"])
	}
	return nil
}

// indexesHold reports whether the in-memory index of every server holds at
// least n photos (each product of the benchmark has one).
func indexesHold(ctx context.Context, urls []string, n int64) (bool, error) {
	for _, u := range urls {
		var st struct {
			Index struct {
				Vectors int64 `json:"vectors"`
			} `json:"index"`
		}
		if err := newClient(u, "").call(ctx, "GET", "/stats", "", nil, &st); err != nil {
			return false, err
		}
		if st.Index.Vectors < n {
			return false, nil
		}
	}
	return true, nil
}

// metricMean reads a histogram's sum/count from the server's /metrics.
func metricMean(ctx context.Context, base, name string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum, count float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, name+"_sum "); ok {
			sum, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, name+"_count "); ok {
			count, _ = strconv.ParseFloat(v, 64)
		}
	}
	if count == 0 {
		return 0, nil
	}
	return sum / count, sc.Err()
}
