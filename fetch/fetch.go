// Package fetch downloads product images over HTTP(S) with guards against
// server-side request forgery: only http and https, no user info in URLs,
// and no connections to loopback, private, link-local or otherwise
// non-public addresses unless configured. The address check runs on the
// address actually dialled, so DNS rebinding and redirects are covered.
package fetch

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults applied by New for zero Config fields.
const (
	DefaultMaxBytes     = 20 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRedirects = 5
	DefaultUserAgent    = "lookalike/1 (+image indexer)"
)

// maxRetryAfter caps a server's Retry-After so a typo cannot park a job for
// years.
const maxRetryAfter = 24 * time.Hour

// Config configures a Fetcher. The zero value is usable.
type Config struct {
	// AllowPrivate allows loopback, private, link-local and other
	// non-public targets (tests, intranets).
	AllowPrivate bool
	// AllowHosts lists host names or IP addresses (without port) that are
	// always allowed, even when they resolve to private addresses. Only the
	// host named in a request's URL counts: a redirect to another host is
	// checked again.
	AllowHosts []string
	// MaxBytes caps the body size; 0 means DefaultMaxBytes (20 MiB).
	MaxBytes int64
	// Timeout bounds the whole request including the body; 0 means
	// DefaultTimeout (30s).
	Timeout time.Duration
	// MaxRedirects is how many redirects are followed; 0 means
	// DefaultMaxRedirects (5) and a negative value follows none.
	MaxRedirects int
	// UserAgent is sent with every request; "" means DefaultUserAgent.
	UserAgent string
}

// Fetcher downloads images. It is safe for concurrent use.
type Fetcher struct {
	cfg        Config
	allowNames map[string]bool
	allowIPs   map[netip.Addr]bool
	client     *http.Client
}

// Result is a downloaded body.
type Result struct {
	Body        []byte
	ContentType string // the Content-Type header as sent; do not trust it
	FinalURL    string // the URL after redirects
}

// New returns a Fetcher for cfg, filling in defaults.
func New(cfg Config) *Fetcher {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	} else if cfg.MaxRedirects < 0 {
		cfg.MaxRedirects = 0
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	f := &Fetcher{
		cfg:        cfg,
		allowNames: make(map[string]bool),
		allowIPs:   make(map[netip.Addr]bool),
	}
	for _, h := range cfg.AllowHosts {
		h = normalizeHost(h)
		if ip, err := netip.ParseAddr(h); err == nil {
			f.allowIPs[ip.Unmap()] = true
		} else if h != "" {
			f.allowNames[h] = true
		}
	}
	transport := &http.Transport{
		// Never use a proxy from the environment: the proxy would make the
		// connection and bypass the address check.
		Proxy:                  nil,
		DialContext:            f.dialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  15 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	f.client = &http.Client{
		Transport:     transport,
		CheckRedirect: f.checkRedirect,
	}
	return f
}

func normalizeHost(h string) string {
	h = strings.TrimSpace(strings.ToLower(h))
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(h, ".")
}

// hostAllowed reports whether host, as written in a request URL, bypasses
// the address check.
func (f *Fetcher) hostAllowed(host string) bool {
	if f.cfg.AllowPrivate {
		return true
	}
	host = normalizeHost(host)
	if ip, err := netip.ParseAddr(host); err == nil {
		return f.allowIPs[ip.WithZone("").Unmap()]
	}
	return f.allowNames[host]
}

var (
	plainDialer   = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	guardedDialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: checkDialAddr}
)

// dialContext dials addr, the host:port of the request URL. Connections are
// pooled per host:port, so a connection dialled for an allowed host is never
// reused for another one.
func (f *Fetcher) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if f.hostAllowed(host) {
		return plainDialer.DialContext(ctx, network, addr)
	}
	return guardedDialer.DialContext(ctx, network, addr)
}

// checkDialAddr is a net.Dialer Control hook: it runs after name resolution,
// just before connect, with the IP address being connected to.
func checkDialAddr(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &blockedError{addr: address, reason: "unrecognised address"}
	}
	if reason := blockedReason(ap.Addr()); reason != "" {
		return &blockedError{addr: ap.Addr().String(), reason: reason}
	}
	return nil
}

// blockedError is the reason a connection was refused.
type blockedError struct {
	addr, reason string
}

