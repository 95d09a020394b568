package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/lookalike/lookalike/blob/s3blob"
	"github.com/lookalike/lookalike/migrate"
)

const migrateUsage = `Usage: lookalike migrate --to postgres://… [--blob-url s3://…] [--data-dir DIR]

Moves a data directory's SQLite database to PostgreSQL without re-embedding
anything: products and their photos, vectors, jobs, settings and webhook
deliveries, as they are. Refused while a server runs on DIR, and into a
database that holds another data directory's catalogue. A run cut short is
resumed by running it again; the row counts of both sides are compared at
the end. With --blob-url the photos are copied to that S3 bucket too
(credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Then start
the servers with LOOKALIKE_DATABASE_URL (and LOOKALIKE_BLOB_URL) set.

Example:
  systemctl stop lookalike
  lookalike migrate --data-dir /var/lib/lookalike --to 'postgres://lookalike:secret@db:5432/lookalike?sslmode=require'

Flags:
`

func (m *Main) runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, migrateUsage); fs.PrintDefaults() }
	ef := &envFlags{fs: fs, getenv: m.Getenv}
	var o migrate.Options
	ef.str(&o.DataDir, "data-dir", "LOOKALIKE_DATA_DIR", "./lookalike-data", "the data directory whose SQLite database is moved")
	ef.secret(&o.DatabaseURL, "to", "LOOKALIKE_DATABASE_URL", "the PostgreSQL database to move it to (postgres://user:password@host:5432/db?sslmode=…)")
	var blobURL string
	ef.str(&blobURL, "blob-url", "LOOKALIKE_BLOB_URL", "", "s3://bucket/prefix?endpoint=…: copy the photos to this S3 bucket too; empty: they stay in the data directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ef.parsed()
	if len(ef.errs) > 0 {
		return &usageError{fmt.Sprint(ef.errs)}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("migrate takes no arguments, got %q", fs.Args())}
	}
	if o.DatabaseURL == "" {
		fs.Usage()
		return &usageError{"migrate needs --to postgres://…"}
	}
	log, err := newLogger(m.Stderr, "text", "info")
	if err != nil {
		return err
	}
	o.Log = log
	if blobURL != "" {
		b, err := s3blob.Open(ctx, blobURL)
		if err != nil {
			return fmt.Errorf("migrate: --blob-url: %w", err)
		}
		o.Blobs = b.Images()
	}
	start := time.Now()
	rep, err := migrate.ToPostgres(ctx, o)
	for _, c := range rep.Tables {
		fmt.Fprintf(m.Stdout, "%-20s %8d rows, %8d copied now, %8d in PostgreSQL\n", c.Name, c.Source, c.Copied, c.Dest)
	}
	if p := rep.Photos; p != nil {
		fmt.Fprintf(m.Stdout, "%-20s %8d, %8d copied now, %8d in the image store\n", "photos", p.Source, p.Copied, p.Dest)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "migrated %s in %s: counts verified\n", o.DataDir, time.Since(start).Round(time.Millisecond))
	return nil
}
