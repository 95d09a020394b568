package catalog

import (
	"reflect"
	"testing"
	"time"
)

func TestLiveReplicas(t *testing.T) {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	r := func(id string, started, seen time.Duration) Replica {
		return Replica{ID: id, StartedAt: now.Add(-started), SeenAt: now.Add(-seen)}
	}
	for _, c := range []struct {
		name string
		in   []Replica
		want []string
	}{
		{"none", nil, nil},
		{"seen just now", []Replica{r("a", time.Hour, 0)}, []string{"a"}},
		{"seen at the limit", []Replica{r("a", time.Hour, ReplicaGone)}, []string{"a"}},
		{"gone", []Replica{r("a", time.Hour, ReplicaGone+time.Millisecond)}, nil},
		{"longest running first", []Replica{r("b", time.Minute, time.Second), r("a", time.Hour, 2*time.Second), r("c", time.Second, 0)}, []string{"a", "b", "c"}},
		{"same start: by id", []Replica{r("b", time.Minute, 0), r("a", time.Minute, 0)}, []string{"a", "b"}},
		{"a clock a little ahead", []Replica{r("a", time.Minute, -time.Second)}, []string{"a"}},
	} {
		var got []string
		for _, x := range LiveReplicas(c.in, now) {
			got = append(got, x.ID)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMinuteRecordAddSum(t *testing.T) {
	var a, b Minute
	a.Minute, b.Minute = 100, 100
	for range 99 {
		a.Record(4, false)
	}
	b.Record(400, true)
	b.Record(0.1, false)
	rows := []Minute{a, b, {Minute: 98, Count: 2, SumMS: 2, MaxMS: 1, Hist: [len(LatencyBoundsMS) + 1]int64{0, 2}}, {Minute: 50, Count: 7}}
	got := SumMinutes(rows, 98, 101)
	if len(got) != 4 || got[0].Minute != 98 || got[3].Minute != 101 {
		t.Fatalf("minutes: %+v", got)
	}
	m := got[2]
	if m.Count != 101 || m.Errors != 1 || m.MaxMS != 400 || m.SumMS != 99*4+400.1 {
		t.Fatalf("minute 100 summed: %+v", m)
	}
	if got[0].Count != 2 || got[1].Count != 0 || got[3].Count != 0 {
		t.Fatalf("other minutes: %+v", got)
	}
	if SumMinutes(rows, 5, 4) != nil {
		t.Fatal("an empty range has minutes")
	}
	for _, c := range []struct {
		hist []int64
		q    float64
		want float64
	}{
		{m.Hist[:], 0.5, 5},     // 99 of 101 at 4 ms: the 5 ms bucket
		{m.Hist[:], 0.99, 5},    // the 100th of 101
		{m.Hist[:], 1, 500},     // the slowest, 400 ms: the 500 ms bucket
		{m.Hist[:], 0.001, 0.5}, // the fastest, 0.1 ms: the first bucket
		{make([]int64, len(LatencyBoundsMS)+1), 0.5, 0},
		{append(make([]int64, len(LatencyBoundsMS)), 3), 0.5, 10000}, // all over the last bound
	} {
		if got := Percentile(c.hist, c.q); got != c.want {
			t.Errorf("Percentile(q=%v) = %v, want %v", c.q, got, c.want)
		}
	}
}
