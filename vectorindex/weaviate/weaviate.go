// Package weaviate is a vectorindex.Index kept in a Weaviate server, for
// catalogues beyond one machine's memory and for replicas that share one
// index.
//
// Each model has a class of its own (ClassName): vectorizer none, dot
// product distance, one object per (product, photo) with a UUID derived
// from shop, product and photo, so writing the same photo twice replaces
// it. Each object carries the product's filter fields (shop_id, product_id,
// product_key, photo, available, has_price, price_minor, currency,
// has_height, height_cm); the filters go to Weaviate as a where filter, and
// a search over-fetches photos to fuse them into products. Upserts from
// concurrent callers are grouped into one gRPC batch; every write goes
// through one goroutine, in order, so a product's photos never disagree on
// its metadata for longer than one write.
package weaviate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"crypto/sha256"
	"encoding/hex"

	"github.com/go-openapi/strfmt"
	"github.com/google/uuid"
	wv "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/auth"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/filters"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/graphql"
	wvgrpc "github.com/weaviate/weaviate-go-client/v5/weaviate/grpc"
	"github.com/weaviate/weaviate/entities/models"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/vectorindex"
)

// Config says where the server is and which class holds the vectors.
type Config struct {
	// URL of Weaviate's REST API, e.g. http://weaviate:8080.
	URL string
	// GRPCAddr is host:port of its gRPC API; empty: URL's host, port 50051.
	GRPCAddr string
	// APIKey, if set, is sent as a bearer token.
	APIKey string
	// Class is the class name; empty: ClassName(Prefix, Model).
	Class  string
	Prefix string // default "Lookalike"
	Model  string
	Dim    int
	// Timeout bounds each call to the server (default 10 s).
	Timeout time.Duration
	Log     *slog.Logger
}

// Index is a vectorindex.Index in a Weaviate class.
type Index struct {
	cfg    Config
	class  string
	client *wv.Client
	log    *slog.Logger

	ops      chan *op
	stop     chan struct{}
	done     chan struct{}
	closeMu  sync.RWMutex
	isClosed bool

	onBatch func(n int)          // tests: called with the size of each upsert batch
	onQuery func(limit, got int) // tests: called after each nearVector query
}

var _ vectorindex.Index = (*Index)(nil)

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("weaviate index: closed")

// maxResults is what one query may return (Weaviate's default
// QUERY_MAXIMUM_RESULTS).
const maxResults = 10000

// maxBatch is the most upserts sent in one gRPC batch.
const maxBatch = 512

// DefaultGRPCPort is Weaviate's gRPC port.
const DefaultGRPCPort = "50051"

// Property names.
const (
	pShop      = "shop_id"
	pProduct   = "product_id"
	pKey       = "product_key"
	pPhoto     = "photo"
	pAvailable = "available"
	pHasPrice  = "has_price"
	pPrice     = "price_minor"
	pCurrency  = "currency"
	pHasHeight = "has_height"
	pHeight    = "height_cm"
)

var metaProps = []string{pShop, pProduct, pKey, pPhoto, pAvailable, pHasPrice, pPrice, pCurrency, pHasHeight, pHeight}

var notClassChar = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// ClassName is the class of a model's vectors: the prefix, the model name
// reduced to the characters a class name may hold, and a short hash of the
// full name (two models never share a class).
func ClassName(prefix, model string) string {
	if prefix == "" {
		prefix = "Lookalike"
	}
	sum := sha256.Sum256([]byte(model))
	name := strings.Trim(notClassChar.ReplaceAllString(model, "_"), "_")
	if len(name) > 64 {
		name = name[:64]
	}
	c := prefix + "_" + name + "_" + hex.EncodeToString(sum[:4])
	return strings.ToUpper(c[:1]) + c[1:]
}

