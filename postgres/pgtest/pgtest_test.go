package pgtest

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func query(t *testing.T, url, q string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// The cluster is durable, local-only and not run by root; each database is new.
func TestClusterSettings(t *testing.T) {
	url := DB(t)
	for q, want := range map[string]string{
		"SHOW fsync":              "on",
		"SHOW synchronous_commit": "on",
		"SHOW listen_addresses":   "127.0.0.1",
		"SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'": "0",
	} {
		if got := query(t, url, q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
	info, err := os.Stat(Shared(t).Dir + "/data")
	if err != nil {
		t.Fatal(err)
	}
	if st := info.Sys().(*syscall.Stat_t); st.Uid == 0 {
		t.Errorf("cluster data directory owned by root")
	}
}

// Two databases of one test are distinct: a table made in one is not in the other.
func TestDatabasesAreSeparate(t *testing.T) {
	a, b := DB(t), DB(t)
	if a == b {
		t.Fatalf("same URL twice: %s", a)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
		t.Fatal(err)
	}
	if got := query(t, b, "SELECT count(*)::text FROM pg_tables WHERE tablename = 't'"); got != "0" {
		t.Fatalf("table of one database seen in another")
	}
}

// Stop ends the server and removes its directory.
func TestStopRemovesCluster(t *testing.T) {
	if _, err := BinDir(); err != nil {
		Shared(t) // skips or fails as configured
	}
	c, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("initdb %v, start %v", c.InitTook, c.StartTook)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Fatalf("cluster directory %s left behind: %v", c.Dir, err)
	}
	if _, err := pgx.Connect(context.Background(), c.URL("postgres")); err == nil {
		t.Fatal("server still accepts connections after Stop")
	}
}
