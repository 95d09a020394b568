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

// dotInt8VNNI is the inner product of the first n codes (n a multiple of
// 64) with AVX-512 VNNI.
//
//go:noescape
func dotInt8VNNI(a, b *int8, n int) int32

var (
	useAVX2 = cpu.X86.HasAVX2
	useVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI
)

// dotInt8 is the integer inner product of two equal-length code vectors:
// AVX-512 VNNI or AVX2 where the processor has it, the portable loop
// otherwise.
func dotInt8(a, b []int8) int32 {
	b = b[:len(a)]
	var s int32
	n := 0
	if useVNNI && len(a) >= 64 {
		n = len(a) &^ 63
		s = dotInt8VNNI(unsafe.SliceData(a), unsafe.SliceData(b), n)
	} else if useAVX2 && len(a) >= 32 {
		n = len(a) &^ 31
		s = dotInt8AVX2(unsafe.SliceData(a), unsafe.SliceData(b), n)
	}
	if n < len(a) {
		s += dotInt8Tail(a[n:], b[n:])
	}
	return s
}

// dotInt8Tail finishes what the wide kernels leave (fewer than 64 codes).
func dotInt8Tail(a, b []int8) int32 {
	var s int32
	if n := len(a) &^ 31; useAVX2 && n > 0 {
		s = dotInt8AVX2(unsafe.SliceData(a), unsafe.SliceData(b), n)
		a, b = a[n:], b[n:]
	}
	return s + dotInt8Go(a, b)
}

// dotKernels are the kernels this processor can run, by name, for the test
// that compares them with the portable loop.
func dotKernels() map[string]func(a, b []int8) int32 {
	k := map[string]func(a, b []int8) int32{"dispatch": dotInt8}
	if useAVX2 {
		k["avx2"] = func(a, b []int8) int32 {
			n := len(a) &^ 31
			return dotInt8AVX2(unsafe.SliceData(a), unsafe.SliceData(b), n) + dotInt8Go(a[n:], b[n:len(a)])
		}
	}
	if useVNNI {
		k["vnni"] = func(a, b []int8) int32 {
			n := len(a) &^ 63
			return dotInt8VNNI(unsafe.SliceData(a), unsafe.SliceData(b), n) + dotInt8Go(a[n:], b[n:len(a)])
		}
	}
	return k
}

// prefetch asks for the n bytes at p to be brought into the cache.
//
//go:noescape
func prefetch(p *int8, n int)

// prefetchCodes starts loading node id's codes and bias before they are
// needed.
func (x *Index[K, M]) prefetchCodes(id uint32) {
	c, s := x.chunk(id)
	prefetch(&c.codes[s*x.dim], x.dim)
	prefetch((*int8)(unsafe.Pointer(&c.bias[s])), 1)
}
