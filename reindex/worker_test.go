package reindex

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestResolveImageURL(t *testing.T) {
	cases := []struct{ ref, base, want string }{
		{"https://cvety.kz/upload/a.jpg", "", "https://cvety.kz/upload/a.jpg"},
		{"/upload/iblock/a.jpg", "https://cvety.kz", "https://cvety.kz/upload/iblock/a.jpg"},
		{"/upload/a.jpg", "https://cvety.kz/shop/", "https://cvety.kz/upload/a.jpg"},
		{"upload/a.jpg", "https://cvety.kz/", "https://cvety.kz/upload/a.jpg"},
		{"//cdn.cvety.kz/a.jpg", "", "https://cdn.cvety.kz/a.jpg"},
		{"  https://x/a.jpg ", "", "https://x/a.jpg"},
	}
	for _, c := range cases {
		got, err := ResolveImageURL(c.ref, c.base)
		if err != nil || got != c.want {
			t.Errorf("ResolveImageURL(%q, %q) = %q, %v; want %q", c.ref, c.base, got, err, c.want)
		}
	}
	for _, c := range []struct{ ref, base string }{{"/upload/a.jpg", ""}, {"", "https://x"}, {"/a.jpg", "not a url"}} {
		if got, err := ResolveImageURL(c.ref, c.base); err == nil {
			t.Errorf("ResolveImageURL(%q, %q) = %q, want an error", c.ref, c.base, got)
		}
	}
}

func TestBackoff(t *testing.T) {
	w := New(Config{BaseBackoff: time.Second, MaxBackoff: time.Minute}, nil, nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for attempt := 1; attempt <= 12; attempt++ {
		step := time.Second << (attempt - 1)
		if step > time.Minute {
			step = time.Minute
		}
		for i := 0; i < 50; i++ {
			d := w.backoff(attempt, 0)
			if d < step/2 || d > step {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, step/2, step)
			}
		}
	}
	if d := w.backoff(1, 30*time.Second); d != 30*time.Second {
		t.Fatalf("Retry-After 30s gave %v", d)
	}
	if d := w.backoff(1, time.Hour); d != time.Minute {
		t.Fatalf("Retry-After beyond the cap gave %v", d)
	}
}
