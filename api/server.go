// Package api is lookalike's HTTP interface: the CMS webhook, product reads,
// visual search, and the admin and health endpoints. Handlers parse and
// check requests, call the store, index, embedder and reindex worker through
// the small interfaces below, and answer JSON.
package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed" // the OpenAPI description
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/fetch"
	"github.com/lookalike/lookalike/imagedecode"
	"github.com/lookalike/lookalike/localfeat"
	"github.com/lookalike/lookalike/metrics"
	"github.com/lookalike/lookalike/reindex"
	"github.com/lookalike/lookalike/thumb"
	"github.com/lookalike/lookalike/vectorindex"
)

// Store is the catalogue as the handlers see it.
type Store interface {
	ApplyEvent(ctx context.Context, ev catalog.Event, o catalog.ApplyOptions) (catalog.ApplyResult, error)
	Get(ctx context.Context, k catalog.Key) (catalog.Product, error)
	GetMany(ctx context.Context, keys []catalog.Key) (map[catalog.Key]catalog.Product, error)
	List(ctx context.Context, o catalog.ListOptions) ([]catalog.Product, bool, error)
	Stats(ctx context.Context, model string) (catalog.Stats, error)
	Embedding(ctx context.Context, sha, model string) ([]float32, bool, error)
	Ping(ctx context.Context) error
	ListFailed(ctx context.Context, shop int64, limit int) ([]catalog.Failed, error)
	Requeue(ctx context.Context, k catalog.Key, now time.Time) error
	RequeueWhere(ctx context.Context, shop int64, failedOnly bool, now time.Time) (int, error)
	Replicas(ctx context.Context) ([]catalog.Replica, error)
	Activity(ctx context.Context, sinceMinute int64) ([]catalog.Activity, error)
}

// Index finds nearest vectors.
type Index interface {
	Search(q []float32, k int, f vectorindex.Filter) ([]vectorindex.Hit, error)
	Len() int
}

// Fetcher downloads images named by URL in search requests.
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string) (*fetch.Result, error)
}

// Reindexer reindexes one product synchronously.
type Reindexer interface {
	ReindexNow(ctx context.Context, k catalog.Key) (reindex.Outcome, error)
}

// Config holds what the handlers need to know.
type Config struct {
	WebhookSecrets []string // any one of them, in X-Webhook-Secret, authenticates a webhook
	SigningKeys    [][]byte // Standard Webhooks keys (decoded whsec_ secrets); a valid signature authenticates too
	AdminToken     string
	DefaultShopID  int64
	Currency       string              // ISO 4217 code of prices that name none and of search price filters (default KZT)
	MaxWebhookBody int64               // default 1 MiB
	MaxPhotos      int                 // photos kept per product (LOOKALIKE_MAX_PHOTOS); 0: catalog.DefaultMaxPhotos
	MaxUploadBytes int64               // default 20 MiB
	MaxPixels      int64               // default 50 MP
	DecodeTimeout  time.Duration       // longest a search's decode waits for DecodeBudget, and then takes; default 20s
	DecodeBudget   *imagedecode.Budget // decode memory shared with the workers; nil: the package's default
	SearchRate     float64             // searches per second per client address; 0 disables the limit
	SearchBurst    int                 // searches a client may make at once before the rate applies
	TrustProxy     bool                // take the client address from X-Forwarded-For
	SiteURL        string              // the shop's site (LOOKALIKE_IMAGE_BASE_URL): page links that are paths resolve against it
	AllowedOrigins []string            // exact origins (https://cvety.kz) whose pages may call search from a browser (CORS)
	ReplicaID      string              // this replica's id in the replicas table: the dashboard adds its own activity live, the others' from the database
	Rerank         int                 // a photo search's best hits re-ranked by local features (LOOKALIKE_RERANK); 0: localfeat.DefaultRerank's; negative: none
	RerankCache    int                 // photos whose local features are kept in memory (LOOKALIKE_RERANK_CACHE, about 16 KiB each); 0: 4096
}

// Engine is the model that answers searches and the index of its vectors.
// A request takes one Engine and uses it throughout, so a model switch never
// compares a query of one model with vectors of another.
type Engine struct {
	Embedder embed.Embedder
	Index    Index
	// Migration, when not nil, reports a background re-embed to another model.
	Migration func() any
	// IndexStatus, when not nil, describes the index (in /stats "index").
	IndexStatus func() any
}

