// Command lookalike keeps a shop's catalogue in sync with its CMS and finds
// products by photo. See `lookalike help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "lookalike:", err)
			os.Exit(2)
		}
		if !errors.Is(err, errHelp) {
			fmt.Fprintln(os.Stderr, "lookalike:", err)
			os.Exit(1)
		}
	}
}
