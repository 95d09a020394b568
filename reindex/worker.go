// Package reindex runs the background work behind every webhook: claim a
// job, download the product's image, store it, decode it, embed it and
// record the vector, retrying transient failures with backoff.
package reindex

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/fetch"
	"github.com/lookalike/lookalike/imagedecode"
	"github.com/lookalike/lookalike/metrics"
)

// Store is the part of the catalogue store the worker needs.
type Store interface {
	Claim(ctx context.Context, now time.Time, lease time.Duration) (*catalog.Job, error)
	ClaimProduct(ctx context.Context, k catalog.Key, now time.Time, lease time.Duration) (*catalog.Job, error)
	Settle(ctx context.Context, j *catalog.Job, model string, results []catalog.PhotoResult, giveUp bool, retryAt, now time.Time) (catalog.JobNext, error)
	Retry(ctx context.Context, j *catalog.Job, reason string, runAt, now time.Time) error
	Embedding(ctx context.Context, sha, model string) ([]float32, bool, error)
	JobsAvailable() <-chan struct{}
}

// Fetcher downloads an image.
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string) (*fetch.Result, error)
}

// Config tunes the worker. Zero values take the defaults.
type Config struct {
	Workers       int                 // concurrent jobs, default 2
	Lease         time.Duration       // how long a claimed job is ours before another worker may take it, default 2m
	MaxAttempts   int                 // attempts before a transient failure becomes permanent, default 8
	BaseBackoff   time.Duration       // first retry delay, default 2s; doubles each attempt
	MaxBackoff    time.Duration       // cap on the retry delay, default 10m
	PollInterval  time.Duration       // how often to look for due retries and expired leases, default 1s
	ImageBaseURL  string              // base for relative image paths ("/upload/...")
	MaxPixels     int64               // decode limit, default 50 MP
	DecodeTimeout time.Duration       // longest a decode may wait for DecodeBudget, and then take; default 20s
	DecodeBudget  *imagedecode.Budget // decode memory shared with searches; nil: the package's default
	Metrics       *metrics.Registry   // where job, fetch and embed metrics go; nil: nowhere
}

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = 2 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.MaxPixels <= 0 {
		c.MaxPixels = 50_000_000
	}
	if c.DecodeTimeout <= 0 {
		c.DecodeTimeout = 20 * time.Second
	}
}

// Worker processes reindex jobs. Start it once; Stop drains it.
type Worker struct {
	cfg      Config
	store    Store
	fetcher  Fetcher
	embedder atomic.Pointer[embed.Embedder]
	blobs    blob.Store
	log      *slog.Logger
	now      func() time.Time

	flight flightGroup

	jobs        *metrics.CounterVec
	jobTime     *metrics.HistogramVec
	fetchBytes  *metrics.CounterVec
	fetchErrors *metrics.CounterVec
	embedTime   *metrics.HistogramVec

	cancel   context.CancelFunc // cancels jobs in flight (at the shutdown deadline)
	stopping chan struct{}      // closed by Stop: claim no more jobs
	wg       sync.WaitGroup
}

// New returns a worker; it does nothing until Start.
func New(cfg Config, store Store, f Fetcher, e embed.Embedder, blobs blob.Store, log *slog.Logger) *Worker {
	cfg.setDefaults()
	reg := cfg.Metrics
	if reg == nil {
		reg = metrics.NewRegistry()
	}
	w := &Worker{cfg: cfg, store: store, fetcher: f, blobs: blobs,
		log: log.With("subsystem", "reindex"), now: time.Now,
		jobs:        reg.Counter("lookalike_jobs_total", "Reindex job runs, by outcome (indexed, reused, retry, failed, stale, interrupted).", "outcome"),
		jobTime:     reg.Histogram("lookalike_job_duration_seconds", "Reindex job run time, by outcome.", metrics.LatencyBuckets, "outcome"),
		fetchBytes:  reg.Counter("lookalike_fetch_bytes_total", "Image bytes downloaded."),
		fetchErrors: reg.Counter("lookalike_fetch_errors_total", "Failed image downloads, by kind.", "kind"),
		embedTime:   reg.Histogram("lookalike_embed_duration_seconds", "Time to decode and embed one image.", metrics.LatencyBuckets),
	}
	w.embedder.Store(&e)
	return w
}

// SetEmbedder switches the model new jobs use (call it while the worker is
// stopped, as a model switch does).
func (w *Worker) SetEmbedder(e embed.Embedder) { w.embedder.Store(&e) }

