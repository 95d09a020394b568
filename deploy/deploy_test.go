// Package deploy holds the files that run lookalike as a service (the
// systemd unit); its test checks them with the real tools.
package deploy

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	releaseOnce sync.Once
	releaseDir  string
	releaseErr  error
)

// release runs scripts/build-release (what the Dockerfile's build stage
// runs) once, into a temporary directory.
func release(t *testing.T) string {
	t.Helper()
	releaseOnce.Do(func() {
		releaseDir, releaseErr = os.MkdirTemp("", "lookalike-release-")
		if releaseErr != nil {
			return
		}
		cmd := exec.Command("../scripts/build-release", releaseDir)
		cmd.Env = append(os.Environ(), "VERSION=v0.0.0-test")
		if out, err := cmd.CombinedOutput(); err != nil {
			releaseErr = err
			releaseDir = string(out)
		}
	})
	if releaseErr != nil {
		t.Fatalf("scripts/build-release: %v\n%s", releaseErr, releaseDir)
	}
	return releaseDir
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (CI=true): scripts/test installs it with scripts/install-apt-tool", name)
		}
		t.Skipf("%s is not installed: run scripts/install-apt-tool %s systemd 'the unit test'", name, name)
	}
	return p
}

// The unit passes systemd-analyze verify with the real binary in place, and
// keeps its hardening; a broken copy is refused (so the check can fail).
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := needTool(t, "systemd-analyze")
	unit, err := os.ReadFile("lookalike.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=lookalike",
		"NoNewPrivileges=yes", "--data-dir ${STATE_DIRECTORY}", "CapabilityBoundingSet=\n"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(release(t), "lookalike")
	verify := func(text string) (string, error) {
		p := filepath.Join(dir, "lookalike.service")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", p).CombinedOutput()
		return string(out), err
	}
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/lookalike", bin)
	if out, err := verify(text); err != nil || strings.Contains(out, "lookalike.service") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if out, err := verify(strings.Replace(text, "ProtectSystem=strict", "ProtectSystem=sometimes", 1)); err == nil && !strings.Contains(out, "protect system") {
		t.Fatalf("a bad ProtectSystem value passed verify: %s", out)
	}
	if _, err := verify(strings.ReplaceAll(string(unit), "/usr/local/bin/lookalike", filepath.Join(dir, "missing"))); err == nil {
		t.Fatal("a unit whose binary is missing passed verify")
	}
}

// The image's contents, built by the same script as the Dockerfile's build
// stage: the binary names its release, loads the ONNX Runtime beside it,
// serves as the image's CMD does, and its HEALTHCHECK command reports ready.
func TestReleaseBuildRunsAsTheImageWould(t *testing.T) {
	docker, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scripts/build-release /out", "USER lookalike", `VOLUME ["/data"]`,
		`CMD ["lookalike", "healthcheck"`, "libturbojpeg0", "LOOKALIKE_ORT_LIB=/usr/local/lib/lookalike/libonnxruntime.so.1"} {
		if !strings.Contains(string(docker), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	dir := release(t)
	bin := filepath.Join(dir, "lookalike")
	if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "lookalike v0.0.0-test") {
		t.Fatalf("version: %v %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "libonnxruntime.so.1")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := append(os.Environ(), "LOOKALIKE_ADDR="+addr, "LOOKALIKE_DATA_DIR="+t.TempDir(),
		"LOOKALIKE_ORT_LIB="+filepath.Join(dir, "libonnxruntime.so.1"), "LOOKALIKE_SERVER=http://"+addr)
	srv := exec.Command(bin, "serve")
	srv.Env = env
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	go func() { // keep the pipe drained; the log goes to the test's output on failure
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Log(sc.Text())
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		hc := exec.Command(bin, "healthcheck", "--timeout", "2s")
		hc.Env = env
		out, err := hc.CombinedOutput()
		if err == nil && strings.TrimSpace(string(out)) == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck never passed: %v %s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The compose example parses, every lookalike setting in it is one the
// README's configuration table documents, and what it depends on exists.
func TestComposeExample(t *testing.T) {
	raw, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Build       string            `yaml:"build"`
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			DependsOn   yaml.Node         `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	replicas := 0
	for name, svc := range compose.Services {
		if svc.Build != "" {
			replicas++
			if _, err := os.Stat(filepath.Join(svc.Build, "Dockerfile")); err != nil {
				t.Errorf("%s builds from %s, which has no Dockerfile", name, svc.Build)
			}
			for k := range svc.Environment {
				if (strings.HasPrefix(k, "LOOKALIKE_") || k == "WEBHOOK_SECRET") && !strings.Contains(string(readme), "| `"+k+"` |") {
					t.Errorf("%s sets %s, which the README's configuration table does not document", name, k)
				}
			}
			for _, want := range []string{"LOOKALIKE_DATABASE_URL", "LOOKALIKE_BLOB_URL", "AWS_SECRET_ACCESS_KEY"} {
				if svc.Environment[want] == "" {
					t.Errorf("%s lacks %s", name, want)
				}
			}
		}
		var deps []string
		switch svc.DependsOn.Kind {
		case yaml.SequenceNode:
			svc.DependsOn.Decode(&deps)
		case yaml.MappingNode:
			var m map[string]any
			svc.DependsOn.Decode(&m)
			for d := range m {
				deps = append(deps, d)
			}
		}
		for _, d := range deps {
			if _, ok := compose.Services[d]; !ok {
				t.Errorf("%s depends on %s, which is not a service", name, d)
			}
		}
	}
	if replicas < 2 || compose.Services["postgres"].Image == "" || compose.Services["s3"].Image == "" {
		t.Fatalf("want two or more lookalike replicas, postgres and s3; got %d replicas in %v", replicas, compose.Services)
	}
}
