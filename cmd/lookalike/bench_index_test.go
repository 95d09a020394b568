package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/vectorindex/vectorgen"
)

func TestBenchIndex(t *testing.T) {
	dir := t.TempDir()
	nb := filepath.Join(dir, "top10.ivecs")
	r := runModelCmd(t, "bench", "index", "--n", "3000", "--dim", "32", "--queries-n", "40", "--json", "--quiet", "--neighbors", nb, "--shops", "100", "--ef", "0,128")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 5 {
		t.Fatalf("want one JSON object per index and filter, got:\n%s", r.out)
	}
	for i, want := range []string{"flat", "flat shop 1/100", "hnsw", "hnsw shop 1/100", "hnsw ef=128"} {
		var obj map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &obj); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"index", "n", "dim", "recall_at_10", "p50_ms", "p99_ms", "build_per_s", "heap_bytes_per_vector"} {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s: no %q in %s", want, k, lines[i])
			}
		}
		if obj["index"] != want || obj["n"] != 3000.0 || obj["dim"] != 32.0 {
			t.Errorf("line %d: %s", i, lines[i])
		}
		if rec := obj["recall_at_10"].(float64); (strings.HasPrefix(want, "flat") && rec != 1) || rec < 0.9 {
			t.Errorf("%s: recall@10 %v", want, rec)
		}
		if strings.HasPrefix(want, "hnsw") && (obj["speedup_vs_flat"] == nil || obj["load_s"] == nil) {
			t.Errorf("hnsw: no speedup_vs_flat or load_s (searched after a save and load) in %s", lines[i])
		}
	}
	rows, err := vectorgen.ReadIvecs(nb)
	if err != nil || len(rows) != 40 || len(rows[0]) != 10 {
		t.Fatalf("neighbors file: %d rows, %v", len(rows), err)
	}

	// From .fvecs files: the exact scan's neighbours are the ground truth.
	base := vectorgen.Clustered(500, 16, 5, 1, 3)
	queries := vectorgen.Queries(20, 16, 5, 1, 3)
	bp, qp := filepath.Join(dir, "base.fvecs"), filepath.Join(dir, "query.fvecs")
	if err := vectorgen.WriteFvecs(bp, base); err != nil {
		t.Fatal(err)
	}
	if err := vectorgen.WriteFvecs(qp, queries); err != nil {
		t.Fatal(err)
	}
	r = runModelCmd(t, "bench", "index", "--index", "flat", "--vectors", bp, "--queries", qp, "--neighbors", nb, "--quiet")
	if r.err != nil || !strings.Contains(r.out, "recall@10") {
		t.Fatalf("%v\n%s%s", r.err, r.out, r.errOut)
	}
	rows, _ = vectorgen.ReadIvecs(nb)
	if want := vectorgen.GroundTruth(base, queries, 10, nil); !reflect.DeepEqual(rows, want) {
		t.Errorf("flat's neighbours differ from the exact top 10")
	}

	var ue *usageError
	for _, args := range [][]string{
		{"bench", "index", "--index", "annoy"},
		{"bench", "index", "--n", "0"},
		{"bench", "index", "--vectors", bp},
		{"bench", "index", "extra"},
		{"bench", "index", "--shops", "-1"},
	} {
		if r := runModelCmd(t, args...); !errors.As(r.err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, r.err)
		}
	}
	if r := runModelCmd(t, "bench", "index", "--vectors", filepath.Join(dir, "none.fvecs"), "--queries", qp); r.err == nil {
		t.Error("missing .fvecs file accepted")
	}
}
