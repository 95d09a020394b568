// Package vectorgen makes test vectors for the indexes: clustered unit
// vectors like image embeddings, exact ground truth, and the standard
// .fvecs/.ivecs files (each vector: a little-endian int32 dimension, then
// that many float32 or int32 values).
package vectorgen

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"

	"github.com/lookalike/lookalike/vectorindex"
)

// Set is n vectors of length Dim in one slice.
type Set struct {
	Dim  int
	Data []float32
}

// Len returns the number of vectors.
func (s Set) Len() int {
	if s.Dim == 0 {
		return 0
	}
	return len(s.Data) / s.Dim
}

// At returns vector i.
func (s Set) At(i int) []float32 { return s.Data[i*s.Dim : (i+1)*s.Dim : (i+1)*s.Dim] }

// Clustered returns n unit vectors around clusters random centres: each is
// its centre plus Gaussian noise spread times the centre's length,
// normalized. At spread 1 a vector's cosine to its centre is about 0.7 and
// its nearest neighbours are all in its cluster; at 2.5 about 0.37, and the
// clusters blur into each other (harder for an approximate index). The same
// seed gives the same centres, so Clustered(seed) base vectors and
// Queries(seed) queries share their clusters.
func Clustered(n, dim, clusters int, spread float64, seed uint64) Set {
	return clustered(n, dim, clusters, 0, spread, seed, 1)
}

// Queries returns n vectors drawn like Clustered's (same centres), not
// among them.
func Queries(n, dim, clusters int, spread float64, seed uint64) Set {
	return clustered(n, dim, clusters, 0, spread, seed, 2)
}

// ClusteredInGroups is Clustered with the cluster centres themselves in
// groups random directions (each centre its group's direction plus noise
// of its length, normalized: centres of one group have cosines of about
// 0.5, like kinds of one thing), instead of all nearly orthogonal, which
// at many clusters leaves a graph index nothing to steer by between them.
// groups 0 is Clustered.
func ClusteredInGroups(n, dim, clusters, groups int, spread float64, seed uint64) Set {
	return clustered(n, dim, clusters, groups, spread, seed, 1)
}

// QueriesInGroups returns queries for ClusteredInGroups.
func QueriesInGroups(n, dim, clusters, groups int, spread float64, seed uint64) Set {
	return clustered(n, dim, clusters, groups, spread, seed, 2)
}

func clustered(n, dim, clusters, groups int, spread float64, seed, stream uint64) Set {
	crng := rand.New(rand.NewPCG(seed, 0))
	centres := make([][]float32, clusters)
	for i := range centres {
		centres[i] = unit(crng, dim, nil, 0)
	}
	if groups > 0 {
		grng := rand.New(rand.NewPCG(seed, 1))
		dirs := make([][]float32, groups)
		for i := range dirs {
			dirs[i] = unit(grng, dim, nil, 0)
		}
		for i := range centres {
			centres[i] = unit(grng, dim, dirs[i%groups], 1/math.Sqrt(float64(dim)))
		}
	}
	s := Set{Dim: dim, Data: make([]float32, n*dim)}
	parts := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p * n / parts; i < (p+1)*n/parts; i++ {
				rng := rand.New(rand.NewPCG(seed, stream<<48|uint64(i)))
				c := centres[rng.IntN(clusters)]
				copy(s.At(i), unit(rng, dim, c, spread/math.Sqrt(float64(dim))))
			}
		}(p)
	}
	wg.Wait()
	return s
}

