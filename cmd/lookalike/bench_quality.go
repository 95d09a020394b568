package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/embed/clip"
	"github.com/lookalike/lookalike/quality"
	"github.com/lookalike/lookalike/regions"
)

// runBenchQuality implements "lookalike bench quality [flags] DIR": it
// measures how well the builtin descriptor (or a CLIP model) finds synthetic
// re-photographs or shopper's photos of the photos in DIR among all of them
// (see package quality).
func runBenchQuality(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("bench quality", flag.ContinueOnError)
	fs.SetOutput(stderr)
	split := fs.String("split", "bench", "photos to make queries from: bench, dev or all (the catalogue always holds every photo)")
	seed := fs.Int64("seed", 1, "seed of the synthetic queries")
	limit := fs.Int("limit", 0, "use at most this many queries, drawn at random (0: all)")
	workers := fs.Int("workers", runtime.NumCPU(), "images decoded and embedded at once")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "show no progress")
	modelDir := fs.String("model-dir", "", "a CLIP model directory to measure instead of the built-in descriptor")
	ortLib := fs.String("ort-lib", getenv(clip.LibraryEnv), "ONNX Runtime library, for --model-dir [$"+clip.LibraryEnv+"]")
	threads := fs.Int("threads", runtime.NumCPU(), "ONNX Runtime intra-op threads, for --model-dir")
	timeSingle := fs.Bool("time-single", false, "also time each query searched with the whole frame only, under the same load")
	wholeOnly := fs.Bool("whole-only", false, "search with the whole frame only (no sub-windows), to compare")
	noRerank := fs.Bool("no-rerank", false, "leave out the re-ranking of the best hits by local features (as LOOKALIKE_RERANK=0 serves), to compare")
	index := fs.String("index", "flat", "the index the queries search: flat (the exact scan) or hnsw (approximate, as LOOKALIKE_INDEX=hnsw serves)")
	version := fs.String("builtin", builtin.Name, "the version of the built-in descriptor to measure (builtin-v1, builtin-v2, builtin-v3, "+builtin.Name+")")
	hard := fs.Bool("hard", false, "shopper's photos instead of re-photographs: rotated up to ±12°, white balance ±12 %, blurred, half of them on another photo's background (spanning 55–85 % of the frame's width and height)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: lookalike bench quality [flags] DIR\n\n"+
			"DIR holds photos as DIR/<split>/<label>/*.jpg (or DIR/<label>/*.jpg), and\n"+
			"optionally NEAR_DUPLICATES.tsv. Every photo is in the catalogue; each photo\n"+
			"of --split is re-photographed synthetically (cropped, rescaled, lit\n"+
			"differently, mirrored, JPEG re-encoded) and searched for. Reports\n"+
			"recall@1, recall@10 and same-kind precision@10. With --hard the queries are\n"+
			"shopper's photos instead: rotated, in other light, blurred, and half of them\n"+
			"standing on another photo of the set. Queries go through the search API's\n"+
			"multi-region search (package regions) over the in-memory index (--index), one at a\n"+
			"time; the p50 and p90 of a search are reported.\n\n"+
			"Examples:\n"+
			"  lookalike bench quality --split bench ../shared/data/flowers\n"+
			"  lookalike bench quality --split dev --seed 2 --json ../shared/data/flowers\n"+
			"  lookalike bench quality --hard --split bench ../shared/data/flowers\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// Accept flags after DIR too.
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(rest) != 1 {
		fs.Usage()
		return fmt.Errorf("bench quality: want one DIR, got %d arguments", len(rest))
	}
	dir := rest[0]
	if *index != "flat" && *index != "hnsw" {
		return fmt.Errorf("bench quality: --index must be flat or hnsw, not %q", *index)
	}
	switch *split {
	case "bench", "dev", "all":
	default:
		return fmt.Errorf("bench quality: --split must be bench, dev or all, not %q", *split)
	}
	querySplit := *split
	if querySplit == "all" {
		querySplit = ""
	}
	if *workers < 1 {
		*workers = 1
	}

	be, ok := builtin.ByName(*version)
	if !ok {
		return fmt.Errorf("bench quality: --builtin: no built-in descriptor version %q (builtin-v1, builtin-v2, builtin-v3, %s)", *version, builtin.Name)
	}
	var e embed.Embedder = be
	if *modelDir != "" {
		cl, err := clip.Load(*modelDir, clip.Options{LibraryPath: *ortLib, Threads: max(1, *threads)})
		if err != nil {
			return err
		}
		defer cl.Close()
		e = cl.Interface()
	}
	opt := quality.Options{
		Dir:        dir,
		QuerySplit: querySplit,
		Seed:       *seed,
		Limit:      *limit,
		Workers:    *workers,
		Hard:       *hard,
		TimeSingle: *timeSingle,
		Index:      *index,
	}
	if *wholeOnly || *noRerank {
		c := regions.ConfigFor(e)
		if *wholeOnly {
			c.Regions = c.Regions[:1]
		}
		if *noRerank {
			c.Rerank.K = 0
		}
		opt.Regions = &c
	}
	if !*quiet {
		last := time.Time{}
		opt.Progress = func(done, total int) {
			if now := time.Now(); done == total || now.Sub(last) >= 250*time.Millisecond {
				last = now
				fmt.Fprintf(stderr, "\rembedding %d/%d photos", done, total)
				if done == total {
					fmt.Fprintln(stderr)
				}
			}
		}
		opt.QueryProgress = func(done, total int) {
			if now := time.Now(); done == total || now.Sub(last) >= 250*time.Millisecond {
				last = now
				fmt.Fprintf(stderr, "\rsearching %d/%d queries", done, total)
				if done == total {
					fmt.Fprintln(stderr)
				}
			}
		}
	}
	rep, err := quality.Run(ctx, e, opt)
	if err != nil {
		if !*quiet {
			fmt.Fprintln(stderr)
		}
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "model                      %s (%d dimensions)\n", rep.Model, rep.Dim)
	fmt.Fprintf(stdout, "data                       %s\n", dir)
	fmt.Fprintf(stdout, "catalogue                  %d photos\n", rep.Catalogue)
	fmt.Fprintf(stdout, "queries                    %d %s (split %s, seed %d", rep.Queries, rep.Protocol, rep.Split, rep.Seed)
	if rep.Protocol == "hard" {
		fmt.Fprintf(stdout, ", %d on a background", rep.OnBackground)
	}
	fmt.Fprintln(stdout, ")")
	fmt.Fprintf(stdout, "recall@1                   %.4f\n", rep.RecallAt1)
	fmt.Fprintf(stdout, "recall@10                  %.4f\n", rep.RecallAt10)
	fmt.Fprintf(stdout, "same-kind precision@10     %.4f\n", rep.SameKindPrecisionAt10)
	b := rep.Bands
	fmt.Fprintf(stdout, "own product score          p5 %.4f  p50 %.4f\n", b.TrueMatchP5, b.TrueMatchP50)
	fmt.Fprintf(stdout, "best other product score   p50 %.4f  p95 %.4f  p99 %.4f\n", b.BestOtherP50, b.BestOtherP95, b.BestOtherP99)
	fmt.Fprintf(stdout, "same kind / other kind     p50 %.4f / %.4f, other kind p99 %.4f\n", b.SameKindP50, b.OtherKindP50, b.OtherKindP99)
	fmt.Fprintf(stdout, "bands                      exact >= %.4f (%.1f%% of own products, %.1f%% of best others), similar >= %.4f\n",
		b.Exact, 100*b.ExactRecall, 100*b.FalseExact, b.Similar)
	fmt.Fprintf(stdout, "embedding                  %.2f ms/image (%d workers)\n", rep.EmbedMsPerImage, *workers)
	fmt.Fprintf(stdout, "search                     p50 %.2f ms, p90 %.2f ms (%d regions, re-rank of the best %d, %d products, %s index, one query at a time)\n", rep.SearchP50Ms, rep.SearchP90Ms, rep.Regions, rep.Rerank, rep.Catalogue, rep.Index)
	fmt.Fprintf(stdout, "search CPU                 %.2f ms per search (this process's CPU time)\n", rep.SearchCPUMs)
	if rep.SingleP50Ms > 0 {
		fmt.Fprintf(stdout, "whole frame only           p50 %.2f ms, CPU %.2f ms (the same queries, timed right after; the regions and the re-ranking cost %.2f× p50, %.2f× CPU)\n",
			rep.SingleP50Ms, rep.SingleCPUMs, rep.SearchP50Ms/rep.SingleP50Ms, rep.SearchCPUMs/max(rep.SingleCPUMs, 1e-9))
	}
	fmt.Fprintf(stdout, "elapsed                    %s\n", rep.Elapsed.Round(time.Millisecond))
	return nil
}
