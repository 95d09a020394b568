package quality_test

import (
	"context"
	"os"
	"runtime"
	"testing"

	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/quality"
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
