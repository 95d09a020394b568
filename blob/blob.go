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
	"time"
)

// Dir is a content-addressed store rooted at a directory.
type Dir struct{ root string }

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
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("store image: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("store image: %w", err)
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
		return "", fmt.Errorf("store image: %w", err)
	}
	return sha, nil
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

// Prune deletes stored images (or <sha>.jpg thumbnails) that keep(sha) rejects and that are older
// than minAge (a younger one may belong to a job not yet recorded), and
// returns how many it removed.
func (d *Dir) Prune(keep func(sha string) bool, minAge time.Duration) (int, error) {
	removed := 0
	cutoff := time.Now().Add(-minAge)
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		name := strings.TrimSuffix(e.Name(), ".jpg") // thumbnails are <sha>.jpg
		if len(name) != 64 || keep(name) {
			return nil
		}
		if info, err := e.Info(); err != nil || info.ModTime().After(cutoff) {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed++
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("prune images: %w", err)
	}
	return removed, nil
}
