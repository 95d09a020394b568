// Package app wires lookalike together: it opens the store, loads the
// vector index, starts the reindex workers and the HTTP server, and stops
// them in order.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/api"
	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/blob/s3blob"
	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/datadir"
	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/fetch"
	"github.com/lookalike/lookalike/imagedecode"
	"github.com/lookalike/lookalike/metrics"
	"github.com/lookalike/lookalike/reindex"
	"github.com/lookalike/lookalike/store"
	"github.com/lookalike/lookalike/thumb"
	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/verify"
	"github.com/lookalike/lookalike/web"
)

// Config is everything `lookalike serve` can be told. The zero value plus
// Defaults() is a working single-machine setup.
type Config struct {
	Addr              string   // listen address
	AdminAddr         string   // when set, a second listen address for the internal endpoints, which the first then answers 404
	PprofAddr         string   // when set, a listen address for Go's profiler (net/http/pprof); empty: none. Keep it private (127.0.0.1)
	DataDir           string   // database, images (with DatabaseURL: only caches)
	DatabaseURL       string   // postgres://…: the catalogue in PostgreSQL, shared by every replica; empty: SQLite in DataDir
	BlobURL           string   // s3://bucket/prefix?endpoint=…: the images in an S3-compatible store; empty: DataDir/images
	WebhookSecrets    []string // X-Webhook-Secret values accepted
	SigningSecrets    []string // Standard Webhooks "whsec_..." secrets; with neither, webhooks are refused
	AdminToken        string   // bearer token for admin endpoints; empty disables them
	DefaultShopID     int64    // shop for webhooks and searches without shop_id
	Currency          string   // ISO 4217 code of prices that name none, and of search price filters
	ImageBaseURL      string   // base for relative image paths
	FetchAllowPrivate bool     // allow image URLs on loopback/private networks
	FetchAllowHosts   []string // hosts allowed even on private addresses (intranet image servers)
	Workers           int      // concurrent reindex jobs
	MaxPhotos         int      // photos kept per product; a longer list is cut
	Rerank            int      // a photo search's best hits re-ranked by local features; 0: 10; negative: none (LOOKALIKE_RERANK=0)
	RerankCache       int      // photos whose local features stay in memory; 0: 4096
	MaxAttempts       int      // attempts before a transient failure is final
	RetryBaseDelay    time.Duration
	JobLease          time.Duration // how long a claimed job is a worker's before another may take it
	DeliveryTTL       time.Duration // how long webhook-ids are remembered for deduplication
	FetchTimeout      time.Duration
	ShutdownTimeout   time.Duration // how long Stop waits for requests and jobs
	MaxImageBytes     int64
	MaxImagePixels    int64
	ModelDir          string        // a CLIP model directory; empty: the built-in descriptor
	ORTLibrary        string        // path of libonnxruntime.so; empty: looked up
	EmbedThreads      int           // ONNX Runtime intra-op threads; 0: all cores
	DecodeTimeout     time.Duration // longest an image decode may wait for decode memory, and then take
	DecodeMemory      int64         // bytes that image decodes may take at once (decoded pixels and decoder buffers)
	SearchRate        float64       // searches per second per client address; 0 disables
	SearchBurst       int
	TrustProxy        bool     // client address from X-Forwarded-For (behind a reverse proxy)
	ResetImages       bool     // start over when the stored photos do not belong to the database: move them aside
	Index             string   // the in-memory index: auto (flat below AutoHNSWVectors photos, hnsw above), flat or hnsw
	AllowedOrigins    []string // exact origins (https://cvety.kz) whose pages may call search from a browser (the widget; CORS)
	ShopName          string   // the shop's name on the shopper's page and in the widget
	ShopLogo          string   // its logo: an http(s) URL, or a path on the shop's site (LOOKALIKE_IMAGE_BASE_URL)
	ShopColor         string   // its accent colour, #rgb or #rrggbb
	VectorURL         string   // http(s)://…: the vectors in this Weaviate server instead of an in-memory index
	VectorGRPCAddr    string   // host:port of its gRPC API; empty: VectorURL's host, port 50051
	VectorAPIKey      string   // Weaviate API key, if it wants one
	VectorClassPrefix string   // prefix of the Weaviate class names (one class per model); empty: Lookalike
}

