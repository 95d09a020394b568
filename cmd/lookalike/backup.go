package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/lookalike/lookalike/blob/s3blob"
	"github.com/lookalike/lookalike/datadir"
)

const backupUsage = `Usage: lookalike backup [--data-dir DIR] DEST

Writes a consistent copy of a data directory into DEST (a new or empty
directory): a snapshot of the database, then every stored photo it refers
to, then checks the copy. It may run while the server runs on DIR (the
server skips pruning photos meanwhile). With LOOKALIKE_BLOB_URL set, the
photos are read from that bucket. DEST is itself a data directory;
bring it back with 'lookalike restore'.

Example:
  lookalike backup --data-dir /var/lib/lookalike /backup/lookalike-$(date +%F)

Flags:
`

const restoreUsage = `Usage: lookalike restore SRC --data-dir DIR [--force]

Checks the backup SRC (database quick_check, every photo present and
intact) and copies it into the data directory DIR. DIR must hold no
database or photos unless --force is given; then they are moved into
DIR/replaced-<time>, not deleted. Refused while a server runs on DIR.

Example:
  systemctl stop lookalike
  lookalike restore /backup/lookalike-2026-12-01 --data-dir /var/lib/lookalike --force
  systemctl start lookalike

Flags:
`

// parseDataDirArgs parses `NAME [--data-dir DIR] [--force] ARG` (flags
// before or after ARG).
func (m *Main) parseDataDirArgs(name, usage, what string, withForce bool, args []string) (dir, arg string, force bool, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, usage); fs.PrintDefaults() }
	ef := &envFlags{fs: fs, getenv: m.Getenv}
	ef.str(&dir, "data-dir", "LOOKALIKE_DATA_DIR", "./lookalike-data", "the data directory")
	if withForce {
		fs.BoolVar(&force, "force", false, "move what DIR holds aside (into DIR/replaced-<time>) and restore over it")
	}
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return "", "", false, err
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", "", false, &usageError{fmt.Sprintf("%s needs exactly one %s directory", name, what)}
	}
	return dir, pos[0], force, nil
}

func (m *Main) runBackup(ctx context.Context, args []string) error {
	dir, dest, _, err := m.parseDataDirArgs("backup", backupUsage, "DEST", false, args)
	if err != nil {
		return err
	}
	var rep datadir.Report
	if u := m.Getenv("LOOKALIKE_BLOB_URL"); u != "" { // the photos are in a bucket
		b, oerr := s3blob.Open(ctx, u)
		if oerr != nil {
			return fmt.Errorf("backup: LOOKALIKE_BLOB_URL: %w", oerr)
		}
		rep, err = datadir.BackupFrom(ctx, dir, b.Images(), dest)
	} else {
		rep, err = datadir.Backup(ctx, dir, dest)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "backed up %s to %s: %d products, database %s, %d photos (%s), checked, in %s\n",
		dir, dest, rep.Products, humanSize(rep.DBBytes), rep.Images, humanSize(rep.Bytes), rep.Took.Round(time.Millisecond))
	m.warnMissing(rep)
	return nil
}

func (m *Main) runRestore(ctx context.Context, args []string) error {
	dir, src, force, err := m.parseDataDirArgs("restore", restoreUsage, "SRC backup", true, args)
	if err != nil {
		return err
	}
	rep, err := datadir.Restore(ctx, src, dir, force)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "restored %s into %s: %d products, %d photos (%s), in %s; start the server on it\n",
		src, dir, rep.Products, rep.Images, humanSize(rep.Bytes), rep.Took.Round(time.Millisecond))
	m.warnMissing(rep)
	return nil
}

func (m *Main) warnMissing(rep datadir.Report) {
	if len(rep.Missing) > 0 {
		fmt.Fprintf(m.Stderr, "warning: %d photos the database refers to were not in the source (e.g. %s); 'lookalike verify --repair' on the server fetches them again\n",
			len(rep.Missing), rep.Missing[0])
	}
}
