// Package sqlite stores the catalogue, the vectors and the reindex queue in
// one SQLite database (WAL mode, synchronous=FULL), so that a product change
// and the job that reindexes it commit in one transaction.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/catalog"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a product does not exist.
var ErrNotFound = catalog.ErrNotFound

// ChangeHook observes every committed change to a product's searchable
// state. It runs after the commit, while the store's write lock is held, so
// hooks see changes in commit order. p carries its photos; vecs holds the
// vectors the change produced, by image hash (nil when none: the vectors
// of p's indexed photos are stored, and stay valid while p.Searchable()).
type ChangeHook func(p Product, vecs map[string][]float32)

// Store is the SQLite-backed catalogue, vector store and job queue.
type Store struct {
	w *sql.DB // the one writer connection
	r *sql.DB // a pool of readers (WAL lets them run beside the writer)

	writes     chan *writeReq // to the one writer goroutine
	quit       chan struct{}  // closed by Close
	writerDone chan struct{}  // closed when the writer goroutine has returned
	closeOnce  sync.Once
	hook       ChangeHook
	modelOK    func(model string) bool // Complete records vectors only of models it accepts

	notify chan struct{} // signalled when a job becomes available

	faultHook FaultHook
	corrupt   atomic.Pointer[fault] // set for good once SQLite reports the database damaged
	full      atomic.Pointer[fault] // set while writes fail for lack of space
	checkTook time.Duration         // the quick_check at Open
}

// Open opens (creating if needed) the database at path, checks it with
// PRAGMA quick_check and applies the embedded migrations. A damaged
// database is an error wrapping catalog.ErrStorageCorrupt that says how to
// recover.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	damaged := func(err error) error {
		if err = classify(err); errors.Is(err, catalog.ErrStorageCorrupt) {
			return fmt.Errorf("database %s is damaged (%w); refusing to start: %s", path, err, Recovery)
		}
		return err
	}
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, damaged(fmt.Errorf("open database %s: %w", path, err))
	}
	s := &Store{w: w, notify: make(chan struct{}, 1), writes: make(chan *writeReq, 256),
		quit: make(chan struct{}), writerDone: make(chan struct{})}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	r.SetMaxOpenConns(4)
	s.r = r
	// The check reads every page through a reader connection that is
	// closed afterwards (no idle connections yet), so it leaves no page
	// cache behind.
	r.SetMaxIdleConns(0)
	s.checkTook, err = QuickCheck(ctx, r)
	r.SetMaxIdleConns(4)
	if err == nil {
		err = s.migrate(ctx)
	}
	if err != nil {
		r.Close()
		w.Close()
		return nil, damaged(err)
	}
	go s.writer()
	return s, nil
}

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store is closed")

// Close stops the writer and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.quit) })
	<-s.writerDone
	return errors.Join(s.r.Close(), s.w.Close())
}

// SetChangeHook installs the hook; call it before any write.
func (s *Store) SetChangeHook(h ChangeHook) { s.hook = h }

// SetModelCheck installs the test Complete applies, in its transaction, to
// a vector's model; set it before any write. A model switch that happens on
// the writer goroutine is thereby ordered with every Complete.
func (s *Store) SetModelCheck(ok func(model string) bool) { s.modelOK = ok }

// JobsAvailable is signalled (without blocking) whenever a job is enqueued.
func (s *Store) JobsAvailable() <-chan struct{} { return s.notify }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.note(s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one))
}

func (s *Store) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		var n int
		if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, time.Now().UnixMicro()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
	}
	return nil
}

// writeReq is one caller's share of a write transaction.
type writeReq struct {
	ctx   context.Context
	fn    func(tx *sql.Tx) error
	after func()
	done  chan error
}

// write runs fn in a write transaction and, once that transaction has
// committed, calls after. Writes from concurrent callers are grouped into
// one transaction (group commit: one fsync for the batch), each inside its
// own savepoint so that one caller's error undoes only its own changes.
// All writes, and all afters, run on one goroutine in commit order.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error, after func()) error {
	req := &writeReq{ctx: ctx, fn: fn, after: after, done: make(chan error, 1)}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return ErrClosed
	}
	select {
	case err := <-req.done:
		return err
	case <-s.writerDone:
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

func (s *Store) writer() {
	defer close(s.writerDone)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case <-s.quit:
			return
		case r := <-s.writes:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.runBatch(batch)
		clear(batch)
	}
}

func (s *Store) runBatch(batch []*writeReq) {
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		fail(s.note(fmt.Errorf("begin: %w", err)))
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
		errs[i] = s.note(r.fn(tx))
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
		fail(s.note(fmt.Errorf("commit: %w", err)))
		return
	}
	s.committed()
	for i, r := range batch {
		if errs[i] == nil && r.after != nil {
			r.after()
		}
		r.done <- errs[i]
	}
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}