// New connects to the server and makes the class if it does not exist
// (an existing one keeps its objects: the index is shared and durable).
func New(ctx context.Context, cfg Config) (*Index, error) {
	if cfg.Dim <= 0 {
		return nil, fmt.Errorf("weaviate index: dimension %d", cfg.Dim)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("weaviate index: the URL %q is not http(s)://host:port", cfg.URL)
	}
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = u.Hostname() + ":" + DefaultGRPCPort
		if strings.Contains(u.Hostname(), ":") {
			cfg.GRPCAddr = "[" + u.Hostname() + "]:" + DefaultGRPCPort
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	class := cfg.Class
	if class == "" {
		class = ClassName(cfg.Prefix, cfg.Model)
	}
	wcfg := wv.Config{Host: u.Host, Scheme: u.Scheme, Timeout: cfg.Timeout, StartupTimeout: cfg.Timeout,
		GrpcConfig: &wvgrpc.Config{Host: cfg.GRPCAddr, Secured: u.Scheme == "https"}}
	if cfg.APIKey != "" {
		wcfg.AuthConfig = auth.ApiKey{Value: cfg.APIKey}
	}
	client, err := wv.NewClient(wcfg)
	if err != nil {
		return nil, fmt.Errorf("weaviate index: connect to %s (gRPC %s): %w", cfg.URL, cfg.GRPCAddr, err)
	}
	x := &Index{cfg: cfg, class: class, client: client, log: cfg.Log.With("subsystem", "index", "index", "weaviate", "class", class),
		ops: make(chan *op, maxBatch), stop: make(chan struct{}), done: make(chan struct{})}
	cctx, cancel := context.WithTimeout(ctx, 3*cfg.Timeout)
	defer cancel()
	if err := x.ensureClass(cctx); err != nil {
		return nil, err
	}
	go x.writer()
	return x, nil
}

// ensureClass makes the class, or checks that the existing one holds
// vectors of this dimension.
func (x *Index) ensureClass(ctx context.Context) error {
	exists, err := x.client.Schema().ClassExistenceChecker().WithClassName(x.class).Do(ctx)
	if err != nil {
		return fmt.Errorf("weaviate index: check class %s: %w", x.class, err)
	}
	if !exists {
		err := x.client.Schema().ClassCreator().WithClass(x.classSchema()).Do(ctx)
		if err == nil {
			x.log.Info("class created", "model", x.cfg.Model, "dimensions", x.cfg.Dim)
			return nil
		}
		// Another replica may have made it meanwhile.
		if again, cerr := x.client.Schema().ClassExistenceChecker().WithClassName(x.class).Do(ctx); cerr != nil || !again {
			return fmt.Errorf("weaviate index: create class %s: %w", x.class, err)
		}
	}
	res, err := x.client.Experimental().Search().WithCollection(x.class).WithLimit(1).
		WithMetadata(&graphql.Metadata{ID: true, Vector: true}).Do(ctx)
	if err != nil {
		return fmt.Errorf("weaviate index: read class %s: %w", x.class, err)
	}
	if len(res) > 0 && len(res[0].Vector) != x.cfg.Dim {
		return fmt.Errorf("weaviate index: class %s holds vectors of %d dimensions, the model %s has %d", x.class, len(res[0].Vector), x.cfg.Model, x.cfg.Dim)
	}
	return nil
}

func (x *Index) classSchema() *models.Class {
	no, yes := false, true
	text := func(name string) *models.Property {
		return &models.Property{Name: name, DataType: []string{"text"}, Tokenization: "field", IndexFilterable: &yes, IndexSearchable: &no}
	}
	scalar := func(name, typ string, rng bool) *models.Property {
		p := &models.Property{Name: name, DataType: []string{typ}, IndexFilterable: &yes}
		if rng {
			p.IndexRangeFilters = &yes
		}
		return p
	}
	return &models.Class{
		Class:             x.class,
		Description:       fmt.Sprintf("lookalike: one object per product photo, vectors of model %s (%d dimensions)", x.cfg.Model, x.cfg.Dim),
		Vectorizer:        "none",
		VectorIndexType:   "hnsw",
		VectorIndexConfig: map[string]any{"distance": "dot"},
		Properties: []*models.Property{
			scalar(pShop, "int", false), text(pProduct), text(pKey), text(pPhoto),
			scalar(pAvailable, "boolean", false), scalar(pHasPrice, "boolean", false),
			scalar(pPrice, "int", true), text(pCurrency),
			scalar(pHasHeight, "boolean", false), scalar(pHeight, "number", true),
		},
	}
}

// Class returns the class holding the vectors.
func (x *Index) Class() string { return x.class }

// Drop deletes the class and every vector in it (for tests and for a
// model's index that is no longer wanted).
func (x *Index) Drop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
	defer cancel()
	return x.client.Schema().ClassDeleter().WithClassName(x.class).Do(ctx)
}

