package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// All servers in these tests listen on 127.0.0.1 (httptest's default).

var pngBytes = []byte("\x89PNG\r\n\x1a\nnot really a png")

func imageHandler(hits *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes)
	}
}

func fetchErr(t *testing.T, f *Fetcher, rawURL string) *Error {
	t.Helper()
	res, err := f.Fetch(context.Background(), rawURL)
	if err == nil {
		t.Fatalf("Fetch(%s) = %d bytes, want error", rawURL, len(res.Body))
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("Fetch(%s) error %T %v is not *Error", rawURL, err, err)
	}
	return fe
}

func TestFetchBlocksLoopbackByDefault(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(imageHandler(&hits))
	defer srv.Close()

	for _, rawURL := range []string{
		srv.URL + "/a.png",
		strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/a.png",
	} {
		fe := fetchErr(t, New(Config{}), rawURL)
		if fe.Kind != KindBlocked || fe.Temporary() {
			t.Errorf("%s: Kind = %v, Temporary = %v; want blocked, permanent", rawURL, fe.Kind, fe.Temporary())
		}
		msg := fe.Error()
		if !strings.Contains(msg, "loopback") || !strings.Contains(msg, "LOOKALIKE_FETCH_ALLOW_PRIVATE=true") ||
			!(strings.Contains(msg, "address 127.0.0.1 ") || strings.Contains(msg, "address ::1 ")) {
			t.Errorf("%s: message %q does not name the address and the reason", rawURL, msg)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server got %d requests, want 0", n)
	}
}

func TestFetchAllowPrivate(t *testing.T) {
	var gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA = r.UserAgent()
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes)
	}))
	defer srv.Close()

	res, err := New(Config{AllowPrivate: true}).Fetch(context.Background(), srv.URL+"/a.png")
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if !bytes.Equal(res.Body, pngBytes) {
		t.Errorf("Body = %q, want %q", res.Body, pngBytes)
	}
	if res.ContentType != "image/png" {
		t.Errorf("ContentType = %q", res.ContentType)
	}
	if res.FinalURL != srv.URL+"/a.png" {
		t.Errorf("FinalURL = %q", res.FinalURL)
	}
	if gotUA != DefaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", gotUA, DefaultUserAgent)
	}
}

func TestFetchAllowHosts(t *testing.T) {
	var imgHits atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/img", imageHandler(&imgHits))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	mux.HandleFunc("/to-localhost", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("http://localhost:%d/img", port), http.StatusFound)
	})
	mux.HandleFunc("/to-127.0.0.2", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("http://127.0.0.2:%d/img", port), http.StatusFound)
	})
	mux.HandleFunc("/to-self", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/img", http.StatusMovedPermanently)
	})

	f := New(Config{AllowHosts: []string{"127.0.0.1"}})
	res, err := f.Fetch(context.Background(), srv.URL+"/img")
	if err != nil {
		t.Fatalf("allowed host: %v", err)
	}
	if !bytes.Equal(res.Body, pngBytes) {
		t.Errorf("Body = %q", res.Body)
	}
	res, err = f.Fetch(context.Background(), srv.URL+"/to-self")
	if err != nil {
		t.Fatalf("redirect within the allowed host: %v", err)
	}
	if res.FinalURL != srv.URL+"/img" {
		t.Errorf("FinalURL = %q, want %q", res.FinalURL, srv.URL+"/img")
	}

	before := imgHits.Load()
	for _, path := range []string{"/to-localhost", "/to-127.0.0.2"} {
		fe := fetchErr(t, f, srv.URL+path)
		if fe.Kind != KindBlocked {
			t.Errorf("%s: Kind = %v (%v), want blocked", path, fe.Kind, fe)
		}
	}
	if n := imgHits.Load() - before; n != 0 {
		t.Errorf("redirect targets got %d requests, want 0", n)
	}

	// A host name in the list does not allow the same address by IP.
	fe := fetchErr(t, New(Config{AllowHosts: []string{"localhost"}}), srv.URL+"/img")
	if fe.Kind != KindBlocked {
		t.Errorf("Kind = %v, want blocked", fe.Kind)
	}
}

