//go:build amd64 && !purego

package hnsw

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// dotInt8AVX2 is the inner product of the first n codes (n a multiple of 32).
//
//go:noescape
func dotInt8AVX2(a, b *int8, n int) int32

var useAVX2 = cpu.X86.HasAVX2

// dotInt8 is the integer inner product of two equal-length code vectors:
// AVX2 where the processor has it, the portable loop otherwise.
func dotInt8(a, b []int8) int32 {
	b = b[:len(a)]
	if !useAVX2 || len(a) < 32 {
		return dotInt8Go(a, b)
	}
	n := len(a) &^ 31
	s := dotInt8AVX2(unsafe.SliceData(a), unsafe.SliceData(b), n)
	if n < len(a) {
		s += dotInt8Go(a[n:], b[n:])
	}
	return s
}

// prefetch asks for the n bytes at p to be brought into the cache.
//
//go:noescape
func prefetch(p *int8, n int)

// prefetchCodes starts loading node id's codes before they are needed.
func (x *Index[K, M]) prefetchCodes(id uint32) {
	c, s := x.chunk(id)
	prefetch(&c.codes[s*x.dim], x.dim)
}