// Deps are the parts the handlers call.
type Deps struct {
	Store   Store
	Engine  func() Engine
	Fetcher Fetcher
	Worker  Reindexer
	Log     *slog.Logger
	Ready   func() bool                                         // whether the index has loaded
	Health  func(ctx context.Context) error                     // why storage cannot take writes (damaged, full); nil: healthy
	Verify  func(ctx context.Context, repair bool) (any, error) // catalogue/index verification report
	Metrics *metrics.Registry                                   // where request metrics go, and what /metrics serves; nil: none served
	Thumbs  Thumbnailer                                         // stored product photos as thumbnails; nil: /images not served
	UI      http.Handler                                        // the web pages (/, /admin, /static/); nil: none
	// PublicUI is UI without the operator dashboard, for Public; nil: Public serves no pages.
	PublicUI http.Handler
	// Replica, when not nil, describes this replica (in /stats "replica"):
	// its id, host, start, index and change feed position.
	Replica func(ctx context.Context) any
	// Probes are what /readyz checks besides the database and the index
	// (the image store, when it is a remote one).
	Probes []Probe
}

// Probe is one dependency /readyz checks, within ReadyTimeout.
type Probe struct {
	Name  string
	Check func(ctx context.Context) error
}

// ReadyTimeout bounds each check of /readyz: a dependency that does not
// answer within it is reported as failed.
const ReadyTimeout = 2 * time.Second

// Thumbnailer returns JPEG thumbnails of stored images.
type Thumbnailer interface {
	Get(ctx context.Context, sha string, width int) ([]byte, error)
}

// Server serves the API.
type Server struct {
	patterns []string // every endpoint registered, for Routes
	cfg      Config
	store    Store
	engine   func() Engine
	fetcher  Fetcher
	worker   Reindexer
	log      *slog.Logger
	ready    func() bool
	health   func(ctx context.Context) error
	probes   []Probe
	replica  func(ctx context.Context) any
	verify   func(ctx context.Context, repair bool) (any, error)
	thumbs   Thumbnailer
	features *localfeat.Cache // the catalogue photos' local features, for the re-ranking; nil: none
	ui       http.Handler
	pubUI    http.Handler
	limiter  *rateLimiter
	mux      *http.ServeMux // every endpoint
	pub      *http.ServeMux // the public ones only (Public)

	metrics     *metrics.Registry
	webhooks    *metrics.CounterVec
	webhookTime *metrics.HistogramVec
	searches    *metrics.CounterVec
	searchTime  *metrics.HistogramVec
	lookupTime  *metrics.HistogramVec

	webhookActivity activity
	searchActivity  activity
}

// New builds the handler tree.
func New(cfg Config, d Deps) *Server {
	if cfg.MaxPhotos <= 0 {
		cfg.MaxPhotos = catalog.DefaultMaxPhotos
	}
	if cfg.MaxWebhookBody <= 0 {
		cfg.MaxWebhookBody = 1 << 20
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = 20 << 20
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = 50_000_000
	}
	if cfg.DecodeTimeout <= 0 {
		cfg.DecodeTimeout = 20 * time.Second
	}
	if cfg.DefaultShopID <= 0 {
		cfg.DefaultShopID = 1
	}
	if cfg.Currency == "" {
		cfg.Currency = catalog.DefaultCurrency
	}
	s := &Server{cfg: cfg, store: d.Store, engine: d.Engine, fetcher: d.Fetcher, worker: d.Worker,
		log: d.Log.With("subsystem", "api"), ready: d.Ready, health: d.Health, probes: d.Probes, replica: d.Replica, verify: d.Verify, thumbs: d.Thumbs, ui: d.UI, pubUI: d.PublicUI, mux: http.NewServeMux(), pub: http.NewServeMux()}
	if cfg.Rerank == 0 {
		cfg.Rerank = localfeat.DefaultRerank().K
	}
	if cfg.RerankCache <= 0 {
		cfg.RerankCache = 4096
	}
	if s.thumbs != nil && cfg.Rerank > 0 {
		s.features = localfeat.NewCache(cfg.RerankCache, s.loadFeaturePhoto)
	}
	s.cfg = cfg
	reg := d.Metrics
	if reg == nil {
		reg = metrics.NewRegistry()
	} else {
		s.metrics = reg
	}
	s.webhooks = reg.Counter("lookalike_webhooks_total", "Webhooks received, by outcome.", "outcome")
	s.webhookTime = reg.Histogram("lookalike_webhook_duration_seconds", "Time to acknowledge a webhook, by outcome.", metrics.LatencyBuckets, "outcome")
	s.searches = reg.Counter("lookalike_searches_total", "Searches, by outcome.", "outcome")
	s.searchTime = reg.Histogram("lookalike_search_duration_seconds", "Time to answer a search (decode, embed, lookup), by outcome.", metrics.LatencyBuckets, "outcome")
	s.lookupTime = reg.Histogram("lookalike_search_index_lookup_seconds", "Time of the vector index lookup within a search.", []float64{0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1})
	if cfg.SearchRate > 0 {
		s.limiter = newRateLimiter(cfg.SearchRate, cfg.SearchBurst)
	}
	s.routes()
	return s
}

