package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/lookalike/lookalike/embed/clip"
)

const modelUsage = `Usage: lookalike model COMMAND [flags]

Manages CLIP model directories (model.json, visual.onnx, text.onnx and the
tokenizer's vocabulary), the models the CLIP embedder (ONNX Runtime) runs.

Commands:
  fetch    download a CLIP ViT-B/32 ONNX export into a model directory
  info     describe a model directory and check its files
  testgen  write a model directory with random weights (tests, benchmarks)

ONNX Runtime itself is installed by ./scripts/install-onnxruntime (or point
LOOKALIKE_ORT_LIB / --ort-lib at a libonnxruntime.so).

Examples:
  lookalike model fetch --out ./models/clip-vit-b-32
  lookalike model info ./models/clip-vit-b-32
  lookalike model testgen --arch tiny --out /tmp/clip-tiny

Run 'lookalike model COMMAND -h' for a command's flags.
`

func (m *Main) runModel(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, modelUsage)
		return &usageError{"model needs a command: fetch, info or testgen"}
	}
	switch args[0] {
	case "testgen":
		return m.runModelTestgen(ctx, args[1:])
	case "info":
		return m.runModelInfo(ctx, args[1:])
	case "fetch":
		return m.runModelFetch(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, modelUsage)
		return nil
	}
	fmt.Fprint(m.Stderr, modelUsage)
	return &usageError{fmt.Sprintf("unknown model command %q (have: fetch, info, testgen)", args[0])}
}

// newModelFlags makes a subcommand's flag set whose -h prints text and the
// flags.
func (m *Main) newModelFlags(name, text string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), text)
		fs.PrintDefaults()
	}
	return fs
}

// parseWithArgs parses a command's flags that may come before or after positional
// arguments and returns the positional ones.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

const testgenUsage = `Usage: lookalike model testgen --arch tiny|vit-b-32 --out DIR [flags]

Writes a complete CLIP model directory whose weights are random (drawn
deterministically from --seed): for tests and benchmarks of the CLIP
embedder, never for search. tiny is a few-layer model on 32×32 images that
embeds in a millisecond; vit-b-32 is the real ViT-B/32 image tower (87.8M
parameters, 350 MB) with a small text tower.

The text tower needs the tokenizer's vocabulary: by default
testdata/clip/bpe_simple_vocab_16e6.txt.gz of the source tree (looked for in
the working directory and its parents); --no-text writes an image-only model.

Examples:
  lookalike model testgen --arch tiny --out /tmp/clip-tiny
  lookalike model testgen --arch vit-b-32 --seed 7 --no-text --out /tmp/vitb32

Flags:
`

func (m *Main) runModelTestgen(ctx context.Context, args []string) error {
	fs := m.newModelFlags("model testgen", testgenUsage)
	arch := fs.String("arch", "tiny", "architecture: tiny or vit-b-32")
	out := fs.String("out", "", "model directory to write (must not exist unless --force)")
	seed := fs.Uint64("seed", 1, "seed of the random weights")
	vocab := fs.String("vocab", "", "tokenizer merges file (default: testdata/clip/bpe_simple_vocab_16e6.txt.gz of the source tree)")
	noText := fs.Bool("no-text", false, "write an image-only model")
	force := fs.Bool("force", false, "replace --out if it exists")
	rest, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &usageError{fmt.Sprintf("model testgen: unexpected argument %q", rest[0])}
	}
	if *out == "" {
		return &usageError{"model testgen: --out DIR is required"}
	}
	if *arch != "tiny" && *arch != "vit-b-32" {
		return &usageError{fmt.Sprintf("model testgen: --arch must be tiny or vit-b-32, not %q", *arch)}
	}
	if err := checkModelOut(*out, *force); err != nil {
		return err
	}
	if !*noText && *vocab == "" {
		if *vocab, err = findInSourceTree(filepath.Join("testdata", "clip", "bpe_simple_vocab_16e6.txt.gz")); err != nil {
			return fmt.Errorf("model testgen: %v; give the vocabulary with --vocab FILE, or use --no-text", err)
		}
	}
	if *noText {
		*vocab = ""
	}
	start := time.Now()
	var man *clip.Manifest
	err = writeModelDir(*out, *force, func(tmp string) error {
		var err error
		man, err = clip.WriteGenerated(tmp, *arch, *seed, *vocab)
		return err
	})
	if err != nil {
		return fmt.Errorf("model testgen: %w", err)
	}
	towers := "image"
	if man.Text != nil {
		towers += " and text"
	}
	fmt.Fprintf(m.Stdout, "wrote %s: %s (%s towers, %d dimensions, %d×%d images) in %s\n",
		*out, man.Name, towers, man.Dimensions, man.ImageSize, man.ImageSize, time.Since(start).Round(time.Millisecond))
	return nil
}