// namespace is the UUID namespace of object ids.
var namespace = uuid.MustParse("9b0f5c1e-6a53-4c3e-9d7e-1f6c2b8a4d10")

// ObjectID is the id of the object holding photo of product k.
func ObjectID(k vectorindex.Key, photo string) string {
	return uuid.NewSHA1(namespace, []byte(fmt.Sprintf("%d\x00%s\x00%s", k.ShopID, k.ProductID, photo))).String()
}

func productKey(k vectorindex.Key) string { return fmt.Sprintf("%d/%s", k.ShopID, k.ProductID) }

func metaProperties(m vectorindex.Meta) map[string]any {
	return map[string]any{pAvailable: m.Available, pHasPrice: m.HasPrice, pPrice: m.PriceMinor, pCurrency: m.Currency,
		pHasHeight: m.HasHeight, pHeight: m.HeightCM}
}

// opKind is what a write does.
type opKind int

const (
	opUpsert opKind = iota
	opSetMeta
	opDelete
	opDeletePhoto
)

// op is one write, done by the writer goroutine.
type op struct {
	kind  opKind
	key   vectorindex.Key
	photo string
	vec   []float32
	meta  vectorindex.Meta
	done  chan error
}

func (x *Index) do(o *op) error {
	x.closeMu.RLock()
	if x.isClosed {
		x.closeMu.RUnlock()
		return ErrClosed
	}
	o.done = make(chan error, 1)
	x.ops <- o
	x.closeMu.RUnlock()
	return <-o.done
}

// writer runs the writes in order; consecutive upserts go in one batch.
func (x *Index) writer() {
	defer close(x.done)
	var held *op
	for {
		o := held
		held = nil
		if o == nil {
			select {
			case o = <-x.ops:
			case <-x.stop:
				// Close waits for callers already queued: finish them.
				for {
					select {
					case o := <-x.ops:
						x.run([]*op{o})
					default:
						return
					}
				}
			}
		}
		batch := []*op{o}
	gather:
		for o.kind == opUpsert && len(batch) < maxBatch {
			select {
			case n := <-x.ops:
				if n.kind != opUpsert {
					held = n
					break gather
				}
				batch = append(batch, n)
			default:
				break gather
			}
		}
		x.run(batch)
	}
}

func (x *Index) run(batch []*op) {
	ctx, cancel := context.WithTimeout(context.Background(), x.cfg.Timeout)
	defer cancel()
	if batch[0].kind == opUpsert {
		errs := x.upsert(ctx, batch)
		for i, o := range batch {
			o.done <- errs[i]
		}
		return
	}
	o := batch[0]
	var err error
	switch o.kind {
	case opSetMeta:
		err = x.setMeta(ctx, map[vectorindex.Key]vectorindex.Meta{o.key: o.meta}, nil)
	case opDelete:
		_, err = x.client.Batch().ObjectsBatchDeleter().WithClassName(x.class).WithOutput("minimal").
			WithWhere(filters.Where().WithPath([]string{pKey}).WithOperator(filters.Equal).WithValueText(productKey(o.key))).Do(ctx)
	case opDeletePhoto:
		err = x.client.Data().Deleter().WithClassName(x.class).WithID(ObjectID(o.key, o.photo)).Do(ctx)
		if isNotFound(err) {
			err = nil
		}
	}
	if err != nil {
		err = fmt.Errorf("weaviate index: %w", err)
	}
	o.done <- err
}

func isNotFound(err error) bool {
	var werr *fault.WeaviateClientError
	return errors.As(err, &werr) && werr.StatusCode == 404
}