// OpenAPI is the API's description (OpenAPI 3.1), served at /api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Routes lists the patterns ("METHOD /path") of every endpoint, as
// registered; the OpenAPI test checks the description against it.
func (s *Server) Routes() []string { return slices.Clone(s.patterns) }

// routes registers every endpoint on mux and the public ones on pub too.
// What is internal (admin, reindex, stats, metrics, full product records)
// is left off pub, where it falls through to a 404.
func (s *Server) routes() {
	public := func(pattern string, h http.HandlerFunc) {
		s.patterns = append(s.patterns, pattern)
		s.mux.HandleFunc(pattern, h)
		s.pub.HandleFunc(pattern, h)
	}
	public("POST /api/v1/webhooks/product-sync", s.handleWebhook) // the CMS must reach it; authenticated by its secret
	s.patterns = append(s.patterns, "GET /api/v1/products/{id}", "GET /api/v1/products")
	s.mux.HandleFunc("GET /api/v1/products/{id}", s.productRead(s.handleGetProduct, false))
	s.mux.HandleFunc("GET /api/v1/products", s.productRead(s.handleListProducts, false))
	s.pub.HandleFunc("GET /api/v1/products/{id}", s.productRead(s.handleGetProduct, true))
	s.pub.HandleFunc("GET /api/v1/products", s.productRead(s.handleListProducts, true))
	public("POST /api/v1/search", s.limited(s.handleSearch))
	public("GET /api/v1/search/info", s.handleSearchInfo)
	// On the public address the internal endpoints answer 404, saying where they are.
	elsewhere := func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errorf(http.StatusNotFound, "%s %s is served on the admin address (LOOKALIKE_ADMIN_ADDR) only", r.Method, r.URL.Path))
	}
	internal := func(pattern string, h http.Handler) {
		s.patterns = append(s.patterns, pattern)
		s.mux.Handle(pattern, h)
		s.pub.HandleFunc(pattern, elsewhere)
	}
	internal("POST /reindex-one", s.admin(s.handleReindexOne))
	internal("POST /api/v1/reindex-one", s.admin(s.handleReindexOne))
	internal("GET /api/v1/admin/failed", s.admin(s.handleListFailed))
	internal("POST /api/v1/admin/retry", s.admin(s.handleRetry))
	internal("POST /api/v1/admin/retry-failed", s.admin(s.handleRetryAll(true)))
	internal("POST /api/v1/admin/reindex-all", s.admin(s.handleRetryAll(false)))
	internal("GET /api/v1/admin/overview", s.admin(s.handleOverview))
	internal("GET /api/v1/admin/verify", s.admin(s.handleVerify))
	internal("POST /api/v1/admin/verify", s.admin(s.handleVerify))
	internal("GET /stats", http.HandlerFunc(s.handleStats))
	internal("GET /api/v1/stats", http.HandlerFunc(s.handleStats))
	internal("GET /metrics", http.HandlerFunc(s.handleMetrics))
	public("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	public("GET /readyz", s.handleReady)
	public("GET /images/{sha}", s.handleImage)
	public("GET /api/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(OpenAPI)
	})
	notFound := func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	}
	s.mux.HandleFunc("/api/", notFound)
	s.pub.HandleFunc("/api/", notFound)
	for _, m := range []struct {
		mux *http.ServeMux
		ui  http.Handler
	}{{s.mux, s.ui}, {s.pub, s.pubUI}} {
		if m.ui != nil {
			m.mux.Handle("/", m.ui)
		} else {
			m.mux.HandleFunc("/", notFound)
		}
	}
}

