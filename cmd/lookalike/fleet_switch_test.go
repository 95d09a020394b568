package main

import (
	"context"
	"database/sql"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookalike/lookalike/app"
	"github.com/lookalike/lookalike/blob/s3blob"
	"github.com/lookalike/lookalike/blob/s3blob/s3test"
	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/postgres"
	"github.com/lookalike/lookalike/postgres/pgtest"
)

// A model switch in a fleet of two replicas on PostgreSQL and S3, whose
// leader loses its database connection mid-pass: replica A takes the
// migration's leader lock and is re-embedding when its lock's backend is
// terminated (pg_terminate_backend); its pass stops (its context ends with
// the lost lock), replica B takes the lock over and switches, a webhook
// sent to A meanwhile keeps its change and the new model, and A follows
// B's switch: both serve the new model's vectors and find every product.
func TestFleetModelSwitchLeaderLost(t *testing.T) {
	const old = "builtin-v1"
	if builtin.Name == old {
		t.Skip("the current version is builtin-v1")
	}
	vgw := s3test.Start(t)
	vgw.Env(t)
	images := newImageServer(t)
	db := pgtest.DB(t)
	blobURL := vgw.URL(vgw.Bucket(t), "shop")
	env := func(name string) map[string]string {
		return map[string]string{"LOOKALIKE_DATABASE_URL": db + "&application_name=" + name, "LOOKALIKE_BLOB_URL": blobURL}
	}
	a := startServer(t, t.TempDir(), env("replica-a"))
	feedClasses(t, a, images)
	a.stop()
	sqldb, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	bucket, err := s3blob.Open(context.Background(), blobURL)
	if err != nil {
		t.Fatal(err)
	}
	toBuiltinV1(t, sqldb, postgres.Rebind, func(sha string) ([]byte, error) { return bucket.Images().Get(context.Background(), sha) }, len(pgClasses))

	// The first pass (A's) holds until its context ends and B's pass has
	// begun; B's passes through.
	held, second := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	app.MigrationRetry, app.MigrationPass = 100*time.Millisecond, func(ctx context.Context) error {
		switch calls.Add(1) {
		case 1:
			close(held)
			<-ctx.Done()
			<-second
			return context.Cause(ctx)
		case 2:
			close(second)
		}
		return nil
	}
	t.Cleanup(func() { app.MigrationRetry, app.MigrationPass = 30*time.Second, nil })

	a = startServer(t, t.TempDir(), env("replica-a"))
	defer a.stop()
	<-held
	b := startServer(t, t.TempDir(), env("replica-b"))
	defer b.stop()
	for _, s := range []*server{a, b} {
		if st := s.stats(); st["model"] != old || st["migration"] == nil {
			t.Fatalf("before the switch: %v", st)
		}
	}
	var killed int
	if err := sqldb.QueryRow(`SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND s.application_name = 'replica-a'`).Scan(&killed); err != nil || killed == 0 {
		t.Fatalf("terminate the leader's backend: %d %v", killed, err)
	}
	<-second // B holds the lock now, and is re-embedding
	if r := a.webhook(createBody(2, "Букет roses", "3 000 ₸", images.URL+"/img/roses.jpg", "")); r.status != 200 {
		t.Fatalf("webhook during the switch: %d %s", r.status, r.raw)
	}
	a.waitFor("A's pass to stop", func() bool {
		return strings.Contains(a.logs.String(), "re-embedding stopped: the leader lock was lost")
	})
	for _, s := range []*server{a, b} {
		s.waitFor("the new model", func() bool {
			st := s.stats()
			return st["model"] == builtin.Name && st["migration"] == nil && num(st["vectors"]) == 3
		})
		if ix := s.indexStatus(); num(ix["vectors"]) != 3 {
			t.Fatalf("index after the switch: %v", ix)
		}
		searchable(t, s)
		p := product(t, s, 2)
		if p["price"] != float64(3000) || p["index"].(map[string]any)["model"] != builtin.Name {
			t.Fatalf("product 2 after the switch and its webhook: %v", p)
		}
	}
	if !strings.Contains(b.logs.String(), "model switched") || !strings.Contains(a.logs.String(), "this one serves it now") {
		t.Fatalf("B did not switch, or A did not follow:\nA:\n%s\nB:\n%s", a.logs.String(), b.logs.String())
	}
}

// Two replicas on PostgreSQL and S3 whose catalogue is on a model neither
// can load: both serve the configured one at once, one moves the
// catalogue, and the other, seeing the switch, rebuilds its index from the
// moved catalogue (it held only what had been re-embedded): both end with
// every product in their index.
func TestFleetSwitchFromAModelThatCannotLoad(t *testing.T) {
	vgw := s3test.Start(t)
	vgw.Env(t)
	images := newImageServer(t)
	db := pgtest.DB(t)
	env := map[string]string{"LOOKALIKE_DATABASE_URL": db, "LOOKALIKE_BLOB_URL": vgw.URL(vgw.Bucket(t), "shop")}
	a := startServer(t, t.TempDir(), env)
	feedClasses(t, a, images)
	a.stop()
	sqldb, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	for _, q := range []string{"UPDATE embeddings SET model = 'gone-model'", "UPDATE products SET model = 'gone-model' WHERE model != ''",
		"UPDATE settings SET value = 'gone-model' WHERE key IN ('model', 'serving_model')",
		"INSERT INTO settings (key, value) VALUES ('model_dir', '/nonexistent/model') ON CONFLICT (key) DO UPDATE SET value = excluded.value"} {
		if _, err := sqldb.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	a, b := startServer(t, t.TempDir(), env), startServer(t, t.TempDir(), env)
	defer a.stop()
	defer b.stop()
	for _, s := range []*server{a, b} {
		s.waitFor("the switch, and the index of the moved catalogue", func() bool {
			st := s.stats()
			return st["model"] == builtin.Name && st["migration"] == nil && num(s.indexStatus()["vectors"]) == 3
		})
		searchable(t, s)
	}
}