func TestFetchRedirects(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.Handle("/img", imageHandler(nil))
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	// /chain/N redirects N times before reaching /img.
	mux.HandleFunc("/chain/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/chain/"), "%d", &n)
		if n == 0 {
			http.Redirect(w, r, "/img", http.StatusFound)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/chain/%d", n-1), http.StatusFound)
	})
	for _, target := range []string{"ftp://127.0.0.1/a.png", "file:///etc/passwd", "javascript:alert(1)", "http://u:p@127.0.0.1/"} {
		mux.HandleFunc("/bad/"+url.PathEscape(target), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusFound)
		})
	}

	tests := []struct {
		name      string
		cfg       Config
		path      string
		wantKind  Kind // 0 means success
		wantInMsg string
	}{
		{"loop", Config{AllowPrivate: true}, "/loop", KindHTTP, "too many redirects (more than 5)"},
		{"five redirects", Config{AllowPrivate: true}, "/chain/4", 0, ""},
		{"six redirects", Config{AllowPrivate: true}, "/chain/5", KindHTTP, "too many redirects"},
		{"custom limit", Config{AllowPrivate: true, MaxRedirects: 2}, "/chain/2", KindHTTP, "more than 2"},
		{"no redirects", Config{AllowPrivate: true, MaxRedirects: -1}, "/chain/0", KindHTTP, "more than 0"},
		{"to ftp", Config{AllowPrivate: true}, "/bad/" + url.PathEscape("ftp://127.0.0.1/a.png"), KindBadURL, `redirect to unsupported URL scheme "ftp"`},
		{"to file", Config{AllowPrivate: true}, "/bad/" + url.PathEscape("file:///etc/passwd"), KindBadURL, `"file"`},
		{"to javascript", Config{AllowPrivate: true}, "/bad/" + url.PathEscape("javascript:alert(1)"), KindBadURL, `"javascript"`},
		{"to user info", Config{AllowPrivate: true}, "/bad/" + url.PathEscape("http://u:p@127.0.0.1/"), KindBadURL, "user info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := New(tt.cfg).Fetch(context.Background(), srv.URL+tt.path)
			if tt.wantKind == 0 {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if res.FinalURL != srv.URL+"/img" {
					t.Errorf("FinalURL = %q", res.FinalURL)
				}
				return
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Fetch error = %v, want *Error", err)
			}
			if fe.Kind != tt.wantKind || fe.Temporary() || !strings.Contains(fe.Error(), tt.wantInMsg) {
				t.Errorf("got Kind %v, Temporary %v, %q; want %v, permanent, containing %q",
					fe.Kind, fe.Temporary(), fe.Error(), tt.wantKind, tt.wantInMsg)
			}
		})
	}
}

func TestFetchStatusErrors(t *testing.T) {
	retryDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		code          int
		retryAfter    string
		wantKind      Kind
		wantMsg       string
		wantTemporary bool
		wantRetry     time.Duration // checked to within 5s for dates
	}{
		{404, "", KindNotFound, "404 Not Found", false, 0},
		{410, "", KindNotFound, "410 Gone", false, 0},
		{403, "", KindHTTP, "403 Forbidden", false, 0},
		{400, "", KindHTTP, "400 Bad Request", false, 0},
		{408, "", KindHTTP, "408 Request Timeout", true, 0},
		{429, "120", KindHTTP, "429 Too Many Requests", true, 120 * time.Second},
		{500, "", KindHTTP, "500 Internal Server Error", true, 0},
		{502, "", KindHTTP, "502 Bad Gateway", true, 0},
		{503, retryDate, KindHTTP, "503 Service Unavailable", true, 90 * time.Second},
		{503, "soon", KindHTTP, "503 Service Unavailable", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.wantMsg, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				http.Error(w, "nope", tt.code)
			}))
			defer srv.Close()
			fe := fetchErr(t, New(Config{AllowPrivate: true}), srv.URL+"/a.jpg")
			if fe.Error() != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", fe.Error(), tt.wantMsg)
			}
			if fe.Kind != tt.wantKind || fe.StatusCode != tt.code || fe.Status != tt.wantMsg {
				t.Errorf("got Kind %v, StatusCode %d, Status %q", fe.Kind, fe.StatusCode, fe.Status)
			}
			if fe.Temporary() != tt.wantTemporary {
				t.Errorf("Temporary() = %v, want %v", fe.Temporary(), tt.wantTemporary)
			}
			if d := fe.RetryAfter - tt.wantRetry; d < -5*time.Second || d > 0 && tt.wantRetry == 0 || d > 5*time.Second {
				t.Errorf("RetryAfter = %v, want about %v", fe.RetryAfter, tt.wantRetry)
			}
		})
	}
}

func TestFetchTooLarge(t *testing.T) {
	const limit = 1024
	mux := http.NewServeMux()
	mux.HandleFunc("/declared", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "4096")
		w.Write(make([]byte, 4096))
	})
	mux.HandleFunc("/chunked/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/chunked/"), "%d", &n)
		w.Write(make([]byte, 100))
		w.(http.Flusher).Flush() // no Content-Length from here on
		w.Write(make([]byte, n-100))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := New(Config{AllowPrivate: true, MaxBytes: limit})

	fe := fetchErr(t, f, srv.URL+"/declared")
	if fe.Kind != KindTooLarge || fe.Temporary() || !strings.Contains(fe.Error(), "over the 1 KiB limit") {
		t.Errorf("by Content-Length: Kind %v, Temporary %v, %q", fe.Kind, fe.Temporary(), fe.Error())
	}
	fe = fetchErr(t, f, srv.URL+fmt.Sprintf("/chunked/%d", limit+1))
	if fe.Kind != KindTooLarge || fe.Temporary() {
		t.Errorf("by stream: Kind %v, Temporary %v, %q", fe.Kind, fe.Temporary(), fe.Error())
	}
	res, err := f.Fetch(context.Background(), srv.URL+fmt.Sprintf("/chunked/%d", limit))
	if err != nil || len(res.Body) != limit {
		t.Errorf("exactly MaxBytes: %v", err)
	}
}