// Public serves only the endpoints meant for the internet: the shop's
// pages, search, images, the CMS webhook and health checks, and products in
// their public view. Everything else answers 404 there; ServeHTTP, on the
// admin address, serves it all.
func (s *Server) Public() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, s.pub) })
}

// ServeHTTP serves every endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r, s.mux) }

// serve adds a request id, panic recovery and an access log line.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-Id", id)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic in handler", "request_id", id, "panic", v)
			if !rec.wrote {
				writeJSON(rec, http.StatusInternalServerError, errBody("internal error"))
			}
		}
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			level = slog.LevelDebug
		}
		s.observe(r, rec, start)
		s.log.Log(ctx, level, "request", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "ms", float64(time.Since(start).Microseconds())/1000, "remote", r.RemoteAddr)
	}()
	if s.cors(rec, r.WithContext(ctx)) { // a preflight, answered
		return
	}
	if err := s.refuseWrite(r); err != nil {
		writeJSON(rec, statusOf(err), errBody(err.Error())) // logged once where it began, not per request
		return
	}
	mux.ServeHTTP(rec, r.WithContext(ctx))
}

// refuseWrite returns why a write (any request but GET, HEAD and search)
// must not reach a damaged database; nil otherwise. A full disk is not
// refused up front: each write is tried, so the service recovers as soon
// as space is freed, and one that fails answers 503 through the error table.
func (s *Server) refuseWrite(r *http.Request) error {
	if s.health == nil || r.Method == http.MethodGet || r.Method == http.MethodHead || r.URL.Path == "/api/v1/search" {
		return nil
	}
	if err := s.health(r.Context()); errors.Is(err, catalog.ErrStorageCorrupt) {
		return fmt.Errorf("the service is refusing writes: %w", err)
	}
	return nil
}

type requestIDKey struct{}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func errBody(msg string) map[string]string {
	return map[string]string{"status": "error", "error": msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// fail answers err with the status from the error table and logs it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := err.Error()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		msg = "request body is larger than the limit of " + humanBytes(mbe.Limit)
	}
	if errors.Is(err, imagedecode.ErrBusy) {
		// Other images hold the decode memory for a moment: a retry soon works.
		w.Header().Set("Retry-After", "2")
		s.log.Warn("request refused: decode memory busy", "request_id", r.Context().Value(requestIDKey{}), "path", r.URL.Path, "status", status, "reason", msg)
	} else if errors.Is(err, catalog.ErrStorageCorrupt) || errors.Is(err, catalog.ErrStorageFull) {
		s.log.Warn("request failed: storage", "request_id", r.Context().Value(requestIDKey{}), "path", r.URL.Path, "status", status, "err", err)
	} else if status >= 500 {
		s.log.Error("request failed", "request_id", r.Context().Value(requestIDKey{}), "path", r.URL.Path, "status", status, "err", err)
		if status == http.StatusInternalServerError {
			msg = "internal error; see the server log for request " + w.Header().Get("X-Request-Id")
		}
	} else {
		s.log.Warn("request refused", "request_id", r.Context().Value(requestIDKey{}), "path", r.URL.Path, "status", status, "reason", msg)
	}
	writeJSON(w, status, errBody(msg))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// admin guards a handler with the bearer token.
func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.authorized(w, r) {
			h(w, r)
		}
	})
}

// authorized reports whether the request carries the admin token; when it
// does not, it has answered 403 (no token configured) or 401.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	refuse := s.failAdmin // the seed's {"success":false} shape for reindex-one
	if !strings.HasSuffix(r.URL.Path, "/reindex-one") {
		refuse = func(w http.ResponseWriter, r *http.Request, status int, msg string) {
			s.fail(w, r, &Error{Status: status, Msg: msg})
		}
	}
	if s.cfg.AdminToken == "" {
		refuse(w, r, http.StatusForbidden, "admin endpoints are disabled: start the server with LOOKALIKE_ADMIN_TOKEN (or --admin-token) set, then send it as 'Authorization: Bearer <token>'")
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.AdminToken)) != 1 {
		refuse(w, r, http.StatusUnauthorized, "missing or wrong admin token: send 'Authorization: Bearer <LOOKALIKE_ADMIN_TOKEN>'")
		return false
	}
	return true
}

