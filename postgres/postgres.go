// Package postgres is the PostgreSQL driver of package store: the
// catalogue, the vectors, the reindex queue and the change feed in one
// PostgreSQL database that any number of lookalike processes share.
//
// It speaks to the server with pgx v5 through database/sql (pgx/v5/stdlib).
// A write is a pooled READ COMMITTED transaction, retried on a
// serialization failure or deadlock; the per-product lock is a transaction
// advisory lock; job claims skip rows another process has locked; Wake is
// a LISTEN on a dedicated connection (reconnected with backoff, and a poll
// tick in case a notification is lost) and Notify a pg_notify sent right
// after the writing transaction commits (one for many commits); the leader
// lock is a session advisory lock on a dedicated connection held while
// leading.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// channel is the LISTEN/NOTIFY channel of the database's lookalike processes.
const channel = "lookalike_wake"

// Options tune a Driver; the zero value is the default.
type Options struct {
	// MaxConns bounds the pool of connections for reads and writes
	// (default 16); Wake and each held leader lock use one more each.
	MaxConns int
	// Poll is how often Wake fires without a notification, in case one
	// was lost (default 1 s).
	Poll time.Duration
	// LeaderCheck is how often a held leader lock's connection is checked
	// (default 1 s): a lost connection is lost leadership.
	LeaderCheck time.Duration
	// Logger receives the driver's log lines (default slog.Default()).
	Logger *slog.Logger
}

// Driver is a store.Driver on one PostgreSQL database.
type Driver struct {
	url  string
	db   *sql.DB
	cfg  *pgx.ConnConfig
	opts Options
	log  *slog.Logger

	wake     chan struct{}
	ctx      context.Context // cancelled by Close
	cancel   context.CancelFunc
	bg       sync.WaitGroup
	afterMu  sync.Mutex // afters run one at a time
	closeMu  sync.Mutex
	leaders  map[*leader]struct{}
	closed   bool
	listenUp chan struct{} // closed once the first LISTEN is in place
	notifyMu sync.Mutex
	notifyTx map[store.Tx]bool // transactions that called Notify
	kick     chan struct{}     // commits to notify about (notifier)
}

var _ store.Driver = (*Driver)(nil)
var _ store.FeedHorizon = (*Driver)(nil)
var _ store.KeysMatcher = (*Driver)(nil)