// Defaults fills unset fields with the documented defaults.
func (c *Config) Defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./lookalike-data"
	}
	if c.DefaultShopID == 0 {
		c.DefaultShopID = 1
	}
	if c.Currency == "" {
		c.Currency = catalog.DefaultCurrency
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 8
	}
	if c.MaxPhotos == 0 {
		c.MaxPhotos = catalog.DefaultMaxPhotos
	}
	if c.RetryBaseDelay == 0 {
		c.RetryBaseDelay = 2 * time.Second
	}
	if c.JobLease == 0 {
		c.JobLease = 2 * time.Minute
	}
	if c.DeliveryTTL == 0 {
		c.DeliveryTTL = 7 * 24 * time.Hour
	}
	if c.FetchTimeout == 0 {
		c.FetchTimeout = 30 * time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 20 * time.Second
	}
	if c.MaxImageBytes == 0 {
		c.MaxImageBytes = 20 << 20
	}
	if c.MaxImagePixels == 0 {
		c.MaxImagePixels = 50_000_000
	}
	if c.DecodeTimeout == 0 {
		c.DecodeTimeout = 20 * time.Second
	}
	if c.DecodeMemory == 0 {
		c.DecodeMemory = imagedecode.DefaultBudget
	}
	if c.Index == "" {
		c.Index = IndexAuto
	}
}