// upsert writes a batch of photos in one gRPC call, then gives the
// products' other photos the new metadata. It returns each op's error.
func (x *Index) upsert(ctx context.Context, batch []*op) []error {
	errs := make([]error, len(batch))
	// The last write of a photo wins, and the last metadata of a product.
	metas := map[vectorindex.Key]vectorindex.Meta{}
	last := map[string]int{}
	for i, o := range batch {
		metas[o.key] = o.meta
		last[ObjectID(o.key, o.photo)] = i
	}
	var objs []*models.Object
	var from []int
	written := map[string]bool{}
	for i, o := range batch {
		id := ObjectID(o.key, o.photo)
		if last[id] != i {
			continue
		}
		props := metaProperties(metas[o.key])
		props[pShop], props[pProduct], props[pKey], props[pPhoto] = o.key.ShopID, string(o.key.ProductID), productKey(o.key), o.photo
		objs = append(objs, &models.Object{Class: x.class, ID: strfmt.UUID(id), Properties: props, Vector: o.vec})
		from = append(from, i)
		written[id] = true
	}
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("weaviate index: upsert: %w", err)
			}
		}
		return errs
	}
	if x.onBatch != nil {
		x.onBatch(len(objs))
	}
	resp, err := x.client.Batch().ObjectsBatcher().WithObjects(objs...).Do(ctx)
	if err != nil {
		return fail(err)
	}
	for j, r := range resp { // in the order of objs
		if j < len(from) && r.Result != nil && r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
			o := batch[from[j]]
			errs[from[j]] = fmt.Errorf("weaviate index: upsert photo %s of product %s: %s", o.photo, productKey(o.key), r.Result.Errors.Error[0].Message)
		}
	}
	for i, o := range batch { // a photo written twice shares the last write's outcome
		errs[i] = errs[last[ObjectID(o.key, o.photo)]]
	}
	if err := x.setMeta(ctx, metas, written); err != nil {
		return fail(err)
	}
	return errs
}

// setMeta gives every object of the products in metas (but those in skip,
// just written) that product's metadata, patching only those that differ.
func (x *Index) setMeta(ctx context.Context, metas map[vectorindex.Key]vectorindex.Meta, skip map[string]bool) error {
	keys := make([]string, 0, len(metas))
	byKey := map[string]vectorindex.Meta{}
	for k, m := range metas {
		keys = append(keys, productKey(k))
		byKey[productKey(k)] = m
	}
	where := filters.Where().WithPath([]string{pKey}).WithOperator(filters.ContainsAny).WithValueText(keys...)
	objs, err := x.fetch(ctx, where, metaProps...)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if skip[o.id] {
			continue
		}
		m := byKey[o.props.key]
		if o.props.meta == m {
			continue
		}
		err := x.client.Data().Updater().WithMerge().WithClassName(x.class).WithID(o.id).WithProperties(metaProperties(m)).Do(ctx)
		if err != nil && !isNotFound(err) { // deleted meanwhile: nothing to update
			return fmt.Errorf("set metadata of %s: %w", o.props.key, err)
		}
	}
	return nil
}

// object is a stored object's id and properties.
type object struct {
	id    string
	props props
	score float32
}

type props struct {
	key   string
	k     vectorindex.Key
	photo string
	meta  vectorindex.Meta
}

func propsOf(p map[string]any) props {
	var o props
	num := func(name string) float64 {
		switch v := p[name].(type) {
		case float64:
			return v
		case int64:
			return float64(v)
		}
		return 0
	}
	integer := func(name string) int64 {
		switch v := p[name].(type) {
		case int64:
			return v
		case float64:
			return int64(v)
		}
		return 0
	}
	str := func(name string) string { s, _ := p[name].(string); return s }
	boolean := func(name string) bool { b, _ := p[name].(bool); return b }
	o.key, o.photo = str(pKey), str(pPhoto)
	o.k = vectorindex.Key{ShopID: integer(pShop), ProductID: catalog.ProductID(str(pProduct))}
	o.meta = vectorindex.Meta{Available: boolean(pAvailable), HasPrice: boolean(pHasPrice), PriceMinor: integer(pPrice),
		Currency: str(pCurrency), HasHeight: boolean(pHasHeight), HeightCM: num(pHeight)}
	return o
}

// fetch returns every object matching where (up to maxResults).
func (x *Index) fetch(ctx context.Context, where *filters.WhereBuilder, properties ...string) ([]object, error) {
	res, err := x.client.Experimental().Search().WithCollection(x.class).WithWhere(where).WithLimit(maxResults).
		WithProperties(properties...).WithMetadata(&graphql.Metadata{ID: true}).Do(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]object, len(res))
	for i, r := range res {
		out[i] = object{id: r.ID, props: propsOf(r.Properties)}
	}
	return out, nil
}

