//go:build cgo

package clip

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/lookalike/lookalike/embed"
)

// Embedder is a loaded CLIP model. It implements embed.Embedder, and
// embed.TextEmbedder (EmbedText fails with ErrNoText when the model has no
// text tower; Interface returns a value that implements TextEmbedder only
// when it has). It is safe for concurrent use.
type Embedder struct {
	dir    string
	man    Manifest
	pre    *Preprocessor
	tok    *Tokenizer
	visual *tower
	text   *tower
	bufs   sync.Pool // *[]float32, one preprocessed image

	closeOnce sync.Once
	closeErr  error
}

var (
	_ embed.Embedder     = (*Embedder)(nil)
	_ embed.TextEmbedder = (*Embedder)(nil)
)

// Load opens the model in dir. Errors about the directory wrap
// ErrInvalidModel; a missing ONNX Runtime wraps ErrLibraryNotFound.
func Load(dir string, opts Options) (*Embedder, error) {
	man, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	for _, st := range VerifyFiles(dir, man) {
		if !st.OK {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, dir, st.Err)
		}
	}
	pre, err := NewPreprocessor(man.ImageSize, man.Mean, man.Std)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidModel, err)
	}
	e := &Embedder{dir: dir, man: *man, pre: pre}
	if man.Vocab != nil {
		if e.tok, err = LoadTokenizer(filepath.Join(dir, man.Vocab.File)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidModel, err)
		}
	}
	if err := initRuntime(opts.LibraryPath); err != nil {
		return nil, err
	}

	if opts.Threads <= 0 {
		opts.Threads = runtime.NumCPU()
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = defaultMaxBatch
	}
	if opts.BatchWait == 0 {
		opts.BatchWait = defaultBatchWait
	}

	e.visual, err = newTower(dir, "visual", man.Visual, false, pre.Len(), man.Dimensions, opts)
	if err != nil {
		return nil, err
	}
	if man.Text != nil {
		e.text, err = newTower(dir, "text", *man.Text, true, ContextLength, man.Dimensions, opts)
		if err != nil {
			e.visual.close()
			return nil, err
		}
	}
	return e, nil
}

var runtimeState struct {
	sync.Mutex
	lib string
}

// initRuntime loads ONNX Runtime once per process.
func initRuntime(explicit string) error {
	path, err := FindLibrary(explicit)
	if err != nil {
		return err
	}
	runtimeState.Lock()
	defer runtimeState.Unlock()
	if ort.IsInitialized() {
		if explicit != "" && runtimeState.lib != "" && !sameFile(path, runtimeState.lib) {
			return fmt.Errorf("clip: ONNX Runtime is already loaded from %s; restart the process to use %s", runtimeState.lib, path)
		}
		return nil
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("clip: loading ONNX Runtime from %s: %v (a libonnxruntime.so of version 1.24 or newer is needed; %s installs one)", path, err, InstallScript)
	}
	runtimeState.lib = path
	return nil
}

func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// RuntimeVersion is the version of the loaded ONNX Runtime ("" before a
// Load).
func RuntimeVersion() string {
	if !ort.IsInitialized() {
		return ""
	}
	return ort.GetVersion()
}

// Model is the name in model.json.
func (e *Embedder) Model() string { return e.man.Name }

// Dim is the vector length.
func (e *Embedder) Dim() int { return e.man.Dimensions }

// InputSize is the model's image side (224 for ViT-B/32).
func (e *Embedder) InputSize() int { return e.man.ImageSize }

// Manifest returns the model's model.json.
func (e *Embedder) Manifest() Manifest { return e.man }

// HasText reports whether the model embeds text.
func (e *Embedder) HasText() bool { return e.text != nil }

// Preprocessor is the model's image preprocessing.
func (e *Embedder) Preprocessor() *Preprocessor { return e.pre }

// BatchesConcurrentCalls reports that concurrent EmbedImage calls share a
// batch (embed.Batcher).
func (e *Embedder) BatchesConcurrentCalls() bool { return true }

// Tokenizer is the model's tokenizer (nil without a text tower).
func (e *Embedder) Tokenizer() *Tokenizer { return e.tok }

// Thresholds returns the manifest's band thresholds, or
// embed.FallbackThresholds when it has none.
func (e *Embedder) Thresholds() embed.Thresholds { return e.man.Thresholds() }

// Interface returns e as an embed.Embedder that implements
// embed.TextEmbedder exactly when the model has a text tower.
func (e *Embedder) Interface() embed.Embedder {
	if e.text != nil {
		return e
	}
	return imageOnly{e}
}

type imageOnly struct{ e *Embedder }

