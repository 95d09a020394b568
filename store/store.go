package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// ErrNotFound is returned when a product does not exist.
var ErrNotFound = catalog.ErrNotFound

// ChangeHook observes every change to a product's searchable state made
// through this store, right after its commit: seq is the change's row in
// the feed (Changes), p the product as committed, with its photos; vecs
// holds the vectors the change produced, by image hash (nil when none: the
// vectors of p's indexed photos are stored, and stay valid while
// p.Searchable()). Hooks of one product run in commit order on SQLite; on
// other engines compare seq (a product's changes are numbered in commit
// order, under its lock). Changes made through other stores on the
// database are only in the feed.
type ChangeHook func(seq int64, p Product, vecs map[string][]float32)

// Store is the catalogue, vector store, job queue and change feed over one
// Driver.
type Store struct {
	d    Driver
	hook ChangeHook

	jobsCh, changesCh chan struct{} // the driver's Wake, fanned out
	quit, fanoutDone  chan struct{}
	closeOnce         sync.Once

	faultHook FaultHook
	corrupt   atomic.Pointer[fault] // set for good once the engine reports the database damaged
	full      atomic.Pointer[fault] // set while writes fail for lack of space
}

// Open applies the driver's migrations and returns the store over it. The
// store owns d from then on: Close closes it.
func Open(ctx context.Context, d Driver) (*Store, error) {
	s := &Store{d: d, jobsCh: make(chan struct{}, 1), changesCh: make(chan struct{}, 1),
		quit: make(chan struct{}), fanoutDone: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	go s.fanout()
	return s, nil
}

// Driver returns the engine the store runs on.
func (s *Store) Driver() Driver { return s.d }

// Close closes the driver.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.fanoutDone
	})
	return s.d.Close()
}

// SetChangeHook installs the hook; call it before any write.
func (s *Store) SetChangeHook(h ChangeHook) { s.hook = h }

// JobsAvailable is signalled (without blocking) whenever a job may have
// become due, in any process on the database.
func (s *Store) JobsAvailable() <-chan struct{} { return s.jobsCh }

// CheckTook is how long the engine's integrity check at open took (0 when
// it has none).
func (s *Store) CheckTook() time.Duration {
	if c, ok := s.d.(interface{ CheckTook() time.Duration }); ok {
		return c.CheckTook()
	}
	return 0
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.note(s.read().QueryRowContext(ctx, "SELECT 1").Scan(&one))
}

// rq passes every statement through the driver's Rebind.
type rq struct {
	q Querier
	d Driver
}

func (x rq) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return x.q.ExecContext(ctx, x.d.Rebind(query), args...)
}

func (x rq) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return x.q.QueryContext(ctx, x.d.Rebind(query), args...)
}

func (x rq) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return x.q.QueryRowContext(ctx, x.d.Rebind(query), args...)
}

// wtx is a write transaction as the store's code sees it.
type wtx struct {
	rq
	raw Tx
}

// lock takes the per-product lock of k for the transaction.
func (t *wtx) lock(ctx context.Context, k catalog.Key) error {
	if err := t.d.LockKey(ctx, t.raw, k.ShopID, string(k.ProductID)); err != nil {
		return fmt.Errorf("lock product: %w", err)
	}
	return nil
}

// execLater runs a statement whose result is not needed: queued to go with
// the next query or the commit where the driver pipelines (Pipeliner; its
// error then fails the write when it is sent), else at once.
func (t *wtx) execLater(ctx context.Context, query string, args ...any) error {
	if p, ok := t.raw.(Pipeliner); ok {
		p.ExecLater(t.d.Rebind(query), args...)
		return nil
	}
	_, err := t.ExecContext(ctx, query, args...)
	return err
}

// queryRowLater runs a statement returning one row into dest, queued like
// execLater where the driver pipelines: dest is filled in by the time the
// write returns, not before, so only an after callback may read it.
func (t *wtx) queryRowLater(ctx context.Context, dest []any, query string, args ...any) error {
	if p, ok := t.raw.(Pipeliner); ok {
		p.QueryRowLater(dest, t.d.Rebind(query), args...)
		return nil
	}
	return t.QueryRowContext(ctx, query, args...).Scan(dest...)
}