// Dim returns the vector length.
func (x *Index) Dim() int { return x.cfg.Dim }

func (x *Index) checkDim(what string, v []float32) error {
	if len(v) != x.cfg.Dim {
		return fmt.Errorf("%s has %d dimensions, index has %d", what, len(v), x.cfg.Dim)
	}
	return nil
}

// Upsert adds or replaces photo's vector of product k and sets k's
// metadata on all its photos.
func (x *Index) Upsert(k vectorindex.Key, photo string, vec []float32, m vectorindex.Meta) error {
	if err := x.checkDim("vector", vec); err != nil {
		return err
	}
	return x.do(&op{kind: opUpsert, key: k, photo: photo, vec: append([]float32(nil), vec...), meta: m})
}

// SetMeta replaces k's metadata; nothing happens if k is absent.
func (x *Index) SetMeta(k vectorindex.Key, m vectorindex.Meta) error {
	return x.do(&op{kind: opSetMeta, key: k, meta: m})
}

// Delete removes product k with all its photos.
func (x *Index) Delete(k vectorindex.Key) error { return x.do(&op{kind: opDelete, key: k}) }

// DeletePhoto removes one photo of k.
func (x *Index) DeletePhoto(k vectorindex.Key, photo string) error {
	return x.do(&op{kind: opDeletePhoto, key: k, photo: photo})
}

// Photos returns the image hashes of k's photos.
func (x *Index) Photos(k vectorindex.Key) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), x.cfg.Timeout)
	defer cancel()
	objs, err := x.fetch(ctx, filters.Where().WithPath([]string{pKey}).WithOperator(filters.Equal).WithValueText(productKey(k)), pPhoto, pKey)
	if err != nil {
		return nil, fmt.Errorf("weaviate index: photos: %w", err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.props.photo)
	}
	sort.Strings(out)
	return out, nil
}

// Len returns the number of photos, or -1 when the server cannot say.
func (x *Index) Len() int {
	ctx, cancel := context.WithTimeout(context.Background(), x.cfg.Timeout)
	defer cancel()
	resp, err := x.client.GraphQL().Aggregate().WithClassName(x.class).
		WithFields(graphql.Field{Name: "meta", Fields: []graphql.Field{{Name: "count"}}}).Do(ctx)
	if err == nil && len(resp.Errors) > 0 {
		err = errors.New(resp.Errors[0].Message)
	}
	if err != nil {
		x.log.Error("count", "err", err)
		return -1
	}
	agg, _ := resp.Data["Aggregate"].(map[string]any)
	rows, _ := agg[x.class].([]any)
	if len(rows) == 0 {
		return 0
	}
	row, _ := rows[0].(map[string]any)
	meta, _ := row["meta"].(map[string]any)
	n, _ := meta["count"].(float64)
	return int(n)
}

// Each calls fn with every product and its photos. It reads the whole
// class first (a cursor over object ids), then calls fn.
func (x *Index) Each(fn func(k vectorindex.Key, photos []string) bool) error {
	photos := map[vectorindex.Key][]string{}
	after := ""
	const page = 5000
	for {
		ctx, cancel := context.WithTimeout(context.Background(), x.cfg.Timeout)
		s := x.client.Experimental().Search().WithCollection(x.class).WithLimit(page).
			WithProperties(pShop, pProduct, pPhoto).WithMetadata(&graphql.Metadata{ID: true})
		if after != "" {
			s = s.WithAfter(after)
		}
		res, err := s.Do(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("weaviate index: list: %w", err)
		}
		for _, r := range res {
			p := propsOf(r.Properties)
			photos[p.k] = append(photos[p.k], p.photo)
		}
		if len(res) < page {
			break
		}
		after = res[len(res)-1].ID
	}
	for k, ph := range photos {
		if !fn(k, ph) {
			break
		}
	}
	return nil
}

// Capabilities: approximate (Weaviate's HNSW), shared.
func (x *Index) Capabilities() vectorindex.Capabilities {
	return vectorindex.Capabilities{Shared: true}
}

