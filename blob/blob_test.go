package blob

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"
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
