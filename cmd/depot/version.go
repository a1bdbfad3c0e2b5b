package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit name the build; release builds set them with
// -ldflags "-X main.version=1.2.0 -X main.commit=$(git rev-parse HEAD)".
// A build without them reports the module's version and the commit that
// go build stamped (vcs.revision), when there are any.
var version, commit string

// buildInfo is what depot version prints.
type buildInfo struct {
	version, commit string
	modified        bool // built from a work tree with uncommitted changes
	goVersion       string
}

func readBuildInfo() buildInfo {
	b := buildInfo{version: version, commit: commit, goVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.commit == "" {
					b.commit = s.Value
				}
			case "vcs.modified":
				b.modified = s.Value == "true" && commit == ""
			}
		}
	}
	if b.version == "" {
		b.version = "devel"
	}
	if b.commit == "" {
		b.commit = "unknown"
	}
	return b
}

func (b buildInfo) String() string {
	c := b.commit
	if b.modified {
		c += " (modified)"
	}
	return fmt.Sprintf("depot %s\ncommit %s\n%s %s/%s", b.version, c, b.goVersion, runtime.GOOS, runtime.GOARCH)
}

func runVersion(e *env, args []string) error {
	fs := newFlagSet("version")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	fmt.Fprintln(e.stdout, readBuildInfo())
	return nil
}
