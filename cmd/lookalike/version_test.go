package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/buildinfo"
)

// The real binary says which version and commit it was built from and with
// which Go; a release build's -X override names the release.
func TestVersionFromBuildInfo(t *testing.T) {
	dir := t.TempDir()
	build := func(name string, args ...string) string {
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", append(append([]string{"build", "-buildvcs=auto"}, args...), "-o", bin, ".")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		return bin
	}
	run := func(bin string, args ...string) string {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	line := run(build("lookalike"), "version")
	if !regexp.MustCompile(`^lookalike (devel|v\S+)( commit [0-9a-f]{40}( \(modified\))? \S+)? go1\.`).MatchString(line) ||
		!strings.HasSuffix(line, runtime.Version()) {
		t.Fatalf("version line %q: want 'lookalike VERSION [commit HASH TIME] %s'", line, runtime.Version())
	}
	// Go stamps the commit when building inside a plain git checkout (not a
	// linked worktree, whose .git is a file).
	if st, err := os.Stat("../../.git"); err == nil && st.IsDir() {
		if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil &&
			!strings.Contains(line, "commit "+strings.TrimSpace(string(head))) {
			t.Fatalf("version line %q does not name HEAD %s", line, head)
		}
	}
	rel := build("lookalike-rel", "-ldflags", "-X github.com/lookalike/lookalike/buildinfo.Override=v9.8.7")
	var in buildinfo.Info
	if err := json.Unmarshal([]byte(run(rel, "version", "--json")), &in); err != nil || in.Version != "v9.8.7" || in.GoVersion != runtime.Version() {
		t.Fatalf("release build's version --json: %+v (%v)", in, err)
	}
}
