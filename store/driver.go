// Package store is the catalogue, the vector store, the reindex queue and
// the change feed, written once over a small Driver: every SQL statement and
// every control flow lives here, the domain decisions in package catalog,
// and an engine (package sqlite, package postgres) only supplies
// transactions, connections and what its SQL dialect does differently.
//
// Interface history (newest first; a change to Driver, Querier, Tx or Change
// is noted here when it lands):
//
//   - 2026-12-02 (fewer round trips): Pipeliner gains QueryEach, a query
//     sent with the queue in one round trip; ApplyEvent's lock, delivery
//     check and product read now go together (two round trips a webhook
//     on PostgreSQL: that batch, then the writes with the COMMIT).
//   - 2026-12-02 (pipelined writes): Driver unchanged; a driver may
//     implement KeysMatcher (PostgreSQL does: GetMany, List and the
//     feed's reads use it); a driver's Tx may
//     implement Pipeliner (PostgreSQL does), and the store then queues
//     the writes whose results it does not read (product rows, photos,
//     jobs, change rows and deliveries of ApplyEvent and the like) to go
//     with the next query or the commit.
//   - 2026-12-02 (fleet truth): TryLeader returns the leadership's context
//     too (ended when the lock is lost or released; Store.TryLeader merges
//     it with the caller's, and housekeeping and the model migration run
//     under it). LockAll (new): the fleet-wide lock every LockKey shares,
//     taken exclusively by a model switch, so that no product's
//     read-decide-write straddles the switch. Tables replicas and activity
//     (migrations 0008 on SQLite, 0002 on PostgreSQL).
//   - 2026-12-02 (change feed): Driver unchanged. Clarified: TryLeader is
//     exclusive within one process too (a second TryLeader of a held name
//     is refused even on the same connection: PostgreSQL's session locks are
//     re-entrant, so keep an in-process mutex beside them). The change feed
//     table is changes (below); migrations 0007 on SQLite. Store.Changes
//     bounds its read by FeedHorizon when the driver has it. Store API:
//     ChangeHook gets the change's seq; Changes, LastChange, PruneChanges,
//     ChangesAvailable, TryLeader; SetModelCheck is gone (settings row
//     serving_model, read by Settle in its transaction).
//     storetest.Run(t, open, again): again opens a second driver on the
//     database of a first (nil: the tests needing it skip).
//   - 2026-12-02: first version, as agreed in the seam contract.
//
// # What a driver provides
//
// Schema: Migrations returns the engine's own migration files, applied in
// name order by the store (each in one Write, under LockKey(0, "migrate"),
// recorded in schema_migrations(version TEXT PRIMARY KEY, applied_at
// BIGINT)). The tables and columns are the same on every engine (see
// sqlite/migrations for the reference schema); their types follow these
// rules, so that one SQL text and one set of Go arguments work everywhere:
//
//   - times are BIGINT microseconds since the Unix epoch (UTC);
//   - flags (products.is_available, jobs.transient, product_images.transient,
//     webhook_deliveries.reindex_triggered and .changed) are integers 0/1:
//     the store passes int64 arguments and scans them into bool;
//   - product ids are TEXT, shop ids BIGINT, vectors a byte string
//     (BLOB/bytea) of little-endian float32s, products.extra TEXT (JSON);
//   - jobs.id and changes.seq are generated BIGINT keys (SQLite INTEGER
//     PRIMARY KEY, PostgreSQL GENERATED ALWAYS AS IDENTITY); the store never
//     supplies them;
//   - the change feed is changes(seq, shop_id BIGINT, product_id TEXT,
//     at BIGINT), index changes(at); PostgreSQL may add columns of its own
//     (the writing transaction's id, for FeedHorizon);
//   - the model in service is settings row 'serving_model'
//     (store.SettingServingModel): Settle reads it in its transaction and
//     refuses vectors of another model;
//   - a product's change row is written under its LockKey, and the store
//     takes a transaction's product locks before its first write, so one
//     product's seqs follow its commit order also where a seq comes from
//     the transaction id (the in-memory index relies on it: an older
//     change never overwrites a newer one).
//
// SQL: the store writes "?" placeholders and passes every statement through
// Rebind; it uses only what both engines accept (ON CONFLICT … DO UPDATE SET
// … = excluded.…, RETURNING, EXISTS, coalesce, CASE, LIMIT) and appends
// SkipLocked() to the subquery that picks a job to claim.
package store