func (w *Worker) model() embed.Embedder { return *w.embedder.Load() }

func (w *Worker) count(outcome string, start time.Time) {
	w.jobs.With(outcome).Inc()
	w.jobTime.With(outcome).Observe(time.Since(start).Seconds())
}

// Start launches the worker goroutines.
func (w *Worker) Start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	w.stopping = make(chan struct{})
	for i := 0; i < w.cfg.Workers; i++ {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.loop(ctx)
		}()
	}
}

// Stop stops claiming jobs and waits for the running ones, up to ctx's
// deadline; jobs cut short stay leased and are retried when the lease ends.
func (w *Worker) Stop(ctx context.Context) error {
	if w.cancel == nil {
		return nil
	}
	close(w.stopping)
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	// Let in-flight jobs finish; cancel them only when the deadline comes.
	select {
	case <-done:
		w.cancel()
		return nil
	case <-ctx.Done():
		w.cancel()
		<-done
		return fmt.Errorf("reindex: stopped before running jobs finished: %w", ctx.Err())
	}
}

func (w *Worker) loop(ctx context.Context) {
	stopping := w.stopping
	t := time.NewTicker(w.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-stopping:
			return
		default:
		}
		job, err := w.store.Claim(ctx, w.now(), w.cfg.Lease)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			level := slog.LevelError
			if errors.Is(err, catalog.ErrStorageCorrupt) || errors.Is(err, catalog.ErrStorageFull) {
				level = slog.LevelDebug // the store's fault is logged once where it began
			}
			w.log.Log(ctx, level, "claim job", "err", err)
		}
		if job != nil {
			w.run(ctx, job)
			select {
			case <-stopping:
				return
			default:
			}
			continue
		}
		idle := time.Now()
		select {
		case <-stopping:
			return
		case <-w.store.JobsAvailable():
			// Wake-ups come with every commit anywhere in the fleet, most
			// of them for changes without a job: claim again only after
			// a pause, so that an empty queue costs at most one claim a
			// worker per claimGap, whatever the write rate.
			select {
			case <-stopping:
				return
			case <-time.After(claimGap - time.Since(idle)):
			}
		case <-t.C:
		}
	}
}

// claimGap is the shortest pause between a claim that found nothing and
// the next one a wake-up starts (a job enqueued meanwhile waits that long).
const claimGap = 20 * time.Millisecond

// Outcome reports what a reindex did.
type Outcome struct {
	Key         catalog.Key
	ImageSHA256 string // of the first photo indexed by this run
	Model       string
	Photos      int  // photos indexed by this run
	Failed      int  // photos that failed in this run
	Reused      bool // every vector came from an earlier identical image
	Duration    time.Duration
}