// queryEach runs query and calls each with every row: sent with the queued
// statements in one round trip where the driver pipelines (QueryEach),
// else as a query of its own.
func (t *wtx) queryEach(ctx context.Context, query string, args []any, each func(scan func(dest ...any) error) error) error {
	if p, ok := t.raw.(Pipeliner); ok {
		return p.QueryEach(ctx, t.d.Rebind(query), args, each)
	}
	return queryEach(ctx, t, query, args, each)
}

// queryEach runs query on q and calls each with every row.
func queryEach(ctx context.Context, q Querier, query string, args []any, each func(scan func(dest ...any) error) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// notify wakes the workers (and feed readers) of every process once the
// transaction commits.
func (t *wtx) notify(ctx context.Context) error {
	if err := t.d.Notify(ctx, t.raw); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

func (s *Store) read() Querier { return rq{s.d.Read(), s.d} }

// write runs fn in a write transaction and, once it has committed, calls
// after (Driver.Write). Errors are classified and recorded (Fault).
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error, after func()) error {
	err := s.d.Write(ctx, func(t Tx) error {
		return fn(&wtx{rq: rq{t, s.d}, raw: t})
	}, after)
	if err == nil {
		s.committed()
	}
	return s.note(err)
}

func (s *Store) migrate(ctx context.Context) error {
	if err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
		return err
	}, nil); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	files := s.d.Migrations()
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		err = s.write(ctx, func(tx *wtx) error {
			if err := s.d.LockKey(ctx, tx.raw, 0, "migrate"); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.raw.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, time.Now().UnixMicro())
			return err
		}, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
	}
	return nil
}

// fault is what went wrong with the database at run time.
type fault struct {
	err error
	at  time.Time
}

// FaultHook is told when the store becomes unhealthy (err != nil) or, after
// a full disk, healthy again (err == nil). It runs once per change, not on
// every failing request.
type FaultHook func(err error)

// SetFaultHook installs the hook; call it before any write.
func (s *Store) SetFaultHook(h FaultHook) { s.faultHook = h }

// note classifies err and records a corrupt or full database; it returns
// err, classified. A corrupt database stays faulted until restart; a full
// one until a write commits again.
func (s *Store) note(err error) error {
	if err == nil {
		return nil
	}
	err = s.d.Classify(err)
	if errors.Is(err, catalog.ErrStorageCorrupt) {
		s.setFault(&s.corrupt, err)
	} else if errors.Is(err, catalog.ErrStorageFull) {
		s.setFault(&s.full, err)
	}
	return err
}

func (s *Store) setFault(p *atomic.Pointer[fault], err error) {
	if p.CompareAndSwap(nil, &fault{err: err, at: time.Now()}) && s.faultHook != nil {
		s.faultHook(err)
	}
}

// committed clears a full-disk fault: a write went through.
func (s *Store) committed() {
	if s.full.Swap(nil) != nil && s.faultHook != nil && s.corrupt.Load() == nil {
		s.faultHook(nil)
	}
}

// Fault returns why the database cannot be trusted with writes (a corrupt
// database, wrapping catalog.ErrStorageCorrupt) or cannot take them now (a
// full disk, catalog.ErrStorageFull), or nil when it is healthy.
func (s *Store) Fault() error {
	if f := s.corrupt.Load(); f != nil {
		return f.err
	}
	if f := s.full.Load(); f != nil {
		return f.err
	}
	return nil
}

// Probe makes a tiny write, to learn whether a full disk has space again;
// it returns Fault afterwards.
func (s *Store) Probe(ctx context.Context) error {
	s.write(ctx, func(tx *wtx) error {
		return putSetting(ctx, tx, "probe_at", time.Now().UTC().Format(time.RFC3339Nano))
	}, nil)
	return s.Fault()
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

// flag is how a bool is stored (an integer 0/1 on every engine).
func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
