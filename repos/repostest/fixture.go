package repostest

// The fixture repository that tests share: the history in
// testdata/repo/fixture.fi at the top of the module, imported with the real
// git binary (git fast-import) into a bare repository. The stream fixes
// every byte, so the commit ids are the same on every machine.
//
// The history, dates in seconds after T0:
//
//	one(0) ── two(100) ───────────────── three(300) ── merge topic(400)   main
//	            │ v1                                      │ v2 (annotated)
//	            └──── topic work(200) ────────────────────┘                topic
//
// README at the root, docs/guide.md in a subdirectory, src/hello.txt
// (added on topic, and in the merge) and logo.png, a binary file (three).
// Authors are "A <a@example.com>", committers "C <c@example.com>".

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// T0 is the date of the first commit, in seconds since the epoch.
const T0 = 1_700_000_000

// Repo is a bare repository holding the fixture history.
type Repo struct {
	// Path is the bare repository's directory.
	Path string
	ids  map[string]string // commit subject → id
}

// NewFixture imports the fixture into a new bare repository in a temporary
// directory, with HEAD naming main.
func NewFixture(tb testing.TB) *Repo {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "fixture.git")
	git(tb, "", nil, "init", "-q", "--bare", path)
	return Import(tb, path)
}

// Import imports the fixture into the existing bare repository at path,
// one without the fixture's refs such as repos.Dir.Create makes, and
// points its HEAD at main.
func Import(tb testing.TB, path string) *Repo {
	tb.Helper()
	stream, err := os.ReadFile(StreamPath(tb))
	if err != nil {
		tb.Fatal(err)
	}
	git(tb, path, stream, "fast-import", "--quiet")
	git(tb, path, nil, "symbolic-ref", "HEAD", "refs/heads/main")
	r := &Repo{Path: path, ids: map[string]string{}}
	for _, line := range strings.Split(strings.TrimSpace(git(tb, path, nil, "log", "--all", "--format=%H %s")), "\n") {
		id, subject, _ := strings.Cut(line, " ")
		r.ids[subject] = id
	}
	return r
}

// ID returns the id of the commit whose subject is subject ("one",
// "merge topic"); an unknown subject fails tb.
func (r *Repo) ID(tb testing.TB, subject string) string {
	tb.Helper()
	id, ok := r.ids[subject]
	if !ok {
		tb.Fatalf("the fixture has no commit %q", subject)
	}
	return id
}

// StreamPath returns the path of testdata/repo/fixture.fi, found from the
// working directory up to the module's root, as go test runs a package's
// tests in its own directory.
func StreamPath(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "repo", "fixture.fi")
		} else if !errors.Is(err, os.ErrNotExist) {
			tb.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("repostest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// git runs git in the repository dir ("" for none) with stdin and returns
// its output; a failure fails tb. Neither the user's nor the system's git
// configuration applies.
func git(tb testing.TB, dir string, stdin []byte, args ...string) string {
	tb.Helper()
	if dir != "" {
		args = append([]string{"--git-dir", dir}, args...)
	}
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "HOME="+tb.TempDir(), "GIT_CONFIG_NOSYSTEM=1")
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}
