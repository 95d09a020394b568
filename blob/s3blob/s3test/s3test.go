// Package s3test runs a real S3 server for tests: versitygw, built by
// scripts/install-versitygw, on a free port of 127.0.0.1 over a temporary
// directory. With CI=true a missing versitygw fails the test; otherwise it
// skips, saying how to install it.
package s3test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Version is the versitygw release the tests use.
const Version = "v1.8.0"

// Server is a running versitygw.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Dir       string // its posix root: a bucket is a top-level folder
}

// Binary returns the path of versitygw: in $LOOKALIKE_TOOLS, by default
// ~/.cache/lookalike/tools.
func Binary() string {
	dir := os.Getenv("LOOKALIKE_TOOLS")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "lookalike", "tools")
	}
	return filepath.Join(dir, "versitygw")
}

// Start starts versitygw and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("versitygw %s is not installed at %s (%v): run scripts/install-versitygw", Version, bin, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{AccessKey: "lookalike-test", SecretKey: randomHex(16), Dir: t.TempDir()}
	var last string
	for range 3 { // the free port may be taken before versitygw binds it
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		out, err := os.CreateTemp(t.TempDir(), "versitygw-*.log")
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		cmd := exec.Command(bin, "--port", addr, "--access", s.AccessKey, "--secret", s.SecretKey, "posix", s.Dir)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start versitygw: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if ready(addr, exited) {
			s.Endpoint = "http://" + addr
			t.Cleanup(func() {
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(5 * time.Second):
					cmd.Process.Kill()
					<-exited
				}
			})
			return s
		}
		cmd.Process.Kill()
		<-exited
		b, _ := os.ReadFile(out.Name())
		last = string(b)
	}
	t.Fatalf("versitygw did not start:\n%s", last)
	return nil
}

// ready waits until addr answers HTTP (any status: requests without a
// signature are refused), or the process exits, or 15 s pass.
func ready(addr string, exited <-chan struct{}) bool {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if resp, err := c.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			return true
		}
		select {
		case <-exited:
			return false
		case <-tick.C:
		}
	}
	return false
}

// Bucket creates a new, empty bucket and returns its name.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := "b" + randomHex(6)
	if err := os.Mkdir(filepath.Join(s.Dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	return name
}

// URL is the s3:// URL of prefix in bucket on this server.
func (s *Server) URL(bucket, prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&region=us-east-1", bucket, strings.Trim(prefix, "/"), s.Endpoint)
}

// Env sets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the test.
func (s *Server) Env(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
}

// ObjectPath is where versitygw keeps an object on disk.
func (s *Server) ObjectPath(bucket, key string) string {
	return filepath.Join(s.Dir, bucket, filepath.FromSlash(key))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
