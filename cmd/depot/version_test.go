package main

import (
	"runtime"
	"strings"
	"testing"
)

// What TestMain builds the binary with, as the Dockerfile does.
const (
	testVersion = "1.2.3-test"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
)

// TestVersion: depot version prints what -ldflags -X set, and a build
// without them says so rather than inventing a version.
func TestVersion(t *testing.T) {
	out, errOut, code := cli(t, "", "version")
	want := "depot " + testVersion + "\ncommit " + testCommit + "\n" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if code != 0 || out != want || errOut != "" {
		t.Fatalf("depot version = %d %q %q; want %q", code, out, errOut, want)
	}
	if _, errOut, code := cli(t, "", "version", "extra"); code != 2 || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Fatalf("depot version extra = %d %q; want a usage error", code, errOut)
	}

	// This test binary has neither -X values nor VCS stamps (go test
	// never stamps them).
	for _, tc := range []struct {
		name, version, commit string
		want                  string
	}{
		{"Unset", "", "", "depot devel\ncommit unknown\n"},
		{"LDFlags", "2.0.0", "abc123", "depot 2.0.0\ncommit abc123\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(v, c string) { version, commit = v, c }(version, commit)
			version, commit = tc.version, tc.commit
			if got := readBuildInfo().String(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("readBuildInfo() = %q; want it to start %q", got, tc.want)
			}
		})
	}
}
