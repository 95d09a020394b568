package embed

import "fmt"

// Band is how close a search result is to the query, in words a shopper
// understands: the same bouquet ("exact"), a similar one, or a weak match
// that is not shown unless asked for.
type Band string

// The bands, best first.
const (
	BandExact   Band = "exact"
	BandSimilar Band = "similar"
	BandWeak    Band = "weak"
)

// rank orders the bands: higher is closer.
func (b Band) rank() int {
	switch b {
	case BandExact:
		return 2
	case BandSimilar:
		return 1
	}
	return 0
}

// AtLeast reports whether b is min or closer.
func (b Band) AtLeast(min Band) bool { return b.rank() >= min.rank() }

// ParseMinBand reads a request's min_band: "exact", "similar" or "any"
// (every result, the weak ones too); "" is the default, "similar".
func ParseMinBand(s string) (Band, error) {
	switch s {
	case "", "similar":
		return BandSimilar, nil
	case "exact":
		return BandExact, nil
	case "any", "weak":
		return BandWeak, nil
	}
	return "", fmt.Errorf("min_band must be exact, similar or any, got %q", s)
}

// Thresholds calibrate one model's cosine scores into bands: a score of at
// least Exact is the same product photographed again, at least Similar a
// bouquet of the same kind. They are derived per model from the quality
// benchmark (see README, "Relevance bands").
type Thresholds struct {
	Exact   float32 `json:"exact"`
	Similar float32 `json:"similar"`
}

// Band returns the band of a score.
func (t Thresholds) Band(score float32) Band {
	switch {
	case score >= t.Exact:
		return BandExact
	case score >= t.Similar:
		return BandSimilar
	}
	return BandWeak
}

// Validate checks that the thresholds are ordered scores.
func (t Thresholds) Validate() error {
	if !(t.Similar > -1 && t.Similar <= t.Exact && t.Exact <= 1) {
		return fmt.Errorf("band thresholds must satisfy -1 < similar <= exact <= 1, got similar %v, exact %v", t.Similar, t.Exact)
	}
	return nil
}

// FallbackThresholds are used for a model that carries no calibration of
// its own (a CLIP model directory whose model.json has no "bands"): values
// typical of image-to-image cosine similarity of CLIP ViT models. Measure
// the model with the quality harness (package quality, Calibration) and put
// its figures in the manifest for bands that mean what they say.
var FallbackThresholds = Thresholds{Exact: 0.92, Similar: 0.80}

// TextThresholds band the results of a text query (CLIP): words never
// describe one bouquet exactly, and text-to-photo scores live on a scale of
// their own, so every result is "similar".
var TextThresholds = Thresholds{Exact: 2, Similar: -2}

// Calibrated is implemented by embedders that know their band thresholds.
type Calibrated interface {
	Thresholds() Thresholds
}

// ThresholdsOf returns e's band thresholds, or FallbackThresholds when e
// has none.
func ThresholdsOf(e Embedder) Thresholds {
	if c, ok := e.(Calibrated); ok {
		if t := c.Thresholds(); t.Validate() == nil {
			return t
		}
	}
	return FallbackThresholds
}
