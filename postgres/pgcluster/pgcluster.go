// Package pgcluster runs a throwaway PostgreSQL cluster: a real server from
// the installed PostgreSQL, initialised in a temporary directory, listening
// only on 127.0.0.1 on a free port (its unix socket inside that directory),
// with fsync and synchronous_commit on, so that what is committed is as
// durable as in production. Tests use it through package pgtest; `lookalike
// bench webhook --replicas` and `bench reindex --replicas` start one when
// given no --database-url. As root (PostgreSQL refuses to run as root) the
// cluster runs as the OS user "postgres", which owns its directory.
//
// Cost on the 2-core AMD EPYC VM, PostgreSQL 15 (go test -v -run
// TestStopRemovesCluster ./postgres/pgtest, and pgtest.Main's line under
// -v): initdb 1.5 s and start 0.17 s when the machine is quiet (11.6 s and
// 0.77 s at a load average of 22); a fresh database 0.2-0.3 s (CREATE
// DATABASE's default WAL_LOG strategy; FILE_COPY, which checkpoints, took
// 0.7-0.9 s), dropping it 0.07 s.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	Dir  string // the temporary directory: data/, sock/, log
	Port int
	// InitTook and StartTook are how long initdb and the start (until the
	// server accepted a connection) took.
	InitTook, StartTook time.Duration

	settings []string
	cmd      *exec.Cmd
	exited   chan struct{}
	dbs      atomic.Int64
}

// ErrMissing marks PostgreSQL not being installed (rather than broken).
var ErrMissing = errors.New("PostgreSQL is not installed")

// BinDir finds the directory of PostgreSQL's server programs: $LOOKALIKE_PG_BIN,
// `pg_config --bindir`, the newest /usr/lib/postgresql/*/bin, or initdb on PATH.
func BinDir() (string, error) {
	has := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, "initdb"))
		return dir != "" && err == nil
	}
	if d := os.Getenv("LOOKALIKE_PG_BIN"); d != "" {
		if has(d) {
			return d, nil
		}
		return "", fmt.Errorf("%w: no initdb in LOOKALIKE_PG_BIN=%s", ErrMissing, d)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); has(d) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrMissing
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Options tune a cluster; the zero value is the default.
type Options struct {
	// Settings are extra server settings ("commit_delay=100"), applied
	// after the defaults (fsync, synchronous_commit and full_page_writes
	// on, 200 connections, 32 MB of shared buffers), so they may override
	// them.
	Settings []string
}

// Start initialises and starts a new cluster in a temporary directory.
func Start(opts Options) (c *Cluster, err error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	for _, d := range []string{dir, filepath.Join(dir, "sock")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		if cred != nil {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	c = &Cluster{Dir: dir, settings: opts.Settings}
	data := filepath.Join(dir, "data")
	start := time.Now()
	// --no-sync: initdb's own files are a template thrown away with the
	// directory; the server below runs with fsync on.
	initdb := c.command(cred, filepath.Join(bin, "initdb"), "-D", data, "--username=postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	c.InitTook = time.Since(start)

	// A free port may be taken between our probe and the server's bind:
	// try a few.
	for attempt := 0; ; attempt++ {
		if c.Port, err = freePort(); err != nil {
			return nil, err
		}
		if err = c.start(cred, bin, data); err == nil || attempt == 2 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(cred *syscall.Credential, bin, data string) error {
	logf, err := os.OpenFile(filepath.Join(c.Dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	begin := time.Now()
	args := []string{"-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port=" + strconv.Itoa(c.Port),
		"-c", "unix_socket_directories=" + filepath.Join(c.Dir, "sock"),
		"-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB",
		"-c", "log_min_messages=warning", "-c", "log_min_error_statement=panic"}
	for _, s := range c.settings {
		args = append(args, "-c", s)
	}
	cmd := c.command(cred, filepath.Join(bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with the process that started it even when Stop is
	// never called (a panic, a kill): its directory is then left in $TMPDIR.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(c.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := c.connect(context.Background(), "postgres")
		if err == nil {
			conn.Close(context.Background())
			c.StartTook = time.Since(begin)
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited at start: %s", c.logTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop()
			return fmt.Errorf("postgres did not accept connections within 30s: %v; %s", err, c.logTail())
		}
	}
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// command runs as cred's user (nil: as ourselves).
func (c *Cluster) command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd
}

// credential is the OS user "postgres" when we are root, else nil.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs a non-root OS user and there is no user \"postgres\" (%v)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL is the connection URL of database name.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, name)
}

func (c *Cluster) connect(ctx context.Context, name string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return pgx.Connect(ctx, c.URL(name))
}

// Databases is how many databases CreateDB has made.
func (c *Cluster) Databases() int64 { return c.dbs.Load() }

// CreateDB creates a new empty database and returns its URL.
func (c *Cluster) CreateDB(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d", c.dbs.Add(1))
	conn, err := c.connect(ctx, "postgres")
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

// DropDB drops the database of url, ending any session still connected.
func (c *Cluster) DropDB(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	conn, err := c.connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", cfg.Database, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown, then a kill after 10 s) and
// removes its directory.
func (c *Cluster) Stop() error {
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
	}
	return os.RemoveAll(c.Dir)
}
