package api

import (
	"net/http"
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newRateLimiter(2, 3)
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d within burst refused", i)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("over burst: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another client was limited")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("token not refilled after 1/rate")
	}
	now = now.Add(time.Hour)
	l.allow("c") // sweeps idle buckets
	if _, ok := l.buckets["b"]; ok {
		t.Fatal("idle bucket kept")
	}
}

func TestClientAddr(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 10.0.0.1")
	if got := clientAddr(r, false); got != "10.1.2.3" {
		t.Fatalf("untrusted: %s", got)
	}
	if got := clientAddr(r, true); got != "203.0.113.9" {
		t.Fatalf("trusted: %s", got)
	}
}
