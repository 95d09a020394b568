// Package sqlite is the embedded default's database engine: a store.Driver
// over one SQLite database (WAL mode, synchronous=FULL) with one writer
// goroutine that groups concurrent writes into one transaction (group
// commit, each write in its own savepoint) and a pool of readers beside it.
// Open returns the store (package store) over it.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Driver is the SQLite store.Driver.
type Driver struct {
	w *sql.DB // the one writer connection
	r *sql.DB // a pool of readers (WAL lets them run beside the writer)

	writes     chan *writeReq // to the one writer goroutine
	quit       chan struct{}  // closed by Close
	writerDone chan struct{}  // closed when the writer goroutine has returned
	closeOnce  sync.Once
	notifyNext bool // set by Notify during a batch (writer goroutine only)

	wake chan struct{} // Wake

	leaderMu sync.Mutex
	leaders  map[string]*sync.Mutex

	checkTook time.Duration // the quick_check at open
	path      string
}

var _ store.Driver = (*Driver)(nil)

// Open opens (creating if needed) the database at path, checks it with
// PRAGMA quick_check and applies the migrations: the store over OpenDriver.
// A damaged database is an error wrapping catalog.ErrStorageCorrupt that
// says how to recover.
func Open(ctx context.Context, path string) (*Store, error) {
	d, err := OpenDriver(ctx, path)
	if err != nil {
		return nil, err
	}
	s, err := store.Open(ctx, d)
	if err != nil {
		d.Close()
		return nil, damaged(path, err)
	}
	return s, nil
}

func damaged(path string, err error) error {
	if err = classify(err); errors.Is(err, catalog.ErrStorageCorrupt) {
		return fmt.Errorf("database %s is damaged (%w); refusing to start: %s", path, err, Recovery)
	}
	return err
}

// OpenDriver opens (creating if needed) the database at path and checks it
// with PRAGMA quick_check; it applies no migrations (store.Open does).
func OpenDriver(ctx context.Context, path string) (*Driver, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, damaged(path, fmt.Errorf("open database %s: %w", path, err))
	}
	d := &Driver{w: w, wake: make(chan struct{}, 1), writes: make(chan *writeReq, 256),
		quit: make(chan struct{}), writerDone: make(chan struct{}), leaders: map[string]*sync.Mutex{}, path: path}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	r.SetMaxOpenConns(4)
	d.r = r
	// The check reads every page through a reader connection that is
	// closed afterwards (no idle connections yet), so it leaves no page
	// cache behind.
	r.SetMaxIdleConns(0)
	d.checkTook, err = QuickCheck(ctx, r)
	r.SetMaxIdleConns(4)
	if err != nil {
		r.Close()
		w.Close()
		return nil, damaged(path, err)
	}
	go d.writer()
	return d, nil
}

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store is closed")

// Name is "sqlite".
func (d *Driver) Name() string { return "sqlite" }

// Migrations are the SQL files under migrations/.
func (d *Driver) Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// Read is the reader pool.
func (d *Driver) Read() store.Querier { return d.r }

// LockKey does nothing: the one writer already serialises every write.
func (d *Driver) LockKey(context.Context, store.Tx, int64, string) error { return nil }

// SkipLocked is "": nothing else can hold a row.
func (d *Driver) SkipLocked() string { return "" }

// Rebind returns the query as it is: SQLite takes "?".
func (d *Driver) Rebind(q string) string { return q }

// Classify marks damaged-database and full-disk errors.
func (d *Driver) Classify(err error) error { return classify(err) }

// Wake is signalled after a write that called Notify has committed.
func (d *Driver) Wake() <-chan struct{} { return d.wake }

// Notify makes Wake fire once the current batch commits (only one process
// writes the database: the data directory's lock).
func (d *Driver) Notify(context.Context, store.Tx) error {
	d.notifyNext = true
	return nil
}

// TryLeader takes an in-process mutex of that name: one process holds the
// data directory, so that is the whole fleet. The lock is never lost: its
// context ends at release.
func (d *Driver) TryLeader(_ context.Context, name string) (context.Context, func(), bool, error) {
	d.leaderMu.Lock()
	mu := d.leaders[name]
	if mu == nil {
		mu = &sync.Mutex{}
		d.leaders[name] = mu
	}
	d.leaderMu.Unlock()
	if !mu.TryLock() {
		return nil, nil, false, nil
	}
	lctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	return lctx, func() { once.Do(func() { cancel(); mu.Unlock() }) }, true, nil
}

// LockAll does nothing: the one writer already runs each transaction alone.
func (d *Driver) LockAll(context.Context, store.Tx) error { return nil }

// Path is the database file.
func (d *Driver) Path() string { return d.path }

// CheckTook is how long the quick_check at open took.
func (d *Driver) CheckTook() time.Duration { return d.checkTook }

// Close stops the writer and closes the database.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() { close(d.quit) })
	<-d.writerDone
	return errors.Join(d.r.Close(), d.w.Close())
}

func (d *Driver) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// writeReq is one caller's share of a write transaction.
type writeReq struct {
	ctx   context.Context
	fn    func(tx store.Tx) error
	after func()
	done  chan error
}

// Write runs fn in a write transaction and, once that transaction has
// committed, calls after. Writes from concurrent callers are grouped into
// one transaction (group commit: one fsync for the batch), each inside its
// own savepoint so that one caller's error undoes only its own changes.
// All writes, and all afters, run on one goroutine in commit order.
func (d *Driver) Write(ctx context.Context, fn func(tx store.Tx) error, after func()) error {
	req := &writeReq{ctx: ctx, fn: fn, after: after, done: make(chan error, 1)}
	select {
	case d.writes <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.quit:
		return ErrClosed
	}
	select {
	case err := <-req.done:
		return err
	case <-d.writerDone:
		select {
		case err := <-req.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// maxBatch bounds how many writes share one transaction.
const maxBatch = 128

func (d *Driver) writer() {
	defer close(d.writerDone)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case <-d.quit:
			return
		case r := <-d.writes:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-d.writes:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		d.runBatch(batch)
		clear(batch)
	}
}

func (d *Driver) runBatch(batch []*writeReq) {
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	d.notifyNext = false
	tx, err := d.w.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	single := len(batch) == 1
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if !single {
			if _, err := tx.Exec("SAVEPOINT w"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("savepoint: %w", err))
				return
			}
		}
		errs[i] = r.fn(tx)
		if single {
			continue
		}
		if errs[i] != nil {
			if _, err := tx.Exec("ROLLBACK TO w"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := tx.Exec("RELEASE w"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if single && errs[0] != nil {
		tx.Rollback()
		batch[0].done <- errs[0]
		return
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	if d.notifyNext {
		d.signal()
	}
	for i, r := range batch {
		if errs[i] == nil && r.after != nil {
			r.after()
		}
		r.done <- errs[i]
	}
}
