package embed

import "testing"

func TestThresholdsBand(t *testing.T) {
	th := Thresholds{Exact: 0.99, Similar: 0.97}
	for _, c := range []struct {
		score float32
		want  Band
	}{
		{1, BandExact}, {0.99, BandExact}, {0.9899, BandSimilar}, {0.97, BandSimilar},
		{0.9699, BandWeak}, {0, BandWeak}, {-1, BandWeak},
	} {
		if got := th.Band(c.score); got != c.want {
			t.Errorf("Band(%v) = %q, want %q", c.score, got, c.want)
		}
	}
}

func TestBandAtLeast(t *testing.T) {
	for _, c := range []struct {
		b, min Band
		want   bool
	}{
		{BandExact, BandExact, true}, {BandExact, BandSimilar, true}, {BandExact, BandWeak, true},
		{BandSimilar, BandExact, false}, {BandSimilar, BandSimilar, true}, {BandSimilar, BandWeak, true},
		{BandWeak, BandExact, false}, {BandWeak, BandSimilar, false}, {BandWeak, BandWeak, true},
	} {
		if got := c.b.AtLeast(c.min); got != c.want {
			t.Errorf("%q.AtLeast(%q) = %v", c.b, c.min, got)
		}
	}
}

func TestParseMinBand(t *testing.T) {
	for in, want := range map[string]Band{"": BandSimilar, "similar": BandSimilar, "exact": BandExact, "any": BandWeak} {
		if got, err := ParseMinBand(in); err != nil || got != want {
			t.Errorf("ParseMinBand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"EXACT", "best", "0.9", " similar"} {
		if _, err := ParseMinBand(in); err == nil {
			t.Errorf("ParseMinBand(%q) accepted", in)
		}
	}
}

func TestThresholdsValidate(t *testing.T) {
	for th, ok := range map[Thresholds]bool{
		{0.99, 0.97}: true, {0.9, 0.9}: true, {1, -0.5}: true,
		{0.9, 0.95}: false, {1.1, 0.5}: false, {0.5, -1}: false,
	} {
		if err := th.Validate(); (err == nil) != ok {
			t.Errorf("%+v.Validate() = %v", th, err)
		}
	}
}

type plain struct{ Embedder }
type calibrated struct {
	Embedder
	t Thresholds
}

func (c calibrated) Thresholds() Thresholds { return c.t }

func TestThresholdsOf(t *testing.T) {
	if got := ThresholdsOf(plain{}); got != FallbackThresholds {
		t.Errorf("uncalibrated: %+v", got)
	}
	if got := ThresholdsOf(calibrated{t: Thresholds{0.5, 0.4}}); got != (Thresholds{0.5, 0.4}) {
		t.Errorf("calibrated: %+v", got)
	}
	if got := ThresholdsOf(calibrated{t: Thresholds{0.4, 0.5}}); got != FallbackThresholds {
		t.Errorf("invalid calibration: %+v", got)
	}
}