// Validate reports the first setting that cannot work, in words that name
// the environment variable.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("LOOKALIKE_ADDR %q is not host:port: %w", c.Addr, err)
	}
	if c.AdminAddr != "" {
		_, port, err := net.SplitHostPort(c.AdminAddr)
		if err != nil {
			return fmt.Errorf("LOOKALIKE_ADMIN_ADDR %q is not host:port (such as 127.0.0.1:8081): %w", c.AdminAddr, err)
		}
		if c.AdminAddr == c.Addr && port != "0" {
			return fmt.Errorf("LOOKALIKE_ADMIN_ADDR %q must differ from LOOKALIKE_ADDR: the internal endpoints need an address of their own", c.AdminAddr)
		}
	}
	if c.PprofAddr != "" {
		_, port, err := net.SplitHostPort(c.PprofAddr)
		if err != nil {
			return fmt.Errorf("LOOKALIKE_PPROF_ADDR %q is not host:port (such as 127.0.0.1:6061): %w", c.PprofAddr, err)
		}
		if (c.PprofAddr == c.Addr || c.PprofAddr == c.AdminAddr) && port != "0" {
			return fmt.Errorf("LOOKALIKE_PPROF_ADDR %q must differ from LOOKALIKE_ADDR and LOOKALIKE_ADMIN_ADDR: the profiler has an address of its own", c.PprofAddr)
		}
	}
	if c.DefaultShopID <= 0 {
		return fmt.Errorf("LOOKALIKE_DEFAULT_SHOP_ID must be a positive integer, got %d", c.DefaultShopID)
	}
	if _, ok := catalog.CurrencyExponent(c.Currency); !ok {
		return fmt.Errorf("LOOKALIKE_CURRENCY %q is not an ISO 4217 currency code (e.g. KZT, RUB, UAH, USD)", c.Currency)
	}
	if c.DatabaseURL != "" {
		if err := checkDatabaseURL(c.DatabaseURL); err != nil {
			return err
		}
	}
	if c.ImageBaseURL != "" {
		u, err := url.Parse(c.ImageBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("LOOKALIKE_IMAGE_BASE_URL %q must be an absolute http(s) URL such as https://cvety.kz", c.ImageBaseURL)
		}
	}
	for _, s := range c.WebhookSecrets {
		if len(s) < 8 {
			return errors.New("WEBHOOK_SECRET: each secret must be at least 8 characters")
		}
	}
	for _, s := range c.SigningSecrets {
		if _, err := api.ParseSigningSecret(s); err != nil {
			return fmt.Errorf("LOOKALIKE_WEBHOOK_SIGNING_SECRET: %w", err)
		}
	}
	if c.BlobURL != "" {
		if _, err := s3blob.Parse(c.BlobURL); err != nil {
			return fmt.Errorf("LOOKALIKE_BLOB_URL: %w", err)
		}
	}
	if c.SearchRate < 0 || c.SearchBurst < 0 {
		return errors.New("LOOKALIKE_SEARCH_RATE and LOOKALIKE_SEARCH_BURST must not be negative")
	}
	if c.JobLease < time.Second {
		return fmt.Errorf("LOOKALIKE_JOB_LEASE must be at least 1s, got %s", c.JobLease)
	}
	if c.Workers < 1 || c.Workers > 64 {
		return fmt.Errorf("LOOKALIKE_WORKERS must be between 1 and 64, got %d", c.Workers)
	}
	if c.MaxPhotos < 1 || c.MaxPhotos > catalog.MaxPhotosSent {
		return fmt.Errorf("LOOKALIKE_MAX_PHOTOS must be between 1 and %d, got %d", catalog.MaxPhotosSent, c.MaxPhotos)
	}
	if c.MaxAttempts < 1 {
		return fmt.Errorf("LOOKALIKE_MAX_ATTEMPTS must be at least 1, got %d", c.MaxAttempts)
	}
	if c.MaxImageBytes < 1<<10 || c.MaxImagePixels < 1<<10 {
		return errors.New("image limits are too small")
	}
	if c.Index != IndexAuto && c.Index != IndexFlat && c.Index != IndexHNSW {
		return fmt.Errorf("LOOKALIKE_INDEX must be auto, flat or hnsw, got %q", c.Index)
	}
	for _, o := range c.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || o != u.Scheme+"://"+u.Host || o != strings.ToLower(o) {
			return fmt.Errorf("LOOKALIKE_ALLOWED_ORIGINS: %q is not an origin: write scheme and host (and a port other than the default) in lower case, no path or slash at the end, such as https://cvety.kz", o)
		}
	}
	if err := c.brand().Check(); err != nil {
		return err
	}
	if err := c.checkVector(); err != nil {
		return err
	}
	if c.DecodeMemory < 16<<20 {
		return fmt.Errorf("LOOKALIKE_DECODE_MEMORY must be at least 16777216 (16 MiB), got %d", c.DecodeMemory)
	}
	return nil
}

// checkDatabaseURL accepts a postgres:// (or postgresql://) URL with a
// host; its error never repeats the URL, which may carry a password.
func checkDatabaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || (u.Host == "" && u.Query().Get("host") == "") {
		return errors.New("LOOKALIKE_DATABASE_URL must be a PostgreSQL URL such as postgres://user:password@db.example:5432/lookalike?sslmode=require")
	}
	return nil
}

// brand is the shop's name, logo and colour for the pages; a logo that is a
// path is on the shop's site when that is known.
func (c *Config) brand() web.Brand {
	logo := c.ShopLogo
	if strings.HasPrefix(logo, "/") && !strings.HasPrefix(logo, "//") && c.ImageBaseURL != "" {
		logo = catalog.AbsoluteLink(logo, c.ImageBaseURL)
	}
	return web.Brand{Name: c.ShopName, Logo: logo, Color: c.ShopColor}
}