import (
	"context"
	"database/sql"
	"io/fs"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// Driver is one database engine.
type Driver interface {
	// Name is the engine's name: "sqlite", "postgres".
	Name() string

	// Migrations is the engine's schema, one file per version; the store
	// applies the files (*.sql at the root of the FS) in name order.
	Migrations() fs.FS

	// Write runs fn in one transaction and returns after a durable commit
	// (fn's error: rolled back, returned). after, when not nil, runs once
	// the transaction has committed; afters run one at a time (it must not
	// call Write): on SQLite in commit order; on PostgreSQL perhaps not (the
	// change hook compares seqs), and with the transaction's connection
	// back in the pool, so that an after that reads the database, or waits
	// for one that does, cannot find every connection held by writes
	// waiting for their turn. fn may be run more than once (a retried serialization
	// failure): it must only touch the database and its own variables,
	// resetting them at its start.
	//
	// SQLite: the one writer goroutine groups concurrent calls into one
	// transaction, each fn in its own savepoint. PostgreSQL: a pooled
	// transaction, retried on serialization failure or deadlock.
	Write(ctx context.Context, fn func(tx Tx) error, after func()) error

	// Read is for queries outside a write (SQLite: the reader pool). What
	// it sees may lag a Write that has returned by nothing at all: a
	// committed write is visible to every later Read.
	Read() Querier

	// LockKey takes a lock on one product (or any other (shop, id) name)
	// until tx ends, so that read-decide-write in one transaction cannot
	// interleave with another process's on the same key. It also shares
	// the lock LockAll takes: while a LockAll transaction runs, LockKey
	// waits. PostgreSQL: pg_advisory_xact_lock of a hash, beside
	// pg_advisory_xact_lock_shared of the fleet's key, in one statement;
	// SQLite: nothing (one writer).
	LockKey(ctx context.Context, tx Tx, shop int64, id string) error

	// LockAll takes, until tx ends, the lock every LockKey shares: it waits
	// for every transaction holding a LockKey to end and keeps new ones
	// waiting until tx ends, so that tx sees and changes every product
	// alone (a model switch) without holding one lock per product, which
	// PostgreSQL's lock table could not hold for a large catalogue. Take it
	// before any LockKey of tx. PostgreSQL: pg_advisory_xact_lock of the
	// fleet's key; SQLite: nothing (one writer).
	LockAll(ctx context.Context, tx Tx) error

	// SkipLocked is appended to the SELECT that picks a job to claim:
	// "FOR UPDATE SKIP LOCKED" on PostgreSQL, "" on SQLite.
	SkipLocked() string

	// Rebind turns the store's "?" placeholders into the engine's ("$1",
	// "$2", … on PostgreSQL; the query unchanged on SQLite).
	Rebind(query string) string

	// Classify wraps an engine error meaning a damaged database with
	// catalog.ErrStorageCorrupt and one meaning a full disk with
	// catalog.ErrStorageFull; any other error (and nil) is returned as
	// it is. The store records what it classifies (Store.Fault).
	Classify(err error) error

	// Wake is signalled (without blocking, so one signal may stand for
	// many) after jobs or changes may have been committed by any process
	// on the database: PostgreSQL LISTEN/NOTIFY, SQLite in-process.
	Wake() <-chan struct{}

	// Notify, inside a Write, makes Wake fire in every process once tx
	// commits (pg_notify; SQLite: signalled after the commit).
	Notify(ctx context.Context, tx Tx) error

	// TryLeader takes the named fleet-wide lock if it is free: ok false
	// when another holder has it. release gives it back (also when the
	// process dies: PostgreSQL pg_try_advisory_lock on a dedicated
	// connection; SQLite: an in-process mutex, the data directory's flock
	// keeps other processes out). lctx ends when the lock is lost (its
	// connection failed: another process may hold it now; the cause says
	// so) or released; work done as leader runs under it. ctx only bounds
	// taking the lock.
	TryLeader(ctx context.Context, name string) (lctx context.Context, release func(), ok bool, err error)

	// Close closes the database; writes after it return an error.
	Close() error
}

// FeedHorizon is implemented by drivers whose sequence numbers are not
// handed out in commit order (PostgreSQL): FeedHorizon returns the highest
// changes.seq below which every change is committed or rolled back, so that
// a reader that stops there never skips a row that commits later. Without
// it every committed seq is safe (SQLite commits in sequence order).
type FeedHorizon interface {
	FeedHorizon(ctx context.Context, q Querier) (int64, error)
}

// KeysMatcher is implemented by drivers that match a list of product keys
// better than one term per key (PostgreSQL: an array): KeysIn returns a
// condition on the columns shop_id and product_id that is true for the
// keys given, and its arguments.
type KeysMatcher interface {
	KeysIn(keys []catalog.Key) (string, []any)
}

// Querier runs statements; *sql.DB, *sql.Conn and *sql.Tx satisfy it. The
// queries it gets are already rebound.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is the transaction a Write runs in.
type Tx interface{ Querier }

// Pipeliner is implemented by a Tx that can hold statements back and send
// them together with the next one that needs an answer (a query, or the
// commit), in one round trip (PostgreSQL's pipeline mode). The store
// queues with it the writes whose results it does not read, in order with
// everything else the transaction runs. An error of a queued statement
// fails the transaction when it is sent: the statement after it (a query)
// fails too, and Write returns the queued statement's error.
type Pipeliner interface {
	// ExecLater queues a statement (already rebound).
	ExecLater(query string, args ...any)
	// QueryRowLater queues a statement returning one row, scanned into
	// dest when it is sent (before Write returns, and before the after
	// callback runs).
	QueryRowLater(dest []any, query string, args ...any)
	// QueryEach sends the queue and then query (already rebound) in one
	// round trip, and calls each with every row of query's answer, in
	// order (scan is valid only during the call); the queued statements'
	// destinations are filled in before. The first error (of a queued
	// statement, of query or of each) is returned.
	QueryEach(ctx context.Context, query string, args []any, each func(scan func(dest ...any) error) error) error
}

// Change is one row of the change feed: the product's searchable state
// (its row, its photos, whether it is indexed and with which vectors) may
// have changed in the transaction that wrote it. A reader re-reads the
// product by key; applying the same change twice is harmless.
type Change struct {
	Seq int64 // increasing; Store.Changes(after) returns the rows after a seq
	Key catalog.Key
	At  time.Time // when it was written
}
