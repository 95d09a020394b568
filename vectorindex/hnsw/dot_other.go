//go:build !amd64 || purego

package hnsw

// dotInt8 is the integer inner product of two equal-length code vectors
// (the portable loop: no assembly on this architecture or with -tags purego).
func dotInt8(a, b []int8) int32 { return dotInt8Go(a, b) }

func (x *Index[K, M]) prefetchCodes(id uint32) {}

func dotKernels() map[string]func(a, b []int8) int32 {
	return map[string]func(a, b []int8) int32{"dispatch": dotInt8}
}