// Open connects to the database at url (postgres://user:pass@host:port/db?…),
// starts listening for notifications and returns once it is. The schema is
// applied by the store (Migrations); Open only makes sure the table that
// records it exists, under the migration lock, so that replicas starting
// together do not race to create it.
func Open(ctx context.Context, url string, opts Options) (*Driver, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", redact(err, url))
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "lookalike"
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.LeaderCheck <= 0 {
		opts.LeaderCheck = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	d := &Driver{url: url, db: db, cfg: cfg, opts: opts, log: opts.Logger.With("subsystem", "postgres"),
		wake: make(chan struct{}, 1), kick: make(chan struct{}, 1), notifyTx: map[store.Tx]bool{}, leaders: map[*leader]struct{}{}, listenUp: make(chan struct{})}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	where := d.Server()
	if err := db.PingContext(ctx); err != nil {
		d.Close()
		return nil, d.Classify(fmt.Errorf("connect to PostgreSQL at %s: %w", where, err))
	}
	if err := d.Write(ctx, func(tx store.Tx) error {
		if err := d.LockKey(ctx, tx, 0, "migrate"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version text PRIMARY KEY, applied_at bigint NOT NULL)`)
		return err
	}, nil); err != nil {
		d.Close()
		return nil, fmt.Errorf("PostgreSQL at %s: %w", where, err)
	}
	d.bg.Add(3)
	go d.listen()
	go d.poll()
	go d.notifier()
	select {
	case <-d.listenUp:
	case <-ctx.Done():
		d.Close()
		return nil, fmt.Errorf("listen for notifications on %s: %w", where, ctx.Err())
	}
	return d, nil
}

// redact keeps a password in the URL out of an error message.
func redact(err error, url string) error {
	cfg, perr := pgconn.ParseConfig(url)
	if perr != nil || cfg.Password == "" {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), cfg.Password, "xxxxx"))
}

// Name is "postgres".
func (d *Driver) Name() string { return "postgres" }

// Migrations is the PostgreSQL schema.
func (d *Driver) Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// Server names the database: host:port/name, without credentials.
func (d *Driver) Server() string {
	return d.cfg.Host + ":" + strconv.Itoa(int(d.cfg.Port)) + "/" + d.cfg.Database
}

// URL is the database URL the driver was opened with.
func (d *Driver) URL() string { return d.url }

// DB is the connection pool (for tools such as lookalike migrate).
func (d *Driver) DB() *sql.DB { return d.db }

// Read is the connection pool: every committed write is visible to it.
func (d *Driver) Read() store.Querier { return d.db }

// maxAttempts bounds how often Write runs a transaction that keeps failing
// on a serialization failure or deadlock.
const maxAttempts = 10

// Write runs fn in a READ COMMITTED transaction and commits it. A
// serialization failure (40001) or deadlock (40P01), in fn or at commit,
// runs it again after a short random pause, and so does a connection lost
// before the commit was sent (a server restart, a failover, an idle
// connection ended): nothing was committed then. A connection lost during
// the commit is returned, since the commit may have happened. after runs
// once the commit returned and the connection is back in the pool, under
// a mutex: the afters of this process run one at a time, though not
// necessarily in commit order (a change hook compares seqs). Held across
// the commit, the mutex made writes waiting for it hold their connections,
// and an after that needed one (the index loading a stored vector, behind
// the feed's lock) waited for them: every webhook of the replica stopped.
func (d *Driver) Write(ctx context.Context, fn func(tx store.Tx) error, after func()) error {
	for attempt := 1; ; attempt++ {
		committing, err := d.writeOnce(ctx, fn, after)
		again := retryable(err) || (!committing && connLost(err))
		if err == nil || !again || attempt == maxAttempts || ctx.Err() != nil {
			return d.Classify(err)
		}
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6)))
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// writeOnce runs one attempt; committing says the error came from COMMIT
// (or from a round trip that held it: the commit may have happened).
func (d *Driver) writeOnce(ctx context.Context, fn func(tx store.Tx) error, after func()) (committing bool, err error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	tx := &pipeTx{conn: conn}
	tx.ExecLater("BEGIN ISOLATION LEVEL READ COMMITTED") // sent with the first statement that needs an answer
	err = fn(tx)
	if tx.err != nil { // a queued statement failed: what fn saw after it was only the aborted transaction
		err = tx.err
	}
	notify := d.notified(tx)
	if err != nil {
		tx.rollback()
		return false, err
	}
	tx.ExecLater("COMMIT")
	if err := tx.flush(ctx); err != nil {
		tx.rollback()
		return tx.committing, fmt.Errorf("commit: %w", err)
	}
	conn.Close() // back to the pool before after() waits for its turn
	if notify {
		d.signal() // this process at once
		select {
		case d.kick <- struct{}{}:
		default: // a NOTIFY is due already, and will be sent after this commit
		}
	}
	if after != nil {
		d.afterMu.Lock()
		defer d.afterMu.Unlock()
		after()
	}
	return false, nil
}

// pipeTx is a write transaction on one pooled connection, begun and ended
// by statements of its own so that they can share round trips with the
// others: statements queued with ExecLater and QueryRowLater (BEGIN first,
// COMMIT last) are sent together in pipeline mode, in one round trip, just
// before the next query or as the commit. A webhook is then three round
// trips: BEGIN with the product's lock; the product read; its writes with
// the COMMIT.
type pipeTx struct {
	conn       *sql.Conn
	queue      []queued
	sent       bool  // something has been sent: the transaction is open on the server
	err        error // the first error of a queued statement
	committing bool  // the failed flush held the COMMIT, and may have committed
}

type queued struct {
	sql  string
	args []any
	dest []any                                    // QueryRowLater's
	each func(scan func(dest ...any) error) error // QueryEach's
}

var _ store.Pipeliner = (*pipeTx)(nil)

// ExecLater queues a statement whose result is not needed.
func (t *pipeTx) ExecLater(query string, args ...any) {
	t.queue = append(t.queue, queued{sql: query, args: args})
}

// QueryRowLater queues a statement whose one row is scanned into dest when
// it is sent.
func (t *pipeTx) QueryRowLater(dest []any, query string, args ...any) {
	t.queue = append(t.queue, queued{sql: query, args: args, dest: dest})
}

// flush sends the queue in one round trip (pipeline mode, one Sync) and
// reads every result; the first error is kept in t.err and returned.
func (t *pipeTx) flush(ctx context.Context) error {
	if t.err != nil || len(t.queue) == 0 {
		return t.err
	}
	return t.send(ctx, nil)
}

// QueryEach sends the queue and query in one round trip and calls each
// with every row of query's answer (store.Pipeliner).
func (t *pipeTx) QueryEach(ctx context.Context, query string, args []any, each func(scan func(dest ...any) error) error) error {
	if t.err != nil {
		return t.err
	}
	return t.send(ctx, &queued{sql: query, args: args, each: each})
}

// send sends the queue, and last when not nil, in one round trip and reads
// every result; a queued statement's error is kept in t.err (the
// transaction is aborted then) and returned, and so is last's.
func (t *pipeTx) send(ctx context.Context, last *queued) error {
	q := t.queue
	t.queue = nil
	if last != nil {
		q = append(q, *last)
	}
	t.sent = true
	commit := q[len(q)-1].sql == "COMMIT"
	err := t.conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		var b pgx.Batch
		for _, s := range q {
			b.Queue(s.sql, s.args...)
		}
		br := pc.SendBatch(ctx, &b)
		var first error
		for _, s := range q {
			var err error
			switch {
			case s.each != nil:
				err = readEach(br, s.each)
			case s.dest != nil:
				err = br.QueryRow().Scan(s.dest...)
			default:
				_, err = br.Exec()
			}
			if err != nil && first == nil {
				first = fmt.Errorf("%s: %w", statementName(s.sql), err)
				var pe *pgconn.PgError
				// Only a statement the server refused before the
				// COMMIT is known not to have committed.
				t.committing = commit && !(errors.As(err, &pe) && s.sql != "COMMIT") && !pgconn.SafeToRetry(err)
			}
		}
		if err := br.Close(); err != nil && first == nil {
			first = err
			t.committing = commit && !pgconn.SafeToRetry(err)
		}
		return first
	})
	if err != nil {
		t.err = err
	}
	return err
}

// readEach calls each with every row of a batch's next result.
func readEach(br pgx.BatchResults, each func(scan func(dest ...any) error) error) error {
	rows, err := br.Query()
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

// statementName is the start of a statement, for an error message.
func statementName(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 40 {
		q = q[:40] + "…"
	}
	return q
}

// rollback ends a transaction that was begun on the server. A connection
// whose transaction could not be rolled back is not reused (the pool
// discards one left inside a transaction).
func (t *pipeTx) rollback() {
	if !t.sent {
		return
	}
	t.conn.ExecContext(context.Background(), "ROLLBACK")
}

// ExecContext sends the queue, then runs the statement.
func (t *pipeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.conn.ExecContext(ctx, query, args...)
}

// QueryContext sends the queue, then runs the query.
func (t *pipeTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.conn.QueryContext(ctx, query, args...)
}

// QueryRowContext sends the queue, then runs the query (which fails in the
// aborted transaction when a queued statement failed: Write then returns
// that statement's error).
func (t *pipeTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.flush(ctx)
	return t.conn.QueryRowContext(ctx, query, args...)
}

// retryable is a serialization failure or a deadlock: the transaction was
// rolled back and running it again may succeed.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// connLost is an error that ended the connection: the server shut down or
// ended the session (57P01-57P03), a connection exception (08…), or the
// network.
func connLost(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || strings.HasPrefix(pe.Code, "08")
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) || pgconn.SafeToRetry(err)
}

// hashKey maps a name to an advisory lock key.
func hashKey(parts ...string) int64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int64(h.Sum64())
}

// allKey is the advisory lock every LockKey shares and LockAll takes alone.
var allKey = hashKey("all")

// lockKeySQL takes a product's lock and shares the fleet's (LockAll) in one
// statement. PostgreSQL grants a lock already held by the transaction
// again at once, so a second LockKey never waits behind a LockAll that
// waits for the first.
const lockKeySQL = "SELECT pg_advisory_xact_lock_shared($1), pg_advisory_xact_lock($2)"

// LockKey takes a transaction advisory lock on (shop, id), held until tx
// ends, sharing the fleet's lock (LockAll). In a Write the locks are
// queued: they are taken when the next statement is sent, and before it
// runs (the statements of a pipeline run one after the other, each with a
// snapshot of its own), so what that statement reads is after every
// earlier holder's commit.
func (d *Driver) LockKey(ctx context.Context, tx store.Tx, shop int64, id string) error {
	key := hashKey("key", strconv.FormatInt(shop, 10), id)
	if p, ok := tx.(*pipeTx); ok {
		p.ExecLater(lockKeySQL, allKey, key)
		return nil
	}
	if _, err := tx.ExecContext(ctx, lockKeySQL, allKey, key); err != nil {
		return fmt.Errorf("lock %d/%s: %w", shop, id, err)
	}
	return nil
}

// LockAll takes the fleet's lock exclusively until tx ends: it waits for
// the transactions holding a LockKey, and new LockKeys wait for tx (a
// waiting exclusive request goes before shared ones that come later).
func (d *Driver) LockAll(ctx context.Context, tx store.Tx) error {
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", allKey); err != nil {
		return fmt.Errorf("lock every product: %w", err)
	}
	return nil
}

// KeysIn matches keys with an array of ids per shop (store.KeysMatcher):
// the statement's text depends only on how many shops there are (one,
// nearly always), so it is planned once and looks the ids up in the
// primary key; one term per key made a new statement for every length,
// planned each time, and a long OR that the planner scanned the table for.
func (d *Driver) KeysIn(keys []catalog.Key) (string, []any) {
	var shops []int64
	ids := map[int64][]string{}
	for _, k := range keys {
		if _, ok := ids[k.ShopID]; !ok {
			shops = append(shops, k.ShopID)
		}
		ids[k.ShopID] = append(ids[k.ShopID], string(k.ProductID))
	}
	if len(shops) == 0 {
		return "false", nil
	}
	terms := make([]string, len(shops))
	args := make([]any, 0, 2*len(shops))
	for i, shop := range shops {
		terms[i] = "(shop_id = ? AND product_id = ANY(?::text[]))"
		args = append(args, shop, ids[shop])
	}
	return strings.Join(terms, " OR "), args
}

// SkipLocked makes a claim pass over jobs another transaction is claiming.
func (d *Driver) SkipLocked() string { return "FOR UPDATE SKIP LOCKED" }

// Rebind numbers the "?" placeholders: $1, $2, …. A "?" inside a string
// literal, a quoted identifier or a comment is left alone.
func (d *Driver) Rebind(query string) string { return Rebind(query) }

// Rebind numbers the "?" placeholders of query (see Driver.Rebind).
func Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		case c == '\'' || c == '"':
			// A quoted literal or identifier: up to the closing quote (a
			// doubled quote is part of it; in E'…' a backslash escapes).
			escapes := c == '\'' && i > 0 && (query[i-1] == 'E' || query[i-1] == 'e')
			j := i + 1
			for ; j < len(query); j++ {
				if escapes && query[j] == '\\' {
					j++
				} else if query[j] == c {
					if j+1 < len(query) && query[j+1] == c {
						j++
					} else {
						break
					}
				}
			}
			end := min(j+1, len(query))
			b.WriteString(query[i:end])
			i = end - 1
			continue
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
			continue
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				end = len(query)
			} else {
				end += i + 4
			}
			b.WriteString(query[i:end])
			i = end - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Classify wraps a full disk (53100) as catalog.ErrStorageFull and data or
// index corruption (XX001, XX002) as catalog.ErrStorageCorrupt.
func (d *Driver) Classify(err error) error {
	if err == nil || errors.Is(err, catalog.ErrStorageCorrupt) || errors.Is(err, catalog.ErrStorageFull) {
		return err
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "53100": // disk_full
		return fmt.Errorf("%w: %w", catalog.ErrStorageFull, err)
	case "XX001", "XX002": // data_corrupted, index_corrupted
		return fmt.Errorf("%w: %w", catalog.ErrStorageCorrupt, err)
	}
	return err
}

// Wake fires after a notification from any process on the database (and
// every Poll in case one was missed).
func (d *Driver) Wake() <-chan struct{} { return d.wake }

func (d *Driver) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Notify makes Wake fire in every process listening once tx commits. The
// NOTIFY itself is sent after the commit, by one goroutine for many
// commits (notifier): a NOTIFY inside the transaction would take
// PostgreSQL's global notification lock until the commit is flushed,
// serialising every writing transaction of the fleet.
func (d *Driver) Notify(ctx context.Context, tx store.Tx) error {
	d.notifyMu.Lock()
	d.notifyTx[tx] = true
	d.notifyMu.Unlock()
	return nil
}

// notified forgets tx's Notify and reports whether there was one.
func (d *Driver) notified(tx store.Tx) bool {
	d.notifyMu.Lock()
	defer d.notifyMu.Unlock()
	ok := d.notifyTx[tx]
	delete(d.notifyTx, tx)
	return ok
}

// notifyGap is the shortest time between two NOTIFYs of one process: the
// commits meanwhile share the next one. Each NOTIFY is a transaction of its
// own with a WAL flush, and wakes every process on the database.
const notifyGap = 10 * time.Millisecond

// notifier sends one NOTIFY for the commits since the last one, at most one
// per notifyGap.
func (d *Driver) notifier() {
	defer d.bg.Done()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-d.kick:
		}
		sent := time.Now()
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
			_, err := d.db.ExecContext(ctx, "SELECT pg_notify('"+channel+"', '')")
			cancel()
			if err == nil || d.ctx.Err() != nil {
				break
			}
			// The others poll meanwhile; keep trying, as the commit is done.
			d.log.Warn("notify failed; retrying", "err", err)
			select {
			case <-time.After(min(time.Duration(100<<min(attempt, 6))*time.Millisecond, 5*time.Second)):
			case <-d.ctx.Done():
				return
			}
		}
		select {
		case <-time.After(notifyGap - time.Since(sent)):
		case <-d.ctx.Done():
			return
		}
	}
}

// listen holds a LISTEN on a dedicated connection, reconnecting with
// backoff; after each (re)connection it fires Wake, since notifications
// sent while it was down are lost.
func (d *Driver) listen() {
	defer d.bg.Done()
	backoff := 100 * time.Millisecond
	first := true
	for d.ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(d.ctx, d.cfg.Copy())
		if err == nil {
			if _, err = conn.Exec(d.ctx, "LISTEN "+channel); err != nil {
				conn.Close(context.Background())
			}
		}
		if err != nil {
			if d.ctx.Err() != nil {
				return
			}
			d.log.Warn("listen for notifications failed; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-d.ctx.Done():
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		d.signal()
		if first {
			close(d.listenUp)
			first = false
		} else {
			d.log.Info("listening for notifications again")
		}
		for {
			if _, err = conn.WaitForNotification(d.ctx); err != nil {
				break
			}
			d.signal()
		}
		conn.Close(context.Background())
		if d.ctx.Err() == nil {
			d.log.Warn("notification connection lost; reconnecting", "err", err)
		}
	}
}

func (d *Driver) poll() {
	defer d.bg.Done()
	t := time.NewTicker(d.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			d.signal()
		case <-d.ctx.Done():
			return
		}
	}
}

// FeedHorizon is a change seq at or below which every change is final
// (committed or rolled back), so a reader that reads only seq <= it never
// skips a change that commits later: seq is the writing transaction's id
// << 20 | n (see the migration), and every transaction with an id below
// the oldest one still running has ended. A long-running write transaction
// holds the horizon back until it ends.
func (d *Driver) FeedHorizon(ctx context.Context, q store.Querier) (int64, error) {
	var h int64
	err := q.QueryRowContext(ctx, "SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20) - 1").Scan(&h)
	if err != nil {
		return 0, d.Classify(fmt.Errorf("feed horizon: %w", err))
	}
	return h, nil
}

// Close stops listening, ends held leader locks and closes the pool.
func (d *Driver) Close() error {
	d.closeMu.Lock()
	if d.closed {
		d.closeMu.Unlock()
		return nil
	}
	d.closed = true
	ls := make([]*leader, 0, len(d.leaders))
	for l := range d.leaders {
		ls = append(ls, l)
	}
	d.closeMu.Unlock()
	for _, l := range ls {
		l.release()
	}
	d.cancel()
	d.bg.Wait()
	return d.db.Close()
}
