package api

import (
	"testing"
	"time"
)

func TestActivitySeries(t *testing.T) {
	var a activity
	t0 := time.Unix(1_800_000_000, 0)
	a.record(t0.Add(-2*time.Hour), 1, false) // long gone by the time of the snapshot
	for i := 0; i < 99; i++ {
		a.record(t0, 4, false)
	}
	a.record(t0, 400, true)
	a.record(t0.Add(2*time.Minute), 1, false)
	s := a.snapshot(t0.Add(2 * time.Minute))
	if len(s.Minutes) != 60 || s.Count != 101 || s.Errors != 1 {
		t.Fatalf("series: count %d errors %d minutes %d", s.Count, s.Errors, len(s.Minutes))
	}
	if s.P50MS != 5 || s.P99MS != 5 {
		t.Fatalf("percentiles: p50 %v p99 %v", s.P50MS, s.P99MS)
	}
	last, mid := s.Minutes[59], s.Minutes[57]
	if last.Count != 1 || mid.Count != 100 || mid.MaxMS != 400 || mid.AvgMS != (99*4+400)/100.0 {
		t.Fatalf("minutes: %+v %+v", mid, last)
	}
	// An hour later everything has aged out.
	if s := a.snapshot(t0.Add(70 * time.Minute)); s.Count != 0 {
		t.Fatalf("stale buckets counted: %d", s.Count)
	}
}