func (e *blockedError) Error() string {
	return fmt.Sprintf("address %s is not allowed (%s); set LOOKALIKE_FETCH_ALLOW_PRIVATE=true for intranet images",
		e.addr, e.reason)
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.cfg.MaxRedirects {
		return &Error{Kind: KindHTTP, Err: fmt.Errorf("too many redirects (more than %d)", f.cfg.MaxRedirects)}
	}
	if err := checkURL(req.URL); err != nil {
		return &Error{Kind: KindBadURL, Err: fmt.Errorf("redirect to %s", err)}
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	return nil
}

// checkURL enforces the scheme, host and user-info rules.
func checkURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return errors.New("URL has no scheme (only http and https are allowed)")
	default:
		return fmt.Errorf("unsupported URL scheme %q (only http and https are allowed)", u.Scheme)
	}
	if u.User != nil {
		return errors.New("URL must not contain user info")
	}
	if u.Hostname() == "" {
		return errors.New("URL has no host")
	}
	return nil
}

// Fetch downloads rawURL. Every failure is an *Error.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Result, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, &Error{Kind: KindBadURL, Err: fmt.Errorf("invalid URL: %w", err)}
	}
	if err := checkURL(u); err != nil {
		return nil, &Error{Kind: KindBadURL, Err: err}
	}

	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &Error{Kind: KindBadURL, Err: fmt.Errorf("invalid URL: %w", err)}
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8,*/*;q=0.5")

	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.classify(ctx, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Drain a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		return nil, statusError(resp)
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return nil, &Error{Kind: KindTooLarge, Err: fmt.Errorf("image is %s, over the %s limit",
			formatBytes(resp.ContentLength), formatBytes(f.cfg.MaxBytes))}
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return nil, f.classify(ctx, err)
	}
	if n > f.cfg.MaxBytes {
		return nil, &Error{Kind: KindTooLarge, Err: fmt.Errorf("image is over the %s limit",
			formatBytes(f.cfg.MaxBytes))}
	}
	return &Result{
		Body:        buf.Bytes(),
		ContentType: resp.Header.Get("Content-Type"),
		FinalURL:    resp.Request.URL.String(),
	}, nil
}

// classify turns a transport or body-read error into an *Error.
func (f *Fetcher) classify(ctx context.Context, err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var be *blockedError
	if errors.As(err, &be) {
		return &Error{Kind: KindBlocked, Err: be}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindNetwork, Err: fmt.Errorf("request timed out: %w", context.DeadlineExceeded)}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Kind: KindNetwork, Err: fmt.Errorf("request canceled: %w", context.Canceled)}
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // the caller knows the URL
	}
	return &Error{Kind: KindNetwork, Err: err}
}

func statusError(resp *http.Response) *Error {
	e := &Error{
		Kind:       KindHTTP,
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	if e.Status == "" {
		e.Status = strings.TrimSpace(strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode))
	}
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		e.Kind = KindNotFound
	}
	return e
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Kind classifies a fetch failure.
type Kind int

// Failure kinds.
const (
	KindBlocked  Kind = iota + 1 // the target address or host is not allowed
	KindNotFound                 // 404 or 410
	KindHTTP                     // any other non-2xx status, or too many redirects
	KindTooLarge                 // the body exceeds MaxBytes
	KindNetwork                  // DNS, connect, TLS, timeout, reset
	KindBadURL                   // unparseable URL, bad scheme, user info
)

var kindNames = map[Kind]string{
	KindBlocked:  "blocked",
	KindNotFound: "not found",
	KindHTTP:     "HTTP error",
	KindTooLarge: "too large",
	KindNetwork:  "network error",
	KindBadURL:   "bad URL",
}

// String returns a short lower-case name such as "blocked".
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a classified fetch failure.
type Error struct {
	Kind       Kind
	StatusCode int           // HTTP status for KindNotFound and KindHTTP; 0 otherwise
	Status     string        // e.g. "404 Not Found"
	RetryAfter time.Duration // from a Retry-After header, 0 if none
	Err        error         // the underlying cause, if any
}

// Error returns the HTTP status exactly (e.g. "404 Not Found") for status
// errors, and a short reason otherwise.
func (e *Error) Error() string {
	if e.StatusCode != 0 {
		if e.Status == "" {
			return strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
		}
		return e.Status
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Kind.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether retrying later may succeed: network failures
// and timeouts (except TLS certificate failures), 5xx, 429 and 408.
func (e *Error) Temporary() bool {
	switch e.Kind {
	case KindNetwork:
		var certErr *tls.CertificateVerificationError
		return !errors.As(e.Err, &certErr)
	case KindHTTP:
		c := e.StatusCode
		return c >= 500 && c <= 599 || c == http.StatusTooManyRequests || c == http.StatusRequestTimeout
	}
	return false
}
