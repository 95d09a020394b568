package quality

import (
	"math"
	"testing"

	"github.com/lookalike/lookalike/vectorindex"
)

// angle returns the 2-d unit vector at angle a (radians): dot products are
// cosines of angle differences, so scores are easy to place.
func angle(a float64) []float32 { return []float32{float32(math.Cos(a)), float32(math.Sin(a))} }

// scoresOf scores the catalogue by dot product, as a one-region search does.
func scoresOf(catalogue [][]float32, queries []Query) []QueryScores {
	var out []QueryScores
	for _, q := range queries {
		sc := QueryScores{Source: q.Source}
		for _, v := range catalogue {
			sc.Scores = append(sc.Scores, vectorindex.Dot(q.Vector, v))
		}
		out = append(out, sc)
	}
	return out
}

func TestCalibrateSeparated(t *testing.T) {
	// Two kinds far apart; each query lies close to its own photo.
	catalogue := [][]float32{angle(0), angle(0.3), angle(2), angle(2.3)}
	labels := []string{"a", "a", "b", "b"}
	var queries []Query
	for i, a := range []float64{0, 0.3, 2, 2.3} {
		queries = append(queries, Query{Vector: angle(a + 0.01), Source: i})
	}
	c := Calibrate(scoresOf(catalogue, queries), labels, nil)
	// Own product ≈ cos(0.01), best other ≈ cos(0.29): exact lies between.
	if !(c.Exact > float32(math.Cos(0.29)) && c.Exact < float32(math.Cos(0.01))) {
		t.Fatalf("exact %v not between the best other and the own product: %+v", c.Exact, c)
	}
	if c.ExactRecall != 1 || c.FalseExact != 0 {
		t.Fatalf("exact recall %v, false exact %v", c.ExactRecall, c.FalseExact)
	}
	// Another kind scores at most cos(1.69); the same kind ≈ cos(0.29).
	if !(c.Similar >= float32(math.Cos(1.71)) && c.Similar < float32(math.Cos(0.29))) {
		t.Fatalf("similar %v: %+v", c.Similar, c)
	}
}

func TestCalibrateNearDuplicatesAreOwnProduct(t *testing.T) {
	catalogue := [][]float32{angle(0), angle(0.001), angle(1)}
	labels := []string{"a", "a", "a"}
	groups := []int{0, 0, 2} // 0 and 1 are the same scene
	c := Calibrate(scoresOf(catalogue, []Query{{Vector: angle(0.0005), Source: 0}}), labels, groups)
	if c.BestOtherP99 > float32(math.Cos(0.99)) {
		t.Fatalf("a near-duplicate counted as another product: %+v", c)
	}
}

func TestPercentile(t *testing.T) {
	xs := []float32{5, 1, 4, 2, 3}
	for p, want := range map[float64]float32{0: 1, 20: 1, 50: 3, 95: 5, 100: 5} {
		if got := percentile(xs, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}
