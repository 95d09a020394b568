package datadir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/sqlite"
)

// Report describes a backup, a restore or a check of a backup.
type Report struct {
	Products int64         // products in the database (live and deleted)
	Images   int           // image files the database refers to, copied or checked
	Bytes    int64         // bytes of those images
	DBBytes  int64         // size of the database file
	Missing  []string      // images the database refers to that the source lacks (a later verify refetches them)
	Took     time.Duration // the whole operation
}

// Backup writes a consistent copy of the data directory dir into dest (a
// new or empty directory): a snapshot of the database (VACUUM INTO, one
// read transaction, so it may run beside a serving process), then every
// image that snapshot refers to. Images are named by their content, so a
// copy made after the snapshot is the same file; while Backup runs, the
// server's housekeeping skips pruning (HoldForBackup), so none of them goes
// away meanwhile. Thumbnails are a cache and are not copied. dest is laid
// out as a data directory itself, and is checked (CheckBackup) at the end.
func Backup(ctx context.Context, dir, dest string) (Report, error) {
	images, err := blob.Open(filepath.Join(dir, ImagesDir))
	if err != nil {
		return Report{}, fmt.Errorf("backup: %w", err)
	}
	return BackupFrom(ctx, dir, images, dest)
}

// BackupFrom is Backup with the photos read from images (the server's
// image store, such as a bucket) rather than dir's images/; dest holds
// them as files either way.
func BackupFrom(ctx context.Context, dir string, images blob.Store, dest string) (Report, error) {
	t0 := time.Now()
	var rep Report
	src := filepath.Join(dir, DBFile)
	if _, err := os.Stat(src); err != nil {
		return rep, fmt.Errorf("backup: no database in %s: %w", dir, err)
	}
	if err := emptyOrNew(dest); err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	release, err := HoldForBackup(dir)
	if err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	defer release()

	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	partial := filepath.Join(dest, DBFile+".partial")
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", partial); err != nil {
		os.Remove(partial)
		return rep, fmt.Errorf("backup: snapshot the database: %w", err)
	}
	if err := syncFile(partial); err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	snap := filepath.Join(dest, DBFile)
	if err := os.Rename(partial, snap); err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	shas, id, err := referenced(ctx, snap, &rep)
	if err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	to, err := blob.Open(filepath.Join(dest, ImagesDir))
	if err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	for _, sha := range shas {
		n, err := copyImage(ctx, images, to, sha)
		if errors.Is(err, fs.ErrNotExist) {
			rep.Missing = append(rep.Missing, sha)
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("backup: %w", err)
		}
		rep.Images++
		rep.Bytes += n
	}
	if err := markImages(ctx, dest, id); err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	release()
	if err := syncDir(dest); err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	check, err := CheckBackup(ctx, dest)
	if err != nil {
		return rep, err
	}
	rep.DBBytes = check.DBBytes
	rep.Took = time.Since(t0)
	return rep, nil
}

// CheckBackup checks a backup (or any stopped data directory): the
// database passes quick_check, every image it refers to is present and its
// bytes hash to its name, and the image marker names the database's data
// directory.
func CheckBackup(ctx context.Context, dir string) (Report, error) {
	t0 := time.Now()
	var rep Report
	db := filepath.Join(dir, DBFile)
	st, err := os.Stat(db)
	if err != nil {
		return rep, fmt.Errorf("check backup: no database: %w", err)
	}
	rep.DBBytes = st.Size()
	shas, id, err := referenced(ctx, db, &rep)
	if err != nil {
		return rep, fmt.Errorf("check backup %s: %w", dir, err)
	}
	images, err := blob.Open(filepath.Join(dir, ImagesDir))
	if err != nil {
		return rep, err
	}
	if marker, err := images.ID(ctx); err != nil || marker != id {
		return rep, fmt.Errorf("check backup %s: images/%s is %q, the database's id is %q (%v)", dir, blob.IDFile, marker, id, err)
	}
	var bad []string
	for _, sha := range shas {
		b, err := images.Get(ctx, sha)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			rep.Missing = append(rep.Missing, sha)
		case err != nil:
			return rep, fmt.Errorf("check backup: %w", err)
		case blob.Sum(b) != sha:
			bad = append(bad, sha)
		default:
			rep.Images++
			rep.Bytes += int64(len(b))
		}
	}
	if len(bad) > 0 {
		return rep, fmt.Errorf("check backup %s: %d damaged images, e.g. %s", dir, len(bad), bad[0])
	}
	rep.Took = time.Since(t0)
	return rep, nil
}

