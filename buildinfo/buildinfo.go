// Package buildinfo tells which build of lookalike is running: the module
// version, the VCS commit and time the binary was built from, and the Go
// version, read from the build information the Go toolchain embeds.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Info describes one build.
type Info struct {
	Version   string `json:"version"`               // "v1.2.3", a pseudo-version, or "devel"
	Commit    string `json:"commit,omitempty"`      // the VCS revision, when built in a checkout
	Time      string `json:"commit_time,omitempty"` // the revision's commit time (RFC 3339)
	Modified  bool   `json:"modified,omitempty"`    // built from a checkout with uncommitted changes
	GoVersion string `json:"go_version"`
}

// Override, when set (go build -ldflags "-X github.com/lookalike/lookalike/buildinfo.Override=v1.2.3"),
// is reported as the version: for builds made outside the module system.
var Override string

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: orDevel(Override), GoVersion: "unknown"}
	}
	return FromBuildInfo(bi, Override)
}

// FromBuildInfo extracts Info from bi; override, when not empty, replaces the version.
func FromBuildInfo(bi *debug.BuildInfo, override string) Info {
	in := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if in.Version == "(devel)" || in.Version == "" {
		in.Version = "devel"
	}
	if override != "" {
		in.Version = override
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

func orDevel(v string) string {
	if v == "" {
		return "devel"
	}
	return v
}

// Short is the version and, when known, the first 12 hex digits of the
// commit: what a User-Agent carries.
func (in Info) Short() string {
	v := in.Version
	if in.Commit != "" && !strings.Contains(v, shortCommit(in.Commit)) {
		v += "+" + shortCommit(in.Commit)
	}
	if in.Modified {
		v += "-dirty"
	}
	return v
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// String is the line `lookalike version` prints.
func (in Info) String() string {
	s := "lookalike " + in.Version
	if in.Commit != "" {
		s += fmt.Sprintf(" commit %s", in.Commit)
		if in.Modified {
			s += " (modified)"
		}
		if in.Time != "" {
			s += " " + in.Time
		}
	}
	return s + " " + in.GoVersion
}