// failAdmin answers in the seed's {"success":false,"error":...} shape that
// the reindex endpoint uses.
func (s *Server) failAdmin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.log.Warn("admin request refused", "request_id", r.Context().Value(requestIDKey{}), "path", r.URL.Path, "status", status, "reason", msg)
	writeJSON(w, status, map[string]any{"success": false, "error": msg})
}

// handleReady answers whether this replica can serve: the database answers,
// storage has no fault, each probe (the image store) answers, and the
// index has loaded. Each check runs at once with the others, within
// ReadyTimeout; the reply names each one's outcome, and a 503 says which
// failed.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	checks := []Probe{{"database", s.store.Ping}}
	if s.health != nil {
		checks = append(checks, Probe{"storage", s.health})
	}
	checks = append(checks, s.probes...)
	if s.ready != nil {
		checks = append(checks, Probe{"index", func(context.Context) error {
			if !s.ready() {
				return errors.New("vector index is still loading")
			}
			return nil
		}})
	}
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
			defer cancel()
			err := c.Check(ctx)
			if err != nil && ctx.Err() == context.DeadlineExceeded {
				err = fmt.Errorf("no answer within %s: %w", ReadyTimeout, err)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	out := map[string]string{}
	var failed []string
	for i, c := range checks {
		out[c.Name] = "ok"
		if errs[i] != nil {
			out[c.Name] = errs[i].Error()
			failed = append(failed, c.Name+": "+errs[i].Error())
		}
	}
	if len(failed) > 0 { // logged where a fault began, not on every probe
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "error", "error": "not ready: " + strings.Join(failed, "; "), "checks": out})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": out})
}

func (s *Server) statsJSON(r *http.Request, eng Engine) (map[string]any, error) {
	model := eng.Embedder.Model()
	st, err := s.store.Stats(r.Context(), model)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"vectors":     st.Vectors, // searchable products
		"photos":      map[string]int64{"indexed": st.PhotosIndexed, "total": st.PhotosTotal},
		"dimensions":  eng.Embedder.Dim(),
		"model":       model,
		"text_search": embed.CanEmbedText(eng.Embedder),
		"products":    map[string]int64{"active": st.ActiveProducts, "deleted": st.Deleted},
		"queue":       map[string]int64{"pending": st.Pending, "running": st.Running, "failed": st.Failed},
	}
	if eng.Migration != nil {
		if m := eng.Migration(); m != nil {
			out["migration"] = m
		}
	}
	if eng.IndexStatus != nil {
		out["index"] = eng.IndexStatus() // this replica's, as in replica.index
	}
	if s.features != nil {
		out["rerank"] = map[string]int{"best": s.cfg.Rerank, "cached_photos": s.features.Len(), "cached_bytes": s.features.Bytes(), "cache_limit": s.cfg.RerankCache}
	}
	rs, err := s.store.Replicas(r.Context())
	if err != nil {
		return nil, err
	}
	out["replicas"] = nonNil(catalog.LiveReplicas(rs, time.Now()))
	if s.replica != nil {
		out["replica"] = s.replica(r.Context())
	}
	return out, nil
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// fleetSeries is the last hour of requests of kind on every replica: the
// others' minutes as their heartbeats wrote them, this one's live.
func (s *Server) fleetSeries(now time.Time, kind string, rows []catalog.Activity) SeriesJSON {
	mine := s.webhookActivity.recent(now, 60)
	if kind == catalog.ActivitySearches {
		mine = s.searchActivity.recent(now, 60)
	}
	for _, a := range rows {
		if a.Kind == kind && a.Replica != s.cfg.ReplicaID {
			mine = append(mine, a.Minute)
		}
	}
	return series(now, mine)
}

