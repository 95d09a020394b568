package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lookalike/lookalike/app"
	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/imagedecode"
)

// envFlags registers flags whose defaults come from environment variables:
// the flag wins over the variable, the variable over the built-in default.
type envFlags struct {
	fs      *flag.FlagSet
	getenv  func(string) string
	errs    []string
	secrets []func() // after parsing: fill unset secret flags from the environment
}

func (e *envFlags) env(name string) (string, bool) {
	v := strings.TrimSpace(e.getenv(name))
	return v, v != ""
}

func (e *envFlags) str(p *string, flagName, envName, def, usage string) {
	if v, ok := e.env(envName); ok {
		def = v
	}
	e.fs.StringVar(p, flagName, def, usage+" ("+envName+")")
}

// secret is like str, but the variable's value never shows as the flag's
// default in -h output.
func (e *envFlags) secret(p *string, flagName, envName, usage string) {
	e.fs.StringVar(p, flagName, "", usage+" ("+envName+")")
	e.secrets = append(e.secrets, func() {
		set := false
		e.fs.Visit(func(f *flag.Flag) { set = set || f.Name == flagName })
		if v, ok := e.env(envName); ok && !set {
			*p = v
		}
	})
}

// parsed applies what must wait for the command line to be parsed.
func (e *envFlags) parsed() {
	for _, fn := range e.secrets {
		fn()
	}
}

func (e *envFlags) boolean(p *bool, flagName, envName string, def bool, usage string) {
	if v, ok := e.env(envName); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Sprintf("%s=%q is not true or false", envName, v))
		}
		def = b
	}
	e.fs.BoolVar(p, flagName, def, usage+" ("+envName+")")
}

func (e *envFlags) integer(p *int64, flagName, envName string, def int64, usage string) {
	if v, ok := e.env(envName); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			e.errs = append(e.errs, fmt.Sprintf("%s=%q is not an integer", envName, v))
		}
		def = n
	}
	e.fs.Int64Var(p, flagName, def, usage+" ("+envName+")")
}

func (e *envFlags) float(p *float64, flagName, envName string, def float64, usage string) {
	if v, ok := e.env(envName); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			e.errs = append(e.errs, fmt.Sprintf("%s=%q is not a number", envName, v))
		}
		def = f
	}
	e.fs.Float64Var(p, flagName, def, usage+" ("+envName+")")
}

func (e *envFlags) duration(p *time.Duration, flagName, envName string, def time.Duration, usage string) {
	if v, ok := e.env(envName); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Sprintf("%s=%q is not a duration like 30s or 2m", envName, v))
		}
		def = d
	}
	e.fs.DurationVar(p, flagName, def, usage+" ("+envName+")")
}

const serveUsage = `Usage: lookalike serve [flags]

Runs the HTTP API and the background reindex workers in one process, on an
embedded SQLite database and an in-process vector index under --data-dir.

Example:
  WEBHOOK_SECRET=change-me-please LOOKALIKE_ADMIN_TOKEN=admin-token lookalike serve --addr 0.0.0.0:8080

Flags (each also read from the environment variable in brackets):
`

