package api

import (
	"sort"
	"sync"
	"time"
)

// activity keeps per-minute counts and latencies of one kind of request for
// the last hour, for the operator dashboard.
type activity struct {
	mu      sync.Mutex
	buckets [60]minuteBucket
}

type minuteBucket struct {
	minute int64 // unix minute this bucket holds; stale buckets are reset
	count  int64
	errors int64
	sumMS  float64
	maxMS  float64
	hist   [len(latencyBoundsMS) + 1]int64
}

// latencyBoundsMS are the upper bounds used to estimate percentiles.
var latencyBoundsMS = [...]float64{0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000, 10000}

func (a *activity) record(now time.Time, ms float64, failed bool) {
	m := now.Unix() / 60
	a.mu.Lock()
	defer a.mu.Unlock()
	b := &a.buckets[m%60]
	if b.minute != m {
		*b = minuteBucket{minute: m}
	}
	b.count++
	if failed {
		b.errors++
	}
	b.sumMS += ms
	b.maxMS = max(b.maxMS, ms)
	b.hist[sort.SearchFloat64s(latencyBoundsMS[:], ms)]++
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

func (a *activity) snapshot(now time.Time) SeriesJSON {
	cur := now.Unix() / 60
	out := SeriesJSON{Minutes: make([]MinuteJSON, 0, 60)}
	var hist [len(latencyBoundsMS) + 1]int64
	a.mu.Lock()
	for m := cur - 59; m <= cur; m++ {
		b := a.buckets[m%60]
		mj := MinuteJSON{Time: time.Unix(m*60, 0).UTC()}
		if b.minute == m {
			mj.Count, mj.Errors, mj.MaxMS = b.count, b.errors, b.maxMS
			if b.count > 0 {
				mj.AvgMS = b.sumMS / float64(b.count)
			}
			for i, n := range b.hist {
				hist[i] += n
			}
			out.Count += b.count
			out.Errors += b.errors
		}
		out.Minutes = append(out.Minutes, mj)
	}
	a.mu.Unlock()
	out.PerMinute = float64(out.Count) / 60
	out.P50MS = percentile(hist[:], out.Count, 0.50)
	out.P99MS = percentile(hist[:], out.Count, 0.99)
	return out
}

// percentile estimates a quantile as the upper bound of its bucket.
func percentile(hist []int64, total int64, q float64) float64 {
	if total == 0 {
		return 0
	}
	want := int64(q*float64(total) + 0.5)
	if want < 1 {
		want = 1
	}
	var cum int64
	for i, n := range hist {
		cum += n
		if cum >= want {
			if i < len(latencyBoundsMS) {
				return latencyBoundsMS[i]
			}
			return latencyBoundsMS[len(latencyBoundsMS)-1]
		}
	}
	return latencyBoundsMS[len(latencyBoundsMS)-1]
}
