package catalog

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// The fleet: the replicas serving one database, and their request
// activity minute by minute, which each replica writes to the database
// (its heartbeat) so that any of them shows the whole fleet's.

// Replica is one serving process as its heartbeat row describes it.
type Replica struct {
	ID           string    `json:"id"` // random, new at every start
	Host         string    `json:"host"`
	PID          int       `json:"pid"`
	Addr         string    `json:"addr"` // its listen address
	Version      string    `json:"version"`
	Model        string    `json:"model"` // the model answering its searches
	StartedAt    time.Time `json:"started_at"`
	SeenAt       time.Time `json:"seen_at"`       // its last heartbeat
	FeedSeq      int64     `json:"feed_position"` // the change feed's row its index has applied up to
	FeedBehind   int64     `json:"feed_behind"`   // changes committed after it, at its last heartbeat
	IndexVectors int64     `json:"index_vectors"` // vectors in its index
}

// HeartbeatEvery is how often a replica writes its row and its activity.
const HeartbeatEvery = 5 * time.Second

// ReplicaGone is how long after its last heartbeat a replica counts as
// gone (stopped without saying so: killed, cut off): three heartbeats.
const ReplicaGone = 3 * HeartbeatEvery

// LiveReplicas returns the replicas seen within ReplicaGone of now, the
// longest running first.
func LiveReplicas(rs []Replica, now time.Time) []Replica {
	var out []Replica
	for _, r := range rs {
		if now.Sub(r.SeenAt) <= ReplicaGone {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Replica) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Activity kinds.
const (
	ActivityWebhooks = "webhooks"
	ActivitySearches = "searches"
)

// LatencyBoundsMS are the upper bounds of the latency histogram's buckets,
// from which percentiles are estimated; one more bucket holds the rest.
var LatencyBoundsMS = [...]float64{0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000, 10000}

// Minute is one minute of one kind of request on one replica, or summed
// over several.
type Minute struct {
	Minute int64 // Unix minute (seconds / 60)
	Count  int64
	Errors int64
	SumMS  float64
	MaxMS  float64
	Hist   [len(LatencyBoundsMS) + 1]int64
}

// Record counts one request of ms milliseconds in m.
func (m *Minute) Record(ms float64, failed bool) {
	m.Count++
	if failed {
		m.Errors++
	}
	m.SumMS += ms
	m.MaxMS = max(m.MaxMS, ms)
	m.Hist[sort.SearchFloat64s(LatencyBoundsMS[:], ms)]++
}

// Add sums o (another replica's same minute) into m.
func (m *Minute) Add(o Minute) {
	m.Count += o.Count
	m.Errors += o.Errors
	m.SumMS += o.SumMS
	m.MaxMS = max(m.MaxMS, o.MaxMS)
	for i, n := range o.Hist {
		m.Hist[i] += n
	}
}

// Activity is a replica's minute of one kind of request, as stored.
type Activity struct {
	Replica string
	Kind    string
	Minute
}

// SumMinutes adds up the minutes from first to last (Unix minutes) of
// the given rows, which may hold several replicas' same minute: one entry
// per minute, oldest first, empty minutes included.
func SumMinutes(rows []Minute, first, last int64) []Minute {
	if last < first {
		return nil
	}
	out := make([]Minute, last-first+1)
	for i := range out {
		out[i].Minute = first + int64(i)
	}
	for _, r := range rows {
		if r.Minute >= first && r.Minute <= last {
			out[r.Minute-first].Add(r)
		}
	}
	return out
}

// Percentile estimates quantile q of the requests counted in hist as the
// upper bound of the bucket it falls in (0 when there are none).
func Percentile(hist []int64, q float64) float64 {
	var total int64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	want := max(int64(q*float64(total)+0.5), 1)
	var cum int64
	for i, n := range hist {
		cum += n
		if cum >= want && i < len(LatencyBoundsMS) {
			return LatencyBoundsMS[i]
		}
	}
	return LatencyBoundsMS[len(LatencyBoundsMS)-1]
}