// App is a running lookalike service.
type App struct {
	cfg      Config
	log      *slog.Logger
	lock     *datadir.Lock // the data directory, ours until Stop (nil when it holds only caches)
	store    *store.Store
	engine   atomic.Pointer[engine] // the model answering searches, and its index
	ix       indexState             // which index, and a graph being built
	target   embed.Embedder         // the configured model, when the index is being moved to it
	mig      migration
	closers  []func() error // loaded models to close at Stop
	blobs    blob.Images    // the images (openBlobs)
	thumbs   *thumb.Cache   // thumbnails, pruned like the images
	bucket   *s3blob.Bucket // with BlobURL: where the images and shared thumbnails are
	metrics  *metrics.Registry
	workerMu sync.Mutex // serialises worker Start/Stop (a model switch pauses it)
	stopping bool
	worker   *reindex.Worker
	api      *api.Server
	http     *http.Server // the public address (everything, without AdminAddr)
	ln       net.Listener
	adminSrv *http.Server // AdminAddr, when set: every endpoint
	pprofLn  net.Listener // PprofAddr, when set
	pprofSrv *http.Server // net/http/pprof on PprofAddr
	adminLn  net.Listener
	ready    atomic.Bool
	served   chan error
	stopBG   chan struct{}
	bg       sync.WaitGroup

	// decodeBudget bounds the memory of every image decode at once:
	// searches, workers, thumbnails and model migration share it.
	decodeBudget *imagedecode.Budget

	replica  catalog.Replica // this process in the fleet (fleet.go)
	feed     feed            // the store's change feed, as applied to the index
	followMu sync.Mutex      // one followSwitch at a time
	pruneMu  sync.Mutex      // one Prune at a time in this process
}

// changeRetention is how long change feed rows are kept: far longer than
// any replica lags (a replica that starts reads the catalogue afresh).
const changeRetention = 24 * time.Hour

// housekeeping runs hourly: it forgets old webhook delivery ids and removes
// vectors, stored images and thumbnails no product refers to any more.
func (a *App) housekeeping() {
	defer a.bg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		a.Prune(context.Background(), time.Hour)
		select {
		case <-a.stopBG:
			return
		case <-t.C:
		}
	}
}

