package datadir

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestAcquireIsExclusiveAndNamesTheHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second Acquire: %v", err)
	}
	l.Close()
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Close: %v", err)
	}
	l2.Close()
}

// While a backup holds its lock, pruning is off; afterwards it is back.
func TestBackupHoldsOffPruning(t *testing.T) {
	dir := t.TempDir()
	release, err := HoldForBackup(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := TryHoldForPrune(dir); ok || err != nil {
		t.Fatalf("prune during a backup: ok=%v err=%v", ok, err)
	}
	release()
	rel, ok, err := TryHoldForPrune(dir)
	if !ok || err != nil {
		t.Fatalf("prune after the backup: ok=%v err=%v", ok, err)
	}
	rel()
}
