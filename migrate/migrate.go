// Package migrate moves a SQLite data directory to PostgreSQL (and its
// photos to another image store, such as S3) without re-embedding
// anything: products, their photos, embeddings, jobs, settings and
// webhook deliveries are copied row by row, as they are. Behind
// `lookalike migrate`.
//
// A run holds the data directory's lock (no server may run on it
// meanwhile), creates the PostgreSQL schema if needed, copies each table in
// batches with ON CONFLICT DO NOTHING, so that a run cut short is resumed by
// running it again, and ends by comparing the row counts (and the photos)
// on both sides. A destination that belongs to another data directory
// (another data_dir_id) is refused.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/datadir"
	"github.com/lookalike/lookalike/postgres"
	"github.com/lookalike/lookalike/sqlite"
	"github.com/lookalike/lookalike/store"
)

// Options say what to move where.
type Options struct {
	DataDir     string      // the SQLite data directory
	DatabaseURL string      // the PostgreSQL database (postgres://…)
	Blobs       blob.Images // where the photos go; nil: they stay in the data directory
	Batch       int         // rows per insert (default 500)
	Log         *slog.Logger

	stopAfter int // tests: fail after this many batches, as a run cut short would
}

// Count is one table's (or the photos') rows on each side.
type Count struct {
	Name   string
	Source int64
	Copied int64 // inserted by this run (rows already there are skipped)
	Dest   int64
}

// Report is what a run copied; every Count has Source == Dest when it
// returns without error.
type Report struct {
	Tables []Count
	Photos *Count // nil without Options.Blobs
}

// tables are copied in this order (settings first: the data directory's id
// ties the destination to its source).
var tables = []struct{ name, order string }{
	{"settings", "key"},
	{"embeddings", "image_sha256, model"},
	{"products", "shop_id, product_id"},
	{"product_images", "shop_id, product_id, position"},
	{"jobs", "id"},
	{"webhook_deliveries", "id"},
}

const dataDirIDKey = "data_dir_id"

// ErrForeignDestination: the PostgreSQL database (or the image store) holds
// the data of another data directory.
var ErrForeignDestination = errors.New("the destination belongs to another data directory")

