// Package metrics keeps counters, gauges and histograms and writes them in
// the Prometheus text exposition format (version 0.0.4), without
// dependencies.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds metric families in registration order.
type Registry struct {
	mu       sync.Mutex
	families []family
}

type family interface {
	write(w io.Writer)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

func (r *Registry) add(f family) {
	r.mu.Lock()
	r.families = append(r.families, f)
	r.mu.Unlock()
}

// Write writes every family in the text format.
func (r *Registry) Write(w io.Writer) {
	r.mu.Lock()
	fams := append([]family(nil), r.families...)
	r.mu.Unlock()
	for _, f := range fams {
		f.write(w)
	}
}

// ContentType is the exposition format's media type.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

func header(w io.Writer, name, help, typ string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, strings.ReplaceAll(help, "\n", " "), name, typ)
}

func labelString(names, values []string, extra ...string) string {
	if len(names) == 0 && len(extra) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	put := func(k, v string) {
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v))
		b.WriteByte('"')
		n++
	}
	for i, k := range names {
		put(k, values[i])
	}
	for i := 0; i+1 < len(extra); i += 2 {
		put(extra[i], extra[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// vec is the label-values → child map shared by counters and histograms.
type vec[T any] struct {
	name, help string
	labels     []string
	mu         sync.Mutex
	children   map[string]*T
	values     map[string][]string
	make       func() *T
}

func (v *vec[T]) with(values ...string) *T {
	if len(values) != len(v.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", v.name, len(v.labels), len(values)))
	}
	key := strings.Join(values, "\xff")
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.children[key]
	if !ok {
		c = v.make()
		v.children[key] = c
		v.values[key] = append([]string(nil), values...)
	}
	return c
}

func (v *vec[T]) each(fn func(values []string, c *T)) {
	v.mu.Lock()
	keys := make([]string, 0, len(v.children))
	for k := range v.children {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type kv struct {
		vals []string
		c    *T
	}
	items := make([]kv, len(keys))
	for i, k := range keys {
		items[i] = kv{v.values[k], v.children[k]}
	}
	v.mu.Unlock()
	for _, it := range items {
		fn(it.vals, it.c)
	}
}

// Counter only goes up.
type Counter struct{ bits atomic.Uint64 }

// Add adds d (≥ 0).
func (c *Counter) Add(d float64) {
	for {
		old := c.bits.Load()
		if c.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// Inc adds one.
func (c *Counter) Inc() { c.Add(1) }

// Value returns the count.
func (c *Counter) Value() float64 { return math.Float64frombits(c.bits.Load()) }

// CounterVec is a counter family with labels.
type CounterVec struct{ v *vec[Counter] }

// Counter registers a counter family.
func (r *Registry) Counter(name, help string, labels ...string) *CounterVec {
	c := &CounterVec{&vec[Counter]{name: name, help: help, labels: labels, children: map[string]*Counter{},
		values: map[string][]string{}, make: func() *Counter { return &Counter{} }}}
	r.add(c)
	return c
}

// With returns the counter for the label values.
func (c *CounterVec) With(values ...string) *Counter { return c.v.with(values...) }

func (c *CounterVec) write(w io.Writer) {
	header(w, c.v.name, c.v.help, "counter")
	c.v.each(func(values []string, ctr *Counter) {
		fmt.Fprintf(w, "%s%s %s\n", c.v.name, labelString(c.v.labels, values), formatFloat(ctr.Value()))
	})
}

// Histogram counts observations in cumulative buckets.
type Histogram struct {
	bounds []float64
	mu     sync.Mutex
	counts []uint64 // per bucket, non-cumulative; last is +Inf
	sum    float64
	n      uint64
}

// Observe records v.
func (h *Histogram) Observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v)
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.n++
	h.mu.Unlock()
}

// HistogramVec is a histogram family with labels.
type HistogramVec struct {
	v      *vec[Histogram]
	bounds []float64
}

// LatencyBuckets suit request and job durations in seconds.
var LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Histogram registers a histogram family with the given upper bounds.
func (r *Registry) Histogram(name, help string, bounds []float64, labels ...string) *HistogramVec {
	b := append([]float64(nil), bounds...)
	sort.Float64s(b)
	h := &HistogramVec{bounds: b}
	h.v = &vec[Histogram]{name: name, help: help, labels: labels, children: map[string]*Histogram{},
		values: map[string][]string{}, make: func() *Histogram { return &Histogram{bounds: b, counts: make([]uint64, len(b)+1)} }}
	r.add(h)
	return h
}

// With returns the histogram for the label values.
func (h *HistogramVec) With(values ...string) *Histogram { return h.v.with(values...) }

func (h *HistogramVec) write(w io.Writer) {
	header(w, h.v.name, h.v.help, "histogram")
	h.v.each(func(values []string, hist *Histogram) {
		hist.mu.Lock()
		counts := append([]uint64(nil), hist.counts...)
		sum, n := hist.sum, hist.n
		hist.mu.Unlock()
		var cum uint64
		for i, b := range h.bounds {
			cum += counts[i]
			fmt.Fprintf(w, "%s_bucket%s %d\n", h.v.name, labelString(h.v.labels, values, "le", formatFloat(b)), cum)
		}
		fmt.Fprintf(w, "%s_bucket%s %d\n", h.v.name, labelString(h.v.labels, values, "le", "+Inf"), n)
		fmt.Fprintf(w, "%s_sum%s %s\n", h.v.name, labelString(h.v.labels, values), formatFloat(sum))
		fmt.Fprintf(w, "%s_count%s %d\n", h.v.name, labelString(h.v.labels, values), n)
	})
}

// Sample is one value of a gauge read at scrape time.
type Sample struct {
	Labels []string // values for the family's label names
	Value  float64
}

type gaugeFunc struct {
	name, help string
	labels     []string
	fn         func() []Sample
}

// GaugeFunc registers a gauge family whose samples fn computes at scrape time.
func (r *Registry) GaugeFunc(name, help string, fn func() []Sample, labels ...string) {
	r.add(&gaugeFunc{name: name, help: help, labels: labels, fn: fn})
}

func (g *gaugeFunc) write(w io.Writer) {
	header(w, g.name, g.help, "gauge")
	for _, s := range g.fn() {
		fmt.Fprintf(w, "%s%s %s\n", g.name, labelString(g.labels, s.Labels), formatFloat(s.Value))
	}
}
