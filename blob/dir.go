package blob

import (
	"bytes"
	"context"
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

// Dir is a Store in a local directory: root/<sha[:2]>/<sha><ext>.
type Dir struct {
	root   string
	ext    string                // ".jpg" for thumbnails, "" for images
	verify bool                  // an image store: the bytes must hash to the name
	full   atomic.Pointer[error] // the last write's "no space" error, until a write succeeds
}

var _ Images = (*Dir)(nil)

// Open returns the image store rooted at root, creating it if needed.
func Open(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	return &Dir{root: root, verify: true}, nil
}

// Cache returns a store of things derived from images (thumbnails), named
// by the image's hash with the extension ext, rooted at root (created as
// needed on the first Put).
func Cache(root, ext string) *Dir {
	return &Dir{root: root, ext: ext}
}

// String is the store's directory.
func (d *Dir) String() string { return d.root }

func (d *Dir) path(sha string) string {
	return filepath.Join(d.root, sha[:2], sha+d.ext)
}

// Put stores b under sha. Writing is atomic (temporary file, fsync,
// rename); an existing intact blob is left alone, a damaged one is
// replaced.
func (d *Dir) Put(ctx context.Context, sha string, b []byte) error {
	if err := CheckPut(sha, b, d.verify); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := d.path(sha)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := d.noteWrite(writeFile(p, b)); err != nil {
		return fmt.Errorf("store image: %w", err)
	}
	return nil
}

// Get reads the blob with the given hash.
func (d *Dir) Get(ctx context.Context, sha string) ([]byte, error) {
	if !ValidSHA(sha) {
		return nil, fmt.Errorf("image %q: %w", sha, fs.ErrNotExist)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(d.path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image %s: %w", sha, fs.ErrNotExist)
	}
	return b, err
}

// Delete removes the blob with the given hash.
func (d *Dir) Delete(ctx context.Context, sha string) error {
	if !ValidSHA(sha) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(d.path(sha)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete image: %w", err)
	}
	return nil
}

// Walk calls fn for every stored blob (a missing root holds none).
func (d *Dir) Walk(ctx context.Context, fn func(sha string, mod time.Time) error) error {
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == d.root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		name, ok := strings.CutSuffix(e.Name(), d.ext)
		if !ok || !ValidSHA(name) {
			return nil // the marker, temporary files
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // pruned meanwhile
		}
		if err != nil {
			return err
		}
		return fn(name, info.ModTime())
	})
	if err != nil {
		return fmt.Errorf("image store %s: %w", d.root, err)
	}
	return nil
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
func (d *Dir) ID(ctx context.Context) (string, error) {
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
func (d *Dir) SetID(ctx context.Context, id string) error {
	if err := writeFile(filepath.Join(d.root, IDFile), []byte(id+"\n")); err != nil {
		return fmt.Errorf("image store: write %s: %w", IDFile, err)
	}
	return nil
}
