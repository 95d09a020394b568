package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lookalike/lookalike/app"
	"github.com/lookalike/lookalike/postgres/pgcluster"
)

// What a benchmark runs against: running servers (--server), N replicas of
// this binary on PostgreSQL that it starts itself (--replicas), or one
// in-process server on SQLite (neither).

// benchTarget holds the flags that choose it.
type benchTarget struct {
	servers    string
	secret     string
	replicas   int
	dbURL      string
	pgSettings stringList
	env        stringList
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func (t *benchTarget) register(fs *flag.FlagSet) {
	fs.StringVar(&t.servers, "server", "", "base URL of a running server, or several separated by commas (requests are spread over them); default: start servers (see --replicas)")
	fs.StringVar(&t.secret, "secret", "", "webhook secret of --server (default: $WEBHOOK_SECRET)")
	fs.IntVar(&t.replicas, "replicas", 0, "start this many `lookalike serve` replicas of this binary on PostgreSQL (--database-url), each on a free 127.0.0.1 port with a data directory of its own; 0: one in-process server on SQLite")
	fs.StringVar(&t.dbURL, "database-url", "", "with --replicas: the PostgreSQL database the replicas share (its tables are created if missing; use an empty one); default: a throwaway cluster initialised in a temporary directory from the installed PostgreSQL (scripts/install-postgres), removed at the end")
	fs.Var(&t.pgSettings, "pg-setting", "with --replicas and no --database-url: a server setting of the throwaway cluster, name=value (repeatable; fsync and synchronous_commit are on unless set here)")
	fs.Var(&t.env, "replica-env", "with --replicas: NAME=value added to each replica's environment (repeatable), e.g. LOOKALIKE_WORKERS=4; LOOKALIKE_PPROF_ADDR=127.0.0.1:6061 gives replica i the profiler on port 6061+i")
}

// fleet is what a benchmark talks to.
type benchFleet struct {
	URLs   []string
	Secret string
	DB     string // with --replicas: the database URL
	Note   string // how it was started, for the report
	stop   []func()
}

// Close stops whatever was started, newest first.
func (f *benchFleet) Close() {
	for i := len(f.stop) - 1; i >= 0; i-- {
		f.stop[i]()
	}
}

// start returns the servers to measure, starting them if needed; cfg is
// the in-process server's configuration, env the replicas' settings as
// environment variables.
func (m *Main) startTarget(ctx context.Context, t *benchTarget, cfg app.Config, env map[string]string) (*benchFleet, error) {
	f := &benchFleet{Secret: t.secret}
	if f.Secret == "" {
		f.Secret = m.Getenv("WEBHOOK_SECRET")
	}
	switch {
	case t.servers != "" && t.replicas > 0:
		return nil, &usageError{"--server and --replicas exclude each other"}
	case t.servers != "":
		for _, u := range strings.Split(t.servers, ",") {
			if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
				f.URLs = append(f.URLs, u)
			}
		}
		f.Note = fmt.Sprintf("%d running server(s)", len(f.URLs))
		return f, nil
	case t.replicas < 0:
		return nil, &usageError{"--replicas must not be negative"}
	case t.replicas == 0:
		if t.dbURL != "" || len(t.pgSettings) > 0 || len(t.env) > 0 {
			return nil, &usageError{"--database-url, --pg-setting and --replica-env need --replicas"}
		}
		a, stop, err := startBenchServer(ctx, cfg)
		if err != nil {
			return nil, err
		}
		f.URLs, f.Secret, f.Note = []string{a.URL()}, benchSecret, "one in-process server on SQLite"
		f.stop = append(f.stop, stop)
		return f, nil
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	db := t.dbURL
	if db != "" && len(t.pgSettings) > 0 {
		return nil, &usageError{"--pg-setting is for the throwaway cluster: set the server's own settings on the server"}
	}
	if db == "" {
		c, err := pgcluster.Start(pgcluster.Options{Settings: t.pgSettings})
		if err != nil {
			return nil, fmt.Errorf("start a throwaway PostgreSQL cluster (or pass --database-url): %w", err)
		}
		f.stop = append(f.stop, func() { c.Stop() })
		if db, err = c.CreateDB(ctx); err != nil {
			return nil, err
		}
		settings := ""
		if len(t.pgSettings) > 0 {
			settings = ", " + strings.Join(t.pgSettings, " ")
		}
		fmt.Fprintf(m.Stderr, "started a throwaway PostgreSQL cluster on 127.0.0.1:%d (initdb %v, fsync on, synchronous_commit on%s)\n",
			c.Port, c.InitTook.Round(time.Millisecond), settings)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	f.Secret, f.DB = benchSecret, db
	base := map[string]string{
		"LOOKALIKE_DATABASE_URL":        db,
		"WEBHOOK_SECRET":                benchSecret,
		"LOOKALIKE_FETCH_ALLOW_PRIVATE": "true",
		"LOOKALIKE_SEARCH_RATE":         "0",
		"LOOKALIKE_LOG_LEVEL":           "warn",
	}
	for k, v := range env {
		base[k] = v
	}
	for _, kv := range t.env {
		k, v, found := strings.Cut(kv, "=")
		if !found || k == "" {
			return nil, &usageError{fmt.Sprintf("--replica-env %q: want NAME=value", kv)}
		}
		base[k] = v
	}
	reps := make([]*benchReplica, t.replicas)
	errs := make([]error, t.replicas)
	var wg sync.WaitGroup
	for i := range reps { // started together, as a deployment on a new database is
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = startBenchReplica(ctx, exe, i, base)
		}()
	}
	wg.Wait()
	for i, r := range reps {
		if r != nil {
			f.stop = append(f.stop, r.stop)
			f.URLs = append(f.URLs, r.url)
		}
		if errs[i] != nil {
			return nil, errs[i]
		}
	}
	f.Note = fmt.Sprintf("%d replicas of %s on PostgreSQL", t.replicas, filepath.Base(exe))
	fmt.Fprintf(m.Stderr, "started %d replicas: %s\n", t.replicas, strings.Join(f.URLs, " "))
	ok = true
	return f, nil
}

// analyze gathers the database's statistics (ANALYZE), as autovacuum does
// within a minute of a table's growth: plans made on a new database's
// empty tables scan them whole once they have filled.
func (f *benchFleet) analyze(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, f.DB)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "ANALYZE")
	return err
}

