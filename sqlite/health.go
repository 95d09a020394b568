package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/catalog"
	msqlite "modernc.org/sqlite"
)

// SQLite primary result codes the store tells apart.
const (
	codeCorrupt = 11 // SQLITE_CORRUPT
	codeFull    = 13 // SQLITE_FULL
	codeNotADB  = 26 // SQLITE_NOTADB
)

// Recovery says what to do about a damaged database; it ends every
// corruption message.
const Recovery = "stop the server and restore the data directory from a backup " +
	"('lookalike restore BACKUP --data-dir DIR --force'), or salvage what is readable with " +
	"'sqlite3 lookalike.db .recover | sqlite3 recovered.db' and start on that; see README, \"Backup and restore\""

// classify wraps err with catalog.ErrStorageCorrupt or catalog.ErrStorageFull
// when SQLite says the database is damaged or the disk is full.
func classify(err error) error {
	if err == nil || errors.Is(err, catalog.ErrStorageCorrupt) || errors.Is(err, catalog.ErrStorageFull) {
		return err
	}
	var se *msqlite.Error
	code := -1
	if errors.As(err, &se) {
		code = se.Code() & 0xff
	}
	msg := err.Error()
	switch {
	case code == codeCorrupt || code == codeNotADB || strings.Contains(msg, "database disk image is malformed") ||
		strings.Contains(msg, "file is not a database"):
		return fmt.Errorf("%w: %w", catalog.ErrStorageCorrupt, err)
	case code == codeFull || strings.Contains(msg, "database or disk is full"):
		return fmt.Errorf("%w: %w", catalog.ErrStorageFull, err)
	}
	return err
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
	err = classify(err)
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
	s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('probe_at', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, time.Now().UTC().Format(time.RFC3339Nano))
		return err
	}, nil)
	return s.Fault()
}

// QuickCheck runs SQLite's PRAGMA quick_check over the whole database and
// returns how long it took; a damaged database is an error wrapping
// catalog.ErrStorageCorrupt that lists the first problems and what to do.
func QuickCheck(ctx context.Context, db *sql.DB) (time.Duration, error) {
	t0 := time.Now()
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check(20)")
	if err != nil {
		return time.Since(t0), classify(fmt.Errorf("check database: %w", err))
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return time.Since(t0), classify(fmt.Errorf("check database: %w", err))
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return time.Since(t0), classify(fmt.Errorf("check database: %w", err))
	}
	if len(problems) > 0 {
		return time.Since(t0), fmt.Errorf("%w: quick_check found: %s", catalog.ErrStorageCorrupt, strings.Join(problems, "; "))
	}
	return time.Since(t0), nil
}

// CheckTook is how long the quick_check at Open took.
func (s *Store) CheckTook() time.Duration { return s.checkTook }
