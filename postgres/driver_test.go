package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/postgres/pgtest"
	"github.com/lookalike/lookalike/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openURL opens a driver on url, closed when t ends. Poll is long so that
// a test of Wake sees notifications, not the fallback tick.
func openURL(t *testing.T, url string) *Driver {
	t.Helper()
	d, err := Open(context.Background(), url, Options{Poll: time.Hour, LeaderCheck: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// migrate applies the driver's migrations the way the store does: each
// file in one Write under the migration lock, recorded in schema_migrations.
func migrate(t *testing.T, d *Driver) {
	t.Helper()
	ctx := context.Background()
	names, err := fs.Glob(d.Migrations(), "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v %v", names, err)
	}
	sort.Strings(names)
	for _, name := range names {
		body, err := fs.ReadFile(d.Migrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		version := strings.TrimSuffix(name, ".sql")
		err = d.Write(ctx, func(tx store.Tx) error {
			if err := d.LockKey(ctx, tx, 0, "migrate"); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, d.Rebind("SELECT count(*) FROM schema_migrations WHERE version = ?"), version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			_, err := tx.ExecContext(ctx, d.Rebind("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"), version, time.Now().UnixMicro())
			return err
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func open(t *testing.T) *Driver {
	t.Helper()
	d := openURL(t, pgtest.DB(t))
	migrate(t, d)
	return d
}

func exec(t *testing.T, q store.Querier, query string, args ...any) {
	t.Helper()
	if _, err := q.ExecContext(context.Background(), Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":                                   "SELECT 1",
		"SELECT ? , ?":                               "SELECT $1 , $2",
		"WHERE a = ? AND b IN (?,?,?)":               "WHERE a = $1 AND b IN ($2,$3,$4)",
		"SELECT '?', ?":                              "SELECT '?', $1",
		"SELECT 'it''s ?', ?":                        "SELECT 'it''s ?', $1",
		`SELECT "we?ird" FROM t WHERE x = ?`:         `SELECT "we?ird" FROM t WHERE x = $1`,
		"SELECT E'\\'?', ?":                          "SELECT E'\\'?', $1",
		"SELECT ? -- why?\n, ?":                      "SELECT $1 -- why?\n, $2",
		"SELECT ? /* what? */ , ?":                   "SELECT $1 /* what? */ , $2",
		"SELECT ? -- trailing?":                      "SELECT $1 -- trailing?",
		"SELECT 'unterminated ?":                     "SELECT 'unterminated ?",
		"INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?)": "INSERT INTO t VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
	} {
		if got := Rebind(in); got != want {
			t.Errorf("Rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

// The placeholders Rebind numbers are the ones the server binds: a "?" in
// a literal stays text.
func TestRebindOnServer(t *testing.T) {
	d := openURL(t, pgtest.DB(t))
	var a, b string
	var n int64
	err := d.Read().QueryRowContext(context.Background(), d.Rebind("SELECT '?' || ?, 'x?''?' , ?::bigint"), "a", 7).Scan(&a, &b, &n)
	if err != nil || a != "?a" || b != "x?'?" || n != 7 {
		t.Fatalf("got %q %q %d %v", a, b, n, err)
	}
}

func TestClassify(t *testing.T) {
	d := &Driver{}
	for code, want := range map[string]error{
		"53100": catalog.ErrStorageFull,
		"XX001": catalog.ErrStorageCorrupt,
		"XX002": catalog.ErrStorageCorrupt,
	} {
		err := d.Classify(fmt.Errorf("insert: %w", &pgconn.PgError{Code: code, Message: "boom"}))
		if !errors.Is(err, want) || !strings.Contains(err.Error(), "boom") {
			t.Errorf("%s: %v, want %v", code, err, want)
		}
	}
	other := &pgconn.PgError{Code: "23505"}
	if err := d.Classify(other); err != other {
		t.Errorf("unique violation classified as %v", err)
	}
	if d.Classify(nil) != nil {
		t.Error("nil classified")
	}
}

// Replicas starting together on an empty database all start, and the
// schema is applied once (Open creates schema_migrations, the store applies
// each migration, both under the migration lock).
func TestOpenTogether(t *testing.T) {
	url := pgtest.DB(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := Open(context.Background(), url, Options{})
			if err != nil {
				errs <- err
				return
			}
			s, err := store.Open(context.Background(), d)
			if err != nil {
				d.Close()
				errs <- err
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	d := openURL(t, url)
	var versions, tables int
	if err := d.Read().QueryRowContext(context.Background(), `SELECT (SELECT count(*) FROM schema_migrations),
		(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&versions, &tables); err != nil {
		t.Fatal(err)
	}
	if want, _ := fs.Glob(d.Migrations(), "*.sql"); versions != len(want) || tables < 8 {
		t.Fatalf("%d versions recorded (want %d), %d tables", versions, len(want), tables)
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=2", Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1/db") {
		t.Fatalf("error %v: want one naming the server, without the password", err)
	}
}

// A serialization failure or deadlock inside fn rolls back and runs fn
// again; other errors are returned at once.
func TestWriteRetries(t *testing.T) {
	d := open(t)
	ctx := context.Background()
	runs := 0
	err := d.Write(ctx, func(tx store.Tx) error {
		runs++
		exec(t, tx, "INSERT INTO settings (key, value) VALUES ('k', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", fmt.Sprint(runs))
		if runs < 3 {
			_, err := tx.ExecContext(ctx, "DO $$BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END$$")
			return err
		}
		return nil
	}, nil)
	if err != nil || runs != 3 {
		t.Fatalf("err %v after %d runs", err, runs)
	}
	var v string
	d.Read().QueryRowContext(ctx, "SELECT value FROM settings WHERE key = 'k'").Scan(&v)
	if v != "3" {
		t.Fatalf("value %q: rolled-back runs left their writes", v)
	}

	runs = 0
	err = d.Write(ctx, func(tx store.Tx) error {
		runs++
		_, err := tx.ExecContext(ctx, "SELECT * FROM no_such_table")
		return err
	}, nil)
	if err == nil || runs != 1 {
		t.Fatalf("err %v after %d runs: a plain error must not be retried", err, runs)
	}
}

// Statements queued in a write (store.Pipeliner) go with the next query or
// the commit: their rows are committed with it, QueryRowLater's row is
// scanned before the after callback, and a queued statement that fails
// fails the whole write with its own error, nothing of it committed.
func TestPipelinedWrite(t *testing.T) {
	d := open(t)
	ctx := context.Background()
	var got, seen string
	err := d.Write(ctx, func(tx store.Tx) error {
		p := tx.(store.Pipeliner)
		p.ExecLater("INSERT INTO settings (key, value) VALUES ('a', '1')")
		p.QueryRowLater([]any{&got}, "INSERT INTO settings (key, value) VALUES ('b', '2') RETURNING key || value")
		return nil
	}, func() { seen = got })
	if err != nil || seen != "b2" {
		t.Fatalf("err %v, after saw %q, want b2", err, seen)
	}
	var n int
	d.Read().QueryRowContext(ctx, "SELECT count(*) FROM settings WHERE key IN ('a', 'b')").Scan(&n)
	if n != 2 {
		t.Fatalf("%d of 2 queued rows committed", n)
	}

	runs := 0
	err = d.Write(ctx, func(tx store.Tx) error {
		runs++
		p := tx.(store.Pipeliner)
		p.ExecLater("INSERT INTO settings (key, value) VALUES ('c', '3')")
		p.ExecLater("INSERT INTO settings (key, value) VALUES ('a', 'again')") // a duplicate key
		var one int
		return tx.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	}, func() { t.Error("after ran for a failed write") })
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" || runs != 1 {
		t.Fatalf("err %v after %d runs, want the queued INSERT's unique violation, not retried", err, runs)
	}
	d.Read().QueryRowContext(ctx, "SELECT count(*) FROM settings WHERE key = 'c'").Scan(&n)
	if n != 0 {
		t.Fatal("a failed write's queued row was committed")
	}
	// The same, failing with the commit.
	err = d.Write(ctx, func(tx store.Tx) error {
		tx.(store.Pipeliner).ExecLater("INSERT INTO settings (key, value) VALUES ('a', 'again')")
		return nil
	}, nil)
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("err %v, want the unique violation", err)
	}
	// The connections go back to the pool outside any transaction.
	for range 20 {
		if err := d.Write(ctx, func(tx store.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ('d', '') ON CONFLICT DO NOTHING")
			return err
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// Two writes that lock two products in opposite orders deadlock; the one
// the server aborts runs again, and both commit.
func TestWriteDeadlockRetried(t *testing.T) {
	d := open(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	runs := 0
	both := make(chan struct{})
	var once sync.Once
	arrived := 0
	write := func(first, second string) error {
		return d.Write(ctx, func(tx store.Tx) error {
			mu.Lock()
			runs++
			mu.Unlock()
			if err := d.LockKey(ctx, tx, 1, first); err != nil {
				return err
			}
			var one int // the lock is queued: a query sends it
			if err := tx.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
				return err
			}
			mu.Lock()
			arrived++
			if arrived == 2 {
				once.Do(func() { close(both) })
			}
			mu.Unlock()
			<-both // each holds its first lock before asking for the second
			if err := d.LockKey(ctx, tx, 1, second); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, Rebind("INSERT INTO settings (key, value) VALUES (?, 'x')"), first+second)
			return err
		}, nil)
	}
	errs := make([]error, 2)
	for i, p := range [][2]string{{"a", "b"}, {"b", "a"}} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = write(p[0], p[1]) }()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if runs < 3 {
		t.Fatalf("%d runs: no deadlock was retried", runs)
	}
	var n int
	d.Read().QueryRowContext(ctx, "SELECT count(*) FROM settings WHERE key IN ('ab', 'ba')").Scan(&n)
	if n != 2 {
		t.Fatalf("%d of 2 writes committed", n)
	}
}

// LockKey makes read-decide-write on one product atomic across processes:
// two drivers incrementing one counter lose no update.
func TestLockKeySerializes(t *testing.T) {
	url := pgtest.DB(t)
	a := openURL(t, url)
	migrate(t, a)
	b := openURL(t, url)
	ctx := context.Background()
	exec(t, a.Read(), "INSERT INTO settings (key, value) VALUES ('n', '0')")
	const per = 40
	var wg sync.WaitGroup
	for _, d := range []*Driver{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				err := d.Write(ctx, func(tx store.Tx) error {
					if err := d.LockKey(ctx, tx, 7, "n"); err != nil {
						return err
					}
					var v int
					if err := tx.QueryRowContext(ctx, "SELECT value::int FROM settings WHERE key = 'n'").Scan(&v); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, "UPDATE settings SET value = $1 WHERE key = 'n'", fmt.Sprint(v+1))
					return err
				}, nil)
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var v int
	a.Read().QueryRowContext(ctx, "SELECT value::int FROM settings WHERE key = 'n'").Scan(&v)
	if v != 4*per {
		t.Fatalf("counter %d, want %d: updates were lost", v, 4*per)
	}
}

// A claim skips a job another transaction is claiming instead of waiting
// for it or taking it too.
func TestSkipLocked(t *testing.T) {
	d := open(t)
	ctx := context.Background()
	for _, id := range []string{"1", "2"} {
		exec(t, d.Read(), `INSERT INTO jobs (shop_id, product_id, generation, state, run_at, created_at, updated_at)
			VALUES (1, ?, 1, 'available', 0, 0, 0)`, id)
	}
	claim := func(tx store.Tx) (string, error) {
		var id string
		err := tx.QueryRowContext(ctx, Rebind(`UPDATE jobs SET state = 'running' WHERE id = (SELECT id FROM jobs
			WHERE state = 'available' ORDER BY product_id LIMIT 1 `+d.SkipLocked()+`) RETURNING product_id`)).Scan(&id)
		return id, err
	}
	held := make(chan string)
	release := make(chan struct{})
	go d.Write(ctx, func(tx store.Tx) error {
		id, err := claim(tx)
		held <- id
		<-release
		return err
	}, nil)
	first := <-held
	var second string
	if err := d.Write(ctx, func(tx store.Tx) (err error) { second, err = claim(tx); return err }, nil); err != nil {
		t.Fatal(err)
	}
	close(release)
	if first != "1" || second != "2" {
		t.Fatalf("claimed %q then %q, want 1 then 2", first, second)
	}
}

// drain empties a Wake channel.
func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func waitWake(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatalf("no wake: %s", what)
	}
}

func notify(t *testing.T, d *Driver) {
	t.Helper()
	ctx := context.Background()
	if err := d.Write(ctx, func(tx store.Tx) error { return d.Notify(ctx, tx) }, nil); err != nil {
		t.Fatal(err)
	}
}

// A Notify in one process's committed write wakes another process, also
// after its listening connection was cut; a rolled-back one wakes nobody.
func TestWakeAcrossProcesses(t *testing.T) {
	url := pgtest.DB(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	drain(b.Wake())
	a.Write(ctx, func(tx store.Tx) error {
		a.Notify(ctx, tx)
		return errors.New("roll back")
	}, nil)
	notify(t, a) // a sentinel: rolled-back notifications would have arrived first
	waitWake(t, b.Wake(), "after a committed Notify")
	select {
	case <-b.Wake():
		t.Fatal("a second wake: the rolled-back Notify was delivered")
	case <-time.After(200 * time.Millisecond):
	}

	// Cut b's LISTEN connection: b reconnects (and wakes, since it may
	// have missed notifications), and then hears a again.
	var killed int
	err := a.Read().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN `+channel+`'`).Scan(&killed)
	if err != nil || killed != 2 {
		t.Fatalf("terminated %d listeners (want 2): %v", killed, err)
	}
	waitWake(t, b.Wake(), "after reconnecting")
	waitListeners(t, a, 2)
	drain(b.Wake())
	notify(t, a)
	waitWake(t, b.Wake(), "after a Notify following the reconnection")
}

func waitListeners(t *testing.T, d *Driver, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got int
		d.Read().QueryRowContext(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN `+channel+`'`).Scan(&got)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d listeners, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Without notifications Wake still fires every Poll.
func TestWakePolls(t *testing.T) {
	d, err := Open(context.Background(), pgtest.DB(t), Options{Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for range 3 {
		drain(d.Wake())
		waitWake(t, d.Wake(), "from the poll tick")
	}
}

// One holder at a time, fleet-wide; released, it passes on; a holder whose
// connection dies loses it, is told through its context, and another
// process takes over.
func TestLeader(t *testing.T) {
	url := pgtest.DB(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	_, release, ok, err := a.TryLeader(ctx, "housekeeping")
	if err != nil || !ok {
		t.Fatalf("first TryLeader: %v %v", ok, err)
	}
	for _, d := range []*Driver{a, b} {
		if _, _, ok, err := d.TryLeader(ctx, "housekeeping"); ok || err != nil {
			t.Fatalf("a second holder: ok %v err %v", ok, err)
		}
	}
	if _, r, ok, err := b.TryLeader(ctx, "migration"); !ok || err != nil {
		t.Fatalf("another name is free: %v %v", ok, err)
	} else {
		r()
	}
	release()
	release() // twice is harmless
	_, rb, ok, err := b.TryLeader(ctx, "housekeeping")
	if !ok || err != nil {
		t.Fatalf("after release: %v %v", ok, err)
	}
	rb()

	lctx, rel, ok, err := a.Leader(ctx, "housekeeping")
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	defer rel()
	var pid int
	a.Read().QueryRowContext(ctx, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&pid)
	exec(t, a.Read(), "SELECT pg_terminate_backend(?)", pid)
	select {
	case <-lctx.Done():
		if !errors.Is(context.Cause(lctx), ErrLeadershipLost) {
			t.Fatalf("cause %v", context.Cause(lctx))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lost leadership was not reported")
	}
	if _, r, ok, err := b.TryLeader(ctx, "housekeeping"); !ok || err != nil {
		t.Fatalf("no takeover after the leader's connection died: %v %v", ok, err)
	} else {
		r()
	}
}

// Close ends a held leader lock.
func TestCloseReleasesLeader(t *testing.T) {
	url := pgtest.DB(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	lctx, _, ok, err := a.Leader(ctx, "x")
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	a.Close()
	if lctx.Err() == nil {
		t.Fatal("leader context alive after Close")
	}
	if _, r, ok, err := b.TryLeader(ctx, "x"); !ok || err != nil {
		t.Fatalf("lock still held after Close: %v %v", ok, err)
	} else {
		r()
	}
}

func insertChange(t *testing.T, tx store.Tx, id string) int64 {
	t.Helper()
	var seq int64
	err := tx.QueryRowContext(context.Background(), Rebind("INSERT INTO changes (shop_id, product_id, at) VALUES (1, ?, 0) RETURNING seq"), id).Scan(&seq)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// visible lists the changes a reader hands out: those at or below the horizon.
func visible(t *testing.T, d *Driver) []string {
	t.Helper()
	ctx := context.Background()
	h, err := d.FeedHorizon(ctx, d.Read())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := d.Read().QueryContext(ctx, "SELECT product_id FROM changes WHERE seq <= $1 ORDER BY seq", h)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	return ids
}

// A transaction that began writing first but records its change and
// commits after a later one: its change has the lower seq, and the horizon
// keeps readers from passing it while it runs, so it is not skipped.
func TestFeedHorizonLateCommit(t *testing.T) {
	d := open(t)
	ctx := context.Background()
	var early, late int64
	started, wrote := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- d.Write(ctx, func(tx store.Tx) error {
			// A first write gives the transaction its id.
			if _, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ('early', '')"); err != nil {
				return err
			}
			close(started)
			<-wrote
			early = insertChange(t, tx, "early")
			return nil
		}, nil)
	}()
	<-started
	if err := d.Write(ctx, func(tx store.Tx) error { late = insertChange(t, tx, "late"); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	var committed int
	d.Read().QueryRowContext(ctx, "SELECT count(*) FROM changes").Scan(&committed)
	if committed != 1 {
		t.Fatalf("%d changes committed", committed)
	}
	if got := visible(t, d); len(got) != 0 {
		t.Fatalf("handed out %v while an older transaction runs", got)
	}
	close(wrote)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if early >= late {
		t.Fatalf("seq %d of the earlier transaction not below %d", early, late)
	}
	if got := visible(t, d); strings.Join(got, ",") != "early,late" {
		t.Fatalf("handed out %v, want early,late", got)
	}
}

// The changes of one transaction get distinct increasing seqs; one rolled
// back to a savepoint leaves no gap that matters; a read-only transaction
// does not hold the horizon back.
func TestFeedSeqs(t *testing.T) {
	d := open(t)
	ctx := context.Background()
	var seqs []int64
	err := d.Write(ctx, func(tx store.Tx) error {
		seqs = append(seqs, insertChange(t, tx, "a"))
		exec(t, tx, "SAVEPOINT s")
		insertChange(t, tx, "gone")
		exec(t, tx, "ROLLBACK TO SAVEPOINT s")
		seqs = append(seqs, insertChange(t, tx, "b"), insertChange(t, tx, "c"))
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !(seqs[0] < seqs[1] && seqs[1] < seqs[2]) || seqs[0]>>20 != seqs[2]>>20 {
		t.Fatalf("seqs %v", seqs)
	}
	reader, err := d.DB().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	reader.QueryRowContext(ctx, "SELECT count(*) FROM changes").Scan(new(int))
	if got := visible(t, d); strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("handed out %v, want a,b,c", got)
	}
	// A new transaction's changes all sort after the old ones.
	var next int64
	d.Write(ctx, func(tx store.Tx) error { next = insertChange(t, tx, "d"); return nil }, nil)
	if next <= seqs[2] {
		t.Fatalf("later transaction's seq %d not above %d", next, seqs[2])
	}
}

// An after runs once, after the commit, and afters of concurrent writes
// run one at a time.
func TestAfter(t *testing.T) {
	d := open(t)
	ctx := context.Background()
	var mu sync.Mutex
	running, most, calls := 0, 0, 0
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprint("after", i)
			err := d.Write(ctx, func(tx store.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, '')", key)
				return err
			}, func() {
				mu.Lock()
				running++
				calls++
				most = max(most, running)
				mu.Unlock()
				var n int
				// committed: another connection sees the row
				d.Read().QueryRowContext(ctx, "SELECT count(*) FROM settings WHERE key = $1", key).Scan(&n)
				if n != 1 {
					t.Errorf("after ran before %s was visible", key)
				}
				time.Sleep(time.Millisecond)
				mu.Lock()
				running--
				mu.Unlock()
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if calls != 8 || most != 1 {
		t.Fatalf("%d afters, up to %d at once", calls, most)
	}
	if err := d.Write(ctx, func(store.Tx) error { return errors.New("no") }, func() { t.Error("after of a failed write ran") }); err == nil {
		t.Fatal("error lost")
	}
}

// An after callback that reads the database runs while more writes than
// the pool has connections wait for their turn: the waiting writes hold
// no connection (they did, and every write of the process stopped).
func TestAfterReadsWithThePoolBusy(t *testing.T) {
	url := pgtest.DB(t)
	d, err := Open(context.Background(), url, Options{MaxConns: 2, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	migrate(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- d.Write(ctx, func(tx store.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, '')", fmt.Sprint("busy", i))
				return err
			}, func() {
				var n int
				if err := d.Read().QueryRowContext(ctx, "SELECT count(*) FROM settings").Scan(&n); err != nil {
					t.Errorf("read in after: %v", err)
				}
				time.Sleep(5 * time.Millisecond) // the others queue up meanwhile
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A write after the server ended every connection (a restart, a failover)
// runs on a new one instead of failing, and commits once.
func TestWriteAfterConnectionsEnded(t *testing.T) {
	url := pgtest.DB(t)
	d := openURL(t, url)
	migrate(t, d)
	ctx := context.Background()
	// Fill the pool with idle connections.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.Read().ExecContext(ctx, "SELECT pg_sleep(0.05)")
		}()
	}
	wg.Wait()
	admin := openURL(t, url)
	var ended int
	if err := admin.DB().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid != pg_backend_pid() AND backend_type = 'client backend'`).Scan(&ended); err != nil || ended < 3 {
		t.Fatalf("ended %d connections: %v", ended, err)
	}
	for i := range 4 {
		err := d.Write(ctx, func(tx store.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, '')", fmt.Sprint("after-restart-", i))
			return err
		}, nil)
		if err != nil {
			t.Fatalf("write %d after the connections ended: %v", i, err)
		}
	}
	// A connection that ends inside the transaction, before its commit:
	// nothing was committed, so it runs again on another (and once more
	// when that one is one of the pool's ended connections: BEGIN goes
	// with the transaction's first statement, so a dead connection is
	// found only then).
	runs := 0
	err := d.Write(ctx, func(tx store.Tx) error {
		runs++
		if _, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ('after-restart-5', '')"); err != nil {
			return err
		}
		if runs == 1 {
			_, err := tx.ExecContext(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
			return err
		}
		return nil
	}, nil)
	if err != nil || runs < 2 {
		t.Fatalf("a transaction whose connection ended: %v after %d runs", err, runs)
	}
	var n int
	d.Read().QueryRowContext(ctx, "SELECT count(*) FROM settings WHERE key LIKE 'after-restart-%'").Scan(&n)
	if n != 5 {
		t.Fatalf("%d rows, want 5", n)
	}
}
