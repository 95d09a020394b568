package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/lookalike/lookalike/catalog"
)

// fillStore writes n products, each with a vector, so the database has
// many interior pages.
func fillStore(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		ev := event(t, fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"Букет %d с длинным названием","price":%d,"image":"https://x/%d.jpg"}}`, i, i, 1000+i, i))
		if _, err := applyAt(ctx, s, ev, 1, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.PutEmbedding(ctx, fmt.Sprintf("%064d", i), "m", make([]float32, 128), t0); err != nil {
			t.Fatal(err)
		}
	}
}

// corruptPages writes random bytes over every page but the first (the
// schema) of a database file.
func corruptPages(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8*4096 {
		t.Fatalf("database of %d bytes is too small to corrupt meaningfully", len(b))
	}
	rng := rand.New(rand.NewSource(1))
	for off := 4096; off+4096 <= len(b); off += 4096 {
		rng.Read(b[off+64 : off+4096-64])
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesCorruptDatabase(t *testing.T) {
	s, path := openTest(t)
	fillStore(t, s, 300)
	s.Close()
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Fatal("WAL left after Close: the corruption would not reach the data")
	}
	corruptPages(t, path)
	s2, err := Open(context.Background(), path)
	if err == nil {
		s2.Close()
		t.Fatal("a database with random interior pages opened")
	}
	if !errors.Is(err, catalog.ErrStorageCorrupt) || !strings.Contains(err.Error(), "lookalike restore") || !strings.Contains(err.Error(), ".recover") {
		t.Fatalf("err = %v; want ErrStorageCorrupt with the recovery steps", err)
	}
}

// Damage found at run time faults the store once; later failures do not
// call the hook again, and writes fail as corrupt.
func TestRuntimeCorruptionFaultsTheStore(t *testing.T) {
	s, path := openTest(t)
	fillStore(t, s, 300)
	s.Close()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var hooked []error
	s.SetFaultHook(func(err error) { mu.Lock(); hooked = append(hooked, err); mu.Unlock() })
	if s.Fault() != nil {
		t.Fatal("fault before any damage")
	}
	corruptPages(t, path)
	ctx := context.Background()
	if _, _, err := s.List(ctx, ListOptions{ShopID: 1, Limit: 500}); !errors.Is(err, catalog.ErrStorageCorrupt) {
		t.Fatalf("List over damaged pages: %v", err)
	}
	_, err = applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":150,"title":"x"}}`), 1, t0)
	if !errors.Is(err, catalog.ErrStorageCorrupt) {
		t.Fatalf("write over damaged pages: %v", err)
	}
	s.Stats(ctx, "m")
	if !errors.Is(s.Fault(), catalog.ErrStorageCorrupt) {
		t.Fatalf("Fault() = %v", s.Fault())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooked) != 1 || !errors.Is(hooked[0], catalog.ErrStorageCorrupt) {
		t.Fatalf("fault hook calls: %v; want one", hooked)
	}
}

// SQLITE_FULL (here from a page limit, as a full disk gives it) faults the
// store until a write commits again.
func TestFullDatabaseFaultsUntilSpaceReturns(t *testing.T) {
	s, _ := openTest(t)
	fillStore(t, s, 20)
	var hooked []error
	s.SetFaultHook(func(err error) { hooked = append(hooked, err) })
	ctx := context.Background()
	var pages int64
	drv(s).w.QueryRow("PRAGMA page_count").Scan(&pages)
	if _, err := drv(s).w.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 1000; i < 1500 && err == nil; i++ {
		err = s.PutEmbedding(ctx, fmt.Sprintf("%064d", i), "m", make([]float32, 512), t0)
	}
	if !errors.Is(err, catalog.ErrStorageFull) || !errors.Is(s.Fault(), catalog.ErrStorageFull) {
		t.Fatalf("write past the limit: %v, Fault() = %v", err, s.Fault())
	}
	if !errors.Is(s.Probe(ctx), catalog.ErrStorageFull) {
		// The probe may fit in a free page; it must not hide a full disk for long.
		t.Log("probe fitted")
	}
	drv(s).w.Exec("PRAGMA max_page_count = 1073741823")
	if err := s.Probe(ctx); err != nil {
		t.Fatalf("probe after space returned: %v", err)
	}
	if len(hooked) != 2 || !errors.Is(hooked[0], catalog.ErrStorageFull) || hooked[1] != nil {
		t.Fatalf("hook calls %v; want full, then recovered", hooked)
	}
}
