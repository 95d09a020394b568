package hnsw

import (
	"github.com/lookalike/lookalike/vectorindex/vectorgen"
	"math/rand"
	"testing"
)

func BenchmarkSearch(b *testing.B) {
	f := newFixture(b, 20000, 512, config(512))
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		f.x.Search(f.queries.At(i%f.queries.Len()), 10, Filter[key, meta]{})
		i++
	}
}

// BenchmarkInsert times inserts, one at a time, into a trained index of
// 5000 or more 512-d vectors.
func BenchmarkInsert(b *testing.B) {
	base := vectorgen.Clustered(20000, 512, 400, spread, 7)
	x := build(b, config(512), vectorgen.Set{Dim: 512, Data: base.Data[:5000*512]})
	b.ReportAllocs()
	i := 5000
	for b.Loop() {
		x.Upsert(keyOf(i), base.At(i%base.Len()), metaOf(i))
		i++
	}
}

func TestDotInt8MatchesPortableLoop(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	kernels := dotKernels()
	t.Logf("kernels on this processor: %d (with the dispatching one)", len(kernels))
	for _, n := range []int{0, 1, 31, 32, 33, 63, 64, 65, 100, 128, 191, 512, 515, 1024} {
		for trial := 0; trial < 20; trial++ {
			a, b := make([]int8, n), make([]int8, n)
			for i := range a {
				a[i], b[i] = int8(rng.Intn(256)-128), int8(rng.Intn(256)-128)
			}
			switch {
			case n > 0 && trial == 0: // the extremes everywhere
				for i := range a {
					a[i], b[i] = -128, -128
				}
			case n > 0 && trial == 1:
				for i := range a {
					a[i], b[i] = 127, -128
				}
			}
			want := dotInt8Go(a, b)
			for name, dot := range kernels {
				if got := dot(a, b); got != want {
					t.Errorf("n=%d trial %d: %s = %d, portable loop %d", n, trial, name, got, want)
				}
			}
		}
	}
}

func BenchmarkDotInt8Kernels(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	x := make([]int8, 512)
	y := make([]int8, 512)
	for i := range x {
		x[i], y[i] = int8(rng.Intn(255)-127), int8(rng.Intn(255)-127)
	}
	for name, dot := range dotKernels() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var s int32
			for b.Loop() {
				s += dot(x, y)
			}
			_ = s
		})
	}
}

func BenchmarkDotInt8Go(b *testing.B) {
	x := make([]int8, 512)
	b.ReportAllocs()
	for b.Loop() {
		dotInt8Go(x, x)
	}
}
