// Package datadir guards a lookalike data directory: the lock that lets
// one server at a time use it, and backups and restores of it.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Files in a data directory.
const (
	DBFile     = "lookalike.db"
	ImagesDir  = "images"
	ThumbsDir  = "thumbs"
	lockFile   = "lookalike.lock" // held (exclusive) by the process that owns the directory
	backupFile = "backup.lock"    // held (shared) by backups; pruning needs it exclusive
)

// ErrLocked is returned when another process holds the data directory.
var ErrLocked = errors.New("data directory is in use")

// Lock is an OS file lock (flock) on a data directory, held until Close or
// the process's end (the kernel drops it with the process, so a killed
// server never leaves a stale lock).
type Lock struct{ f *os.File }

// Acquire takes the data directory's lock without waiting and writes this
// process's id into the lock file. If another process holds it, the error
// wraps ErrLocked and names that process.
func Acquire(dir string) (*Lock, error) {
	p := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := flock(f, true, false); err != nil {
		b, _ := os.ReadFile(p)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			holder := "another process"
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = "process " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("%w: %s is held by %s (see %s); stop that server first, or use another --data-dir",
				ErrLocked, dir, holder, p)
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Close releases the lock.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// HoldForBackup takes the shared backup lock, waiting for a prune pass in
// progress to finish; while any backup holds it, TryHoldForPrune fails, so
// no image a backup is about to copy is removed under it.
func HoldForBackup(dir string) (release func(), err error) {
	return hold(dir, false, true)
}

// TryHoldForPrune takes the backup lock exclusively without waiting; ok is
// false while a backup runs.
func TryHoldForPrune(dir string) (release func(), ok bool, err error) {
	release, err = hold(dir, true, false)
	if errors.Is(err, errWouldBlock) {
		return nil, false, nil
	}
	return release, err == nil, err
}

func hold(dir string, exclusive, wait bool) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, backupFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("backup lock: %w", err)
	}
	if err := flock(f, exclusive, wait); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
