// Package pgtest runs a throwaway PostgreSQL cluster (package pgcluster:
// a real server from the installed PostgreSQL, never a mock, in a
// temporary directory, 127.0.0.1 on a free port, fsync on) for a test
// binary. The cluster starts on the first DB call and is stopped and
// removed by Main, which a package's TestMain calls.
//
// Without PostgreSQL a test skips saying to run scripts/install-postgres;
// with CI=true it fails instead. What the cluster costs to start is in
// package pgcluster's documentation.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lookalike/lookalike/postgres/pgcluster"
)

// Cluster is a running throwaway PostgreSQL server.
type Cluster = pgcluster.Cluster

var (
	once    sync.Once
	shared  *Cluster
	initErr error
)

// Main runs the package's tests and then stops and removes the cluster, if
// one was started. Call it from TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "pgtest: initdb %v, start %v, %d databases\n",
				shared.InitTook.Round(time.Millisecond), shared.StartTook.Round(time.Millisecond), shared.Databases())
		}
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// DB creates a fresh, empty database in the shared cluster (started on the
// first call) and returns its URL; the database is dropped when t ends.
func DB(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	url, err := c.CreateDB(context.Background())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.DropDB(context.Background(), url); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return url
}

// Shared returns the test binary's cluster, starting it on the first call.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() { shared, initErr = Start() })
	if initErr != nil {
		if errors.Is(initErr, pgcluster.ErrMissing) && os.Getenv("CI") != "true" {
			t.Skipf("pgtest: %v; run scripts/install-postgres to enable the PostgreSQL tests", initErr)
		}
		t.Fatalf("pgtest: %v", initErr)
	}
	return shared
}

// BinDir finds the directory of PostgreSQL's server programs (pgcluster.BinDir).
func BinDir() (string, error) { return pgcluster.BinDir() }

// Start initialises and starts a new cluster with the default settings.
func Start() (*Cluster, error) { return pgcluster.Start(pgcluster.Options{}) }
