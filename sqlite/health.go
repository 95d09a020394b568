package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
