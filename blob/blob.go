// Package blob keeps image bytes on local disk, addressed by their SHA-256,
// so the same photo is stored once however many products use it.
package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// Dir is a content-addressed store rooted at a directory.
type Dir struct {
	root string
	full atomic.Pointer[error] // the last write's "no space" error, until a write succeeds
}

// IDFile is the marker file, in the store's root, that names the data
// directory (and so the database) the stored files belong to.
const IDFile = ".lookalike-id"

// Open creates root if needed.
func Open(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	return &Dir{root: root}, nil
}

// Sum returns the hex SHA-256 of b.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (d *Dir) path(sha string) string {
	return filepath.Join(d.root, sha[:2], sha)
}

// Put stores b under its hash and returns the hash. Writing is atomic
// (temporary file, fsync, rename); an existing intact blob is left alone, a
// damaged one is replaced.
func (d *Dir) Put(b []byte) (string, error) {
	sha := Sum(b)
	p := d.path(sha)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
		return sha, nil
	}
	if err := d.noteWrite(writeFile(p, b)); err != nil {
		return "", fmt.Errorf("store image: %w", err)
	}
	return sha, nil
}

// writeFile writes b to p atomically: a temporary file beside it, fsync,
// rename.
func writeFile(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// noteWrite records whether a write ran out of space (and wraps err with
// catalog.ErrStorageFull when it did); a successful write clears that.
func (d *Dir) noteWrite(err error) error {
	if err == nil {
		d.full.Store(nil)
		return nil
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		err = fmt.Errorf("%w: %w", catalog.ErrStorageFull, err)
		d.full.Store(&err)
	}
	return err
}

// Full returns the error of the last write if it failed for lack of
// space, nil otherwise.
func (d *Dir) Full() error {
	if e := d.full.Load(); e != nil {
		return *e
	}
	return nil
}

// Probe writes and removes a small file, to learn whether space has been
// freed since a write failed; it returns what Full returns afterwards.
func (d *Dir) Probe() error {
	p := filepath.Join(d.root, ".probe")
	err := d.noteWrite(writeFile(p, make([]byte, 64<<10)))
	os.Remove(p)
	return err
}

// ID returns the data directory id in the marker file ("" when there is
// none).
func (d *Dir) ID() (string, error) {
	b, err := os.ReadFile(filepath.Join(d.root, IDFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("image store: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// SetID writes the marker file.
func (d *Dir) SetID(id string) error {
	if err := writeFile(filepath.Join(d.root, IDFile), []byte(id+"\n")); err != nil {
		return fmt.Errorf("image store: write %s: %w", IDFile, err)
	}
	return nil
}

// Count returns how many stored files (images or thumbnails) there are.
func (d *Dir) Count() (int64, error) {
	var n int64
	err := d.walk(func(string, string, fs.DirEntry) error { n++; return nil })
	return n, err
}

// walk calls fn for every stored file: its path and hash.
func (d *Dir) walk(fn func(p, sha string, e fs.DirEntry) error) error {
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		name := strings.TrimSuffix(e.Name(), ".jpg") // thumbnails are <sha>.jpg
		if len(name) != 64 {
			return nil
		}
		return fn(p, name, e)
	})
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	return nil
}

// Get reads the blob with the given hash.
func (d *Dir) Get(sha string) ([]byte, error) {
	if len(sha) != 64 {
		return nil, fmt.Errorf("image %q: %w", sha, fs.ErrNotExist)
	}
	if _, err := hex.DecodeString(sha); err != nil {
		return nil, fmt.Errorf("image %q: %w", sha, fs.ErrNotExist)
	}
	b, err := os.ReadFile(d.path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image %s: %w", sha, fs.ErrNotExist)
	}
	return b, err
}

// Prune deletes stored images (or <sha>.jpg thumbnails) that keep(sha)
// rejects and that are older than minAge (a younger one may belong to a job
// not yet recorded), and returns how many it removed. It removes nothing,
// and returns an error wrapping catalog.ErrPruneRefused, when that would be
// more than a small part of the store (catalog.CheckPrune): a database that
// does not know the files is no proof that they are garbage.
func (d *Dir) Prune(keep func(sha string) bool, minAge time.Duration) (int, error) {
	cutoff := time.Now().Add(-minAge)
	var doomed []string
	var total int64
	err := d.walk(func(p, sha string, e fs.DirEntry) error {
		total++
		if keep(sha) {
			return nil
		}
		if info, err := e.Info(); err != nil || info.ModTime().After(cutoff) {
			return nil
		}
		doomed = append(doomed, p)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	if err := catalog.CheckPrune("files in "+d.root, int64(len(doomed)), total); err != nil {
		return 0, err
	}
	removed := 0
	for _, p := range doomed {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("prune images: %w", err)
		}
		removed++
	}
	return removed, nil
}
