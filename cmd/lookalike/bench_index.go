package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/lookalike/lookalike/vectorindex/indexbench"
)

const benchIndexUsage = `Usage: lookalike bench index [flags]

Builds each index (--index) over the same vectors, computes the exact top 10
of every query by a full scan, and prints per index: recall@10, query latency
p50/p99 on one core (queries one after another) and on all cores (one
searching goroutine per core), queries per second on all cores, vectors
inserted per second (on all cores), Go heap bytes per vector, and the
speed-up of the p50 over the exact scan (flat) in the same run; for HNSW
also the seconds to save the graph and to load it back (a restart).

The vectors are generated (unit vectors in --n/100 clusters) or read from
.fvecs files (each vector: an int32 dimension, then the float32 values).

Examples:
  lookalike bench index --n 100000 --dim 512
  lookalike bench index --index hnsw --n 20000 --json
  lookalike bench index --n 100000 --shops 100      # also with a filter keeping 1 %
  lookalike bench index --vectors base.fvecs --queries query.fvecs --neighbors top10.ivecs

Flags:
`

func (m *Main) runBenchIndex(args []string) error {
	fs := m.newModelFlags("bench index", benchIndexUsage)
	o := indexbench.Options{Log: m.Stderr}
	indexes := fs.String("index", "flat,hnsw", "indexes to run, comma-separated: flat, hnsw")
	fs.IntVar(&o.N, "n", 100000, "generated base vectors (with --vectors: read at most this many, 0: all)")
	fs.IntVar(&o.Dim, "dim", 512, "dimension of generated vectors")
	fs.IntVar(&o.Queries, "queries-n", 1000, "queries (with --queries: read at most this many, 0: all)")
	fs.IntVar(&o.Clusters, "clusters", 0, "clusters of generated vectors (0: n/100)")
	fs.IntVar(&o.Groups, "groups", 0, "put the clusters' centres in this many groups (centres of a group at cosine ~0.5) instead of all nearly orthogonal (0)")
	fs.Float64Var(&o.Spread, "spread", 1, "noise of generated vectors relative to their cluster centre: 1 tight clusters, 2.5 blurred ones (harder)")
	seed := fs.Uint64("seed", 1, "seed of generated vectors")
	fs.StringVar(&o.VectorsPath, "vectors", "", "base vectors, .fvecs")
	fs.StringVar(&o.QueriesPath, "queries", "", "query vectors, .fvecs")
	fs.IntVar(&o.Shops, "shops", 0, "also search each index within one shop: vector i is in shop 1+i%shops (100: 1 % each)")
	fs.StringVar(&o.Neighbors, "neighbors", "", "write each query's top 10 from the last index (0-based positions in the base vectors) to this .ivecs file")
	fs.IntVar(&o.M, "m", 0, "HNSW links per node at upper layers (0: default 24)")
	fs.IntVar(&o.EfConstruct, "ef-construction", 0, "HNSW candidate list when inserting (0: default)")
	efs := fs.String("ef", "0", "HNSW candidate list when searching (0: default); several, comma-separated, search the same graph with each (lines \"hnsw ef=N\")")
	fs.BoolVar(&o.JSON, "json", false, "print one JSON object per index")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write CPU profiles (pprof) of each index's build and searches to PREFIX.<index>.build and PREFIX.<index>.search")
	quiet := fs.Bool("quiet", false, "show no progress")
	rest, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &usageError{fmt.Sprintf("bench index: unexpected argument %q", rest[0])}
	}
	o.Seed = *seed
	for i, v := range strings.Split(*efs, ",") {
		ef, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || ef < 0 {
			return &usageError{fmt.Sprintf("bench index: --ef %q is not a list of non-negative integers", *efs)}
		}
		if i == 0 {
			o.EfSearch = ef
		} else {
			o.MoreEf = append(o.MoreEf, ef)
		}
	}
	o.Indexes = strings.Split(*indexes, ",")
	for _, name := range o.Indexes {
		if name != "flat" && name != "hnsw" {
			return &usageError{fmt.Sprintf("bench index: unknown index %q (have: flat, hnsw)", name)}
		}
	}
	if o.Shops < 0 {
		return &usageError{"bench index: --shops must not be negative"}
	}
	if o.VectorsPath == "" && (o.N < 1 || o.Dim < 1 || o.Queries < 1) {
		return &usageError{"bench index: --n, --dim and --queries-n must be positive"}
	}
	if (o.VectorsPath == "") != (o.QueriesPath == "") {
		return &usageError{"bench index: --vectors and --queries go together"}
	}
	if *quiet {
		o.Log = nil
	}
	if o.VectorsPath != "" {
		if _, err := os.Stat(o.VectorsPath); err != nil {
			return err
		}
	}
	_, err = indexbench.Run(o, m.Stdout)
	return err
}