func (i imageOnly) Model() string                { return i.e.Model() }
func (i imageOnly) Dim() int                     { return i.e.Dim() }
func (i imageOnly) InputSize() int               { return i.e.InputSize() }
func (i imageOnly) BatchesConcurrentCalls() bool { return true }
func (i imageOnly) Thresholds() embed.Thresholds { return i.e.Thresholds() }
func (i imageOnly) EmbedImage(ctx context.Context, img image.Image) ([]float32, error) {
	return i.e.EmbedImage(ctx, img)
}
func (i imageOnly) EmbedRegions(ctx context.Context, img image.Image, rects []image.Rectangle) ([][]float32, error) {
	return i.e.EmbedRegions(ctx, img, rects)
}

// EmbedImage preprocesses img and runs it through the image tower, batched
// with concurrent calls.
func (e *Embedder) EmbedImage(ctx context.Context, img image.Image) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bp, _ := e.bufs.Get().(*[]float32)
	if bp == nil {
		bp = new([]float32)
	}
	px, err := e.pre.Preprocess(img, *bp)
	if err != nil {
		e.bufs.Put(bp)
		return nil, err
	}
	*bp = px
	vec, answered, err := e.visual.submit(ctx, &request{f32: px})
	if answered {
		// The tower is done with px only once it has answered; an
		// abandoned request's buffer is left to the garbage collector.
		e.bufs.Put(bp)
	}
	return vec, err
}

// EmbedText tokenizes text and runs it through the text tower, batched with
// concurrent calls.
func (e *Embedder) EmbedText(ctx context.Context, text string) ([]float32, error) {
	if e.text == nil {
		return nil, ErrNoText
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	vec, _, err := e.text.submit(ctx, &request{i64: e.tok.Tokenize(text)})
	return vec, err
}

// EmbedRegions embeds the rectangles rects of img (each inside its bounds)
// as one batch (batches of the tower's largest): all are preprocessed
// first, concurrently, then run together. Concurrent EmbedImage calls
// would batch too, but the first preprocessed would start a batch without
// waiting for the slower ones.
func (e *Embedder) EmbedRegions(ctx context.Context, img image.Image, rects []image.Rectangle) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if img == nil || img.Bounds().Empty() {
		return nil, errors.New("clip: empty image")
	}
	px := make([][]float32, len(rects))
	errs := make([]error, len(rects))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, r := range rects {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, r image.Rectangle) {
			defer func() { <-sem; wg.Done() }()
			if r = r.Intersect(img.Bounds()); r.Empty() {
				errs[i] = errors.New("clip: a region outside the image")
				return
			}
			px[i], errs[i] = e.pre.Preprocess(embed.SubImage(img, r), nil)
		}(i, r)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(rects))
	for len(px) > 0 {
		n := min(len(px), max(1, e.visual.maxBatch))
		vecs, err := e.EmbedPreprocessed(ctx, px[:n])
		if err != nil {
			return nil, err
		}
		out, px = append(out, vecs...), px[n:]
	}
	return out, nil
}

// EmbedPreprocessed runs already preprocessed images (each Preprocessor().Len()
// floats) through the image tower as one batch, bypassing the batching of
// EmbedImage (for benchmarks and bulk work that forms its own batches).
func (e *Embedder) EmbedPreprocessed(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	reqs := make([]*request, len(pixels))
	for i, p := range pixels {
		if len(p) != e.pre.Len() {
			return nil, fmt.Errorf("clip: preprocessed image %d has %d values, want %d", i, len(p), e.pre.Len())
		}
		reqs[i] = &request{f32: p}
	}
	if err := e.visual.runDirect(reqs); err != nil {
		return nil, err
	}
	out := make([][]float32, len(reqs))
	for i, r := range reqs {
		res := <-r.res
		if res.err != nil {
			return nil, res.err
		}
		out[i] = res.vec
	}
	return out, nil
}

// Close stops the batching goroutines (after the requests already queued)
// and frees the sessions. Calls after Close fail with ErrClosed.
func (e *Embedder) Close() error {
	e.closeOnce.Do(func() {
		if e.text != nil {
			e.closeErr = e.text.close()
		}
		if err := e.visual.close(); err != nil && e.closeErr == nil {
			e.closeErr = err
		}
	})
	return e.closeErr
}

// --- towers and batching ---

type request struct {
	ctx context.Context
	f32 []float32
	i64 []int64
	res chan result
}

type result struct {
	vec []float32
	err error
}

