package quality

import (
	"math"
	"sort"
)

// Calibration is the score distribution of a set of queries, and the band
// thresholds derived from it (see embed.Thresholds and README, "Relevance
// bands").
type Calibration struct {
	// TrueMatch are percentiles (P5, P50) of the score of each query's own
	// product: its source photo, or the best of its near-duplicates.
	TrueMatchP5  float32 `json:"true_match_p5"`
	TrueMatchP50 float32 `json:"true_match_p50"`
	// BestOther is the score of the best catalogue item that is not the
	// query's product, per query: P50, P95 and P99.
	BestOtherP50 float32 `json:"best_other_p50"`
	BestOtherP95 float32 `json:"best_other_p95"`
	BestOtherP99 float32 `json:"best_other_p99"`
	// SameKind and OtherKind are the scores of every (query, catalogue
	// item) pair of the same label (not the query's product) and of another
	// label: their medians, and OtherKind's P99.
	SameKindP50  float32 `json:"same_kind_p50"`
	OtherKindP50 float32 `json:"other_kind_p50"`
	OtherKindP99 float32 `json:"other_kind_p99"`

	// Exact is the exact-band threshold: halfway between TrueMatchP5 and
	// BestOtherP95 when they are apart, BestOtherP95 when they overlap (so
	// that at most 5 % of queries show another product as "this is it").
	Exact float32 `json:"exact"`
	// Similar is the similar-band threshold: OtherKindP99, so that at most
	// 1 % of bouquets of another kind pass as similar, but never above
	// Exact.
	Similar float32 `json:"similar"`
	// ExactRecall is the share of queries whose own product scores Exact or
	// more; FalseExact the share whose best other product does.
	ExactRecall float64 `json:"exact_recall"`
	FalseExact  float64 `json:"false_exact"`
}

// QueryScores are the scores the search gives every catalogue photo for
// one query (-Inf for none), and the photo the query was made from.
type QueryScores struct {
	Source int
	Scores []float32
}

// Calibrate computes the Calibration of the queries' scores; labels and
// groups are the catalogue's, as in Evaluate.
func Calibrate(queries []QueryScores, labels []string, groups []int) Calibration {
	var trueM, bestO, same, other []float32
	sameGroup := func(i, j int) bool { return i == j || (groups != nil && groups[i] == groups[j]) }
	for _, q := range queries {
		t, b := float32(math.Inf(-1)), float32(math.Inf(-1))
		for i, s := range q.Scores {
			switch {
			case sameGroup(i, q.Source):
				t = max(t, s)
			case labels[i] == labels[q.Source]:
				b = max(b, s)
				same = append(same, s)
			default:
				b = max(b, s)
				other = append(other, s)
			}
		}
		trueM = append(trueM, t)
		if !math.IsInf(float64(b), -1) {
			bestO = append(bestO, b)
		}
	}
	c := Calibration{
		TrueMatchP5: percentile(trueM, 5), TrueMatchP50: percentile(trueM, 50),
		BestOtherP50: percentile(bestO, 50), BestOtherP95: percentile(bestO, 95), BestOtherP99: percentile(bestO, 99),
		SameKindP50: percentile(same, 50), OtherKindP50: percentile(other, 50), OtherKindP99: percentile(other, 99),
	}
	c.Exact = c.BestOtherP95
	if c.TrueMatchP5 > c.BestOtherP95 {
		c.Exact = (c.TrueMatchP5 + c.BestOtherP95) / 2
	}
	c.Similar = min(c.OtherKindP99, c.Exact)
	c.ExactRecall = shareAtLeast(trueM, c.Exact)
	c.FalseExact = shareAtLeast(bestO, c.Exact)
	return c
}

// percentile returns the p-th percentile of xs (nearest rank); 0 for none.
// It sorts xs.
func percentile(xs []float32, p float64) float32 {
	if len(xs) == 0 {
		return 0
	}
	sort.Slice(xs, func(a, b int) bool { return xs[a] < xs[b] })
	i := int(math.Ceil(p/100*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}

func shareAtLeast(xs []float32, t float32) float64 {
	if len(xs) == 0 {
		return 0
	}
	n := 0
	for _, x := range xs {
		if x >= t {
			n++
		}
	}
	return float64(n) / float64(len(xs))
}
