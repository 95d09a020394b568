// Package blob keeps image bytes addressed by their SHA-256, so the same
// photo is stored once however many products use it. Store is the seam:
// Dir keeps them in a local directory (the embedded default), package
// blob/s3blob in any S3-compatible bucket; Prune is written once over it,
// and blob/blobtest is the conformance suite both pass.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// Store holds blobs named by a SHA-256 in lower-case hex. An image store
// checks that the bytes hash to the name; a cache of things derived from
// an image (its thumbnails) is named by the image's hash instead.
type Store interface {
	// Put stores b under sha, atomically: a reader sees the old blob or
	// the new one, never part of one. It replaces a damaged copy. A
	// malformed sha, or in an image store one the bytes do not hash to,
	// is refused with ErrBadSHA.
	Put(ctx context.Context, sha string, b []byte) error
	// Get returns the blob; an error wrapping fs.ErrNotExist when there is
	// none (a malformed sha included).
	Get(ctx context.Context, sha string) ([]byte, error)
	// Delete removes the blob; removing one that is absent is no error.
	Delete(ctx context.Context, sha string) error
	// Walk calls fn for every stored blob with when it was last written,
	// in no particular order, and stops at the first error fn returns.
	Walk(ctx context.Context, fn func(sha string, mod time.Time) error) error
	// String names the store for people (a directory, an s3:// URL
	// without credentials).
	String() string
}

// Marker is implemented by image stores, which keep the data directory id
// marker (IDFile) beside the images.
type Marker interface {
	ID(ctx context.Context) (string, error) // "" when there is none
	SetID(ctx context.Context, id string) error
}

// Images is an image store: blobs that hash to their names, and the
// marker.
type Images interface {
	Store
	Marker
}

// IDFile is the marker, in an image store's root, that names the data
// directory (and so the database) the stored files belong to.
const IDFile = ".lookalike-id"

// ErrBadSHA is returned by Put for a name that is not a SHA-256 in
// lower-case hex, or that an image's bytes do not hash to.
var ErrBadSHA = errors.New("not the SHA-256 of the bytes")

// Sum returns the hex SHA-256 of b.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ValidSHA reports whether sha is a SHA-256 in lower-case hex (64 digits),
// which also keeps a name from escaping a store's directory.
func ValidSHA(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	for i := range len(sha) {
		if c := sha[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CheckPut is the check every Store's Put makes first: a valid name and,
// when verify is set, bytes that hash to it.
func CheckPut(sha string, b []byte, verify bool) error {
	if !ValidSHA(sha) {
		return fmt.Errorf("store %q: %w: not 64 lower-case hex digits", sha, ErrBadSHA)
	}
	if verify {
		if got := Sum(b); got != sha {
			return fmt.Errorf("store %s: %w (they hash to %s)", sha, ErrBadSHA, got)
		}
	}
	return nil
}

// Count returns how many blobs s holds.
func Count(ctx context.Context, s Store) (int64, error) {
	var n int64
	err := s.Walk(ctx, func(string, time.Time) error { n++; return nil })
	return n, err
}

// Prune deletes the blobs of s that keep rejects and that were written
// more than minAge ago (a younger one may belong to a job not yet
// recorded), and returns how many it removed. It removes nothing, and
// returns an error wrapping catalog.ErrPruneRefused, when that would be
// more than a small part of the store (catalog.CheckPrune): a database that
// does not know the blobs is no proof that they are garbage.
func Prune(ctx context.Context, s Store, keep func(sha string) bool, minAge time.Duration) (int, error) {
	cutoff := time.Now().Add(-minAge)
	var doomed []string
	var total int64
	err := s.Walk(ctx, func(sha string, mod time.Time) error {
		total++
		if !keep(sha) && !mod.After(cutoff) {
			doomed = append(doomed, sha)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	if err := catalog.CheckPrune("blobs in "+s.String(), int64(len(doomed)), total); err != nil {
		return 0, err
	}
	removed := 0
	for _, sha := range doomed {
		if err := s.Delete(ctx, sha); err != nil {
			return removed, fmt.Errorf("prune %s: %w", s, err)
		}
		removed++
	}
	return removed, nil
}
