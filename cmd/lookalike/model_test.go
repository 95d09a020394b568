package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/embed/clip"
)

type cmdResult struct {
	out, errOut string
	err         error
}

func runModelCmd(t *testing.T, args ...string) cmdResult {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	err := m.Run(context.Background(), args)
	return cmdResult{out.String(), errOut.String(), err}
}

// needORTLibrary skips (or under CI fails) a test that needs ONNX Runtime.
func needORTLibrary(t *testing.T) {
	t.Helper()
	if _, err := clip.FindLibrary(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("skipping: %v", err)
	}
}

func TestModelTestgenInfoFetch(t *testing.T) {
	root := t.TempDir()
	gen := filepath.Join(root, "gen")
	r := runModelCmd(t, "model", "testgen", "--arch", "tiny", "--seed", "3", "--out", gen)
	if r.err != nil {
		t.Fatalf("testgen: %v\n%s", r.err, r.errOut)
	}
	if !strings.Contains(r.out, "clip-tiny-random-s3") {
		t.Errorf("testgen output: %s", r.out)
	}
	for _, f := range []string{"model.json", "visual.onnx", "text.onnx", "bpe_simple_vocab_16e6.txt.gz"} {
		if _, err := os.Stat(filepath.Join(gen, f)); err != nil {
			t.Errorf("testgen did not write %s", f)
		}
	}
	// No temporary directories are left beside it.
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	// An existing directory is only replaced with --force.
	if r := runModelCmd(t, "model", "testgen", "--out", gen); r.err == nil || !strings.Contains(r.err.Error(), "--force") {
		t.Errorf("testgen over an existing dir: %v", r.err)
	}

	r = runModelCmd(t, "model", "info", gen)
	if r.err != nil {
		t.Fatalf("info: %v", r.err)
	}
	for _, want := range []string{"clip-tiny-random-s3", "dimensions  512", "32×32", "text (input_ids → text_embeds)", "visual.onnx", "sha256 ok"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("info output lacks %q:\n%s", want, r.out)
		}
	}

	// Serve the generated files and fetch them as a model.
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		requests.Add(1)
		http.ServeFile(w, req, filepath.Join(gen, filepath.Base(req.URL.Path)))
	}))
	defer srv.Close()
	sum := func(f string) string {
		s, _, err := clip.HashFile(filepath.Join(gen, f))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	fetched := filepath.Join(root, "models", "fetched")
	fetchArgs := []string{"model", "fetch", "--name", "clip-fetched-test", "--image-size", "32",
		"--visual-url", srv.URL + "/visual.onnx", "--visual-sha256", sum("visual.onnx"),
		"--text-url", srv.URL + "/text.onnx", "--text-sha256", sum("text.onnx"),
		"--vocab-url", srv.URL + "/bpe_simple_vocab_16e6.txt.gz",
		"--out", fetched}
	r = runModelCmd(t, fetchArgs...)
	if r.err != nil {
		t.Fatalf("fetch: %v\n%s", r.err, r.errOut)
	}
	t.Logf("fetch log:\n%s", r.errOut)
	if !strings.Contains(r.errOut, "visual.onnx: 100%") || !strings.Contains(r.errOut, "sha256 "+sum("visual.onnx")) {
		t.Errorf("fetch progress log:\n%s", r.errOut)
	}
	man, err := clip.ReadManifest(fetched)
	if err != nil {
		t.Fatal(err)
	}
	if man.Name != "clip-fetched-test" || man.ImageSize != 32 || man.Text == nil || man.Vocab.File != "bpe_simple_vocab_16e6.txt.gz" || !strings.Contains(man.Source, srv.URL) {
		t.Errorf("fetched manifest %+v", man)
	}
	if r := runModelCmd(t, "model", "info", fetched); r.err != nil || !strings.Contains(r.out, "clip-fetched-test") {
		t.Errorf("info of fetched: %v\n%s", r.err, r.out)
	}

	// The fetched model embeds exactly like the generated one.
	if _, err := clip.FindLibrary(""); err == nil {
		a, err := clip.Load(gen, clip.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := clip.Load(fetched, clip.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		va, _ := a.EmbedText(context.Background(), "белые розы")
		vb, _ := b.EmbedText(context.Background(), "белые розы")
		for i := range va {
			if va[i] != vb[i] {
				t.Fatalf("fetched model embeds differently at %d", i)
			}
		}
		if r := runModelCmd(t, "model", "info", "--load", "--json", fetched); r.err != nil || !strings.Contains(r.out, `"onnxruntime": "1.`) {
			t.Errorf("info --load --json: %v\n%s", r.err, r.out)
		}
	}

	// A wrong checksum installs nothing and keeps the old model.
	before, _ := os.ReadFile(filepath.Join(fetched, "model.json"))
	bad := append([]string(nil), fetchArgs...)
	bad[1+indexOf(bad[1:], "--visual-sha256")+1] = strings.Repeat("0", 64)
	bad = append(bad, "--force")
	r = runModelCmd(t, bad...)
	if r.err == nil || !strings.Contains(r.err.Error(), "expected "+strings.Repeat("0", 64)) {
		t.Errorf("bad sha256: %v", r.err)
	}
	after, _ := os.ReadFile(filepath.Join(fetched, "model.json"))
	if !bytes.Equal(before, after) {
		t.Error("failed fetch changed the installed model")
	}
	// With --force and good files, it replaces the model.
	good := append(append([]string(nil), fetchArgs...), "--force", "--name", "clip-fetched-test-2")
	if r := runModelCmd(t, good...); r.err != nil {
		t.Fatalf("fetch --force: %v", r.err)
	}
	if m, _ := clip.ReadManifest(fetched); m == nil || m.Name != "clip-fetched-test-2" {
		t.Errorf("not replaced: %+v", m)
	}
	if entries, _ := os.ReadDir(filepath.Dir(fetched)); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}

	// A missing file on the server.
	r = runModelCmd(t, "model", "fetch", "--name", "x", "--no-text", "--visual-url", srv.URL+"/nope.onnx", "--out", filepath.Join(root, "x"))
	if r.err == nil || !strings.Contains(r.err.Error(), "404") {
		t.Errorf("404: %v", r.err)
	}
	if _, err := os.Stat(filepath.Join(root, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Error("failed fetch left a directory")
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestModelFetchRejectsBrokenModel: a download that ONNX Runtime cannot
// run is not installed.
func TestModelFetchRejectsBrokenModel(t *testing.T) {
	needORTLibrary(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Write([]byte("not an onnx model"))
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "m")
	r := runModelCmd(t, "model", "fetch", "--name", "broken", "--no-text", "--visual-url", srv.URL+"/v.onnx", "--out", out)
	if r.err == nil || !strings.Contains(r.err.Error(), "does not load") {
		t.Errorf("broken model: %v", r.err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Error("broken model installed")
	}
	// With --check=false it is installed, and info --load then says why it
	// is not usable.
	r = runModelCmd(t, "model", "fetch", "--name", "broken", "--no-text", "--check=false", "--visual-url", srv.URL+"/v.onnx", "--out", out)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r = runModelCmd(t, "model", "info", "--load", out)
	if r.err == nil || !strings.Contains(r.out, "load        FAILED") {
		t.Errorf("info --load of a broken model: %v\n%s", r.err, r.out)
	}
}

func TestModelInfoDamaged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	if r := runModelCmd(t, "model", "testgen", "--no-text", "--out", dir); r.err != nil {
		t.Fatal(r.err)
	}
	os.WriteFile(filepath.Join(dir, "visual.onnx"), []byte("changed"), 0o644)
	r := runModelCmd(t, "model", "info", "--json", dir)
	if r.err == nil || !strings.Contains(r.err.Error(), "has SHA-256") {
		t.Errorf("damaged model: %v", r.err)
	}
	var info modelInfo
	if err := json.Unmarshal([]byte(r.out), &info); err != nil || info.OK || info.Files[0].OK || info.Files[0].Size != 7 {
		t.Errorf("json %v: %+v", err, info)
	}
	if r := runModelCmd(t, "model", "info", t.TempDir()); r.err == nil || !strings.Contains(r.err.Error(), "no model.json") {
		t.Errorf("not a model dir: %v", r.err)
	}
}

func TestModelCommandLine(t *testing.T) {
	var ue *usageError
	for _, args := range [][]string{
		{"model"},
		{"model", "frobnicate"},
		{"model", "testgen"},
		{"model", "testgen", "--arch", "vit-h-14", "--out", "x"},
		{"model", "testgen", "--out", "x", "extra"},
		{"model", "info"},
		{"model", "info", "a", "b"},
		{"model", "fetch"},
		{"model", "fetch", "--out", "x", "--visual-url", "https://example.com/v.onnx"}, // needs --name
		{"model", "fetch", "--out", "x", "--visual-url", "ftp://example.com/v.onnx", "--name", "n"},
		{"model", "fetch", "--out", "x", "--visual-sha256", "abc"},
		{"bench", "embed", "--n", "0"},
		{"bench", "embed", "extra"},
	} {
		r := runModelCmd(t, args...)
		if !errors.As(r.err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, r.err)
		}
	}
	for _, args := range [][]string{{"model", "testgen", "-h"}, {"model", "info", "-h"}, {"model", "fetch", "-h"}, {"bench", "embed", "-h"}} {
		r := runModelCmd(t, args...)
		if !errors.Is(r.err, errHelp) || !strings.Contains(r.errOut, "Examples:") {
			t.Errorf("%v: %v\n%s", args, r.err, r.errOut)
		}
	}
	if r := runModelCmd(t, "model", "help"); r.err != nil || !strings.Contains(r.out, "testgen") {
		t.Errorf("model help: %v", r.err)
	}
	if r := runModelCmd(t, "help"); !strings.Contains(r.out, "lookalike model") || !strings.Contains(r.out, "bench embed") {
		t.Errorf("usage lacks the model commands:\n%s", r.out)
	}
}

func TestBenchEmbed(t *testing.T) {
	r := runModelCmd(t, "bench", "embed", "--n", "3")
	if r.err != nil || !strings.Contains(r.out, builtin.Name) || !strings.Contains(r.out, "ms/image") {
		t.Fatalf("builtin: %v\n%s%s", r.err, r.out, r.errOut)
	}
	needORTLibrary(t)
	dir := filepath.Join(t.TempDir(), "m")
	if r := runModelCmd(t, "model", "testgen", "--no-text", "--out", dir); r.err != nil {
		t.Fatal(r.err)
	}
	r = runModelCmd(t, "bench", "embed", "--model-dir", dir, "--n", "5", "--batch", "2", "--threads", "1", "--json")
	if r.err != nil {
		t.Fatalf("clip: %v\n%s", r.err, r.errOut)
	}
	var rep benchEmbedReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Model != "clip-tiny-random-s1" || rep.Images != 5 || rep.Batch != 2 || rep.PreprocessMS <= 0 || rep.InferenceMS <= 0 || rep.DecodeMS <= 0 {
		t.Errorf("report %+v", rep)
	}
	if r := runModelCmd(t, "bench", "embed", "--images", t.TempDir()); r.err == nil || !strings.Contains(r.err.Error(), "no photos") {
		t.Errorf("empty folder: %v", r.err)
	}
}