type tower struct {
	name     string
	file     string
	sess     *ort.DynamicAdvancedSession
	text     bool
	int32In  bool
	mask     bool // the text tower takes an attention mask too
	inLen    int
	side     int // image side (visual)
	dim      int
	maxBatch int
	wait     time.Duration

	reqs chan *request
	stop chan struct{}
	done chan struct{}

	mu     sync.RWMutex // held for reading while submitting, for writing by close
	closed bool
	runMu  sync.Mutex // serialises runDirect with the loop's runs on the shared buffers
	runs   atomic.Int64
	items  atomic.Int64
	f32    []float32
	i64    []int64
	i32    []int32
}

func newTower(dir, name string, spec Tower, text bool, inLen, dim int, opts Options) (*tower, error) {
	t := &tower{
		name: name, file: spec.File, text: text, int32In: spec.InputType == "int32",
		inLen: inLen, dim: dim, maxBatch: opts.MaxBatch, wait: opts.BatchWait,
	}
	if !text {
		t.side = int(math.Round(math.Sqrt(float64(inLen / 3))))
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("clip: session options: %v", err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
		return nil, fmt.Errorf("clip: %v", err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("clip: %v", err)
	}
	for _, key := range []string{"session.intra_op.allow_spinning", "session.inter_op.allow_spinning"} {
		if err := so.AddSessionConfigEntry(key, "0"); err != nil {
			return nil, fmt.Errorf("clip: %s: %v", key, err)
		}
	}
	path := filepath.Join(dir, spec.File)
	inputs := []string{spec.Input}
	if spec.MaskInput != "" {
		inputs = append(inputs, spec.MaskInput)
		t.mask = true
	}
	t.sess, err = ort.NewDynamicAdvancedSession(path, inputs, []string{spec.Output}, so)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: ONNX Runtime cannot load %s: %v", ErrInvalidModel, dir, spec.File, err)
	}

	// A test run checks the input and output names, types and sizes, and
	// whether the batch dimension is free (a model exported for batch 1
	// then runs one at a time).
	try := func(n int) error {
		reqs := make([]*request, n)
		for i := range reqs {
			reqs[i] = &request{f32: make([]float32, inLen)}
			if text {
				reqs[i] = &request{i64: make([]int64, inLen)}
				reqs[i].i64[0], reqs[i].i64[1] = StartOfText, EndOfText
			}
		}
		if err := t.runDirect(reqs); err != nil {
			return err
		}
		for _, r := range reqs {
			if res := <-r.res; res.err != nil {
				return res.err
			}
		}
		return nil
	}
	if err := try(min(2, t.maxBatch)); err != nil {
		if t.maxBatch < 2 || try(1) != nil {
			t.sess.Destroy()
			return nil, fmt.Errorf("%w: %s: test run of the %s tower: %v (check %s.input, %s.output and dimensions in model.json)",
				ErrInvalidModel, dir, name, err, name, name)
		}
		t.maxBatch = 1
	}

	t.reqs = make(chan *request, 4*t.maxBatch)
	t.stop = make(chan struct{})
	t.done = make(chan struct{})
	go t.loop()
	return t, nil
}

// submit queues r and waits for its answer; answered says whether the
// loop is done with r (false when ctx ended first).
func (t *tower) submit(ctx context.Context, r *request) (vec []float32, answered bool, err error) {
	r.ctx = ctx
	r.res = make(chan result, 1)
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return nil, true, ErrClosed
	}
	select {
	case t.reqs <- r:
	case <-ctx.Done():
		t.mu.RUnlock()
		return nil, true, ctx.Err()
	}
	t.mu.RUnlock()
	select {
	case res := <-r.res:
		return res.vec, true, res.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

func (t *tower) loop() {
	defer close(t.done)
	batch := make([]*request, 0, t.maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var first *request
		select {
		case first = <-t.reqs:
		case <-t.stop:
			// Finish what is queued; nothing new can arrive.
			for {
				batch = batch[:0]
			drain:
				for len(batch) < t.maxBatch {
					select {
					case r := <-t.reqs:
						batch = append(batch, r)
					default:
						break drain
					}
				}
				if len(batch) == 0 {
					return
				}
				t.runBatch(batch)
			}
		}
		batch = append(batch[:0], first)
		deadline := time.Now().Add(t.wait)
	gather:
		for len(batch) < t.maxBatch {
			select {
			case r := <-t.reqs:
				batch = append(batch, r)
				continue
			default:
			}
			left := time.Until(deadline)
			if t.wait < 0 || left <= 0 {
				break gather
			}
			timer.Reset(left)
			select {
			case r := <-t.reqs:
				batch = append(batch, r)
			case <-timer.C:
				break gather
			case <-t.stop:
				break gather
			}
			timer.Stop()
		}
		t.runBatch(batch)
	}
}

// runBatch runs the requests that are still wanted and answers each.
func (t *tower) runBatch(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.ctx != nil && r.ctx.Err() != nil {
			r.res <- result{err: r.ctx.Err()}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if err := t.runDirect(live); err != nil {
		for _, r := range live {
			r.res <- result{err: err}
		}
	}
}

// runDirect runs reqs as one batch. On success every request is answered
// (its vector, or an error of its own); on failure none is and the error
// is returned.
func (t *tower) runDirect(reqs []*request) (err error) {
	for _, r := range reqs {
		if r.res == nil {
			r.res = make(chan result, 1)
		}
	}
	n := len(reqs)
	t.runMu.Lock()
	defer t.runMu.Unlock()

	inputs, err := t.inputs(reqs)
	if err != nil {
		return fmt.Errorf("clip: %s input tensor: %v", t.name, err)
	}
	defer func() {
		for _, v := range inputs {
			v.Destroy()
		}
	}()

	t.runs.Add(1)
	t.items.Add(int64(n))
	outs := []ort.Value{nil}
	if err := t.sess.Run(inputs, outs); err != nil {
		return fmt.Errorf("clip: %s (%s): %v", t.name, t.file, err)
	}
	defer outs[0].Destroy()
	out, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return fmt.Errorf("clip: %s (%s): output is %v, want float32", t.name, t.file, outs[0].GetONNXType())
	}
	shape := out.GetShape()
	if len(shape) < 1 || shape[0] != int64(n) || shape.FlattenedSize() != int64(n*t.dim) {
		return fmt.Errorf("clip: %s (%s): output shape %v for %d inputs, want [%d %d] (model.json says %d dimensions)",
			t.name, t.file, shape, n, n, t.dim, t.dim)
	}
	data := out.GetData()
	for i, r := range reqs {
		v := make([]float32, t.dim)
		copy(v, data[i*t.dim:(i+1)*t.dim])
		r.res <- result{vec: v, err: normalize(v)}
	}
	return nil
}

// inputs makes the input tensors of a batch (on the tower's buffers).
func (t *tower) inputs(reqs []*request) ([]ort.Value, error) {
	n := len(reqs)
	shape := ort.NewShape(int64(n), int64(t.inLen))
	switch {
	case !t.text:
		t.f32 = grow(t.f32, n*t.inLen)
		for i, r := range reqs {
			copy(t.f32[i*t.inLen:(i+1)*t.inLen], r.f32)
		}
		in, err := ort.NewTensor(ort.NewShape(int64(n), 3, int64(t.side), int64(t.side)), t.f32)
		if err != nil {
			return nil, err
		}
		return []ort.Value{in}, nil
	case t.int32In:
		t.i32 = grow(t.i32, n*t.inLen)
		for i, r := range reqs {
			for j, id := range r.i64 {
				t.i32[i*t.inLen+j] = int32(id)
			}
		}
		return tokenInputs(shape, t.i32, reqs, t.inLen, t.mask)
	default:
		t.i64 = grow(t.i64, n*t.inLen)
		for i, r := range reqs {
			copy(t.i64[i*t.inLen:(i+1)*t.inLen], r.i64)
		}
		return tokenInputs(shape, t.i64, reqs, t.inLen, t.mask)
	}
}

// fillMask calls set for the positions up to and including the first
// <|endoftext|> of ids.
// tokenInputs makes the token-id tensor from buf and, when the model takes
// one, the attention mask beside it.
func tokenInputs[T int32 | int64](shape ort.Shape, buf []T, reqs []*request, inLen int, withMask bool) ([]ort.Value, error) {
	in, err := ort.NewTensor(shape, buf)
	if err != nil || !withMask {
		return []ort.Value{in}, err
	}
	m := make([]T, len(buf))
	for i, r := range reqs {
		fillMask(r.i64, func(j int) { m[i*inLen+j] = 1 })
	}
	mask, err := ort.NewTensor(shape, m)
	if err != nil {
		in.Destroy()
		return nil, err
	}
	return []ort.Value{in, mask}, nil
}

func fillMask(ids []int64, set func(int)) {
	for j, id := range ids {
		set(j)
		if id == EndOfText {
			return
		}
	}
}

func normalize(v []float32) error {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		return fmt.Errorf("clip: model gave a vector of norm %v", math.Sqrt(ss))
	}
	inv := 1 / math.Sqrt(ss)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return nil
}

func (t *tower) close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	if t.stop != nil {
		close(t.stop)
		<-t.done
	}
	t.runMu.Lock()
	defer t.runMu.Unlock()
	if err := t.sess.Destroy(); err != nil {
		return fmt.Errorf("clip: closing the %s session: %v", t.name, err)
	}
	return nil
}