func TestFetchTimeouts(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow-headers", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	mux.HandleFunc("/slow-body", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)

	check := func(t *testing.T, err error, start time.Time) {
		t.Helper()
		if elapsed := time.Since(start); elapsed > 3*time.Second {
			t.Errorf("took %v", elapsed)
		}
		var fe *Error
		if !errors.As(err, &fe) {
			t.Fatalf("error %v is not *Error", err)
		}
		if fe.Kind != KindNetwork || !fe.Temporary() || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got Kind %v, Temporary %v, %v; want a temporary network timeout", fe.Kind, fe.Temporary(), err)
		}
	}
	for _, path := range []string{"/slow-headers", "/slow-body"} {
		t.Run("ctx"+path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := New(Config{AllowPrivate: true}).Fetch(ctx, srv.URL+path)
			check(t, err, start)
		})
		t.Run("config"+path, func(t *testing.T) {
			start := time.Now()
			_, err := New(Config{AllowPrivate: true, Timeout: 100 * time.Millisecond}).Fetch(context.Background(), srv.URL+path)
			check(t, err, start)
		})
	}

	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := New(Config{AllowPrivate: true}).Fetch(ctx, srv.URL+"/slow-headers")
		var fe *Error
		if !errors.As(err, &fe) || fe.Kind != KindNetwork || !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want a canceled network error", err)
		}
	})
}

func TestFetchConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	fe := fetchErr(t, New(Config{AllowPrivate: true}), "http://"+addr+"/a.png")
	if fe.Kind != KindNetwork || !fe.Temporary() {
		t.Errorf("got Kind %v, Temporary %v, %q", fe.Kind, fe.Temporary(), fe.Error())
	}
	if strings.Contains(fe.Error(), "Get ") {
		t.Errorf("message %q repeats the request", fe.Error())
	}
}

func TestFetchBadURL(t *testing.T) {
	tests := []struct {
		url     string
		wantMsg string
	}{
		{"ftp://127.0.0.1/a.png", `unsupported URL scheme "ftp"`},
		{"file:///etc/passwd", `unsupported URL scheme "file"`},
		{"javascript:alert(1)", `unsupported URL scheme "javascript"`},
		{"data:image/png;base64,iVBORw0KGgo=", `unsupported URL scheme "data"`},
		{"gopher://127.0.0.1:70/", `"gopher"`},
		{"http://user:pass@127.0.0.1/a.png", "user info"},
		{"https://user@127.0.0.1/a.png", "user info"},
		{"http:///a.png", "no host"},
		{"/upload/a.jpg", "no scheme"},
		{"", "no scheme"},
		{"http://[::1", "invalid URL"},
		{"http://a b.kz/x", "invalid URL"},
		{"http://127.0.0.1/\x7f", "invalid URL"},
	}
	f := New(Config{AllowPrivate: true})
	for _, tt := range tests {
		fe := fetchErr(t, f, tt.url)
		if fe.Kind != KindBadURL || fe.Temporary() || !strings.Contains(fe.Error(), tt.wantMsg) {
			t.Errorf("Fetch(%q): Kind %v, Temporary %v, %q; want bad URL containing %q",
				tt.url, fe.Kind, fe.Temporary(), fe.Error(), tt.wantMsg)
		}
	}
}

func TestNoProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	f := New(Config{})
	if tr := f.client.Transport.(*http.Transport); tr.Proxy != nil {
		t.Error("Transport.Proxy is set; a proxy would bypass the address check")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"120", 120 * time.Second},
		{" 7 ", 7 * time.Second},
		{"99999999999999", maxRetryAfter},
		{"Wed, 01 May 2024 12:01:30 GMT", 90 * time.Second},
		{"Wed, 01 May 2024 11:00:00 GMT", 0},
		{"Sat, 01 Jun 2024 12:00:00 GMT", maxRetryAfter},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: KindNotFound, StatusCode: 404, Status: "404 Not Found"}, "404 Not Found"},
		{&Error{Kind: KindHTTP, StatusCode: 418}, "418 I'm a teapot"},
		{&Error{Kind: KindTooLarge}, "too large"},
		{&Error{Kind: KindNetwork, Err: errors.New("boom")}, "boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