// ToPostgres copies o.DataDir's database to o.DatabaseURL (and its photos
// to o.Blobs), then verifies the counts.
func ToPostgres(ctx context.Context, o Options) (Report, error) {
	var rep Report
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	log := o.Log.With("subsystem", "migrate")
	path := filepath.Join(o.DataDir, datadir.DBFile)
	if _, err := os.Stat(path); err != nil {
		return rep, fmt.Errorf("no SQLite database to migrate in %s: %w", o.DataDir, err)
	}
	lock, err := datadir.Acquire(o.DataDir)
	if err != nil {
		return rep, err
	}
	defer lock.Close()
	// Opening the store brings the source's schema up to date and checks it.
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return rep, err
	}
	s.Close()
	src, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return rep, err
	}
	defer src.Close()

	d, err := postgres.Open(ctx, o.DatabaseURL, postgres.Options{Logger: o.Log})
	if err != nil {
		return rep, err
	}
	dst, err := store.Open(ctx, d) // applies the PostgreSQL schema
	if err != nil {
		d.Close()
		return rep, err
	}
	defer dst.Close()
	db := d.DB()

	id, err := setting(ctx, src, "?", dataDirIDKey)
	if err != nil {
		return rep, err
	}
	if other, err := setting(ctx, db, "$1", dataDirIDKey); err != nil {
		return rep, err
	} else if other != "" && other != id {
		return rep, fmt.Errorf("%w: %s has data_dir_id %s, %s has %s", ErrForeignDestination, "the PostgreSQL database", other, o.DataDir, id)
	}
	if o.Blobs != nil {
		if marker, err := o.Blobs.ID(ctx); err != nil {
			return rep, err
		} else if marker != "" && marker != id {
			return rep, fmt.Errorf("%w: the image store has id %s, %s has %s", ErrForeignDestination, marker, o.DataDir, id)
		}
	}

	batches := 0
	for _, t := range tables {
		c := Count{Name: t.name}
		start := time.Now()
		if err := copyTable(ctx, src, db, t.name, t.order, o.Batch, &c, func() error {
			if batches++; o.stopAfter > 0 && batches >= o.stopAfter {
				return errors.New("stopped (test)")
			}
			return nil
		}); err != nil {
			return rep, fmt.Errorf("copy %s: %w", t.name, err)
		}
		log.Info("table copied", "table", t.name, "rows", c.Source, "inserted", c.Copied, "ms", time.Since(start).Milliseconds())
		rep.Tables = append(rep.Tables, c)
	}
	// Job ids were copied; new ones continue after them. Leases of the
	// process that ran on SQLite are void (we hold its lock).
	if _, err := db.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('jobs', 'id'), greatest((SELECT max(id) FROM jobs), 1))`); err != nil {
		return rep, fmt.Errorf("job ids: %w", err)
	}
	if _, err := dst.ExpireLeases(ctx, time.Now()); err != nil {
		return rep, err
	}

	if o.Blobs != nil {
		c, err := copyPhotos(ctx, filepath.Join(o.DataDir, datadir.ImagesDir), o.Blobs, id)
		if err != nil {
			return rep, err
		}
		log.Info("photos copied", "photos", c.Source, "copied", c.Copied)
		rep.Photos = &c
	}
	return rep, verify(ctx, src, db, &rep)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func setting(ctx context.Context, q querier, ph, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = "+ph, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// columns lists a SQLite table's columns.
func columns(ctx context.Context, src *sql.DB, table string) ([]string, error) {
	rows, err := src.QueryContext(ctx, "SELECT name FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("the SQLite database has no table %s", table)
	}
	return cols, rows.Err()
}

// copyTable streams table from src in key order and inserts it into dst in
// batches, each in one transaction; rows already there are left alone.
func copyTable(ctx context.Context, src, dst *sql.DB, table, order string, batch int, c *Count, afterBatch func() error) error {
	cols, err := columns(ctx, src, table)
	if err != nil {
		return err
	}
	rows, err := src.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table+" ORDER BY "+order)
	if err != nil {
		return err
	}
	defer rows.Close()
	override := ""
	if table == "jobs" {
		override = " OVERRIDING SYSTEM VALUE" // jobs.id is an identity column
	}
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ")" + override + " VALUES "
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		n := len(args) / len(cols)
		var q strings.Builder
		q.WriteString(head)
		for r := range n {
			if r > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for i := range cols {
				if i > 0 {
					q.WriteByte(',')
				}
				fmt.Fprintf(&q, "$%d", r*len(cols)+i+1)
			}
			q.WriteByte(')')
		}
		q.WriteString(" ON CONFLICT DO NOTHING")
		res, err := dst.ExecContext(ctx, q.String(), args...)
		if err != nil {
			return err
		}
		inserted, _ := res.RowsAffected()
		c.Copied += inserted
		args = args[:0]
		return afterBatch()
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		args = append(args, vals...)
		c.Source++
		if len(args)/len(cols) >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// copyPhotos puts every photo of the data directory's image store that the
// destination lacks, and marks the destination with the data directory's id.
func copyPhotos(ctx context.Context, dir string, to blob.Images, id string) (Count, error) {
	c := Count{Name: "photos"}
	from, err := blob.Open(dir)
	if err != nil {
		return c, err
	}
	have, err := shas(ctx, to)
	if err != nil {
		return c, fmt.Errorf("list the destination's photos: %w", err)
	}
	var all []string
	err = from.Walk(ctx, func(sha string, _ time.Time) error {
		c.Source++
		all = append(all, sha)
		if have[sha] {
			return nil
		}
		b, err := from.Get(ctx, sha)
		if err != nil {
			return err
		}
		if err := to.Put(ctx, sha, b); err != nil {
			return err
		}
		c.Copied++
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("copy photos: %w", err)
	}
	if id != "" {
		if err := to.SetID(ctx, id); err != nil {
			return c, err
		}
	}
	// What the destination lists now, of the source's photos.
	if have, err = shas(ctx, to); err != nil {
		return c, err
	}
	for _, sha := range all {
		if have[sha] {
			c.Dest++
		}
	}
	return c, nil
}

func shas(ctx context.Context, s blob.Store) (map[string]bool, error) {
	m := map[string]bool{}
	err := s.Walk(ctx, func(sha string, _ time.Time) error { m[sha] = true; return nil })
	return m, err
}

// verify counts each table's rows on both sides (and the photos).
func verify(ctx context.Context, src, dst *sql.DB, rep *Report) error {
	var bad []string
	for i := range rep.Tables {
		c := &rep.Tables[i]
		if err := src.QueryRowContext(ctx, "SELECT count(*) FROM "+c.Name).Scan(&c.Source); err != nil {
			return err
		}
		if err := dst.QueryRowContext(ctx, "SELECT count(*) FROM "+c.Name).Scan(&c.Dest); err != nil {
			return err
		}
		if c.Source != c.Dest {
			bad = append(bad, fmt.Sprintf("%s: %d rows in SQLite, %d in PostgreSQL", c.Name, c.Source, c.Dest))
		}
	}
	if p := rep.Photos; p != nil && p.Dest != p.Source {
		bad = append(bad, fmt.Sprintf("photos: %d in the data directory, %d of them in the image store", p.Source, p.Dest))
	}
	if len(bad) > 0 {
		return fmt.Errorf("verification failed (run migrate again to resume; the SQLite side must not change meanwhile): %s", strings.Join(bad, "; "))
	}
	return nil
}
