package quality

import (
	"sort"
)

// Metrics are the retrieval figures of a set of queries.
type Metrics struct {
	Queries int
	// RecallAt1 is the fraction of queries whose first result is their source
	// photo or a near-duplicate of it.
	RecallAt1 float64
	// RecallAt10 is the fraction of queries with their source photo (or a
	// near-duplicate of it) among the first 10 results.
	RecallAt10 float64
	// SameKindPrecisionAt10 is the mean, over queries, of the fraction of the
	// first 10 results whose label equals the query's label.
	SameKindPrecisionAt10 float64
}

// Query is one query of an evaluation.
type Query struct {
	Vector []float32
	// Source is the index in the catalogue of the photo the query was made
	// from.
	Source int
}

// Evaluate ranks the catalogue for every query by dot product (cosine
// similarity for unit vectors), best first, ties broken by catalogue order,
// and computes the metrics. labels[i] is the class of catalogue item i;
// groups[i] is its scene group: items sharing a group are near-duplicates and
// count as the right answer for each other's queries (nil: every item is its
// own group). Evaluate splits the queries over workers goroutines.
func Evaluate(catalogue [][]float32, labels []string, groups []int, queries []Query, workers int) Metrics {
	if len(queries) == 0 || len(catalogue) == 0 {
		return Metrics{Queries: len(queries)}
	}
	if workers < 1 {
		workers = 1
	}
	results := make([]judgement, len(queries))
	next := make(chan int)
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			top := make([]scored, 0, 11)
			ranked := make([]int, 0, 10)
			for qi := range next {
				q := queries[qi]
				top = topK(top[:0], catalogue, q.Vector, 10)
				ranked = ranked[:0]
				for _, s := range top {
					ranked = append(ranked, s.i)
				}
				results[qi] = judge(ranked, q.Source, labels, groups)
			}
		}()
	}
	for qi := range queries {
		next <- qi
	}
	close(next)
	for w := 0; w < workers; w++ {
		<-done
	}
	return summarize(results)
}

// judgement is how one query's first ten results fared.
type judgement struct{ hit1, hit10, prec float64 }

// judge scores the ranked catalogue indices of one query made from photo
// source (see Metrics).
func judge(ranked []int, source int, labels []string, groups []int) judgement {
	var r judgement
	if len(ranked) > 10 {
		ranked = ranked[:10]
	}
	for rank, i := range ranked {
		right := i == source || (groups != nil && groups[i] == groups[source])
		if right {
			if rank == 0 {
				r.hit1 = 1
			}
			r.hit10 = 1
		}
		if labels[i] == labels[source] {
			r.prec++
		}
	}
	if len(ranked) > 0 {
		r.prec /= float64(len(ranked))
	}
	return r
}

func summarize(results []judgement) Metrics {
	m := Metrics{Queries: len(results)}
	if len(results) == 0 {
		return m
	}
	for _, r := range results {
		m.RecallAt1 += r.hit1
		m.RecallAt10 += r.hit10
		m.SameKindPrecisionAt10 += r.prec
	}
	n := float64(len(results))
	m.RecallAt1 /= n
	m.RecallAt10 /= n
	m.SameKindPrecisionAt10 /= n
	return m
}

type scored struct {
	i int
	s float32
}

// better reports whether a ranks before b: higher score, then lower index.
func better(a, b scored) bool {
	if a.s != b.s {
		return a.s > b.s
	}
	return a.i < b.i
}

// topK returns the k best catalogue items for q, best first.
func topK(top []scored, catalogue [][]float32, q []float32, k int) []scored {
	for i, v := range catalogue {
		c := scored{i, dot(q, v)}
		if len(top) == k && !better(c, top[k-1]) {
			continue
		}
		if len(top) < k {
			top = append(top, c)
		} else {
			top[k-1] = c
		}
		for j := len(top) - 1; j > 0 && better(top[j], top[j-1]); j-- {
			top[j], top[j-1] = top[j-1], top[j]
		}
	}
	return top
}

// Rank returns the catalogue indices ordered by dot product with q, best
// first, ties broken by index.
func Rank(catalogue [][]float32, q []float32) []int {
	s := make([]scored, len(catalogue))
	for i, v := range catalogue {
		s[i] = scored{i, dot(q, v)}
	}
	sort.Slice(s, func(a, b int) bool { return better(s[a], s[b]) })
	out := make([]int, len(s))
	for i := range s {
		out[i] = s[i].i
	}
	return out
}

func dot(a, b []float32) float32 {
	n := min(len(a), len(b))
	a, b = a[:n], b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