// bgContext is a context for a background task, cancelled when Stop
// stops the background tasks.
func (a *App) bgContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-a.stopBG:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// New opens the data directory and builds the service; Start runs it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	// One process holds a data directory that holds data: the SQLite
	// database, or the photos. With both in shared stores it holds only
	// caches, which replicas may share.
	var lock *datadir.Lock
	if cfg.DatabaseURL == "" || cfg.BlobURL == "" {
		var err error
		if lock, err = datadir.Acquire(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	a := &App{cfg: cfg, log: log, lock: lock, decodeBudget: imagedecode.NewBudget(cfg.DecodeMemory), replica: newReplica()}
	ok := false
	defer func() {
		if !ok {
			a.closeModels()
			if eng := a.engine.Load(); eng != nil {
				eng.index.Close()
			}
			if a.store != nil {
				a.store.Close()
			}
			lock.Close()
		}
	}()
	st, local, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.store = st
	st.SetFaultHook(a.onStoreFault)
	if err := a.openBlobs(ctx); err != nil {
		return nil, err
	}
	if err := a.checkIdentity(ctx); err != nil {
		return nil, err
	}
	blobs := a.blobs
	// The lock says no other process runs jobs on a local database: leases
	// left by one that died (or by the server a backup came from) are void.
	// On a shared one they may be another replica's: they expire in time.
	if local {
		n, err := st.ExpireLeases(ctx, time.Now())
		if err != nil {
			return nil, err
		}
		if n > 0 {
			log.Info("jobs left running by a previous process are due again", "subsystem", "store", "jobs", n)
		}
	}
	serving, err := a.chooseModels(ctx)
	if err != nil {
		return nil, err
	}
	idx, err := a.newIndex(ctx, serving.Model(), serving.Dim())
	if err != nil {
		return nil, err
	}
	a.engine.Store(&engine{embedder: serving, index: idx})
	// Workers record vectors of the serving model only: the store checks
	// this setting in the transaction that records one. It is written only
	// while the catalogue is still on the model chooseModels found: another
	// replica's switch committed since keeps its serving model (migrate
	// follows it, when this replica is configured with it).
	catalogueModel := serving.Model()
	if a.target != nil {
		catalogueModel = a.mig.from
	}
	if ok, err := st.SetSettingIf(ctx, store.SettingServingModel, serving.Model(), settingModel, catalogueModel); err != nil {
		return nil, err
	} else if !ok && a.target == nil {
		log.Error("another replica switched the catalogue to another model while this one started; it serves its own (its workers' vectors are refused): configure it with that model and restart it", "subsystem", "model", "model", serving.Model())
	}
	st.SetChangeHook(a.onChange)

	fetcher := fetch.New(fetch.Config{AllowPrivate: cfg.FetchAllowPrivate, AllowHosts: cfg.FetchAllowHosts, MaxBytes: cfg.MaxImageBytes, Timeout: cfg.FetchTimeout})
	var keys [][]byte
	for _, sec := range cfg.SigningSecrets {
		k, _ := api.ParseSigningSecret(sec) // checked by Validate
		keys = append(keys, k)
	}
	a.metrics = metrics.NewRegistry()
	a.registerGauges()
	a.worker = reindex.New(reindex.Config{Metrics: a.metrics, Workers: cfg.Workers, MaxAttempts: cfg.MaxAttempts, BaseBackoff: cfg.RetryBaseDelay, Lease: cfg.JobLease,
		ImageBaseURL: cfg.ImageBaseURL, MaxPixels: cfg.MaxImagePixels, DecodeTimeout: cfg.DecodeTimeout, DecodeBudget: a.decodeBudget}, st, fetcher, serving, blobs, log)
	a.thumbs = a.newThumbs()
	pages := web.Options{CurrencySign: catalog.CurrencySign(cfg.Currency), Brand: cfg.brand()} // the sign in the shop page's price filter
	var publicUI http.Handler                                                                  // the pages without the dashboard, for the public address
	if cfg.AdminAddr != "" {
		pub := pages
		pub.NoAdmin = true
		publicUI = web.Handler(pub)
	}
	a.api = api.New(api.Config{WebhookSecrets: cfg.WebhookSecrets, SigningKeys: keys, AdminToken: cfg.AdminToken, DefaultShopID: cfg.DefaultShopID, Currency: cfg.Currency, MaxPhotos: cfg.MaxPhotos,
		MaxUploadBytes: cfg.MaxImageBytes, MaxPixels: cfg.MaxImagePixels, SearchRate: cfg.SearchRate, SearchBurst: cfg.SearchBurst,
		TrustProxy: cfg.TrustProxy, DecodeTimeout: cfg.DecodeTimeout, DecodeBudget: a.decodeBudget,
		SiteURL: cfg.ImageBaseURL, AllowedOrigins: cfg.AllowedOrigins, ReplicaID: a.replica.ID,
		Rerank: cfg.Rerank, RerankCache: cfg.RerankCache},
		api.Deps{Store: st, Engine: a.apiEngine, Fetcher: fetcher, Worker: a.worker, Log: log, Ready: a.ready.Load, Health: a.Health,
			Verify: func(ctx context.Context, repair bool) (any, error) { return a.Verify(ctx, repair) }, Metrics: a.metrics,
			Thumbs: a.thumbs, UI: web.Handler(pages), PublicUI: publicUI, Replica: a.replicaStatus, Probes: a.probes()})
	ok = true
	return a, nil
}

// applyToIndex keeps the in-memory index equal to the store's searchable
// products, one vector per indexed photo: it applies p, as stored now, to
// the index (onChange and the feed call it, with a.feed.mu held). vecs are
// the vectors the change made; the others are read from the store.
func (a *App) applyToIndex(p catalog.Product, vecs map[string][]float32) {
	a.ix.mu.Lock()
	defer a.ix.mu.Unlock()
	if a.ix.touched != nil { // a graph being built replays it
		a.ix.touched[vectorindex.Key(p.Key)] = true
	}
	eng := a.engine.Load()
	a.apply(eng.index, eng.embedder.Model(), p, vecs)
}

// apply makes idx (of model's vectors) hold p as the store does; vecs are
// vectors the change made, the others are read from the store.
func (a *App) apply(idx vectorindex.Index, model string, p catalog.Product, vecs map[string][]float32) {
	k := vectorindex.Key(p.Key)
	fail := func(what string, err error) {
		a.log.Error("index: "+what, "subsystem", "index", "shop_id", p.ShopID, "product_id", p.ProductID, "err", err)
	}
	if !p.Searchable() || p.Model != model {
		if err := idx.Delete(k); err != nil {
			fail("delete", err)
		}
		return
	}
	m := vectorindex.MetaOf(&p)
	want := catalog.IndexedSHAs(p.Photos)
	have, err := idx.Photos(k)
	if err != nil {
		fail("photos", err)
	}
	for _, sha := range have {
		if !slices.Contains(want, sha) {
			if err := idx.DeletePhoto(k, sha); err != nil { // removed or replaced
				fail("delete photo", err)
			}
		}
	}
	for _, sha := range want {
		v, ok := vecs[sha]
		if !ok && slices.Contains(have, sha) {
			continue
		}
		if !ok {
			// Restored, or kept from before: load its stored vector.
			var err error
			v, ok, err = a.store.Embedding(context.Background(), sha, p.Model)
			if err != nil || !ok {
				a.log.Error("index: stored vector missing", "subsystem", "index", "shop_id", p.ShopID, "product_id", p.ProductID, "sha256", sha, "err", err)
				continue
			}
		}
		if err := idx.Upsert(k, sha, v, m); err != nil {
			fail("upsert", err)
		}
	}
	if err := idx.SetMeta(k, m); err != nil {
		fail("set metadata", err)
	}
}

// Start loads the index, starts the workers and begins serving.
func (a *App) Start(ctx context.Context) error {
	t0 := time.Now()
	a.stopBG = make(chan struct{})           // closed by Stop: background work ends
	if err := a.startFeed(ctx); err != nil { // before the index is read: changes from here on are replayed
		return err
	}
	if err := a.startIndex(ctx); err != nil {
		return err
	}
	eng := a.engine.Load()
	a.ready.Store(true)
	a.log.Info("index loaded", "subsystem", "index", "vectors", eng.index.Len(), "model", eng.embedder.Model(), "ms", time.Since(t0).Milliseconds())

	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr, err)
	}
	a.ln = ln
	public := http.Handler(a.api)
	if a.cfg.AdminAddr != "" {
		if a.adminLn, err = net.Listen("tcp", a.cfg.AdminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on LOOKALIKE_ADMIN_ADDR %s: %w", a.cfg.AdminAddr, err)
		}
		a.adminSrv = a.newHTTPServer(a.api)
		public = a.api.Public()
	}
	if a.cfg.PprofAddr != "" {
		if a.pprofLn, err = net.Listen("tcp", a.cfg.PprofAddr); err != nil {
			ln.Close()
			if a.adminLn != nil {
				a.adminLn.Close()
			}
			return fmt.Errorf("listen on LOOKALIKE_PPROF_ADDR %s: %w", a.cfg.PprofAddr, err)
		}
		a.pprofSrv = a.newHTTPServer(pprofHandler())
		a.pprofSrv.WriteTimeout = 0 // a CPU profile streams for as long as it was asked to
	}
	a.http = a.newHTTPServer(public)
	if err := a.heartbeat(ctx); err != nil { // in /stats from the start
		a.log.Warn("heartbeat", "subsystem", "fleet", "err", err)
	}
	a.worker.Start(ctx)
	a.bg.Add(3)
	go a.housekeeping()
	go a.tailFeed()
	go a.heartbeats()
	if a.target != nil {
		a.bg.Add(1)
		go a.migrate(a.target)
	}
	a.served = make(chan error, 2)
	go func() { a.served <- a.http.Serve(ln) }()
	a.log.Info("listening", "subsystem", "http", "addr", ln.Addr().String(), "data_dir", a.cfg.DataDir,
		"webhooks", len(a.cfg.WebhookSecrets)+len(a.cfg.SigningSecrets) > 0, "admin", a.cfg.AdminToken != "")
	if a.adminSrv != nil {
		go func() { a.served <- a.adminSrv.Serve(a.adminLn) }()
		a.log.Info("listening for internal endpoints", "subsystem", "http", "admin_addr", a.adminLn.Addr().String())
	}
	if a.pprofSrv != nil {
		go func() {
			if err := a.pprofSrv.Serve(a.pprofLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Warn("profiler stopped", "subsystem", "http", "err", err)
			}
		}()
		a.log.Info("listening for the profiler", "subsystem", "http", "pprof_addr", a.pprofLn.Addr().String())
	}
	return nil
}