// unit returns centre + sigma·N(0,1) per dimension, normalized (no centre:
// a random direction).
func unit(rng *rand.Rand, dim int, centre []float32, sigma float64) []float32 {
	v := make([]float32, dim)
	var norm float64
	for i := range v {
		f := rng.NormFloat64()
		if centre != nil {
			f = float64(centre[i]) + sigma*f
		}
		v[i] = float32(f)
		norm += f * f
	}
	inv := float32(1 / math.Sqrt(norm))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// ReadFvecs reads an .fvecs file, at most limit vectors (0: all).
func ReadFvecs(path string, limit int) (Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return Set{}, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var s Set
	var hdr [4]byte
	for limit == 0 || s.Len() < limit {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return Set{}, fmt.Errorf("%s: vector %d: %w", path, s.Len(), err)
		}
		d := int(int32(binary.LittleEndian.Uint32(hdr[:])))
		if d <= 0 || d > 1<<16 || (s.Dim != 0 && d != s.Dim) {
			return Set{}, fmt.Errorf("%s: vector %d has dimension %d (not an .fvecs file?)", path, s.Len(), d)
		}
		s.Dim = d
		buf := make([]byte, 4*d)
		if _, err := io.ReadFull(r, buf); err != nil {
			return Set{}, fmt.Errorf("%s: vector %d is cut short: %w", path, s.Len(), err)
		}
		for i := 0; i < d; i++ {
			s.Data = append(s.Data, math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:])))
		}
	}
	if s.Len() == 0 {
		return Set{}, fmt.Errorf("%s: no vectors", path)
	}
	return s, nil
}

// WriteFvecs writes s as an .fvecs file.
func WriteFvecs(path string, s Set) error {
	return writeVecs(path, s.Len(), s.Dim, func(i, j int) uint32 { return math.Float32bits(s.At(i)[j]) })
}

// WriteIvecs writes rows of int32 as an .ivecs file (every row as long as the first).
func WriteIvecs(path string, rows [][]int32) error {
	dim := 0
	if len(rows) > 0 {
		dim = len(rows[0])
	}
	for i, r := range rows {
		if len(r) != dim {
			return fmt.Errorf("ivecs row %d has %d values, the first has %d", i, len(r), dim)
		}
	}
	return writeVecs(path, len(rows), dim, func(i, j int) uint32 { return uint32(rows[i][j]) })
}

func writeVecs(path string, n, dim int, val func(i, j int) uint32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b [4]byte
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(b[:], uint32(dim))
		w.Write(b[:])
		for j := 0; j < dim; j++ {
			binary.LittleEndian.PutUint32(b[:], val(i, j))
			w.Write(b[:])
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadIvecs reads an .ivecs file.
func ReadIvecs(path string) ([][]int32, error) {
	s, err := ReadFvecs(path, 0)
	if err != nil {
		return nil, err
	}
	rows := make([][]int32, s.Len())
	for i := range rows {
		rows[i] = make([]int32, s.Dim)
		for j, f := range s.At(i) {
			rows[i][j] = int32(math.Float32bits(f))
		}
	}
	return rows, nil
}

// GroundTruth returns, for each query, the positions in base of its k
// nearest vectors by inner product (exact scan on all cores), keep(i)
// deciding which base vectors count (nil: all).
func GroundTruth(base, queries Set, k int, keep func(i int) bool) [][]int32 {
	out := make([][]int32, queries.Len())
	Parallel(queries.Len(), func(qi int) {
		q := queries.At(qi)
		type hit struct {
			s float32
			i int32
		}
		top := make([]hit, 0, k+1)
		for i := 0; i < base.Len(); i++ {
			if keep != nil && !keep(i) {
				continue
			}
			s := vectorindex.Dot(q, base.At(i))
			if len(top) == k && s <= top[k-1].s {
				continue
			}
			j := len(top)
			top = append(top, hit{})
			for j > 0 && top[j-1].s < s {
				top[j] = top[j-1]
				j--
			}
			top[j] = hit{s, int32(i)}
			if len(top) > k {
				top = top[:k]
			}
		}
		row := make([]int32, len(top))
		for j, h := range top {
			row[j] = h.i
		}
		out[qi] = row
	})
	return out
}

// Recall is the mean fraction of truth[i] found in got[i] (both top-k lists).
func Recall(truth, got [][]int32) float64 {
	if len(truth) == 0 {
		return 0
	}
	var sum float64
	for i, t := range truth {
		if len(t) == 0 {
			sum++
			continue
		}
		found := 0
		for _, a := range t {
			for _, b := range got[i] {
				if a == b {
					found++
					break
				}
			}
		}
		sum += float64(found) / float64(len(t))
	}
	return sum / float64(len(truth))
}

// Parallel calls f(0), …, f(n-1) from as many goroutines as cores, each
// taking the next i, and returns when all have returned.
func Parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