// Error is a failed reindex: the message is meant for people (the seed's
// "Failed to fetch image: 404 Not Found"); Permanent says whether retrying
// can help.
type Error struct {
	Msg        string
	Permanent  bool
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// ErrNoImage is returned by ReindexNow for a product without an image.
var ErrNoImage = errors.New("product has no image")

// ReindexNow reindexes one product synchronously (POST /reindex-one). A
// transient failure leaves the job queued for a retry in the background.
func (w *Worker) ReindexNow(ctx context.Context, k catalog.Key) (Outcome, error) {
	job, err := w.store.ClaimProduct(ctx, k, w.now(), w.cfg.Lease)
	if err != nil {
		return Outcome{}, err
	}
	if job.ID == 0 {
		return Outcome{Key: k}, ErrNoImage
	}
	return w.run(ctx, job)
}

func (w *Worker) run(ctx context.Context, job *catalog.Job) (Outcome, error) {
	start := w.now()
	log := w.log.With("shop_id", job.Key.ShopID, "product_id", job.Key.ProductID, "attempt", job.Attempt)
	e := w.model()
	out := Outcome{Key: job.Key, Model: e.Model(), Reused: true}
	results := make([]catalog.PhotoResult, 0, len(job.Photos))
	var firstErr *Error
	var retryAfter time.Duration
	transient := false
	for _, ph := range job.Photos {
		vec, sha, reused, err := w.photo(ctx, e, ph.URL)
		if err != nil {
			var re *Error
			if !errors.As(err, &re) {
				re = &Error{Msg: err.Error(), Err: err}
			}
			if ctx.Err() != nil && !re.Permanent {
				// Shutting down: leave the job leased; it runs again when the lease ends.
				log.Info("job interrupted by shutdown", "err", re.Msg)
				w.count("interrupted", start)
				return out, re
			}
			if len(job.Photos) > 1 {
				log.Warn("photo failed", "url", ph.URL, "err", re.Msg, "permanent", re.Permanent)
			}
			results = append(results, catalog.PhotoResult{URL: ph.URL, Err: re.Msg, Permanent: re.Permanent})
			out.Failed++
			if firstErr == nil {
				firstErr = re
			}
			if !re.Permanent {
				transient, retryAfter = true, max(retryAfter, re.RetryAfter)
			}
			continue
		}
		results = append(results, catalog.PhotoResult{URL: ph.URL, SHA256: sha, Vector: vec})
		out.Photos++
		out.Reused = out.Reused && reused
		if out.ImageSHA256 == "" {
			out.ImageSHA256 = sha
		}
	}
	out.Reused = out.Reused && out.Photos > 0
	bg := context.WithoutCancel(ctx)
	now := w.now()
	giveUp := job.Attempt >= w.cfg.MaxAttempts
	retryAt, delay := now, time.Duration(0)
	if transient && !giveUp {
		delay = w.backoff(job.Attempt, retryAfter)
		retryAt = now.Add(delay)
	}
	next, err := w.store.Settle(bg, job, out.Model, results, giveUp, retryAt, now)
	out.Duration = time.Since(start)
	switch {
	case errors.Is(err, catalog.ErrStale):
		w.count("stale", start)
		log.Info("result discarded: the product changed while its job ran")
		return out, err
	case errors.Is(err, catalog.ErrModelChanged):
		w.count("stale", start)
		log.Info("result discarded: the model changed while the job ran; running it again")
		if rerr := w.store.Retry(bg, job, "the model changed while the job ran", now, now); rerr != nil {
			log.Error("schedule retry", "err", rerr)
		}
		return out, &Error{Msg: "The model changed while the product was being indexed; it is queued again", Err: err}
	case err != nil:
		log.Error("record vectors", "err", err)
		return out, err
	}
	switch next {
	case catalog.JobDead:
		if firstErr == nil { // its pending photos were removed; the others had failed
			firstErr = &Error{Msg: "every photo of the product failed", Permanent: true}
		}
		msg := firstErr.Msg
		if !firstErr.Permanent {
			msg = catalog.GaveUp(msg, job.Attempt)
		}
		log.Warn("reindex failed", "err", msg)
		w.count("failed", start)
		return out, &Error{Msg: msg, Permanent: true, Err: firstErr.Err}
	case catalog.JobRetry:
		w.count("retry", start)
		msg := "photos still pending"
		if firstErr != nil {
			msg = firstErr.Msg
		}
		log.Warn("reindex will retry", "err", msg, "retry_in", delay.Round(time.Millisecond).String(), "photos_indexed", out.Photos)
		if out.Photos == 0 {
			return out, &Error{Msg: msg, RetryAfter: delay, Err: errors.New(msg)}
		}
		return out, nil
	}
	log.Info("indexed", "sha256", out.ImageSHA256, "photos", out.Photos, "failed", out.Failed, "reused", out.Reused, "ms", out.Duration.Milliseconds())
	if out.Reused {
		w.count("reused", start)
	} else {
		w.count("indexed", start)
	}
	return out, nil
}

// backoff is exponential with jitter (50–100 % of the step), capped, and
// never shorter than the server's Retry-After.
func (w *Worker) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := w.cfg.BaseBackoff
	for i := 1; i < attempt && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoff)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	if retryAfter > d {
		d = min(retryAfter, w.cfg.MaxBackoff)
	}
	return d
}

// photo fetches one photo and returns its vector, hash and whether the
// vector existed already, without touching the job's state.
func (w *Worker) photo(ctx context.Context, e embed.Embedder, ref string) ([]float32, string, bool, error) {
	u, err := ResolveImageURL(ref, w.cfg.ImageBaseURL)
	if err != nil {
		return nil, "", false, &Error{Msg: err.Error(), Permanent: true, Err: err}
	}
	res, err := w.fetcher.Fetch(ctx, u)
	if err != nil {
		e := &Error{Msg: "Failed to fetch image: " + err.Error(), Permanent: true, Err: err}
		kind := "other"
		var fe *fetch.Error
		if errors.As(err, &fe) {
			e.Permanent = !fe.Temporary()
			e.RetryAfter = fe.RetryAfter
			kind = strings.ReplaceAll(fe.Kind.String(), " ", "_")
		}
		w.fetchErrors.With(kind).Inc()
		if ctx.Err() != nil {
			e.Permanent = false
		}
		return nil, "", false, e
	}
	w.fetchBytes.With().Add(float64(len(res.Body)))
	return w.vectorFor(ctx, e, res.Body)
}

