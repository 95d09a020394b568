package postgres

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/postgres/pgtest"
	"github.com/lookalike/lookalike/store"
	"github.com/lookalike/lookalike/store/storetest"
)

// A model switch and product writes that run beside it on other
// connections: a webhook for a product the switch moves, and a worker's
// result of the old model, both started while the switch's transaction has
// moved the products but not yet committed. The webhook must not write the
// old model back (it waits for the switch, then reads the moved product),
// and the old model's result must be refused (the worker runs it again);
// a replica starting meanwhile must not write its serving model over the
// switch's.
// Without LockAll beside LockKey the webhook reads the product as it was
// and writes model "old" over the switch; with the setting read before the
// lock, Settle records the old model's vector after the switch.
func TestSwitchModelBesideProductWrites(t *testing.T) {
	ctx := context.Background()
	d := openURL(t, pgtest.DB(t))
	s, err := store.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	t0 := storetest.T0
	index := func(id, sha string) {
		t.Helper()
		if _, err := storetest.ApplyAt(ctx, s, storetest.Event(t, `{"event_type":"product.created","product_data":{"id":`+id+`,"title":"Розы","price":"2 500 ₸","image":"https://x/`+id+`.jpg"}}`), 8, t0); err != nil {
			t.Fatal(err)
		}
		if sha == "" {
			return
		}
		j, err := s.Claim(ctx, t0, time.Minute)
		if err != nil || j == nil {
			t.Fatalf("claim %s: %v %v", id, j, err)
		}
		if err := storetest.Complete(ctx, s, j, sha, "old", []float32{1, 0}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetSettings(ctx, map[string]string{store.SettingServingModel: "old", "model": "old"}); err != nil {
		t.Fatal(err)
	}
	index("1", "sha1")
	index("2", "sha2")
	for _, sha := range []string{"sha1", "sha2"} {
		if err := s.PutEmbedding(ctx, sha, "new", []float32{0, 1}, t0); err != nil {
			t.Fatal(err)
		}
	}
	index("3", "") // its job runs on a replica with the old model
	job, err := s.Claim(ctx, t0, time.Minute)
	if err != nil || job == nil || job.Key.ProductID != "3" {
		t.Fatalf("claim 3: %v %v", job, err)
	}

	// Hold the switch after it moved the products: its write of the setting
	// waits for this transaction's row lock.
	conn, err := d.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	blocker, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback() // before conn.Close, which waits for it: a failed test must not hang
	var v string
	if err := blocker.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = $1 FOR UPDATE", store.SettingServingModel).Scan(&v); err != nil {
		t.Fatal(err)
	}
	waiting := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var got int
			if err := d.Read().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d transactions wait for a lock, want %d", got, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	switched := make(chan error, 1)
	go func() {
		_, _, err := s.SwitchModel(ctx, "new", map[string]string{store.SettingServingModel: "new", "model": "new"}, t0.Add(time.Second), nil)
		switched <- err
	}()
	waiting(1)
	webhook := make(chan error, 1)
	go func() {
		_, err := storetest.ApplyAt(ctx, s, storetest.Event(t, `{"event_type":"product.updated","product_data":{"id":1,"price":"3 000 ₸"}}`), 8, t0.Add(2*time.Second))
		webhook <- err
	}()
	settled := make(chan error, 1)
	go func() {
		settled <- storetest.Complete(ctx, s, job, "sha3", "old", []float32{1, 0}, t0.Add(2*time.Second))
	}()
	// A replica starting with the old model, which read the settings before the switch.
	started := make(chan bool, 1)
	go func() {
		ok, err := s.SetSettingIf(ctx, store.SettingServingModel, "old", "model", "old")
		if err != nil {
			t.Error(err)
		}
		started <- ok
	}()
	waiting(4)
	if err := blocker.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-switched; err != nil {
		t.Fatalf("switch: %v", err)
	}
	if err := <-webhook; err != nil {
		t.Fatalf("webhook: %v", err)
	}
	if err := <-settled; !errors.Is(err, catalog.ErrModelChanged) {
		t.Fatalf("the old model's result after the switch: %v, want ErrModelChanged", err)
	}
	if <-started {
		t.Fatal("a serving model decided before the switch was written over it")
	}
	if v, err := s.Setting(ctx, store.SettingServingModel); v != "new" || err != nil {
		t.Fatalf("serving model after the switch: %q %v", v, err)
	}
	p, err := s.Get(ctx, catalog.Key{ShopID: 8, ProductID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Model != "new" || !p.Searchable() || p.Price == nil || p.Price.Minor != 300000 {
		t.Fatalf("product 1 after the switch and its webhook: model %q searchable %v price %v", p.Model, p.Searchable(), p.Price)
	}
	if p, err := s.Get(ctx, catalog.Key{ShopID: 8, ProductID: "3"}); err != nil || p.Searchable() {
		t.Fatalf("product 3 indexed with the old model after the switch: %+v %v", p, err)
	}
	if _, ok, err := s.Embedding(ctx, "sha3", "old"); ok || err != nil {
		t.Fatalf("the old model's vector was stored after the switch: %v %v", ok, err)
	}
}

// BenchmarkWriteLockKey is a write transaction that takes one product's
// LockKey (with the fleet-wide lock it shares) and commits: the cost the
// lock adds to every webhook's transaction, from 4×GOMAXPROCS goroutines
// at once, as concurrent webhooks are.
func BenchmarkWriteLockKey(b *testing.B) {
	ctx := context.Background()
	d, err := Open(ctx, pgtest.DB(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := strconv.FormatInt(n.Add(1), 10)
			if err := d.Write(ctx, func(tx store.Tx) error { return d.LockKey(ctx, tx, 1, id) }, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// A leader's pass runs under Store.TryLeader's context: when the lock's
// backend is terminated, the context ends with store.ErrLeadershipLost, the
// pass's next statement fails instead of running beside a new leader, and
// another store takes the lock.
func TestStoreLeaderPassStopsWhenLockLost(t *testing.T) {
	ctx := context.Background()
	url := pgtest.DB(t)
	a, b := openURL(t, url+"&application_name=leader-a"), openURL(t, url)
	sa, err := store.Open(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := store.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	lctx, release, ok, err := sa.TryLeader(ctx, "housekeeping")
	if err != nil || !ok {
		t.Fatalf("TryLeader: %v %v", ok, err)
	}
	defer release()
	if _, err := sa.PruneChanges(lctx, storetest.T0); err != nil {
		t.Fatalf("a pass step while leading: %v", err)
	}
	var killed int
	if err := b.Read().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND s.application_name = 'leader-a'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate the lock's backend: %d %v", killed, err)
	}
	select {
	case <-lctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the pass's context lives on after the lock was lost")
	}
	if !errors.Is(context.Cause(lctx), store.ErrLeadershipLost) {
		t.Fatalf("cause %v", context.Cause(lctx))
	}
	if _, err := sa.PruneChanges(lctx, storetest.T0); !errors.Is(err, context.Canceled) {
		t.Fatalf("a pass step after the lock was lost: %v", err)
	}
	if _, r, ok, err := sb.TryLeader(ctx, "housekeeping"); !ok || err != nil {
		t.Fatalf("another store cannot take over: %v %v", ok, err)
	} else {
		r()
	}
}
