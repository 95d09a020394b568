package blob

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

func TestPutGet(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sha, err := d.Put([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if sha != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("sha = %s", sha)
	}
	if again, _ := d.Put([]byte("hello")); again != sha {
		t.Fatalf("second put gave %s", again)
	}
	b, err := d.Get(sha)
	if err != nil || !bytes.Equal(b, []byte("hello")) {
		t.Fatalf("Get = %q, %v", b, err)
	}
	for _, bad := range []string{"", "../../etc/passwd", sha[:63] + "g", Sum([]byte("other"))} {
		if _, err := d.Get(bad); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get(%q) err = %v, want not exist", bad, err)
		}
	}
}

func TestPutRepairsDamagedBlob(t *testing.T) {
	d, _ := Open(t.TempDir())
	sha, _ := d.Put([]byte("photo"))
	if err := os.WriteFile(d.path(sha), []byte("junk!"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Put([]byte("photo"))
	if b, _ := d.Get(sha); string(b) != "photo" {
		t.Fatalf("damaged blob not replaced: %q", b)
	}
}

func TestPrune(t *testing.T) {
	d, _ := Open(t.TempDir())
	keep, _ := d.Put([]byte("kept"))
	gone, _ := d.Put([]byte("orphan"))
	n, err := d.Prune(func(sha string) bool { return sha == keep }, time.Hour)
	if err != nil || n != 0 {
		t.Fatalf("young files pruned: %d %v", n, err)
	}
	n, err = d.Prune(func(sha string) bool { return sha == keep }, 0)
	if err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if _, err := d.Get(gone); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("orphan kept")
	}
	if _, err := d.Get(keep); err != nil {
		t.Fatal("referenced image removed")
	}
}

// A pass that would remove most of the store (the database lost track of
// it) removes nothing; ordinary garbage, a few files or a small share, goes.
func TestPruneRefusesMassRemoval(t *testing.T) {
	d, _ := Open(t.TempDir())
	var shas []string
	for i := range 100 {
		sha, _ := d.Put([]byte{byte(i), 1})
		shas = append(shas, sha)
	}
	none := func(string) bool { return false }
	n, err := d.Prune(none, 0)
	if !errors.Is(err, catalog.ErrPruneRefused) || n != 0 {
		t.Fatalf("prune of everything: %d, %v; want refused", n, err)
	}
	if c, _ := d.Count(); c != 100 {
		t.Fatalf("%d files left, want 100", c)
	}
	orphans := map[string]bool{}
	for _, sha := range shas[:10] {
		orphans[sha] = true
	}
	if n, err := d.Prune(func(sha string) bool { return !orphans[sha] }, 0); err != nil || n != 10 {
		t.Fatalf("prune of 10%%: %d, %v", n, err)
	}
	small, _ := Open(t.TempDir())
	for i := range 6 {
		small.Put([]byte{byte(i)})
	}
	if n, err := small.Prune(none, 0); err != nil || n != 6 {
		t.Fatalf("prune of a handful: %d, %v", n, err)
	}
}

func TestIDMarker(t *testing.T) {
	d, _ := Open(t.TempDir())
	if id, err := d.ID(); id != "" || err != nil {
		t.Fatalf("fresh store id %q %v", id, err)
	}
	if err := d.SetID("abc"); err != nil {
		t.Fatal(err)
	}
	if id, _ := d.ID(); id != "abc" {
		t.Fatalf("id %q", id)
	}
	if n, _ := d.Count(); n != 0 {
		t.Fatalf("the marker counts as a stored file: %d", n)
	}
}
