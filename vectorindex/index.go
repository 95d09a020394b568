package vectorindex

// Index is a vector index of products, each with one vector per photo (an
// image hash): the exact scan Flat, the approximate in-memory hnsw index,
// or an external vector database. The app chooses one (app/index.go) and
// keeps it equal to the store; vectorindex/indextest is the suite every
// implementation passes.
//
// A product scores as its best photo, appears once in a search, and its hit
// names that photo. Filters are applied inside the index (an approximate or
// external index over-fetches and post-filters as it needs), so a search
// for k products returns k when k products match.
//
// Methods are safe for concurrent use. Calls with a wrong vector length
// return an error and change nothing. An index that talks to a server
// bounds each call with its own timeout.
type Index interface {
	// Dim returns the vector length.
	Dim() int
	// Upsert adds or replaces the vector of photo of product k and sets
	// k's metadata (for all its photos).
	Upsert(k Key, photo string, vec []float32, m Meta) error
	// SetMeta replaces the metadata of k; nothing happens if k is absent.
	SetMeta(k Key, m Meta) error
	// Delete removes product k with all its photos, if present.
	Delete(k Key) error
	// DeletePhoto removes one photo of k; a product left without photos
	// leaves the index.
	DeletePhoto(k Key, photo string) error
	// Search returns up to n products matching f, best first, each once
	// with its best photo's score; equal scores in key order (shop, then
	// product id).
	Search(q []float32, n int, f Filter) ([]Hit, error)
	// Len returns the number of vectors (photos).
	Len() int
	// Photos returns the image hashes of k's photos in the index.
	Photos(k Key) ([]string, error)
	// Each calls fn with every product and its photos, in no particular
	// order, until fn returns false. fn must not call the index.
	Each(fn func(k Key, photos []string) bool) error
	// Capabilities says what kind of index this is.
	Capabilities() Capabilities
	// Close releases the index's resources; a shared index's data stays
	// where it is.
	Close() error
}

// Capabilities describe an Index.
type Capabilities struct {
	// Exact: Search returns the true best products (a scan), not an
	// approximation of them.
	Exact bool
	// Shared: the vectors live outside this process (an external
	// database) and outlive it, so the app does not load them at start.
	Shared bool
}

// Keys returns every product in x.
func Keys(x Index) ([]Key, error) {
	var out []Key
	err := x.Each(func(k Key, _ []string) bool {
		out = append(out, k)
		return true
	})
	return out, err
}
