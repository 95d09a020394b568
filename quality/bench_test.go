package quality_test

import (
	"context"
	"os"
	"runtime"
	"testing"

	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/quality"
	"github.com/lookalike/lookalike/regions"
)

// BenchmarkQuality runs the whole protocol with the builtin descriptor on
// the photos in $LOOKALIKE_FLOWERS (DIR/<split>/<label>/*.jpg), queries made
// from the split $LOOKALIKE_SPLIT ("bench" unless set; "all" for every
// photo), and reports recall@1, recall@10, same-kind precision@10 and
// ms/image as metrics. Without LOOKALIKE_FLOWERS it is skipped. E.g.
//
//	LOOKALIKE_FLOWERS=../shared/data/flowers go test -run '^$' -bench Quality -benchtime 1x ./quality
func BenchmarkQuality(b *testing.B) {
	dir := os.Getenv("LOOKALIKE_FLOWERS")
	if dir == "" {
		b.Skip("LOOKALIKE_FLOWERS is not set (the folder of flower photos)")
	}
	split := os.Getenv("LOOKALIKE_SPLIT")
	if split == "" {
		split = "bench"
	}
	if split == "all" {
		split = ""
	}
	e := builtin.New()
	var rep quality.Report
	for i := 0; i < b.N; i++ {
		var err error
		rep, err = quality.Run(context.Background(), e, quality.Options{
			Dir: dir, QuerySplit: split, Seed: 1, Workers: runtime.GOMAXPROCS(0),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(rep.RecallAt1, "recall@1")
	b.ReportMetric(rep.RecallAt10, "recall@10")
	b.ReportMetric(rep.SameKindPrecisionAt10, "samekind-p@10")
	b.ReportMetric(rep.EmbedMsPerImage, "ms/image")
	b.ReportMetric(float64(rep.Queries), "queries")
	b.Logf("%s on %s (split %s): %d queries, catalogue %d: recall@1 %.4f recall@10 %.4f same-kind precision@10 %.4f, %.2f ms/image",
		rep.Model, dir, rep.Split, rep.Queries, rep.Catalogue, rep.RecallAt1, rep.RecallAt10, rep.SameKindPrecisionAt10, rep.EmbedMsPerImage)
}

// BenchmarkSearchHard times one search (regions.Embed at the API's regions,
// then the flat index of every photo in $LOOKALIKE_FLOWERS searched and
// fused) of shopper's photos made from the dev split (seed 1), as the search
// API runs it after decoding, with the builtin descriptor. Without
// LOOKALIKE_FLOWERS it is skipped. E.g.
//
//	LOOKALIKE_FLOWERS=../shared/data/flowers go test -run '^$' -bench SearchHard -cpuprofile cpu.out ./quality
func BenchmarkSearchHard(b *testing.B) {
	dir := os.Getenv("LOOKALIKE_FLOWERS")
	if dir == "" {
		b.Skip("LOOKALIKE_FLOWERS is not set (the folder of flower photos)")
	}
	e := builtin.New()
	idx, queries, err := quality.SearchFixture(context.Background(), e, dir, "dev", 1, 100)
	if err != nil {
		b.Fatal(err)
	}
	cfg := regions.ConfigFor(e)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := regions.Search(context.Background(), e, idx, cfg, regions.Query{Image: queries[i%len(queries)], K: 10}); err != nil {
			b.Fatal(err)
		}
	}
}
