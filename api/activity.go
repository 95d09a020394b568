package api

import (
	"sync"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// activity keeps this replica's per-minute counts and latencies of one kind
// of request for the last hour. The app writes its recent minutes to the
// database every few seconds (its heartbeat), so that the dashboard of any
// replica shows the fleet's sum (Server.fleetSeries).
type activity struct {
	mu      sync.Mutex
	buckets [60]catalog.Minute
}

func (a *activity) record(now time.Time, ms float64, failed bool) {
	m := now.Unix() / 60
	a.mu.Lock()
	defer a.mu.Unlock()
	b := &a.buckets[m%60]
	if b.Minute != m {
		*b = catalog.Minute{Minute: m}
	}
	b.Record(ms, failed)
}

// recent returns the minutes of the last n (up to 60) that hold requests,
// oldest first.
func (a *activity) recent(now time.Time, n int64) []catalog.Minute {
	cur := now.Unix() / 60
	var out []catalog.Minute
	a.mu.Lock()
	defer a.mu.Unlock()
	for m := cur - min(n, 60) + 1; m <= cur; m++ {
		if b := a.buckets[m%60]; b.Minute == m && b.Count > 0 {
			out = append(out, b)
		}
	}
	return out
}

// MinuteJSON is one minute of the series.
type MinuteJSON struct {
	Time   time.Time `json:"t"`
	Count  int64     `json:"count"`
	Errors int64     `json:"errors"`
	AvgMS  float64   `json:"avg_ms"`
	MaxMS  float64   `json:"max_ms"`
}

// SeriesJSON is the last hour of one kind of request.
type SeriesJSON struct {
	Count     int64        `json:"count"`
	Errors    int64        `json:"errors"`
	PerMinute float64      `json:"per_minute"` // average over the hour
	P50MS     float64      `json:"p50_ms"`
	P99MS     float64      `json:"p99_ms"`
	Minutes   []MinuteJSON `json:"minutes"` // oldest first, 60 entries
}

// series sums rows (minutes of any number of replicas) over the hour up to
// now's minute.
func series(now time.Time, rows []catalog.Minute) SeriesJSON {
	cur := now.Unix() / 60
	out := SeriesJSON{Minutes: make([]MinuteJSON, 0, 60)}
	var hist [len(catalog.LatencyBoundsMS) + 1]int64
	for _, b := range catalog.SumMinutes(rows, cur-59, cur) {
		mj := MinuteJSON{Time: time.Unix(b.Minute*60, 0).UTC(), Count: b.Count, Errors: b.Errors, MaxMS: b.MaxMS}
		if b.Count > 0 {
			mj.AvgMS = b.SumMS / float64(b.Count)
		}
		for i, n := range b.Hist {
			hist[i] += n
		}
		out.Count += b.Count
		out.Errors += b.Errors
		out.Minutes = append(out.Minutes, mj)
	}
	out.PerMinute = float64(out.Count) / 60
	out.P50MS = catalog.Percentile(hist[:], 0.50)
	out.P99MS = catalog.Percentile(hist[:], 0.99)
	return out
}

// snapshot is this replica's last hour alone.
func (a *activity) snapshot(now time.Time) SeriesJSON { return series(now, a.recent(now, 60)) }
