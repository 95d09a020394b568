package weaviate

import (
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/vectorindex/vectorgen"
)

// benchDim is the vectors' length in the benchmarks (CLIP ViT-B/32).
const benchDim = 512

// upsertAll writes the vectors of set from 64 goroutines (so they share gRPC
// batches), product i in shop i%100+1, every other one available.
func upsertAll(b *testing.B, x *Index, set vectorgen.Set) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= set.Len() {
					return
				}
				if err := x.Upsert(key(int64(i%100+1), i), "p", set.At(i), vectorindex.Meta{Available: i%2 == 0}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkUpsertGRPC reports the insert rate of 512-d photos over gRPC
// batches, 64 callers at once:
//
//	go test -run '^$' -bench UpsertGRPC -benchtime 5000x ./vectorindex/weaviate
func BenchmarkUpsertGRPC(b *testing.B) {
	x := open(b, Config{Dim: benchDim})
	set := vectorgen.Clustered(b.N, benchDim, 100, 1, 1)
	b.ResetTimer()
	t0 := time.Now()
	upsertAll(b, x, set)
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "objects/s")
}

// BenchmarkFilteredSearch reports the p50 and p99 of a top-10 search over
// 20,000 512-d photos with a shop filter (1 % of them) and with an
// availability filter (50 %), one search at a time:
//
//	go test -run '^$' -bench FilteredSearch -benchtime 300x ./vectorindex/weaviate
func BenchmarkFilteredSearch(b *testing.B) {
	const n = 20000
	x := open(b, Config{Dim: benchDim})
	upsertAll(b, x, vectorgen.Clustered(n, benchDim, 100, 1, 1))
	queries := vectorgen.Queries(200, benchDim, 100, 1, 1)
	yes := true
	for _, c := range []struct {
		name string
		f    vectorindex.Filter
	}{{"shop1pct", vectorindex.Filter{ShopID: 7}}, {"available50pct", vectorindex.Filter{Available: &yes}}, {"none", vectorindex.Filter{}}} {
		b.Run(c.name, func(b *testing.B) {
			took := make([]time.Duration, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				hits, err := x.Search(queries.At(i%queries.Len()), 10, c.f)
				took[i] = time.Since(t0)
				if err != nil || len(hits) != 10 {
					b.Fatalf("search: %d hits, %v", len(hits), err)
				}
			}
			sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
			b.ReportMetric(ms(took[len(took)/2]), "p50_ms")
			b.ReportMetric(ms(took[len(took)*99/100]), "p99_ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
