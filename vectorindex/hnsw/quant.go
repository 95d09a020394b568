package hnsw

import "math"

// quantizer maps a float32 vector x to int8 codes u with x ≈ center + scale·u:
// a per-dimension centre (the midpoint of the training minimum and maximum)
// and one global scale, so that the dot product of two code vectors is an
// integer dot product plus two per-vector terms:
//
//	x·y ≈ scale²·(u·v) + bias(u) + bias(v),  bias(u) = scale·(center·u) + center·center/2
//
// It is learned from the first Config.TrainSize vectors and then fixed;
// values outside the trained range are clamped (Index.Clamped says how
// often; Index.Retrain learns it again from the vectors held and rebuilds
// the graph).
type quantizer struct {
	center []float32
	scale  float32
	cc     float32 // center·center
}

// trainQuantizer learns the centre and scale from vecs.
func trainQuantizer(dim int, vecs func(yield func([]float32) bool)) quantizer {
	lo := make([]float32, dim)
	hi := make([]float32, dim)
	for i := range lo {
		lo[i], hi[i] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	n := 0
	vecs(func(v []float32) bool {
		for i, f := range v {
			lo[i] = min(lo[i], f)
			hi[i] = max(hi[i], f)
		}
		n++
		return true
	})
	q := quantizer{center: make([]float32, dim)}
	if n == 0 {
		q.scale = 1.0 / 127
		return q
	}
	var span float32
	for i := range q.center {
		q.center[i] = (lo[i] + hi[i]) / 2
		span = max(span, hi[i]-lo[i])
		q.cc += q.center[i] * q.center[i]
	}
	// A margin of 10 % for values a little outside the training range.
	q.scale = span * 1.1 / 254
	if q.scale == 0 {
		q.scale = 1.0 / 127
	}
	return q
}

// encode writes the codes of v into dst and returns bias(u) and how many
// components were outside the trained range.
func (q *quantizer) encode(dst []int8, v []float32) (float32, int) {
	inv := 1 / q.scale
	var cu float32
	clamped := 0
	dst = dst[:len(v)]
	c := q.center[:len(v)]
	for i, f := range v {
		r := math.Round(float64((f - c[i]) * inv))
		if r > 127 {
			r = 127
			clamped++
		} else if r < -127 {
			r = -127
			clamped++
		}
		dst[i] = int8(r)
		cu += c[i] * float32(r)
	}
	return q.scale*cu + q.cc/2, clamped
}

// dotInt8Go is the portable integer inner product of two equal-length code
// vectors.
func dotInt8Go(a, b []int8) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		aa := a[i : i+8 : i+8]
		bb := b[i : i+8 : i+8]
		s0 += int32(aa[0])*int32(bb[0]) + int32(aa[4])*int32(bb[4])
		s1 += int32(aa[1])*int32(bb[1]) + int32(aa[5])*int32(bb[5])
		s2 += int32(aa[2])*int32(bb[2]) + int32(aa[6])*int32(bb[6])
		s3 += int32(aa[3])*int32(bb[3]) + int32(aa[7])*int32(bb[7])
	}
	for ; i < len(a); i++ {
		s0 += int32(a[i]) * int32(b[i])
	}
	return s0 + s1 + s2 + s3
}
