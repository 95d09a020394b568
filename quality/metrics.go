package quality

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
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

// Evaluate searches idx, which holds the catalogue (Fill), for every
// query's top 10, as the search API's index does (equal scores in catalogue
// order), and computes the metrics. labels[i] is the class of catalogue
// item i; groups[i] is its scene group: items sharing a group are
// near-duplicates and count as the right answer for each other's queries
// (nil: every item is its own group). Evaluate splits the queries over
// workers goroutines.
func Evaluate(idx vectorindex.Index, labels []string, groups []int, queries []Query, workers int) (Metrics, error) {
	if len(queries) == 0 || idx.Len() == 0 {
		return Metrics{Queries: len(queries)}, nil
	}
	results := make([]judgement, len(queries))
	errs := make([]error, len(queries))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for qi := int(next.Add(1)) - 1; qi < len(queries); qi = int(next.Add(1)) - 1 {
				hits, err := idx.Search(queries[qi].Vector, 10, vectorindex.Filter{})
				var ranked []int
				if err == nil {
					ranked, err = catalogueItems(hits)
				}
				if err != nil {
					errs[qi] = err
					continue
				}
				results[qi] = judge(ranked, queries[qi].Source, labels, groups)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Metrics{}, err
	}
	return summarize(results), nil
}

// Fill puts catalogue item i into idx as product photoKey(i).
func Fill(idx vectorindex.Index, catalogue [][]float32) error {
	for i, v := range catalogue {
		if err := idx.Upsert(photoKey(i), "", v, vectorindex.Meta{Available: true}); err != nil {
			return err
		}
	}
	return nil
}

// photoKey is the index key of catalogue photo i: its position, written
// with leading zeros so that key order (which orders equal scores) is
// catalogue order.
func photoKey(i int) vectorindex.Key {
	return vectorindex.Key{ShopID: 1, ProductID: catalog.ProductID(fmt.Sprintf("%09d", i))}
}

// catalogueItems turns hits into catalogue positions.
func catalogueItems(hits []vectorindex.Hit) ([]int, error) {
	out := make([]int, len(hits))
	for i, h := range hits {
		j, err := strconv.Atoi(string(h.Key.ProductID))
		if err != nil {
			return nil, fmt.Errorf("quality: unexpected hit %v", h.Key)
		}
		out[i] = j
	}
	return out, nil
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
