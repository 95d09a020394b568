package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/lookalike/lookalike", Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "98583f5c0ffee0123456789abcdef01234567890"},
			{Key: "vcs.time", Value: "2026-12-01T23:59:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		override, version, short, line string
	}{
		{"", "devel", "devel+98583f5c0ffe-dirty", "lookalike devel commit 98583f5c0ffee0123456789abcdef01234567890 (modified) 2026-12-01T23:59:00Z go1.26.8"},
		{"v1.0.0", "v1.0.0", "v1.0.0+98583f5c0ffe-dirty", "lookalike v1.0.0 commit 98583f5c0ffee0123456789abcdef01234567890 (modified) 2026-12-01T23:59:00Z go1.26.8"},
	} {
		in := FromBuildInfo(bi, tc.override)
		if in.Version != tc.version || in.Short() != tc.short || in.String() != tc.line {
			t.Errorf("override %q: got %q / %q / %q", tc.override, in.Version, in.Short(), in.String())
		}
	}
	tagged := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}
	if in := FromBuildInfo(tagged, ""); in.String() != "lookalike v1.2.3 go1.26.8" || in.Short() != "v1.2.3" {
		t.Errorf("tagged module: %q %q", in.String(), in.Short())
	}
}

func TestReadNamesGoVersion(t *testing.T) {
	in := Read()
	if !strings.HasPrefix(in.GoVersion, "go1.") || in.Version == "" {
		t.Fatalf("Read() = %+v", in)
	}
}
