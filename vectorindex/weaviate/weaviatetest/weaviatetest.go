// Package weaviatetest runs a real weaviate-server for tests, inside a
// private network namespace.
//
// Weaviate listens on every interface for gRPC (50051), gossip (7947) and
// pprof (6060) whatever --host says, so neither it nor its clients may run
// in the machine's own network namespace. A package's TestMain calls Main,
// which re-executes the test binary under `unshare -n` (a namespace holding
// only its own loopback), runs the tests there, and stops the server at the
// end. The first test that calls URL starts the server (about 9 s), so a
// run of other tests does not wait for it.
//
// The server is scripts/install-weaviate's build, found in
// $LOOKALIKE_TOOLS or $HOME/.cache/lookalike/tools. When it is missing, or
// no private namespace can be made, URL skips the test saying why; with
// CI=true it fails it.
package weaviatetest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the weaviate-server scripts/install-weaviate builds.
const Version = "v1.35.2"

// envInside marks a test binary already running in its private namespace.
const envInside = "LOOKALIKE_WEAVIATE_NETNS"

// The server's ports inside the namespace (nothing else listens there).
const (
	httpPort = "8080"
	grpcPort = "50051"
)

// Binary returns the path of weaviate-server, or an error naming the
// script that installs it.
func Binary() (string, error) {
	dir := os.Getenv("LOOKALIKE_TOOLS")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".cache", "lookalike", "tools")
	}
	bin := filepath.Join(dir, "weaviate-server")
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("weaviate-server %s is not installed at %s: run scripts/install-weaviate", Version, bin)
	}
	return bin, nil
}

// state is the package's: why there is no server (unavailable), or the
// running one.
var state struct {
	unavailable error
	inside      bool

	once    sync.Once
	err     error
	cmd     *exec.Cmd
	exited  chan struct{}
	dataDir string
	logFile *os.File
}

// Main runs m inside a private network namespace and exits: the test
// binary re-executes itself under `unshare -n` (or `unshare -rn` where
// the user may not make one), and the copy inside runs the tests and stops
// the server when they end.
func Main(m *testing.M) {
	if os.Getenv(envInside) == "1" {
		state.inside = true
		code := m.Run()
		stop()
		os.Exit(code)
	}
	if _, err := Binary(); err != nil {
		state.unavailable = err
		os.Exit(m.Run())
	}
	args, err := unshareArgs()
	if err != nil {
		state.unavailable = err
		os.Exit(m.Run())
	}
	exe, err := os.Executable()
	if err != nil {
		state.unavailable = err
		os.Exit(m.Run())
	}
	// `ip link set lo up` gives the namespace its loopback; then the shell
	// becomes the test binary with the same arguments.
	args = append(args, "sh", "-c", `ip link set lo up && exec "$0" "$@"`, exe)
	cmd := exec.Command(args[0], append(args[1:], os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envInside+"=1")
	// If this process dies (a test timeout kills it), so does the copy.
	runtime.LockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() >= 0 {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "weaviatetest: running the tests in a private network namespace: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// unshareArgs returns the command prefix that makes a private network
// namespace with a working loopback here, trying it first.
func unshareArgs() ([]string, error) {
	if _, err := exec.LookPath("unshare"); err != nil {
		return nil, errors.New("weaviate tests need unshare (util-linux) to run the server in a private network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, errors.New("weaviate tests need ip (iproute2) to bring up the loopback of a private network namespace")
	}
	var last []byte
	for _, args := range [][]string{{"unshare", "-n"}, {"unshare", "-rn"}} {
		probe := exec.Command(args[0], append(args[1:], "sh", "-c", "ip link set lo up")...)
		out, err := probe.CombinedOutput()
		if err == nil {
			return args, nil
		}
		last = bytes.TrimSpace(out)
	}
	return nil, fmt.Errorf("weaviate tests need a private network namespace (the server listens on every interface) and `unshare -n` failed here: %s", last)
}

// URL returns the base URL of the test server (http://127.0.0.1:8080 in the
// test's own namespace), starting it on first use. Without one it skips t,
// or fails it under CI=true.
func URL(t testing.TB) string {
	t.Helper()
	err := state.unavailable
	if err == nil && !state.inside {
		err = errors.New("weaviatetest.URL needs the package's TestMain to call weaviatetest.Main")
	}
	if err == nil {
		state.once.Do(func() { state.err = start() })
		err = state.err
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return "http://127.0.0.1:" + httpPort
}

// GRPCAddr is the test server's gRPC address.
func GRPCAddr() string { return "127.0.0.1:" + grpcPort }

// start runs weaviate-server with its data in a temporary directory and
// waits until it reports ready.
func start() error {
	bin, err := Binary()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "weaviate-test-")
	if err != nil {
		return err
	}
	state.dataDir = dir
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return err
	}
	state.logFile = logf
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", httpPort, "--scheme", "http")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"PERSISTENCE_DATA_PATH=" + filepath.Join(dir, "data"),
		"DEFAULT_VECTORIZER_MODULE=none",
		"ENABLE_MODULES=",
		"API_BASED_MODULES_DISABLED=true",
		"AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true",
		"CLUSTER_HOSTNAME=node1",
		"CLUSTER_ADVERTISE_ADDR=127.0.0.1",
		"RAFT_BOOTSTRAP_EXPECT=1",
		"GRPC_PORT=" + grpcPort,
		"DISABLE_TELEMETRY=true",
		"PROMETHEUS_MONITORING_ENABLED=false",
		"QUERY_DEFAULTS_LIMIT=25",
		"LOG_LEVEL=warning",
		"LOG_FORMAT=text",
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Pdeathsig fires when the thread that started the server ends, so a
	// goroutine of its own starts it, locked to its thread, and stays there
	// until the server exits.
	started := make(chan error, 1)
	state.exited = make(chan struct{})
	go func() {
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			cmd.Wait()
		}
		close(state.exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	state.cmd = cmd
	ready := "http://127.0.0.1:" + httpPort + "/v1/.well-known/ready"
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-state.exited:
			return fmt.Errorf("weaviate-server exited before it was ready (%v); its log:\n%s", cmd.ProcessState, logTail())
		default:
		}
		if resp, err := client.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("weaviate-server was not ready after 2 minutes; its log:\n%s", logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logTail is the end of the server's log.
func logTail() string {
	b, _ := os.ReadFile(state.logFile.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop ends the server (SIGTERM, then SIGKILL after 15 s) and removes its
// data.
func stop() {
	if state.cmd != nil {
		state.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-state.exited:
		case <-time.After(15 * time.Second):
			state.cmd.Process.Kill()
			<-state.exited
		}
	}
	if state.logFile != nil {
		state.logFile.Close()
	}
	if state.dataDir != "" {
		os.RemoveAll(state.dataDir)
	}
}
