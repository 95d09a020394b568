//go:build cgo

package clip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/onnxgen"
)

// needLibrary finds ONNX Runtime or skips the test (fails it under CI,
// where scripts/test installs the library first).
func needLibrary(t testing.TB) {
	t.Helper()
	if _, err := FindLibrary(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v", err)
		}
		t.Skipf("skipping: %v", err)
	}
}

var testRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clip-test-")
	if err != nil {
		panic(err)
	}
	testRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var models struct {
	sync.Mutex
	dirs map[string]string
}

// testModel returns a generated tiny model directory, made once per test
// binary: "tiny" has both towers, "tiny-image" only the image tower.
func testModel(t testing.TB, kind string) string {
	t.Helper()
	models.Lock()
	defer models.Unlock()
	if d, ok := models.dirs[kind]; ok {
		return d
	}
	dir := filepath.Join(testRoot, kind)
	vocab := vocabPath
	if kind == "tiny-image" {
		vocab = ""
	}
	if _, err := WriteGenerated(dir, "tiny", 1, vocab); err != nil {
		t.Fatal(err)
	}
	if models.dirs == nil {
		models.dirs = map[string]string{}
	}
	models.dirs[kind] = dir
	return dir
}

// copyModel copies a model directory so a test can damage it.
func copyModel(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func load(t testing.TB, dir string, opts Options) *Embedder {
	t.Helper()
	needLibrary(t)
	if opts.Threads == 0 {
		opts.Threads = 1
	}
	e, err := Load(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func l2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func photos(t testing.TB) []image.Image {
	t.Helper()
	names := []string{
		"daisy_100080576_f52e8ee070_n.jpg", "dandelion_10443973_aeb97513fc_m.jpg", fixturePhoto,
		"sunflowers_147804446_ef9244c8ce_m.jpg", "tulips_100930342_92e8746431_n.jpg",
	}
	var imgs []image.Image
	for _, n := range names {
		imgs = append(imgs, loadPhoto(t, n))
	}
	return imgs
}

func TestEmbedImage(t *testing.T) {
	e := load(t, testModel(t, "tiny"), Options{})
	if e.Model() != "clip-tiny-random-s1" || e.Dim() != 512 {
		t.Fatalf("Model %q Dim %d", e.Model(), e.Dim())
	}
	ctx := context.Background()
	imgs := photos(t)
	vecs := make([][]float32, len(imgs))
	for i, img := range imgs {
		v, err := e.EmbedImage(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 512 || math.Abs(l2(v)-1) > 1e-5 {
			t.Fatalf("image %d: len %d norm %v", i, len(v), l2(v))
		}
		again, err := e.EmbedImage(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		for j := range v {
			if v[j] != again[j] {
				t.Fatalf("image %d: not deterministic at %d: %v vs %v", i, j, v[j], again[j])
			}
		}
		vecs[i] = v
	}
	for i := range vecs {
		for j := i + 1; j < len(vecs); j++ {
			if c := dot(vecs[i], vecs[j]); c > 0.9999 {
				t.Errorf("images %d and %d: cosine %v, want different vectors", i, j, c)
			}
		}
	}

	// A second Load of the same directory gives the same vectors.
	e2 := load(t, testModel(t, "tiny"), Options{Threads: 2})
	v, err := e2.EmbedImage(ctx, imgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(v, vecs[0]); d > 1e-5 {
		t.Errorf("second load differs by %v", d)
	}
}

func maxAbsDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

func TestEmbedText(t *testing.T) {
	e := load(t, testModel(t, "tiny"), Options{})
	if !e.HasText() {
		t.Fatal("no text tower")
	}
	if _, ok := e.Interface().(embed.TextEmbedder); !ok {
		t.Fatal("Interface() is not a TextEmbedder")
	}
	ctx := context.Background()
	texts := []string{"white roses", "белые розы", "red tulips", ""}
	var vecs [][]float32
	for _, s := range texts {
		v, err := e.EmbedText(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 512 || math.Abs(l2(v)-1) > 1e-5 {
			t.Fatalf("%q: len %d norm %v", s, len(v), l2(v))
		}
		again, _ := e.EmbedText(ctx, s)
		if maxAbsDiff(v, again) != 0 {
			t.Fatalf("%q: not deterministic", s)
		}
		vecs = append(vecs, v)
	}
	for i := range vecs {
		for j := i + 1; j < len(vecs); j++ {
			if c := dot(vecs[i], vecs[j]); c > 0.9999 {
				t.Errorf("%q and %q: cosine %v", texts[i], texts[j], c)
			}
		}
	}
	// Case and spacing do not matter (the tokenizer cleans them away).
	v, _ := e.EmbedText(ctx, "  WHITE   Roses ")
	if maxAbsDiff(v, vecs[0]) > 1e-6 {
		t.Error("cleaning: different vector")
	}

	img := load(t, testModel(t, "tiny-image"), Options{})
	if img.HasText() {
		t.Fatal("image-only model has text")
	}
	if _, err := img.EmbedText(ctx, "roses"); !errors.Is(err, ErrNoText) {
		t.Errorf("EmbedText on image-only model: %v", err)
	}
	if _, ok := img.Interface().(embed.TextEmbedder); ok {
		t.Error("image-only Interface() is a TextEmbedder")
	}
	if _, err := img.Interface().EmbedImage(ctx, photos(t)[0]); err != nil {
		t.Error(err)
	}
}

// TestBatching: many goroutines at once get the vectors they would get
// alone, and the tower runs them in batches.
func TestBatching(t *testing.T) {
	dir := testModel(t, "tiny")
	single := load(t, dir, Options{MaxBatch: 1})
	batched := load(t, dir, Options{MaxBatch: 8, BatchWait: 20 * time.Millisecond, Threads: 2})
	ctx := context.Background()
	imgs := photos(t)
	want := make([][]float32, len(imgs))
	for i, img := range imgs {
		v, err := single.EmbedImage(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = v
	}
	texts := []string{"white roses", "белые розы", "a bouquet of 25 red roses"}
	wantText := make([][]float32, len(texts))
	for i, s := range texts {
		wantText[i], _ = single.EmbedText(ctx, s)
	}

	const workers, rounds = 24, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*2)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				i := (w + r) % len(imgs)
				v, err := batched.EmbedImage(ctx, imgs[i])
				if err != nil {
					errs <- err
					return
				}
				if d := maxAbsDiff(v, want[i]); d > 1e-5 {
					errs <- fmt.Errorf("image %d batched differs from single by %v", i, d)
				}
				j := (w + r) % len(texts)
				tv, err := batched.EmbedText(ctx, texts[j])
				if err != nil {
					errs <- err
					return
				}
				if d := maxAbsDiff(tv, wantText[j]); d > 1e-5 {
					errs <- fmt.Errorf("text %q batched differs from single by %v", texts[j], d)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	runs, items := batched.visual.runs.Load(), batched.visual.items.Load()
	t.Logf("image tower: %d items in %d runs", items, runs)
	if items != workers*rounds+2 { // + the test runs at load (batch of 2)
		t.Errorf("%d items run, want %d", items, workers*rounds+2)
	}
	if runs >= items-1 {
		t.Errorf("no batching: %d items in %d runs", items, runs)
	}

	// EmbedPreprocessed agrees too.
	px, _ := batched.Preprocessor().Preprocess(imgs[1], nil)
	out, err := batched.EmbedPreprocessed(ctx, [][]float32{px, px})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(out[1], want[1]); d > 1e-5 {
		t.Errorf("EmbedPreprocessed differs by %v", d)
	}
	if _, err := batched.EmbedPreprocessed(ctx, [][]float32{px[:10]}); err == nil {
		t.Error("short tensor accepted")
	}
}

func TestCloseAndCancel(t *testing.T) {
	needLibrary(t)
	e, err := Load(testModel(t, "tiny"), Options{Threads: 1, BatchWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	img := photos(t)[0]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.EmbedImage(ctx, img); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := e.EmbedText(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled text: %v", err)
	}

	// Requests in flight when Close is called are answered.
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.EmbedImage(context.Background(), img)
			results <- err
		}()
	}
	time.Sleep(10 * time.Millisecond)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("in flight at Close: %v", err)
		}
	}
	if _, err := e.EmbedImage(context.Background(), img); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if _, err := e.EmbedText(context.Background(), "roses"); !errors.Is(err, ErrClosed) {
		t.Errorf("text after Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestEmptyImage(t *testing.T) {
	e := load(t, testModel(t, "tiny"), Options{})
	if _, err := e.EmbedImage(context.Background(), image.NewRGBA(image.Rectangle{})); !errors.Is(err, ErrEmptyImage) {
		t.Errorf("empty image: %v", err)
	}
}

// TestLoadErrors: every way a model directory can be wrong gives an error
// that wraps ErrInvalidModel and says what is wrong.
func TestLoadErrors(t *testing.T) {
	needLibrary(t)
	good := testModel(t, "tiny")
	edit := func(t *testing.T, dir string, f func(m *Manifest)) {
		m, err := ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		f(m)
		data, _ := json.MarshalIndent(m, "", "  ") // unchecked, unlike WriteManifest
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rehash := func(t *testing.T, dir string) { edit(t, dir, func(m *Manifest) { m.FillHashes(dir) }) }
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"no directory", func(t *testing.T, dir string) { os.RemoveAll(dir) }, "has no model.json"},
		{"no model.json", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "model.json")) }, "has no model.json"},
		{"bad json", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "model.json"), []byte(`{"name": "x",`), 0o644)
		}, "model.json"},
		{"unknown field", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "model.json"), []byte(`{"name": "x", "dimension": 512}`), 0o644)
		}, `unknown field "dimension"`},
		{"missing visual", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "visual.onnx")) }, "visual file visual.onnx is missing"},
		{"corrupt visual", func(t *testing.T, dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, "visual.onnx"), os.O_WRONLY, 0)
			f.WriteAt([]byte("garbage"), 1000)
			f.Close()
		}, "visual file visual.onnx has SHA-256"},
		{"garbage with matching hash", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "visual.onnx"), []byte("this is not an ONNX model"), 0o644)
			rehash(t, dir)
		}, "ONNX Runtime cannot load visual.onnx"},
		{"text model as visual", func(t *testing.T, dir string) {
			edit(t, dir, func(m *Manifest) { m.Visual = *m.Text; m.Visual.InputType = "" })
		}, "test run of the visual tower"},
		{"wrong input name", func(t *testing.T, dir string) {
			edit(t, dir, func(m *Manifest) { m.Visual.Input = "image" })
		}, "test run of the visual tower"},
		{"wrong dimensions", func(t *testing.T, dir string) {
			edit(t, dir, func(m *Manifest) { m.Dimensions = 768 })
		}, "model.json says 768 dimensions"},
		{"wrong image size", func(t *testing.T, dir string) {
			edit(t, dir, func(m *Manifest) { m.ImageSize = 224 })
		}, "test run of the visual tower"},
		{"text without vocab", func(t *testing.T, dir string) {
			edit(t, dir, func(m *Manifest) { m.Vocab = nil })
		}, "text and vocab come together"},
		{"bad vocab", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "bpe_simple_vocab_16e6.txt.gz"), []byte("#version: 0.2\na b\n"), 0o644)
			rehash(t, dir)
		}, "merges file has 1 merges"},
		{"path in file name", func(t *testing.T, dir string) {
			edit(t, dir, func(m *Manifest) { m.Visual.File = "../visual.onnx" })
		}, "must be a plain file name"},
		{"bad hash", func(t *testing.T, dir string) {
			edit(t, dir, func(m *Manifest) { m.Visual.SHA256 = "abc" })
		}, "not a hex SHA-256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyModel(t, good)
			c.setup(t, dir)
			e, err := Load(dir, Options{Threads: 1})
			if err == nil {
				e.Close()
				t.Fatal("Load succeeded")
			}
			if !errors.Is(err, ErrInvalidModel) {
				t.Errorf("error does not wrap ErrInvalidModel: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			t.Log(err)
		})
	}
}