// Close finishes the writes in flight; the vectors stay in Weaviate.
func (x *Index) Close() error {
	x.closeMu.Lock()
	if x.isClosed {
		x.closeMu.Unlock()
		return nil
	}
	x.isClosed = true
	x.closeMu.Unlock()
	close(x.stop)
	<-x.done
	return nil
}

// where is f as a Weaviate filter (nil: no filter).
func where(f vectorindex.Filter) *filters.WhereBuilder {
	var ops []*filters.WhereBuilder
	w := func(path string, op filters.WhereOperator) *filters.WhereBuilder {
		return filters.Where().WithPath([]string{path}).WithOperator(op)
	}
	if f.ShopID != 0 {
		ops = append(ops, w(pShop, filters.Equal).WithValueInt(f.ShopID))
	}
	if f.Available != nil {
		ops = append(ops, w(pAvailable, filters.Equal).WithValueBoolean(*f.Available))
	}
	if f.PriceMin != nil || f.PriceMax != nil {
		ops = append(ops, w(pHasPrice, filters.Equal).WithValueBoolean(true), w(pCurrency, filters.Equal).WithValueText(f.Currency))
	}
	if f.PriceMin != nil {
		ops = append(ops, w(pPrice, filters.GreaterThanEqual).WithValueInt(*f.PriceMin))
	}
	if f.PriceMax != nil {
		ops = append(ops, w(pPrice, filters.LessThanEqual).WithValueInt(*f.PriceMax))
	}
	if f.HeightMin != nil || f.HeightMax != nil {
		ops = append(ops, w(pHasHeight, filters.Equal).WithValueBoolean(true))
	}
	if f.HeightMin != nil {
		ops = append(ops, w(pHeight, filters.GreaterThanEqual).WithValueNumber(*f.HeightMin))
	}
	if f.HeightMax != nil {
		ops = append(ops, w(pHeight, filters.LessThanEqual).WithValueNumber(*f.HeightMax))
	}
	if f.Exclude != nil {
		ops = append(ops, w(pKey, filters.NotEqual).WithValueText(productKey(*f.Exclude)))
	}
	switch len(ops) {
	case 0:
		return nil
	case 1:
		return ops[0]
	}
	return filters.Where().WithOperator(filters.And).WithOperands(ops)
}

// Search returns up to n products matching f, best first: the filter runs
// in Weaviate, which returns the nearest photos; they are fused into
// products (each its best photo), fetching more photos while fewer than n
// products came back and more may exist.
func (x *Index) Search(q []float32, n int, f vectorindex.Filter) ([]vectorindex.Hit, error) {
	if err := x.checkDim("query", q); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), x.cfg.Timeout)
	defer cancel()
	w := where(f)
	limit := min(maxResults, 2*n+16)
	for {
		s := x.client.Experimental().Search().WithCollection(x.class).WithLimit(limit).
			WithNearVector(x.client.GraphQL().NearVectorArgBuilder().WithVector(q)).
			WithProperties(metaProps...).WithMetadata(&graphql.Metadata{ID: true, Distance: true})
		if w != nil {
			s = s.WithWhere(w)
		}
		res, err := s.Do(ctx)
		if err != nil {
			return nil, fmt.Errorf("weaviate index: search: %w", err)
		}
		if x.onQuery != nil {
			x.onQuery(limit, len(res))
		}
		best := map[vectorindex.Key]vectorindex.Hit{}
		for _, r := range res {
			p := propsOf(r.Properties)
			if !f.Match(p.k, p.meta) { // the filter ran in Weaviate; this only guards its semantics
				continue
			}
			h := vectorindex.Hit{Key: p.k, Photo: p.photo, Score: -r.Metadata.Distance}
			if b, ok := best[p.k]; !ok || h.Score > b.Score || h.Score == b.Score && h.Photo < b.Photo {
				best[p.k] = h
			}
		}
		if len(best) >= n || len(res) < limit || limit == maxResults {
			hits := make([]vectorindex.Hit, 0, len(best))
			for _, h := range best {
				hits = append(hits, h)
			}
			vectorindex.SortHits(hits)
			if len(hits) > n {
				hits = hits[:n]
			}
			return hits, nil
		}
		limit = min(maxResults, limit*4)
	}
}
