package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/lookalike/lookalike/app"
	"github.com/lookalike/lookalike/buildinfo"
)

// Main is the whole program behind main(); tests run it in-process.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Started, if set, is called once `serve` is listening.
	Started func(*app.App)
}

// NewMain returns a Main wired to the process's streams and environment.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// errHelp means help was printed as asked (exit status 0).
var errHelp = errors.New("help requested")

const usage = `lookalike keeps a shop's product catalogue in sync with its CMS and finds
products by photo.

Usage:
  lookalike serve [flags]          run the HTTP API and the reindex workers
  lookalike bench quality DIR      measure search quality of the built-in descriptor
  lookalike bench webhook          load-test webhook acknowledgement (throughput, p50/p99/p999)
  lookalike bench reindex          index N products from a local image host, then time searches
  lookalike bench embed [flags]    time decoding, preprocessing and inference per photo
  lookalike bench index [flags]    recall, latency, build rate and memory of the vector indexes
  lookalike model fetch|info|testgen
                                   download, describe or generate CLIP model directories
  lookalike import [flags] FEED    backfill a YML or CSV product feed into a running server
  lookalike search PHOTO|URL       find the products most like a photo (--text, --product)
  lookalike reindex --all|--shop N|--product ID
                                   queue a fresh reindex and show progress
  lookalike stats                  catalogue, index and queue counts
  lookalike failed [--retry]       products whose reindex failed, and why
  lookalike verify [--repair]      compare catalogue and index of a running server
  lookalike backup DEST            copy the data directory (database and photos), even while serving
  lookalike restore SRC --data-dir DIR
                                   check a backup and copy it into a data directory
  lookalike migrate --to postgres://…
                                   move a data directory's database to PostgreSQL
  lookalike healthcheck            exit 0 when a running server is ready (/readyz)
  lookalike version                print the version, commit and Go version
  lookalike help                   this text

Run 'lookalike COMMAND -h' for a command's flags. Every flag can also be set
by an environment variable (LOOKALIKE_ADDR for --addr, and so on).

Exit status: 0 success, 1 failure, 2 bad command line.
`

// Version is what User-Agent headers carry: the module version and commit
// from the binary's build information (package buildinfo).
var Version = buildinfo.Read().Short()

// Run dispatches to a subcommand.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return &usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return m.runServe(ctx, args[1:])
	case "bench":
		return m.runBench(ctx, args[1:])
	case "model":
		return m.runModel(ctx, args[1:])
	case "import":
		return m.runImport(ctx, args[1:])
	case "verify":
		return m.runVerify(ctx, args[1:])
	case "backup":
		return m.runBackup(ctx, args[1:])
	case "restore":
		return m.runRestore(ctx, args[1:])
	case "migrate":
		return m.runMigrate(ctx, args[1:])
	case "search":
		return m.runSearch(ctx, args[1:])
	case "reindex":
		return m.runReindex(ctx, args[1:])
	case "stats":
		return m.runStats(ctx, args[1:])
	case "failed":
		return m.runFailed(ctx, args[1:])
	case "healthcheck":
		return m.runHealthcheck(ctx, args[1:])
	case "version", "--version":
		return m.runVersion(args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	fmt.Fprint(m.Stderr, usage)
	return &usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func (m *Main) runBench(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return &usageError{"bench needs a subcommand: quality, webhook, embed, reindex or index"}
	}
	switch args[0] {
	case "quality":
		return runBenchQuality(ctx, args[1:], m.Stdout, m.Stderr, m.Getenv)
	case "embed":
		return m.runBenchEmbed(ctx, args[1:])
	case "webhook":
		return m.runBenchWebhook(ctx, args[1:])
	case "reindex":
		return m.runBenchReindex(ctx, args[1:])
	case "index":
		return m.runBenchIndex(args[1:])
	}
	return &usageError{fmt.Sprintf("unknown bench %q (have: quality, webhook, embed, reindex, index)", args[0])}
}

// parseFlags parses a subcommand's flags, turning flag errors into usage
// errors and -h into errHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	if err != nil {
		return &usageError{err.Error()}
	}
	return nil
}

// newLogger builds the process logger from LOOKALIKE_LOG_FORMAT (text|json)
// and LOOKALIKE_LOG_LEVEL (debug|info|warn|error).
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if level != "" {
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return nil, &usageError{fmt.Sprintf("log level %q: use debug, info, warn or error", level)}
		}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, &usageError{fmt.Sprintf("log format %q: use text or json", format)}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// humanSize prints a byte count for people: "1.5 MiB".
func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// runVersion prints the build: version, commit and Go version (--json: as an object).
func (m *Main) runVersion(args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	asJSON := fs.Bool("json", false, "print the build information as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	in := buildinfo.Read()
	if *asJSON {
		return json.NewEncoder(m.Stdout).Encode(in)
	}
	fmt.Fprintln(m.Stdout, in.String())
	return nil
}