// benchReplica is one `lookalike serve` process started by a benchmark.
type benchReplica struct {
	url  string
	cmd  *exec.Cmd
	dir  string
	logs *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

// lockedWriter serialises writes to a buffer.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// startBenchReplica starts replica i on a free port with a data directory
// of its own and returns once its /readyz answers 200.
func startBenchReplica(ctx context.Context, exe string, i int, env map[string]string) (*benchReplica, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("lookalike-bench-r%d-", i))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(exe, "serve")
	cmd.Env = append(os.Environ(), "LOOKALIKE_ADDR="+addr, "LOOKALIKE_DATA_DIR="+dir)
	for k, v := range env {
		if k == "LOOKALIKE_PPROF_ADDR" { // one port each: replica i listens on the port given + i
			if host, port, err := net.SplitHostPort(v); err == nil {
				if p, err := strconv.Atoi(port); err == nil && p > 0 {
					v = net.JoinHostPort(host, strconv.Itoa(p+i))
				}
			}
		}
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r := &benchReplica{url: "http://" + addr, cmd: cmd, dir: dir, logs: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = lockedWriter{r.mu, r.logs}, lockedWriter{r.mu, r.logs}
	// The replica dies with the benchmark even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", r.url+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return r, nil
			}
		}
		select {
		case <-r.done:
			err = errors.New("it exited")
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(20 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
			err = errors.New("not ready within 2 minutes")
		}
		logs := r.tail()
		r.stop()
		return nil, fmt.Errorf("replica %d on %s: %w:\n%s", i, addr, err, logs)
	}
}

func (r *benchReplica) tail() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.logs.Bytes()
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop ends the replica (SIGTERM, then SIGKILL after 30 s) and removes its
// data directory.
func (r *benchReplica) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
	os.RemoveAll(r.dir)
}

// photoHost serves product photos for a benchmark on a local port:
// /p/N.jpg is photo N%len with N's 8 bytes after it, so that every product
// has distinct image bytes (nothing is deduplicated by hash) while looking
// the same as its photo.
type photoHost struct {
	URL    string
	photos [][]byte
	srv    *http.Server
}

func startPhotoHost(imagesDir string) (*photoHost, error) {
	files, err := photoFiles(imagesDir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no photos in %s", imagesDir)
	}
	h := &photoHost{photos: make([][]byte, len(files))}
	for i, f := range files {
		if h.photos[i], err = os.ReadFile(f); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/p/"), ".jpg"))
		if err != nil || i < 0 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(h.photo(i))
	})}
	go h.srv.Serve(ln)
	h.URL = "http://" + ln.Addr().String()
	return h, nil
}

// photo is the bytes served at /p/i.jpg.
func (h *photoHost) photo(i int) []byte {
	var tail [8]byte
	binary.LittleEndian.PutUint64(tail[:], uint64(i))
	src := h.photos[i%len(h.photos)]
	return append(src[:len(src):len(src)], tail[:]...)
}

func (h *photoHost) Close() { h.srv.Close() }
