package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/embed/clip"
	"github.com/lookalike/lookalike/imagedecode"
)

const benchEmbedUsage = `Usage: lookalike bench embed [flags]

Measures how fast photos become vectors, in two stages timed separately:
decoding plus preprocessing (one goroutine: JPEG/PNG/WebP decoding, then the
model's resize, crop and normalisation), and inference (the model itself, in
batches of --batch on --threads ONNX Runtime threads). Prints milliseconds
per image and images per second for each, and for both together.

With --model-dir it measures that CLIP model (ONNX Runtime, see 'lookalike
model'); without, the built-in descriptor (whose "inference" is the whole
descriptor and whose decoding includes no preprocessing).

Examples:
  lookalike bench embed
  lookalike model testgen --arch vit-b-32 --no-text --out /tmp/vitb32
  lookalike bench embed --model-dir /tmp/vitb32 --threads 2 --batch 8 --n 32
  lookalike bench embed --model-dir ./models/clip-vit-b-32 --images ./photos --json

Flags:
`

// benchEmbedReport is bench embed's result (its JSON form).
type benchEmbedReport struct {
	Model        string  `json:"model"`
	Dim          int     `json:"dimensions"`
	Images       int     `json:"images"`
	Source       string  `json:"source"`
	Threads      int     `json:"threads,omitempty"`
	Batch        int     `json:"batch,omitempty"`
	DecodeMS     float64 `json:"decode_ms_per_image"`
	PreprocessMS float64 `json:"preprocess_ms_per_image"`
	InferenceMS  float64 `json:"inference_ms_per_image"`
	TotalMS      float64 `json:"total_ms_per_image"`
}

func (m *Main) runBenchEmbed(ctx context.Context, args []string) error {
	fs := m.newModelFlags("bench embed", benchEmbedUsage)
	modelDir := fs.String("model-dir", "", "CLIP model directory (default: the built-in descriptor)")
	threads := fs.Int("threads", runtime.NumCPU(), "ONNX Runtime intra-op threads")
	batch := fs.Int("batch", 8, "images per inference run")
	images := fs.String("images", "", "folder of photos, searched recursively (default: testdata/photos of the source tree)")
	n := fs.Int("n", 32, "images to embed (the folder's photos are reused as needed)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	ortLib := fs.String("ort-lib", m.Getenv(clip.LibraryEnv), "ONNX Runtime library [$"+clip.LibraryEnv+"]")
	rest, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &usageError{fmt.Sprintf("bench embed: unexpected argument %q", rest[0])}
	}
	if *n < 1 || *batch < 1 || *threads < 1 {
		return &usageError{"bench embed: --n, --batch and --threads must be positive"}
	}
	if *images == "" {
		if *images, err = findInSourceTree(filepath.Join("testdata", "photos")); err != nil {
			return &usageError{fmt.Sprintf("bench embed: %v; give a folder of photos with --images", err)}
		}
	}
	files, err := photoFiles(*images)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("bench embed: no photos (.jpg, .jpeg, .png, .webp, .gif) in %s", *images)
	}
	data := make([][]byte, len(files))
	for i, f := range files {
		if data[i], err = os.ReadFile(f); err != nil {
			return err
		}
	}

	var (
		e   embed.Embedder
		cl  *clip.Embedder
		rep = benchEmbedReport{Images: *n, Source: *images}
	)
	if *modelDir != "" {
		cl, err = clip.Load(*modelDir, clip.Options{LibraryPath: *ortLib, Threads: *threads, MaxBatch: *batch})
		if err != nil {
			return err
		}
		defer cl.Close()
		e = cl
		rep.Threads, rep.Batch = *threads, *batch
	} else {
		e = builtin.New()
	}
	rep.Model, rep.Dim = e.Model(), e.Dim()

	// Stage 1: decode (and preprocess), one goroutine.
	var decodeT, preT time.Duration
	decoded := make([]image.Image, *n)
	pixels := make([][]float32, *n)
	for i := 0; i < *n; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		img, _, err := imagedecode.Decode(data[i%len(data)], imagedecode.Limits{})
		if err != nil {
			return fmt.Errorf("bench embed: %s: %w", files[i%len(files)], err)
		}
		t1 := time.Now()
		decodeT += t1.Sub(t0)
		if cl != nil {
			if pixels[i], err = cl.Preprocessor().Preprocess(img, nil); err != nil {
				return fmt.Errorf("bench embed: %s: %w", files[i%len(files)], err)
			}
			preT += time.Since(t1)
		} else {
			decoded[i] = img
		}
	}

	// Stage 2: inference.
	t0 := time.Now()
	if cl != nil {
		for i := 0; i < *n; i += *batch {
			if _, err := cl.EmbedPreprocessed(ctx, pixels[i:min(i+*batch, *n)]); err != nil {
				return err
			}
		}
	} else {
		for _, img := range decoded {
			if _, err := e.EmbedImage(ctx, img); err != nil {
				return err
			}
		}
	}
	inferT := time.Since(t0)

	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 / float64(*n) }
	rep.DecodeMS, rep.PreprocessMS, rep.InferenceMS = per(decodeT), per(preT), per(inferT)
	rep.TotalMS = rep.DecodeMS + rep.PreprocessMS + rep.InferenceMS
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := m.Stdout
	ips := func(ms float64) float64 {
		if ms <= 0 {
			return 0
		}
		return 1000 / ms
	}
	fmt.Fprintf(w, "model %s (%d dimensions), %d images from %s (%d files)\n", rep.Model, rep.Dim, *n, *images, len(files))
	fmt.Fprintf(w, "decode+preprocess  %8.2f ms/image  %8.1f images/s  (1 goroutine)\n", rep.DecodeMS+rep.PreprocessMS, ips(rep.DecodeMS+rep.PreprocessMS))
	fmt.Fprintf(w, "  decode           %8.2f ms/image\n", rep.DecodeMS)
	if cl != nil {
		fmt.Fprintf(w, "  preprocess       %8.2f ms/image\n", rep.PreprocessMS)
		fmt.Fprintf(w, "inference          %8.2f ms/image  %8.1f images/s  (batch %d, %d threads)\n", rep.InferenceMS, ips(rep.InferenceMS), *batch, *threads)
	} else {
		fmt.Fprintf(w, "descriptor         %8.2f ms/image  %8.1f images/s\n", rep.InferenceMS, ips(rep.InferenceMS))
	}
	fmt.Fprintf(w, "total              %8.2f ms/image  %8.1f images/s  (stages one after the other)\n", rep.TotalMS, ips(rep.TotalMS))
	return nil
}

// photoFiles lists the photos under dir, sorted.
func photoFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".webp", ".gif":
			if !d.IsDir() {
				files = append(files, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bench embed: %w", err)
	}
	sort.Strings(files)
	return files, nil
}
