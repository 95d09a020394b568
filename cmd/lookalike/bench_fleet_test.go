package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/lookalike/lookalike/postgres/pgtest"
)

// The benchmarks' fleet mode: the real binary starts replicas of itself
// on PostgreSQL (a given database, or a throwaway cluster of its own),
// spreads webhooks over them, probes change-to-searchable across them and
// indexes products through them; each report line says what was measured.
func TestBenchFleet(t *testing.T) {
	db := pgtest.DB(t) // skips (or fails with CI=true) without PostgreSQL
	bin := lookalikeBinary(t)
	photos := filepath.Join("..", "..", "testdata", "photos")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("lookalike %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	number := func(out, pattern string) int {
		t.Helper()
		m := regexp.MustCompile(pattern).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %q in:\n%s", pattern, out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}

	out := run("bench", "webhook", "--replicas", "2", "--database-url", db, "-c", "4", "-d", "1s", "--probes", "3", "--images", photos)
	if n := number(out, `webhooks: (\d+) acknowledged .* \((\d+) errors\)`); n == 0 {
		t.Errorf("no webhook acknowledged:\n%s", out)
	}
	if n := number(out, `\((\d+) errors\)`); n != 0 {
		t.Errorf("%d errors:\n%s", n, out)
	}
	if n := number(out, `during the webhook load .*: (\d+) probes`); n == 0 {
		t.Errorf("no probe found its product on the other replica:\n%s", out)
	}
	if !regexp.MustCompile(`servers: 2 replicas of lookalike on PostgreSQL`).MatchString(out) {
		t.Errorf("report does not say what it measured:\n%s", out)
	}

	// Without --database-url: a throwaway cluster, removed at the end.
	out = run("bench", "reindex", "--replicas", "2", "--n", "12", "--workers", "1", "--searches", "2", "--images", photos)
	if n := number(out, `(\d+) of 12 products indexed \(0 failed; in every server's index\)`); n != 12 {
		t.Errorf("%d of 12 indexed:\n%s", n, out)
	}
	if n := number(out, `started a throwaway PostgreSQL cluster on 127.0.0.1:(\d+)`); n == 0 {
		t.Errorf("no throwaway cluster:\n%s", out)
	}
}
