//go:build !unix

package datadir

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("locked")

// flock is a no-op where there is no flock: the directory is not guarded.
func flock(f *os.File, exclusive, wait bool) error { return nil }
