// Package blobtest is the conformance suite of blob.Store: every
// implementation (the local directory, S3) runs the same tests.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/catalog"
)

// Option adjusts the suite to what a backend allows.
type Option func(*suite)

type suite struct {
	damage func(t *testing.T, s blob.Store, sha string)
}

// Damage gives the suite a way to spoil a stored blob behind the store's
// back (overwrite its bytes), for the test that Put replaces it. Without
// it that test is skipped.
func Damage(fn func(t *testing.T, s blob.Store, sha string)) Option {
	return func(s *suite) { s.damage = fn }
}

// Run runs the suite; open returns a new, empty image store each call.
func Run(t *testing.T, open func(t *testing.T) blob.Store, opts ...Option) {
	var su suite
	for _, o := range opts {
		o(&su)
	}
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		b := []byte("hello")
		sha := blob.Sum(b)
		if sha != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
			t.Fatalf("Sum = %s", sha)
		}
		mustPut(t, s, b)
		got, err := s.Get(ctx, sha)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("Get = %q, %v", got, err)
		}
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		mustPut(t, s, big)
		if got, err := s.Get(ctx, blob.Sum(big)); err != nil || !bytes.Equal(got, big) {
			t.Fatalf("Get of 1 MiB: %d bytes, %v", len(got), err)
		}
		for _, bad := range []string{"", "../../etc/passwd", sha[:63] + "g", strupper(sha), blob.Sum([]byte("other"))} {
			if _, err := s.Get(ctx, bad); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Get(%q) err = %v, want fs.ErrNotExist", bad, err)
			}
		}
	})

	t.Run("RepeatedPut", func(t *testing.T) {
		s := open(t)
		for range 3 {
			mustPut(t, s, []byte("photo"))
		}
		if n := count(t, s); n != 1 {
			t.Fatalf("%d blobs after three puts of the same bytes, want 1", n)
		}
	})

	t.Run("BadSHARefused", func(t *testing.T) {
		s := open(t)
		b := []byte("photo")
		for _, sha := range []string{blob.Sum([]byte("other")), "", "../x", strupper(blob.Sum(b)), blob.Sum(b)[:10]} {
			if err := s.Put(ctx, sha, b); !errors.Is(err, blob.ErrBadSHA) {
				t.Errorf("Put under %q: err = %v, want ErrBadSHA", sha, err)
			}
		}
		if n := count(t, s); n != 0 {
			t.Fatalf("refused puts left %d blobs", n)
		}
	})

	t.Run("DamagedReplaced", func(t *testing.T) {
		if su.damage == nil {
			t.Skip("this backend's blobs cannot be damaged from outside")
		}
		s := open(t)
		b := []byte("a photo's bytes")
		sha := mustPut(t, s, b)
		su.damage(t, s, sha)
		if got, _ := s.Get(ctx, sha); bytes.Equal(got, b) {
			t.Fatal("Damage did not change the stored bytes")
		}
		mustPut(t, s, b)
		if got, err := s.Get(ctx, sha); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("damaged blob not replaced: %q, %v", got, err)
		}
	})

	t.Run("WalkSeesEverything", func(t *testing.T) {
		s := open(t)
		want := map[string]bool{}
		before := time.Now()
		for i := range 40 {
			want[mustPut(t, s, fmt.Appendf(nil, "blob %d", i))] = true
		}
		seen := map[string]bool{}
		err := s.Walk(ctx, func(sha string, mod time.Time) error {
			if seen[sha] {
				t.Errorf("Walk gave %s twice", sha)
			}
			seen[sha] = true
			if mod.Before(before.Add(-time.Minute)) || mod.After(time.Now().Add(time.Minute)) {
				t.Errorf("%s written %s, the test ran at %s", sha, mod, before)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for sha := range want {
			if !seen[sha] {
				t.Errorf("Walk missed %s", sha)
			}
		}
		if len(seen) != len(want) {
			t.Errorf("Walk gave %d blobs, want %d", len(seen), len(want))
		}
		stop := errors.New("stop")
		calls := 0
		if err := s.Walk(ctx, func(string, time.Time) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
			t.Errorf("Walk whose fn fails: %d calls, err %v; want 1 call and that error", calls, err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		gone := mustPut(t, s, []byte("gone"))
		kept := mustPut(t, s, []byte("kept"))
		if err := s.Delete(ctx, gone); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, gone); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Get after Delete: %v, want fs.ErrNotExist", err)
		}
		if err := s.Delete(ctx, gone); err != nil {
			t.Fatalf("second Delete: %v", err)
		}
		if got, err := s.Get(ctx, kept); err != nil || string(got) != "kept" {
			t.Fatalf("the other blob: %q, %v", got, err)
		}
		if n := count(t, s); n != 1 {
			t.Fatalf("%d blobs left, want 1", n)
		}
	})

	t.Run("ContextCancelled", func(t *testing.T) {
		s := open(t)
		for i := range 20 {
			mustPut(t, s, fmt.Appendf(nil, "blob %d", i))
		}
		cctx, cancel := context.WithCancel(ctx)
		calls := 0
		err := s.Walk(cctx, func(string, time.Time) error { calls++; cancel(); return nil })
		if !errors.Is(err, context.Canceled) || calls >= 20 {
			t.Errorf("Walk cancelled at the first blob: %d calls, err %v; want it to stop with context.Canceled", calls, err)
		}
		b := []byte("late")
		if err := s.Put(cctx, blob.Sum(b), b); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with a cancelled context: %v", err)
		}
		if _, err := s.Get(cctx, blob.Sum([]byte("blob 1"))); !errors.Is(err, context.Canceled) {
			t.Errorf("Get with a cancelled context: %v", err)
		}
		if err := s.Delete(cctx, blob.Sum([]byte("blob 1"))); !errors.Is(err, context.Canceled) {
			t.Errorf("Delete with a cancelled context: %v", err)
		}
		if _, err := s.Get(ctx, blob.Sum(b)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a Put with a cancelled context stored the blob (%v)", err)
		}
		if n := count(t, s); n != 20 {
			t.Errorf("%d blobs, want the 20 put before", n)
		}
	})

	t.Run("ConcurrentPut", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 8 {
			wg.Go(func() {
				for i := range 8 {
					b := fmt.Appendf(nil, "shared %d", i)
					if g%2 == 1 {
						b = fmt.Appendf(nil, "own %d %d", g, i)
					}
					if err := s.Put(ctx, blob.Sum(b), b); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := count(t, s); n != 8+4*8 {
			t.Fatalf("%d blobs, want %d", n, 8+4*8)
		}
		if got, err := s.Get(ctx, blob.Sum([]byte("shared 3"))); err != nil || string(got) != "shared 3" {
			t.Fatalf("Get: %q, %v", got, err)
		}
	})

	t.Run("PruneMinAge", func(t *testing.T) {
		s := open(t)
		keep := mustPut(t, s, []byte("kept"))
		gone := mustPut(t, s, []byte("orphan"))
		keepFn := func(sha string) bool { return sha == keep }
		if n, err := blob.Prune(ctx, s, keepFn, time.Hour); err != nil || n != 0 {
			t.Fatalf("a blob younger than minAge was pruned: %d, %v", n, err)
		}
		if n, err := blob.Prune(ctx, s, keepFn, 0); err != nil || n != 1 {
			t.Fatalf("prune: %d, %v; want 1 removed", n, err)
		}
		if _, err := s.Get(ctx, gone); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("the orphan is still there")
		}
		if _, err := s.Get(ctx, keep); err != nil {
			t.Fatalf("the referenced blob was removed: %v", err)
		}
	})

	// A pass that would remove most of the store (the database lost track
	// of it) removes nothing; ordinary garbage, a few blobs or a small
	// share, goes.
	t.Run("PruneMaxFraction", func(t *testing.T) {
		s := open(t)
		var shas []string
		for i := range 100 {
			shas = append(shas, mustPut(t, s, []byte{byte(i), 1}))
		}
		orphans := func(n int) func(string) bool {
			doomed := map[string]bool{}
			for _, sha := range shas[:n] {
				doomed[sha] = true
			}
			return func(sha string) bool { return !doomed[sha] }
		}
		for _, n := range []int{100, catalog.PruneSmall + 1} {
			if got, err := blob.Prune(ctx, s, orphans(n), 0); !errors.Is(err, catalog.ErrPruneRefused) || got != 0 {
				t.Fatalf("prune of %d of 100: %d removed, %v; want refused", n, got, err)
			}
			if c := count(t, s); c != 100 {
				t.Fatalf("a refused prune left %d blobs of 100", c)
			}
		}
		if got, err := blob.Prune(ctx, s, orphans(10), 0); err != nil || got != 10 {
			t.Fatalf("prune of 10%%: %d, %v", got, err)
		}
		small := open(t)
		for i := range 6 {
			mustPut(t, small, []byte{byte(i)})
		}
		if got, err := blob.Prune(ctx, small, func(string) bool { return false }, 0); err != nil || got != 6 {
			t.Fatalf("prune of a handful: %d, %v", got, err)
		}
	})

	t.Run("Marker", func(t *testing.T) {
		s := open(t)
		m, ok := s.(blob.Marker)
		if !ok {
			t.Skip("this store keeps no data directory marker")
		}
		if id, err := m.ID(ctx); id != "" || err != nil {
			t.Fatalf("fresh store id %q %v", id, err)
		}
		if err := m.SetID(ctx, "abc"); err != nil {
			t.Fatal(err)
		}
		if id, err := m.ID(ctx); id != "abc" || err != nil {
			t.Fatalf("id %q %v", id, err)
		}
		if n := count(t, s); n != 0 {
			t.Fatalf("the marker counts as a stored blob: %d", n)
		}
	})
}

func mustPut(t *testing.T, s blob.Store, b []byte) string {
	t.Helper()
	sha := blob.Sum(b)
	if err := s.Put(context.Background(), sha, b); err != nil {
		t.Fatalf("Put: %v", err)
	}
	return sha
}

func count(t *testing.T, s blob.Store) int64 {
	t.Helper()
	n, err := blob.Count(context.Background(), s)
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return n
}

func strupper(s string) string { return string(bytes.ToUpper([]byte(s))) }
