package metrics

import (
	"strings"
	"sync"
	"testing"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("lookalike_webhooks_total", "Webhooks by outcome.", "outcome")
	h := r.Histogram("lookalike_webhook_duration_seconds", "Webhook latency.", []float64{0.01, 0.1}, "outcome")
	r.GaugeFunc("lookalike_queue_jobs", "Jobs by state.", func() []Sample {
		return []Sample{{[]string{"pending"}, 3}, {[]string{"failed"}, 1}}
	}, "state")
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.With("ok").Inc()
			h.With("ok").Observe(0.05)
		}()
	}
	wg.Wait()
	c.With(`we"ird`).Add(2)
	var b strings.Builder
	r.Write(&b)
	out := b.String()
	for _, want := range []string{
		"# TYPE lookalike_webhooks_total counter\n",
		`lookalike_webhooks_total{outcome="ok"} 100` + "\n",
		`lookalike_webhooks_total{outcome="we\"ird"} 2` + "\n",
		"# TYPE lookalike_webhook_duration_seconds histogram\n",
		`lookalike_webhook_duration_seconds_bucket{outcome="ok",le="0.01"} 0` + "\n",
		`lookalike_webhook_duration_seconds_bucket{outcome="ok",le="0.1"} 100` + "\n",
		`lookalike_webhook_duration_seconds_bucket{outcome="ok",le="+Inf"} 100` + "\n",
		`lookalike_webhook_duration_seconds_count{outcome="ok"} 100` + "\n",
		`lookalike_queue_jobs{state="pending"} 3` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