func (a *App) newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // a 20 MiB photo over a slow mobile link
		WriteTimeout:      3 * time.Minute,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.With("subsystem", "http").Handler(), slog.LevelWarn),
	}
}

// Addr is the address the server listens on (useful with port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// URL is the server's base URL.
func (a *App) URL() string { return "http://" + a.Addr() }

// PprofURL is the base URL of the profiler ("" without PprofAddr).
func (a *App) PprofURL() string {
	if a.pprofLn == nil {
		return ""
	}
	return "http://" + a.pprofLn.Addr().String()
}

// pprofHandler serves Go's profiles under /debug/pprof/ (net/http/pprof),
// on an address of their own: never on the public one.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// AdminURL is the base URL of the internal endpoints: the admin address
// when one is set, otherwise the same as URL.
func (a *App) AdminURL() string {
	if a.adminLn == nil {
		return a.URL()
	}
	return "http://" + a.adminLn.Addr().String()
}

// Done is closed (with the server's error) if the server stops by itself.
func (a *App) Done() <-chan error { return a.served }

// Stop stops accepting requests, lets in-flight requests and jobs finish up
// to the shutdown timeout, and closes the database. Unfinished jobs stay
// queued.
func (a *App) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	if a.pprofSrv != nil {
		a.pprofSrv.Close() // a profile being taken is cut short
	}
	for _, srv := range []*http.Server{a.http, a.adminSrv} { // both drain at once, within one timeout
		if srv == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("http shutdown: %w", err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if a.stopBG != nil {
		close(a.stopBG)
	}
	a.workerMu.Lock()
	a.stopping = true
	if err := a.worker.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	a.workerMu.Unlock()
	a.bg.Wait()
	a.closeModels()
	if err := a.saveIndex(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := a.store.Close(); err != nil {
		errs = append(errs, err)
	}
	a.lock.Close()
	a.log.Info("stopped", "subsystem", "app")
	return errors.Join(errs...)
}

// SplitSecrets parses a comma-separated list (secrets, host names).
func SplitSecrets(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Verify compares the catalogue with the index (see package verify) and,
// with repair, fixes what differs.
func (a *App) Verify(ctx context.Context, repair bool) (verify.Report, error) {
	eng := a.engine.Load()
	rep, err := verify.Run(ctx, a.store, eng.index, a.blobs, eng.embedder.Model(), vectorindex.MetaOf, repair)
	if err == nil {
		a.log.Info("verify", "subsystem", "verify", "products", rep.Products, "problems", len(rep.Problems), "repaired", rep.Repaired)
	}
	return rep, err
}

// registerGauges adds the metrics read at scrape time: queue depth,
// products and index size.
func (a *App) registerGauges() {
	stats := func() catalog.Stats {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := a.store.Stats(ctx, a.engine.Load().embedder.Model())
		if err != nil {
			a.log.Error("metrics: stats", "subsystem", "metrics", "err", err)
		}
		return st
	}
	a.metrics.GaugeFunc("lookalike_queue_jobs", "Reindex jobs by state (pending includes jobs waiting for a retry).", func() []metrics.Sample {
		st := stats()
		return []metrics.Sample{{Labels: []string{"pending"}, Value: float64(st.Pending)},
			{Labels: []string{"running"}, Value: float64(st.Running)}, {Labels: []string{"failed"}, Value: float64(st.Failed)}}
	}, "state")
	a.metrics.GaugeFunc("lookalike_products", "Products by state.", func() []metrics.Sample {
		st := stats()
		return []metrics.Sample{{Labels: []string{"active"}, Value: float64(st.ActiveProducts)},
			{Labels: []string{"deleted"}, Value: float64(st.Deleted)}}
	}, "state")
	a.metrics.GaugeFunc("lookalike_decode_memory_bytes", "Decode memory budget: bytes held by image decodes now, and the budget.", func() []metrics.Sample {
		return []metrics.Sample{{Labels: []string{"in_use"}, Value: float64(a.decodeBudget.InUse())},
			{Labels: []string{"budget"}, Value: float64(a.decodeBudget.Size())}}
	}, "kind")
	a.metrics.GaugeFunc("lookalike_index_vectors", "Vectors in the in-memory index.", func() []metrics.Sample {
		return []metrics.Sample{{Value: float64(a.engine.Load().index.Len())}}
	})
}

// Prune removes what nothing refers to; files younger than minAge stay (a
// job may be about to record them).
func (a *App) Prune(ctx context.Context, minAge time.Duration) {
	log := a.log.With("subsystem", "housekeeping")
	report := func(what string, n int64, err error) {
		if errors.Is(err, catalog.ErrPruneRefused) {
			log.Error("HOUSEKEEPING REFUSED TO PRUNE "+strings.ToUpper(what)+": the database does not refer to most of them, which is not ordinary garbage", "err", err)
		} else if err != nil {
			log.Error("prune "+what, "err", err)
		} else if n > 0 {
			log.Info("pruned "+what, "count", n)
		}
	}
	// Once in the fleet: one process at a time here, one replica at a
	// time on a shared database.
	a.pruneMu.Lock()
	defer a.pruneMu.Unlock()
	ctx, leader, ok, err := a.store.TryLeader(ctx, "housekeeping")
	if err != nil || !ok {
		log.Info("housekeeping skipped this pass: another replica is running it", "err", err)
		return
	}
	defer leader()
	defer func() { // the pass's steps stopped at its first statement after the loss
		if errors.Is(context.Cause(ctx), store.ErrLeadershipLost) {
			log.Error("housekeeping stopped: the leader lock was lost; another replica may run it", "err", context.Cause(ctx))
		}
	}()
	n, err := a.store.PruneDeliveries(ctx, time.Now().Add(-a.cfg.DeliveryTTL))
	report("webhook deliveries", n, err)
	n, err = a.store.PruneChanges(ctx, time.Now().Add(-changeRetention))
	report("change feed rows", n, err)
	n, err = a.store.PruneFleet(ctx, time.Now().Add(-fleetRetention))
	report("replica and activity rows", n, err)
	n, err = a.store.PruneEmbeddings(ctx)
	report("vectors", n, err)
	// A backup copying images holds the backup lock shared; prune waits
	// for the next pass rather than remove an image it is about to copy.
	release, free, err := datadir.TryHoldForPrune(a.cfg.DataDir)
	if err != nil || !free {
		log.Info("image pruning skipped this pass: a backup is running", "err", err)
		return
	}
	defer release()
	refs, err := a.store.ReferencedImages(ctx)
	if err != nil {
		report("images", 0, err)
		return
	}
	keep := func(sha string) bool { return refs[sha] }
	m, err := blob.Prune(ctx, a.blobs, keep, minAge)
	report("images", int64(m), err)
	for _, s := range a.thumbs.Stores() {
		if err != nil {
			break
		}
		m, err = blob.Prune(ctx, s, keep, minAge)
		report("thumbnails", int64(m), err)
	}
}
