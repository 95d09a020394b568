//go:build cgo

package clip

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/image/draw"

	"github.com/lookalike/lookalike/regions"
)

var vitb struct {
	sync.Once
	dir string
	err error
}

// vitB32 generates the ViT-B/32 image tower (random weights, 350 MB) once
// per test binary, into the test's temporary root.
func vitB32(b *testing.B) string {
	b.Helper()
	vitb.Do(func() {
		vitb.dir = filepath.Join(testRoot, "vit-b-32")
		_, vitb.err = WriteGenerated(vitb.dir, "vit-b-32", 1, "")
	})
	if vitb.err != nil {
		b.Fatal(vitb.err)
	}
	return vitb.dir
}

// BenchmarkViTB32 measures inference of the real ViT-B/32 image-tower
// architecture with 2 threads: batch=N runs N preprocessed images as one
// batch; end-to-end-800px-x8 runs 8 goroutines that each decode an 800×800 JPEG,
// preprocess it and call EmbedImage (which batches them). ms/image is wall
// time per image.
func BenchmarkViTB32(b *testing.B) {
	needLibrary(b)
	e := load(b, vitB32(b), Options{Threads: 2, MaxBatch: 8})
	ctx := context.Background()
	imgs := photos(b)
	var px [][]float32
	for i := 0; i < 8; i++ {
		v, err := e.Preprocessor().Preprocess(imgs[i%len(imgs)], nil)
		if err != nil {
			b.Fatal(err)
		}
		px = append(px, v)
	}
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := e.EmbedPreprocessed(ctx, px[:n]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N*n), "ms/image")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3/float64(b.N*n), "cpu-ms/image")
		})
	}
	b.Run("end-to-end-800px-x8", func(b *testing.B) {
		data := photo800(b)
		b.ReportAllocs()
		cpu0 := cpuTime()
		runs0, items0 := e.visual.runs.Load(), e.visual.items.Load()
		for b.Loop() {
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					img, err := jpeg.Decode(bytes.NewReader(data))
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := e.EmbedImage(ctx, img); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N*8), "ms/image")
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3/float64(b.N*8), "cpu-ms/image")
		b.ReportMetric(float64(e.visual.items.Load()-items0)/float64(e.visual.runs.Load()-runs0), "images/run")
	})
}

// BenchmarkTinyEmbedImage is the whole path on the tiny model: mostly
// preprocessing and batching overhead.
func BenchmarkTinyEmbedImage(b *testing.B) {
	e := load(b, testModel(b, "tiny"), Options{Threads: 1, BatchWait: -1})
	img := photos(b)[0]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.EmbedImage(ctx, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTinyRegions is a search's embedding on the tiny model, the whole
// frame alone against the six regions of regions.DefaultConfig (run as one
// batch), of a 1,000×750 photo (a shopper's photo as the API keeps it after
// decoding): the regions' cost over the whole frame's is preprocessing and
// batching, the tiny model's inference being nearly free.
func BenchmarkTinyRegions(b *testing.B) {
	e := load(b, testModel(b, "tiny"), Options{Threads: 1})
	src := photos(b)[2]
	img := image.NewRGBA(image.Rect(0, 0, 1000, 750))
	draw.BiLinear.Scale(img, img.Rect, src, src.Bounds(), draw.Src, nil)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		cfg  regions.Config
	}{{"whole", regions.Config{Regions: regions.DefaultConfig().Regions[:1]}}, {"6-regions", regions.DefaultConfig()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := regions.Embed(ctx, e, c.cfg, img, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
		})
	}
}