// vectorFor returns the vector for image bytes, embedding them only if no
// vector of the same bytes and model exists yet. The bytes are kept in the
// image store.
func (w *Worker) vectorFor(ctx context.Context, e embed.Embedder, body []byte) ([]float32, string, bool, error) {
	sha := blob.Sum(body)
	model := e.Model()
	v, err, shared := w.flight.do(sha+"/"+model, func() ([]float32, error) {
		if vec, ok, err := w.store.Embedding(ctx, sha, model); err != nil {
			return nil, err
		} else if ok {
			if err := w.blobs.Put(ctx, sha, body); err != nil { // restores a lost or damaged copy
				return nil, err
			}
			return vec, errReused
		}
		t0 := time.Now()
		img, err := imagedecode.DecodeContext(ctx, body, imagedecode.Limits{MaxPixels: w.cfg.MaxPixels, MinSide: embed.DecodeSide(e),
			Budget: w.cfg.DecodeBudget, Timeout: w.cfg.DecodeTimeout})
		if err != nil {
			// Waiting for decode memory that other images hold is temporary.
			permanent := ctx.Err() == nil && !errors.Is(err, imagedecode.ErrBusy)
			return nil, &Error{Msg: "Failed to decode image: " + err.Error(), Permanent: permanent, Err: err}
		}
		defer img.Release()
		if err := w.blobs.Put(ctx, sha, body); err != nil {
			return nil, err // disk or store trouble: transient
		}
		defer func() { w.embedTime.With().Observe(time.Since(t0).Seconds()) }()
		vec, err := w.embed(ctx, e, img.Image)
		if err != nil {
			return nil, err
		}
		return vec, nil
	})
	if errors.Is(err, errReused) {
		return v, sha, true, nil
	}
	if err != nil {
		return nil, "", false, err
	}
	return v, sha, shared, nil
}

func (w *Worker) embed(ctx context.Context, e embed.Embedder, img image.Image) ([]float32, error) {
	vec, err := e.EmbedImage(ctx, img)
	if err != nil {
		return nil, &Error{Msg: "Failed to embed image: " + err.Error(), Permanent: ctx.Err() == nil, Err: err}
	}
	if len(vec) != e.Dim() {
		return nil, &Error{Msg: fmt.Sprintf("Failed to embed image: model returned %d dimensions, want %d", len(vec), e.Dim()), Permanent: true}
	}
	return vec, nil
}

var errReused = errors.New("vector reused")

// ResolveImageURL makes a CMS image reference absolute: "/upload/a.jpg"
// against base, "//host/a.jpg" as https.
func ResolveImageURL(ref, base string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", ErrNoImage
	}
	if strings.HasPrefix(ref, "//") {
		return "https:" + ref, nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("image URL %q is not a URL: %w", ref, err)
	}
	if u.IsAbs() {
		return ref, nil
	}
	if base == "" {
		return "", fmt.Errorf("image URL %q is relative; set LOOKALIKE_IMAGE_BASE_URL to the shop's address (e.g. https://cvety.kz)", ref)
	}
	b, err := url.Parse(base)
	if err != nil || !b.IsAbs() {
		return "", fmt.Errorf("LOOKALIKE_IMAGE_BASE_URL %q is not an absolute URL", base)
	}
	return b.ResolveReference(u).String(), nil
}

// flightGroup makes concurrent jobs for the same image bytes share one
// embedding.
type flightGroup struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	vec  []float32
	err  error
}

func (g *flightGroup) do(key string, fn func() ([]float32, error)) ([]float32, error, bool) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[string]*flightCall)
	}
	if c, ok := g.calls[key]; ok {
		g.mu.Unlock()
		<-c.done
		if c.err == nil {
			return c.vec, errReused, true
		}
		return c.vec, c.err, true
	}
	c := &flightCall{done: make(chan struct{})}
	g.calls[key] = c
	g.mu.Unlock()
	c.vec, c.err = fn()
	close(c.done)
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	return c.vec, c.err, false
}
