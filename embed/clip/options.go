// Package clip embeds images (and text) with an OpenAI CLIP model run by
// ONNX Runtime.
//
// A model is a directory (see Manifest): model.json, visual.onnx, and
// optionally text.onnx with the tokenizer's vocabulary. Load checks every
// file against its SHA-256 and runs a test input through each tower before
// returning, so a broken model fails at load and a running service can keep
// its old one.
//
// ONNX Runtime is a shared library loaded at run time (see FindLibrary and
// scripts/install-onnxruntime); the process loads one and keeps it.
//
// Each tower has one ONNX Runtime session shared by all callers. Concurrent
// EmbedImage calls are gathered into batches (up to Options.MaxBatch,
// waiting at most Options.BatchWait for company) and run together, which
// is what makes a transformer fast on CPU; the preprocessing runs in the
// callers' goroutines. Vectors are L2-normalised.
package clip

import (
	"errors"
	"time"
)

// Options tune Load. The zero value is usable.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library; "" means FindLibrary.
	LibraryPath string
	// Threads is ONNX Runtime's intra-op thread count per tower; 0 means
	// runtime.NumCPU(). The threads sleep rather than spin when idle.
	Threads int
	// MaxBatch is the most images (or texts) run together; 0 means 8.
	MaxBatch int
	// BatchWait is how long a request waits for others to join its batch;
	// 0 means 2ms, negative means not at all (only requests already queued
	// join).
	BatchWait time.Duration
}

const (
	defaultMaxBatch  = 8
	defaultBatchWait = 2 * time.Millisecond
)

// Errors of an Embedder in use.
var (
	ErrClosed = errors.New("clip: embedder closed")
	ErrNoText = errors.New("clip: this model has no text tower")
)
