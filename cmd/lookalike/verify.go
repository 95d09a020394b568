package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/lookalike/lookalike/verify"
)

const verifyUsage = `Usage: lookalike verify [--repair] [--server URL] [--json]

Compares the catalogue with the vector index of a running server: live
products without a current vector, vectors for deleted or missing products,
vectors of another model, stored images whose bytes do not match their hash,
and pending products with no job. With --repair it queues the fixes.

Needs the admin token (LOOKALIKE_ADMIN_TOKEN or --token).

Examples:
  lookalike verify
  lookalike verify --repair --server http://127.0.0.1:8080

Exit status: 0 when nothing is wrong (or everything found was repaired),
1 when problems remain or the server cannot be asked, 2 bad command line.

Flags:
`

// serverFlags are the flags of commands that talk to a running server.
// The token's value from the environment never shows in -h output.
func serverFlags(fs *flag.FlagSet, getenv func(string) string) (server *string, token func() string) {
	def := getenv("LOOKALIKE_SERVER")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	server = fs.String("server", def, "base URL of the running server (LOOKALIKE_SERVER)")
	t := fs.String("token", "", "admin token (default: $LOOKALIKE_ADMIN_TOKEN)")
	return server, func() string {
		if *t != "" {
			return *t
		}
		return getenv("LOOKALIKE_ADMIN_TOKEN")
	}
}

func (m *Main) runVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, verifyUsage); fs.PrintDefaults() }
	server, token := serverFlags(fs, m.Getenv)
	repair := fs.Bool("repair", false, "queue fixes for what is found")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("verify takes no arguments, got %q", fs.Args())}
	}
	var rep verify.Report
	method := "GET"
	if *repair {
		method = "POST"
	}
	if err := newClient(*server, token()).call(ctx, method, "/api/v1/admin/verify", "", nil, &rep); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		fmt.Fprintf(m.Stdout, "checked %d live products (%d indexed, %d vectors in the index, model %s) in %d ms\n",
			rep.Products, rep.Indexed, rep.Vectors, rep.Model, rep.TookMS)
		if len(rep.Problems) == 0 {
			fmt.Fprintln(m.Stdout, "no problems: the index matches the catalogue")
		}
		for _, p := range rep.Problems {
			state := ""
			if p.Repaired {
				state = " (repair queued)"
			}
			fmt.Fprintf(m.Stdout, "  shop %d product %s: %s: %s%s\n", p.ShopID, p.ProductID, p.Kind, p.Detail, state)
		}
	}
	if remaining := len(rep.Problems) - rep.Repaired; remaining > 0 {
		return fmt.Errorf("%d problem(s) found; run with --repair to fix them", remaining)
	}
	return nil
}