// findInSourceTree looks for rel in the working directory and its parents.
func findInSourceTree(rel string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found in %s or its parents", rel, wd)
		}
		dir = parent
	}
}

// checkModelOut refuses an existing --out without --force, before any work.
func checkModelOut(out string, force bool) error {
	if _, err := os.Stat(out); err == nil && !force {
		return fmt.Errorf("%s already exists; use --force to replace it", out)
	}
	return nil
}

// writeModelDir has fill write a model into a new temporary directory beside
// out, then puts it in place with a rename, so out is never half written:
// a reader sees the old model or the new one. An existing out is replaced
// only with force.
func writeModelDir(out string, force bool, fill func(tmp string) error) error {
	out = filepath.Clean(out)
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := fill(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if d, err := os.Open(tmp); err == nil {
		d.Sync()
		d.Close()
	}
	if _, err := os.Stat(out); err == nil {
		if !force {
			return fmt.Errorf("%s already exists; use --force to replace it", out)
		}
		old := fmt.Sprintf("%s.old-%s", out, modelDirSuffix())
		if err := os.Rename(out, old); err != nil {
			return err
		}
		if err := os.Rename(tmp, out); err != nil {
			os.Rename(old, out)
			return err
		}
		return os.RemoveAll(old)
	}
	return os.Rename(tmp, out)
}

func modelDirSuffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

const infoUsage = `Usage: lookalike model info [flags] DIR

Describes the model directory DIR (model.json): name, vector dimensions,
image size and normalisation, which towers it has, and each file with its
size and whether its SHA-256 matches model.json. With --load it also loads
the model with ONNX Runtime and runs a test input through each tower.

Exit status 1 when a file is missing or does not match.

Examples:
  lookalike model info /var/lib/lookalike/models/clip-vit-b-32
  lookalike model info --load --json /tmp/clip-tiny

Flags:
`

// modelInfo is info's JSON form.
type modelInfo struct {
	Dir      string           `json:"dir"`
	Manifest *clip.Manifest   `json:"manifest"`
	Files    []modelInfoFile  `json:"files"`
	Towers   []string         `json:"towers"`
	Load     *modelInfoLoaded `json:"load,omitempty"`
	OK       bool             `json:"ok"`
}

type modelInfoFile struct {
	Role  string `json:"role"`
	File  string `json:"file"`
	Size  int64  `json:"size"`
	OK    bool   `json:"sha256_ok"`
	Error string `json:"error,omitempty"`
}

type modelInfoLoaded struct {
	OK      bool   `json:"ok"`
	Runtime string `json:"onnxruntime,omitempty"`
	Took    string `json:"took,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (m *Main) runModelInfo(ctx context.Context, args []string) error {
	fs := m.newModelFlags("model info", infoUsage)
	asJSON := fs.Bool("json", false, "print JSON")
	load := fs.Bool("load", false, "also load the model with ONNX Runtime and run a test input")
	ortLib := fs.String("ort-lib", m.Getenv(clip.LibraryEnv), "ONNX Runtime library for --load [$"+clip.LibraryEnv+"]")
	rest, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		fs.Usage()
		return &usageError{"model info: want one model directory"}
	}
	dir := rest[0]
	man, err := clip.ReadManifest(dir)
	if err != nil {
		return err
	}
	info := modelInfo{Dir: dir, Manifest: man, Towers: []string{"image"}, OK: true}
	if man.Text != nil {
		info.Towers = append(info.Towers, "text")
	}
	var problems []string
	for _, st := range clip.VerifyFiles(dir, man) {
		f := modelInfoFile{Role: st.Role, File: st.File, Size: st.Size, OK: st.OK}
		if st.Err != nil {
			f.Error = st.Err.Error()
			problems = append(problems, f.Error)
			info.OK = false
		}
		info.Files = append(info.Files, f)
	}
	if *load && info.OK {
		start := time.Now()
		e, err := clip.Load(dir, clip.Options{LibraryPath: *ortLib, Threads: 1, MaxBatch: 2})
		info.Load = &modelInfoLoaded{OK: err == nil, Runtime: clip.RuntimeVersion()}
		if err != nil {
			info.Load.Error = err.Error()
			problems = append(problems, err.Error())
			info.OK = false
		} else {
			info.Load.Took = time.Since(start).Round(time.Millisecond).String()
			e.Close()
		}
	}

	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(info); err != nil {
			return err
		}
	} else {
		w := m.Stdout
		fmt.Fprintf(w, "model       %s\n", man.Name)
		fmt.Fprintf(w, "directory   %s\n", dir)
		fmt.Fprintf(w, "dimensions  %d\n", man.Dimensions)
		fmt.Fprintf(w, "image size  %d×%d\n", man.ImageSize, man.ImageSize)
		fmt.Fprintf(w, "mean / std  %v / %v\n", man.Mean, man.Std)
		towers := "image (" + man.Visual.Input + " → " + man.Visual.Output + ")"
		if man.Text != nil {
			towers += ", text (" + man.Text.Input + " → " + man.Text.Output + ")"
		} else {
			towers += "; no text tower"
		}
		fmt.Fprintf(w, "towers      %s\n", towers)
		if man.Source != "" {
			fmt.Fprintf(w, "source      %s\n", man.Source)
		}
		fmt.Fprintf(w, "files:\n")
		for _, f := range info.Files {
			status := "sha256 ok"
			size := "missing"
			if f.Size >= 0 {
				size = humanSize(f.Size)
			}
			if !f.OK {
				status = "FAILED: " + f.Error
			}
			fmt.Fprintf(w, "  %-7s %-32s %10s  %s\n", f.Role, f.File, size, status)
		}
		if info.Load != nil {
			if info.Load.OK {
				fmt.Fprintf(w, "load        ok with ONNX Runtime %s (%s, test input run through each tower)\n", info.Load.Runtime, info.Load.Took)
			} else {
				fmt.Fprintf(w, "load        FAILED: %s\n", info.Load.Error)
			}
		}
	}
	if !info.OK {
		return fmt.Errorf("model %s is not usable: %s", dir, strings.Join(problems, "; "))
	}
	return nil
}

// Default CLIP ViT-B/32 export fetched by `model fetch`: the ONNX export of
// openai/clip-vit-base-patch32 that transformers.js uses (Hugging Face
// layout: separate vision and text models with projections, merges.txt).
const (
	defaultVisualURL = "https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/onnx/vision_model.onnx"
	defaultTextURL   = "https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/onnx/text_model.onnx"
	defaultVocabURL  = "https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/merges.txt"
	defaultModelName = "clip-vit-b-32"
)

const fetchUsage = `Usage: lookalike model fetch [flags] --out DIR

Downloads a CLIP model exported to ONNX (an image tower, optionally a text
tower and the tokenizer's merges file) into the model directory DIR, writes
its model.json, and checks it: the SHA-256 of each file when given, that the
vocabulary is CLIP's, and (unless --check=false) that ONNX Runtime loads the
towers and runs a test input. DIR is written atomically (a temporary
directory renamed into place), so a failed or interrupted fetch leaves an
existing model untouched; an existing DIR is only replaced with --force.

Without URLs it fetches openai/clip-vit-base-patch32 as exported for
transformers.js (Xenova/clip-vit-base-patch32 on Hugging Face). Other
exports work when they take float32 [N,3,S,S] images and int64 or int32
[N,77] token ids and give [N,D] embeddings; name their inputs and outputs
with the --visual-*/--text-* flags, and give --name (every vector records
the model name, and vectors of different names are never compared).

Examples:
  lookalike model fetch --out /var/lib/lookalike/models/clip-vit-b-32
  lookalike model fetch --name clip-b32-laion --no-text \
      --visual-url https://example.com/visual.onnx --visual-sha256 3f1c... --out ./models/b32-laion

Flags:
`

func (m *Main) runModelFetch(ctx context.Context, args []string) error {
	fs := m.newModelFlags("model fetch", fetchUsage)
	out := fs.String("out", "", "model directory to write")
	name := fs.String("name", "", "model name recorded with every vector (default "+defaultModelName+" for the default URLs; required with other URLs)")
	visualURL := fs.String("visual-url", defaultVisualURL, "image tower ONNX file")
	textURL := fs.String("text-url", defaultTextURL, "text tower ONNX file")
	vocabURL := fs.String("vocab-url", defaultVocabURL, "tokenizer merges file (bpe_simple_vocab_16e6.txt[.gz] or merges.txt)")
	visualSHA := fs.String("visual-sha256", "", "expected SHA-256 of the image tower")
	textSHA := fs.String("text-sha256", "", "expected SHA-256 of the text tower")
	vocabSHA := fs.String("vocab-sha256", "", "expected SHA-256 of the merges file")
	noText := fs.Bool("no-text", false, "fetch only the image tower")
	imageSize := fs.Int("image-size", 224, "input image side")
	dims := fs.Int("dimensions", 512, "embedding size")
	visualIn := fs.String("visual-input", "pixel_values", "image tower input name")
	visualOut := fs.String("visual-output", "image_embeds", "image tower output name")
	textIn := fs.String("text-input", "input_ids", "text tower input name")
	textOut := fs.String("text-output", "text_embeds", "text tower output name")
	textType := fs.String("text-input-type", "int64", "text tower input type: int64 or int32")
	textMask := fs.String("text-mask-input", "", "text tower attention-mask input name, if it has one")
	check := fs.Bool("check", true, "load the model with ONNX Runtime and run a test input before installing it (skipped with a warning when ONNX Runtime is not installed)")
	ortLib := fs.String("ort-lib", m.Getenv(clip.LibraryEnv), "ONNX Runtime library for --check [$"+clip.LibraryEnv+"]")
	force := fs.Bool("force", false, "replace --out if it exists")
	rest, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &usageError{fmt.Sprintf("model fetch: unexpected argument %q", rest[0])}
	}
	if *out == "" {
		return &usageError{"model fetch: --out DIR is required"}
	}
	custom := *visualURL != defaultVisualURL || (!*noText && (*textURL != defaultTextURL || *vocabURL != defaultVocabURL))
	if *name == "" {
		if custom {
			return &usageError{"model fetch: --name is required with other URLs than the defaults (it tells the vectors of different models apart)"}
		}
		*name = defaultModelName
	}
	for flagName, u := range map[string]string{"--visual-url": *visualURL, "--text-url": *textURL, "--vocab-url": *vocabURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") {
			return &usageError{fmt.Sprintf("model fetch: %s %q is not an http(s) URL", flagName, u)}
		}
	}
	for flagName, s := range map[string]string{"--visual-sha256": *visualSHA, "--text-sha256": *textSHA, "--vocab-sha256": *vocabSHA} {
		if s != "" && (len(s) != 64 || strings.Trim(strings.ToLower(s), "0123456789abcdef") != "") {
			return &usageError{fmt.Sprintf("model fetch: %s %q is not a hex SHA-256", flagName, s)}
		}
	}
	if err := checkModelOut(*out, *force); err != nil {
		return err
	}

	man := &clip.Manifest{
		Name: *name, Dimensions: *dims, ImageSize: *imageSize, Mean: clip.DefaultMean, Std: clip.DefaultStd,
		Visual: clip.Tower{FileRef: clip.FileRef{File: "visual.onnx"}, Input: *visualIn, Output: *visualOut},
		Source: *visualURL,
	}
	dl := &modelDownloader{client: &http.Client{Transport: http.DefaultTransport}, w: m.Stderr, tty: modelIsTTY(m.Stderr)}
	err = writeModelDir(*out, *force, func(tmp string) error {
		if err := dl.get(ctx, *visualURL, filepath.Join(tmp, "visual.onnx"), *visualSHA); err != nil {
			return err
		}
		if !*noText {
			vocabName := path.Base(mustURLPath(*vocabURL))
			if vocabName == "" || vocabName == "/" || vocabName == "." || strings.HasPrefix(vocabName, ".") {
				vocabName = "merges.txt"
			}
			if err := dl.get(ctx, *vocabURL, filepath.Join(tmp, vocabName), *vocabSHA); err != nil {
				return err
			}
			if _, err := clip.LoadTokenizer(filepath.Join(tmp, vocabName)); err != nil {
				return fmt.Errorf("%s: %w", *vocabURL, err)
			}
			if err := dl.get(ctx, *textURL, filepath.Join(tmp, "text.onnx"), *textSHA); err != nil {
				return err
			}
			man.Text = &clip.Tower{FileRef: clip.FileRef{File: "text.onnx"}, Input: *textIn, Output: *textOut, InputType: *textType, MaskInput: *textMask}
			man.Vocab = &clip.FileRef{File: vocabName}
			man.Source += " " + *textURL + " " + *vocabURL
		}
		if err := man.FillHashes(tmp); err != nil {
			return err
		}
		if err := clip.WriteManifest(tmp, man); err != nil {
			return err
		}
		if !*check {
			return nil
		}
		e, err := clip.Load(tmp, clip.Options{LibraryPath: *ortLib, Threads: 1, MaxBatch: 2})
		if errors.Is(err, clip.ErrLibraryNotFound) {
			fmt.Fprintf(m.Stderr, "warning: not checked with ONNX Runtime: %v\n", err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("the downloaded model does not load (nothing was installed): %w", err)
		}
		fmt.Fprintf(m.Stderr, "checked: ONNX Runtime %s loads it and embeds a test input\n", clip.RuntimeVersion())
		return e.Close()
	})
	if err != nil {
		return fmt.Errorf("model fetch: %w", err)
	}
	fmt.Fprintf(m.Stdout, "installed %s into %s\n", man.Name, *out)
	return nil
}

func mustURLPath(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Path
}

func modelIsTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// modelDownloader fetches files with progress: a redrawn bar on a terminal, a
// log line every 10% (or 5 seconds) otherwise.
type modelDownloader struct {
	client *http.Client
	w      io.Writer
	tty    bool
}

func (d *modelDownloader) get(ctx context.Context, rawURL, dst, wantSHA string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "lookalike/"+Version)
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("downloading %s: %s", rawURL, resp.Status)
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	name := filepath.Base(dst)
	p := &downloadProgress{w: d.w, tty: d.tty, name: name, total: resp.ContentLength, start: time.Now(), last: time.Now()}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h, p), resp.Body)
	p.finish(err == nil)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", rawURL, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("downloading %s: got %d of %d bytes", rawURL, n, resp.ContentLength)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if wantSHA != "" && !strings.EqualFold(sum, wantSHA) {
		return fmt.Errorf("%s has SHA-256 %s, expected %s (corrupt or changed download; nothing was installed)", rawURL, sum, strings.ToLower(wantSHA))
	}
	fmt.Fprintf(d.w, "%s: %s, sha256 %s\n", name, humanSize(n), sum)
	return nil
}

type downloadProgress struct {
	w           io.Writer
	tty         bool
	name        string
	total, done int64
	start, last time.Time
	lastPct     int64
}

func (p *downloadProgress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	now := time.Now()
	if p.tty {
		if now.Sub(p.last) >= 100*time.Millisecond {
			p.last = now
			p.draw()
		}
		return len(b), nil
	}
	pct := int64(-1)
	if p.total > 0 {
		pct = p.done * 100 / p.total
	}
	if (pct >= 0 && pct/10 > p.lastPct/10) || now.Sub(p.last) >= 5*time.Second {
		p.last, p.lastPct = now, pct
		if pct >= 0 {
			fmt.Fprintf(p.w, "%s: %d%% (%s of %s)\n", p.name, pct, humanSize(p.done), humanSize(p.total))
		} else {
			fmt.Fprintf(p.w, "%s: %s\n", p.name, humanSize(p.done))
		}
	}
	return len(b), nil
}

func (p *downloadProgress) draw() {
	rate := float64(p.done) / max(time.Since(p.start).Seconds(), 1e-3)
	if p.total > 0 {
		const width = 30
		filled := int(p.done * width / p.total)
		fmt.Fprintf(p.w, "\r%-14s [%s%s] %3d%% %s/%s %s/s ", p.name, strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
			p.done*100/p.total, humanSize(p.done), humanSize(p.total), humanSize(int64(rate)))
	} else {
		fmt.Fprintf(p.w, "\r%-14s %s %s/s ", p.name, humanSize(p.done), humanSize(int64(rate)))
	}
}

func (p *downloadProgress) finish(ok bool) {
	if p.tty {
		p.draw()
		fmt.Fprintln(p.w)
	}
}
