package blob_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/blob/blobtest"
)

func TestDir(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		d, err := blob.Open(filepath.Join(t.TempDir(), "images"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, blobtest.Damage(func(t *testing.T, s blob.Store, sha string) {
		if err := os.WriteFile(filepath.Join(s.String(), sha[:2], sha), []byte("junk!"), 0o644); err != nil {
			t.Fatal(err)
		}
	}))
}

// A thumbnail cache is named by the image's hash, holds other bytes, and
// its walk sees only its own <sha>.jpg files.
func TestCacheDir(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "320")
	c := blob.Cache(root, ".jpg")
	if n, err := blob.Count(ctx, c); err != nil || n != 0 {
		t.Fatalf("a cache not yet written: %d, %v", n, err)
	}
	sha := blob.Sum([]byte("the original"))
	if err := c.Put(ctx, sha, []byte("a thumbnail")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, sha[:2], sha+".jpg")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, sha[:2], sha+".jpg.tmp"), nil, 0o644)
	var seen []string
	c.Walk(ctx, func(s string, _ time.Time) error { seen = append(seen, s); return nil })
	if len(seen) != 1 || seen[0] != sha {
		t.Fatalf("walk saw %v", seen)
	}
	if b, err := c.Get(ctx, sha); err != nil || string(b) != "a thumbnail" {
		t.Fatalf("Get = %q, %v", b, err)
	}
}