// RecentActivity is this replica's activity of the last two minutes (the
// only ones still counting), for the heartbeat to write to the database.
func (s *Server) RecentActivity(now time.Time) []catalog.Activity {
	var out []catalog.Activity
	for _, k := range []struct {
		kind string
		a    *activity
	}{{catalog.ActivityWebhooks, &s.webhookActivity}, {catalog.ActivitySearches, &s.searchActivity}} {
		for _, m := range k.a.recent(now, 2) {
			out = append(out, catalog.Activity{Replica: s.cfg.ReplicaID, Kind: k.kind, Minute: m})
		}
	}
	return out
}

// handleSearchInfo tells the shopper's page what search can do (text
// queries need a CLIP model), without the operational counts of /stats.
func (s *Server) handleSearchInfo(w http.ResponseWriter, r *http.Request) {
	eng := s.engine()
	writeJSON(w, http.StatusOK, map[string]any{"model": eng.Embedder.Model(), "text_search": embed.CanEmbedText(eng.Embedder)})
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	st, err := s.statsJSON(r, s.engine())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// handleOverview is the operator dashboard's data: /stats plus the last
// hour of webhooks and searches on every replica, minute by minute.
func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	eng := s.engine()
	st, err := s.statsJSON(r, eng)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := time.Now()
	rows, err := s.store.Activity(r.Context(), now.Unix()/60-59)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st["index_vectors"] = eng.Index.Len()
	st["webhooks"] = s.fleetSeries(now, catalog.ActivityWebhooks, rows)
	st["searches"] = s.fleetSeries(now, catalog.ActivitySearches, rows)
	writeJSON(w, http.StatusOK, st)
}

// outcome names a reply for metrics.
func outcome(rec *statusRecorder) string {
	switch st := rec.status; {
	case st < 300 && rec.Header().Get("X-Lookalike-Duplicate") != "":
		return "duplicate"
	case st < 300:
		return "ok"
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return "unauthorized"
	case st == http.StatusRequestEntityTooLarge:
		return "too_large"
	case st == http.StatusTooManyRequests:
		return "rate_limited"
	case st == http.StatusServiceUnavailable:
		return "unavailable"
	case st < 500:
		return "invalid"
	}
	return "error"
}

func (s *Server) observe(r *http.Request, rec *statusRecorder, start time.Time) {
	secs := time.Since(start).Seconds()
	switch r.URL.Path {
	case "/api/v1/webhooks/product-sync":
		o := outcome(rec)
		s.webhooks.With(o).Inc()
		s.webhookTime.With(o).Observe(secs)
		s.webhookActivity.record(time.Now(), secs*1000, rec.status >= 300)
	case "/api/v1/search":
		o := outcome(rec)
		s.searches.With(o).Inc()
		s.searchTime.With(o).Observe(secs)
		s.searchActivity.record(time.Now(), secs*1000, rec.status >= 300)
	}
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if s.metrics == nil {
		s.fail(w, r, errorf(http.StatusNotFound, "metrics are not enabled"))
		return
	}
	w.Header().Set("Content-Type", metrics.ContentType)
	s.metrics.Write(w)
}

// handleImage serves a stored product photo as a thumbnail (?w=160|320|640).
// Images are addressed by content, so they are cached for good.
func (s *Server) handleImage(w http.ResponseWriter, r *http.Request) {
	if s.thumbs == nil {
		s.fail(w, r, errorf(http.StatusNotFound, "images are not served"))
		return
	}
	width := 0
	if v := r.URL.Query().Get("w"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			s.fail(w, r, errorf(http.StatusBadRequest, "w must be a positive width in pixels, got %q", v))
			return
		}
		width = n
	}
	sha := strings.TrimSuffix(r.PathValue("sha"), ".jpg")
	etag := `"` + sha + "-" + strconv.Itoa(thumb.Width(width)) + `"`
	// The thumbnail comes first (from the disk cache, usually): a 304 is
	// only for an image that is there.
	b, err := s.thumbs.Get(r.Context(), sha, width)
	if err != nil {
		if errors.Is(err, thumb.ErrNotFound) {
			err = errorf(http.StatusNotFound, "no stored image %q", sha)
		}
		s.fail(w, r, err)
		return
	}
	if r.Header.Get("If-None-Match") == etag {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", etag)
	w.Write(b)
}