func TestMissingLibrary(t *testing.T) {
	dir := testModel(t, "tiny-image")
	_, err := Load(dir, Options{LibraryPath: "/nonexistent/libonnxruntime.so"})
	if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "/nonexistent/libonnxruntime.so") || !strings.Contains(err.Error(), InstallScript) {
		t.Errorf("explicit missing library: %v", err)
	}
	t.Setenv(LibraryEnv, "/nowhere/libonnxruntime.so.1")
	if _, err := FindLibrary(""); !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "$"+LibraryEnv) {
		t.Errorf("env missing library: %v", err)
	}

	// From a directory without .tools above it, nothing is found unless the
	// system has the library.
	t.Setenv(LibraryEnv, "")
	t.Setenv("LD_LIBRARY_PATH", "")
	t.Chdir(t.TempDir())
	p, err := FindLibrary("")
	if err == nil {
		t.Skipf("the system has ONNX Runtime at %s", p)
	}
	for _, want := range []string{LibraryEnv, "beside the executable", ".tools/onnxruntime/", "system library path", InstallScript} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// A library put into .tools/onnxruntime of a parent directory is found.
	root := t.TempDir()
	lib := filepath.Join(root, ".tools", "onnxruntime", "libonnxruntime.so.1")
	os.MkdirAll(filepath.Dir(lib), 0o755)
	os.WriteFile(lib, []byte("not really"), 0o644)
	sub := filepath.Join(root, "a", "b")
	os.MkdirAll(sub, 0o755)
	t.Chdir(sub)
	if p, err := FindLibrary(""); err != nil || p != lib {
		t.Errorf("FindLibrary from %s = %q, %v; want %s", sub, p, err, lib)
	}
}