// referenced checks the database at path with quick_check and returns the
// images its products' photos refer to and its data directory id.
func referenced(ctx context.Context, path string, rep *Report) ([]string, string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, "", err
	}
	defer db.Close()
	if _, err := sqlite.QuickCheck(ctx, db); err != nil {
		return nil, "", fmt.Errorf("database %s: %w", path, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM products").Scan(&rep.Products); err != nil {
		return nil, "", fmt.Errorf("database %s: %w", path, err)
	}
	var id string
	if err := db.QueryRowContext(ctx, "SELECT coalesce((SELECT value FROM settings WHERE key = 'data_dir_id'), '')").Scan(&id); err != nil {
		return nil, "", fmt.Errorf("database %s: %w", path, err)
	}
	// Every photo of every product (product_images, since migration 0006;
	// a backup of an older version has only the products' single photo).
	q := "SELECT image_sha256 FROM products WHERE image_sha256 != ''"
	var gallery bool
	if err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'product_images')").Scan(&gallery); err != nil {
		return nil, "", fmt.Errorf("database %s: %w", path, err)
	}
	if gallery {
		q += " UNION SELECT sha256 FROM product_images WHERE sha256 != ''"
	}
	rows, err := db.QueryContext(ctx, q+" ORDER BY 1")
	if err != nil {
		return nil, "", fmt.Errorf("database %s: %w", path, err)
	}
	defer rows.Close()
	var shas []string
	for rows.Next() {
		var sha string
		if err := rows.Scan(&sha); err != nil {
			return nil, "", err
		}
		if len(sha) == 64 {
			shas = append(shas, sha)
		}
	}
	return shas, id, rows.Err()
}

// markImages writes the image marker of a copied data directory.
func markImages(ctx context.Context, dir, id string) error {
	images, err := blob.Open(filepath.Join(dir, ImagesDir))
	if err != nil {
		return err
	}
	return images.SetID(ctx, id)
}

// copyImage copies one stored image, checking its hash (the image store
// refuses bytes that do not hash to the name), and returns its size.
func copyImage(ctx context.Context, from blob.Store, to *blob.Dir, sha string) (int64, error) {
	b, err := from.Get(ctx, sha)
	if err != nil {
		return 0, err
	}
	if err := to.Put(ctx, sha, b); errors.Is(err, blob.ErrBadSHA) {
		return 0, fmt.Errorf("image %s is damaged (its bytes hash to something else); run 'lookalike verify --repair' on the server", sha)
	} else if err != nil {
		return 0, err
	}
	return int64(len(b)), nil
}

// copyTree copies every regular file under from to the same place under to.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !e.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		_, err = copyFile(p, filepath.Join(to, rel))
		return err
	})
}

// copyFile copies from to to through a temporary file, fsynced and renamed
// into place.
func copyFile(from, to string) (int64, error) {
	in, err := os.Open(from)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return 0, err
	}
	out, err := os.Create(to + ".partial")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(to+".partial", to)
	}
	if err != nil {
		os.Remove(to + ".partial")
	}
	return n, err
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// emptyOrNew creates dir, or checks that it is empty.
func emptyOrNew(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty; give a new or empty directory", dir)
	}
	return nil
}

// Restore copies the backup in src into the data directory dir, after
// checking it (CheckBackup). dir must hold no database and no images
// unless force is set; then what it held is moved into dir/replaced-<time>
// (nothing is deleted). Restore holds dir's lock, so it refuses while a
// server runs there.
func Restore(ctx context.Context, src, dir string, force bool) (Report, error) {
	t0 := time.Now()
	rep, err := CheckBackup(ctx, src)
	if err != nil {
		return rep, fmt.Errorf("restore: %s is not a good backup: %w", src, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	lock, err := Acquire(dir)
	if err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	defer lock.Close()
	var present []string
	for _, name := range []string{DBFile, DBFile + "-wal", DBFile + "-shm", ImagesDir, ThumbsDir} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			present = append(present, name)
		}
	}
	if len(present) > 0 && !force {
		return rep, fmt.Errorf("restore: %s already holds %s; restore into a new directory, or add --force to move those aside (into %s/replaced-<time>) and restore over them",
			dir, strings.Join(present, ", "), dir)
	}
	if len(present) > 0 {
		aside := filepath.Join(dir, "replaced-"+time.Now().UTC().Format("20060102-150405"))
		if err := os.MkdirAll(aside, 0o755); err != nil {
			return rep, fmt.Errorf("restore: %w", err)
		}
		for _, name := range present {
			if err := os.Rename(filepath.Join(dir, name), filepath.Join(aside, name)); err != nil {
				return rep, fmt.Errorf("restore: move %s aside: %w", name, err)
			}
		}
	}
	// Images first, the database last: until the database is in place the
	// directory is not a data directory a server would start on.
	if err := copyTree(filepath.Join(src, ImagesDir), filepath.Join(dir, ImagesDir)); err != nil {
		return rep, fmt.Errorf("restore: copy images: %w", err)
	}
	if _, err := copyFile(filepath.Join(src, DBFile), filepath.Join(dir, DBFile)); err != nil {
		return rep, fmt.Errorf("restore: copy database: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	rep.Took = time.Since(t0)
	return rep, nil
}
