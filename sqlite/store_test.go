package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lookalike/lookalike/store"
	"github.com/lookalike/lookalike/store/storetest"
)

// The store's conformance suite on SQLite: a fresh database file per test,
// and a second driver on the same file for a restart or a second store.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Driver {
		d, err := OpenDriver(context.Background(), filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, func(t *testing.T, d store.Driver) store.Driver {
		d2, err := OpenDriver(context.Background(), d.(*Driver).Path())
		if err != nil {
			t.Fatal(err)
		}
		return d2
	})
}

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// The store suite's helpers.
var (
	event    = storetest.Event
	applyAt  = storetest.ApplyAt
	complete = storetest.Complete
	jobURL   = storetest.JobURL
	t0       = storetest.T0
)

// drv is the SQLite driver under a store opened by Open.
func drv(s *Store) *Driver { return s.Driver().(*Driver) }