func TestManifestFiles(t *testing.T) {
	dir := testModel(t, "tiny")
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := VerifyFiles(dir, m)
	if len(st) != 3 {
		t.Fatalf("%d files", len(st))
	}
	for _, s := range st {
		if !s.OK || s.Size <= 0 {
			t.Errorf("%+v", s)
		}
	}
	if m.Visual.Input != "pixel_values" || m.Text.Input != "input_ids" || m.ImageSize != 32 {
		t.Errorf("manifest %+v", m)
	}
}

// TestTextMaskInput: a text tower with an attention-mask input gets 1s up
// to and including <|endoftext|>. The test model's output is
// (1+sum(mask), 1, 1, …), so after normalisation v[0]/v[1]-1 is the
// mask's sum.
func TestTextMaskInput(t *testing.T) {
	needLibrary(t)
	dir := copyModel(t, testModel(t, "tiny"))
	cfg, _ := onnxgen.Arch("tiny")
	m, err := onnxgen.TextModel(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	g := &m.Graph
	last := &g.Nodes[len(g.Nodes)-1] // Identity → text_embeds
	last.Outputs = []string{"pre"}
	b := onnxgen.Extend(*g, 1)
	mask := b.Input("attention_mask", onnxgen.Int64, onnxgen.P("batch"), onnxgen.D(77))
	sum := b.Op("ReduceSum", []string{b.Op("Cast", []string{mask}, onnxgen.AInt("to", onnxgen.Float)), b.Ints(1)}, onnxgen.AInt("keepdims", 1)) // [N,1]
	ones, e0 := make([]float32, 512), make([]float32, 512)
	for i := range ones {
		ones[i] = 1
	}
	e0[0] = 1
	out := b.Op("Mul", []string{"pre", b.Scalar(0)})
	out = b.Op("Add", []string{out, b.Init(onnxgen.FloatTensor("", []int64{512}, ones))})
	out = b.Op("Add", []string{out, b.Op("Mul", []string{sum, b.Init(onnxgen.FloatTensor("", []int64{512}, e0))})})
	b.G.Nodes = append(b.G.Nodes, onnxgen.Node{Name: "out", OpType: "Identity", Inputs: []string{out}, Outputs: []string{"text_embeds"}})
	m.Graph = b.G
	if err := m.WriteFile(filepath.Join(dir, "text.onnx")); err != nil {
		t.Fatal(err)
	}
	man, _ := ReadManifest(dir)
	man.Text.MaskInput = "attention_mask"
	if err := man.FillHashes(dir); err != nil {
		t.Fatal(err)
	}
	if err := WriteManifest(dir, man); err != nil {
		t.Fatal(err)
	}
	e := load(t, dir, Options{})
	ctx := context.Background()
	for s, want := range map[string]float64{"white roses": 4, "a": 3, "": 2, strings.Repeat("rose ", 200): 77} {
		v, err := e.EmbedText(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(v[0])/float64(v[1]) - 1; math.Abs(got-want) > 1e-3 {
			t.Errorf("%.20q: mask sum %v, want %v", s, got, want)
		}
	}
}

// TestLibraryAlreadyLoaded: the process keeps the ONNX Runtime it loaded;
// asking for another library later is an error, asking for the same is not.
func TestLibraryAlreadyLoaded(t *testing.T) {
	dir := testModel(t, "tiny-image")
	load(t, dir, Options{}) // loads the runtime
	lib, err := FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	e, err := Load(dir, Options{LibraryPath: lib, Threads: 1})
	if err != nil {
		t.Fatalf("same library: %v", err)
	}
	e.Close()
	other := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	os.WriteFile(other, []byte("another library"), 0o644)
	if _, err := Load(dir, Options{LibraryPath: other}); err == nil || !strings.Contains(err.Error(), "already loaded") {
		t.Errorf("other library: %v", err)
	}
	if v := RuntimeVersion(); !strings.HasPrefix(v, "1.") {
		t.Errorf("RuntimeVersion %q", v)
	}
}

// EmbedRegions gives each region the vector EmbedImage gives its
// sub-image, and runs the six regions of a search through the image tower
// as one batch.
func TestEmbedRegions(t *testing.T) {
	dir := testModel(t, "tiny")
	e := load(t, dir, Options{MaxBatch: 8, Threads: 2})
	ctx := context.Background()
	img := photos(t)[2]
	b := img.Bounds()
	w, h := b.Dx()*3/4, b.Dy()*3/4
	rects := []image.Rectangle{b}
	for _, xy := range [][2]int{{0, 0}, {2, 0}, {0, 2}, {2, 2}, {1, 1}} {
		p := b.Min.Add(image.Pt(xy[0]*(b.Dx()-w)/2, xy[1]*(b.Dy()-h)/2))
		rects = append(rects, image.Rectangle{p, p.Add(image.Pt(w, h))})
	}
	runs := e.visual.runs.Load()
	vecs, err := e.Interface().(interface {
		EmbedRegions(context.Context, image.Image, []image.Rectangle) ([][]float32, error)
	}).EmbedRegions(ctx, img, rects)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.visual.runs.Load() - runs; n != 1 {
		t.Errorf("six regions in %d runs of the tower, want 1", n)
	}
	for i, r := range rects {
		want, err := e.EmbedImage(ctx, embed.SubImage(img, r))
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(vecs[i], want); d > 1e-5 {
			t.Errorf("region %v differs from its sub-image's vector by %v", r, d)
		}
	}
	small := load(t, dir, Options{MaxBatch: 4})
	if vecs, err := small.EmbedRegions(ctx, img, rects); err != nil || len(vecs) != len(rects) {
		t.Errorf("in batches of 4: %d vectors, %v", len(vecs), err)
	}
	if _, err := e.EmbedRegions(ctx, img, []image.Rectangle{image.Rect(-9, -9, -1, -1)}); err == nil {
		t.Error("a region outside the image: no error")
	}
}