func (m *Main) runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, serveUsage); fs.PrintDefaults() }
	ef := &envFlags{fs: fs, getenv: m.Getenv}

	var cfg app.Config
	var secrets, signing, allowHosts, origins, logFormat, logLevel string
	var shop, workers, attempts, maxBytes, maxPixels, burst, embedThreads, decodeMemory, maxPhotos, rerank, rerankCache int64
	ef.str(&cfg.Addr, "addr", "LOOKALIKE_ADDR", "127.0.0.1:8080", "listen address")
	ef.str(&cfg.AdminAddr, "admin-addr", "LOOKALIKE_ADMIN_ADDR", "", "a second listen address for the internal endpoints (dashboard, admin API, full product records, stats, metrics), which the first then answers 404; empty: all on --addr")
	ef.str(&cfg.PprofAddr, "pprof-addr", "LOOKALIKE_PPROF_ADDR", "", "a listen address for Go's profiler (/debug/pprof/), such as 127.0.0.1:6061; keep it private; empty: none")
	ef.str(&cfg.DataDir, "data-dir", "LOOKALIKE_DATA_DIR", "./lookalike-data", "directory for the database and stored images")
	ef.secret(&cfg.DatabaseURL, "database-url", "LOOKALIKE_DATABASE_URL", "postgres://user:password@host:5432/db?sslmode=…: keep the catalogue, queue, vectors and change feed in PostgreSQL, shared by every replica; empty: SQLite in --data-dir")
	ef.str(&cfg.BlobURL, "blob-url", "LOOKALIKE_BLOB_URL", "", "s3://bucket/prefix?endpoint=https://host:port&region=… : keep the images in an S3-compatible store (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); empty: in the data directory")
	ef.secret(&secrets, "webhook-secret", "WEBHOOK_SECRET", "shared secret(s), comma-separated, the CMS sends in X-Webhook-Secret; webhooks are refused without one")
	ef.secret(&signing, "webhook-signing-secret", "LOOKALIKE_WEBHOOK_SIGNING_SECRET", "Standard Webhooks secret(s) whsec_…, comma-separated; a valid webhook-signature authenticates a webhook")
	ef.secret(&cfg.AdminToken, "admin-token", "LOOKALIKE_ADMIN_TOKEN", "bearer token for admin endpoints and full product records; the admin endpoints are disabled without one")
	ef.integer(&shop, "default-shop-id", "LOOKALIKE_DEFAULT_SHOP_ID", 1, "shop for webhooks and searches that carry no shop_id")
	ef.str(&cfg.Currency, "currency", "LOOKALIKE_CURRENCY", "KZT", "the shop's ISO 4217 currency: of prices that name none, and of search price filters")
	ef.str(&cfg.ImageBaseURL, "image-base-url", "LOOKALIKE_IMAGE_BASE_URL", "", "base URL for relative image paths such as /upload/a.jpg")
	ef.boolean(&cfg.FetchAllowPrivate, "fetch-allow-private", "LOOKALIKE_FETCH_ALLOW_PRIVATE", false, "allow image URLs on loopback and private networks (tests and intranets only)")
	ef.str(&allowHosts, "fetch-allow-hosts", "LOOKALIKE_FETCH_ALLOW_HOSTS", "", "comma-separated host names allowed even on private addresses (an intranet image server)")
	ef.integer(&workers, "workers", "LOOKALIKE_WORKERS", 2, "concurrent reindex jobs")
	ef.integer(&maxPhotos, "max-photos", "LOOKALIKE_MAX_PHOTOS", catalog.DefaultMaxPhotos, "photos kept per product (the main one, then the gallery); a longer list is cut to this many")
	ef.integer(&rerank, "rerank", "LOOKALIKE_RERANK", 10, "a photo search's best hits checked against the query by local features (the same photo re-photographed comes first); 0 turns it off")
	ef.integer(&rerankCache, "rerank-cache", "LOOKALIKE_RERANK_CACHE", 4096, "catalogue photos whose local features stay in memory for the re-ranking (about 16 KiB each)")
	ef.integer(&attempts, "max-attempts", "LOOKALIKE_MAX_ATTEMPTS", 8, "attempts before a transient image failure becomes final")
	ef.duration(&cfg.RetryBaseDelay, "retry-base-delay", "LOOKALIKE_RETRY_BASE_DELAY", 2*time.Second, "first retry delay; doubles per attempt, with jitter, up to 10m")
	ef.duration(&cfg.JobLease, "job-lease", "LOOKALIKE_JOB_LEASE", 2*time.Minute, "how long a claimed job belongs to its worker; a job whose worker died runs again after this")
	ef.duration(&cfg.FetchTimeout, "fetch-timeout", "LOOKALIKE_FETCH_TIMEOUT", 30*time.Second, "time limit for downloading one image")
	ef.duration(&cfg.ShutdownTimeout, "shutdown-timeout", "LOOKALIKE_SHUTDOWN_TIMEOUT", 20*time.Second, "how long shutdown waits for requests and jobs in flight")
	ef.integer(&maxBytes, "max-image-bytes", "LOOKALIKE_MAX_IMAGE_BYTES", 20<<20, "largest image download or upload, in bytes")
	ef.integer(&maxPixels, "max-image-pixels", "LOOKALIKE_MAX_IMAGE_PIXELS", 50_000_000, "largest image, in pixels, checked before decoding")
	ef.float(&cfg.SearchRate, "search-rate", "LOOKALIKE_SEARCH_RATE", 10, "searches per second allowed per client address (0: no limit); over it, 429 with Retry-After")
	ef.integer(&burst, "search-burst", "LOOKALIKE_SEARCH_BURST", 20, "searches a client may make at once before the rate applies")
	ef.boolean(&cfg.TrustProxy, "trust-proxy", "LOOKALIKE_TRUST_PROXY", false, "take the client address from X-Forwarded-For (only behind a reverse proxy you run)")
	ef.duration(&cfg.DecodeTimeout, "decode-timeout", "LOOKALIKE_DECODE_TIMEOUT", 20*time.Second, "longest an image decode may wait for decode memory (then 503, or a retry), and then take (slower images end failed)")
	ef.integer(&decodeMemory, "decode-memory", "LOOKALIKE_DECODE_MEMORY", imagedecode.DefaultBudget, "bytes that image decodes may take at once, computed from each image's header; an image that needs more is refused with 413")
	ef.str(&cfg.ModelDir, "model-dir", "LOOKALIKE_MODEL_DIR", "", "a CLIP model directory (see `lookalike model`); empty: the built-in descriptor")
	ef.str(&cfg.ORTLibrary, "ort-lib", "LOOKALIKE_ORT_LIB", "", "path of libonnxruntime.so (default: beside the executable, then the system library path)")
	ef.integer(&embedThreads, "embed-threads", "LOOKALIKE_EMBED_THREADS", 0, "ONNX Runtime threads per model (0: all cores)")
	ef.str(&cfg.Index, "index", "LOOKALIKE_INDEX", app.IndexAuto, "the in-memory vector index: auto (the exact scan below 50,000 photos, HNSW above), flat or hnsw")
	ef.str(&origins, "allowed-origins", "LOOKALIKE_ALLOWED_ORIGINS", "", "comma-separated origins (https://cvety.kz) whose pages may search from the browser, as the widget /widget.js does (CORS)")
	ef.str(&cfg.ShopName, "shop-name", "LOOKALIKE_SHOP_NAME", "", "the shop's name, on the shopper's page and in the widget")
	ef.str(&cfg.ShopLogo, "shop-logo", "LOOKALIKE_SHOP_LOGO", "", "the shop's logo: an http(s) URL, or a path on the shop's site (--image-base-url)")
	ef.str(&cfg.ShopColor, "shop-color", "LOOKALIKE_SHOP_COLOR", "", "the shop's accent colour, #rgb or #rrggbb")
	ef.str(&cfg.VectorURL, "vector-url", "LOOKALIKE_VECTOR_URL", "", "http(s)://host:8080 of a Weaviate server that stores and searches the vectors (one class per model) instead of an in-memory index; empty: in memory")
	ef.str(&cfg.VectorGRPCAddr, "vector-grpc-addr", "LOOKALIKE_VECTOR_GRPC_ADDR", "", "host:port of Weaviate's gRPC API; empty: the --vector-url host, port 50051")
	ef.secret(&cfg.VectorAPIKey, "vector-api-key", "LOOKALIKE_VECTOR_API_KEY", "Weaviate API key, if the server wants one")
	ef.str(&cfg.VectorClassPrefix, "vector-class-prefix", "LOOKALIKE_VECTOR_CLASS_PREFIX", "Lookalike", "prefix of the Weaviate class names (one class per model), so several catalogues can share one server")
	ef.boolean(&cfg.ResetImages, "reset-images", "LOOKALIKE_RESET_IMAGES", false, "when the stored photos do not belong to the database (it is new, emptied or replaced), move them aside and start over instead of refusing to start")
	ef.str(&logFormat, "log-format", "LOOKALIKE_LOG_FORMAT", "text", "log format: text or json")
	ef.str(&logLevel, "log-level", "LOOKALIKE_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ef.parsed()
	if len(ef.errs) > 0 {
		return &usageError{strings.Join(ef.errs, "; ")}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	cfg.WebhookSecrets = app.SplitSecrets(secrets)
	cfg.SigningSecrets = app.SplitSecrets(signing)
	cfg.FetchAllowHosts = app.SplitSecrets(allowHosts)
	cfg.AllowedOrigins = app.SplitSecrets(origins)
	cfg.DefaultShopID, cfg.Workers, cfg.MaxAttempts = shop, int(workers), int(attempts)
	cfg.MaxImageBytes, cfg.MaxImagePixels, cfg.SearchBurst = maxBytes, maxPixels, int(burst)
	cfg.EmbedThreads, cfg.DecodeMemory, cfg.MaxPhotos = int(embedThreads), decodeMemory, int(maxPhotos)
	cfg.Rerank, cfg.RerankCache = int(rerank), int(rerankCache)
	if rerank == 0 {
		cfg.Rerank = -1 // off (0 in app.Config is the default)
	}
	if code, ok := catalog.NormalizeCurrency(cfg.Currency); ok {
		cfg.Currency = code // "uah" or "₴" too; Validate refuses the rest
	}

	log, err := newLogger(m.Stderr, logFormat, logLevel)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		a.Stop(context.Background())
		return err
	}
	if len(cfg.WebhookSecrets)+len(cfg.SigningSecrets) == 0 {
		log.Warn("neither WEBHOOK_SECRET nor LOOKALIKE_WEBHOOK_SIGNING_SECRET is set: webhooks will be refused until one is")
	}
	if m.Started != nil {
		m.Started(a)
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", context.Cause(ctx))
	case err := <-a.Done():
		a.Stop(context.Background())
		return fmt.Errorf("http server: %w", err)
	}
	return a.Stop(context.Background())
}
