package gitref

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// T0 is the first commit's date in fixtures; later commits are offsets
// from it, so that git log's order is known.
const T0 = 1_700_000_000

// fixture is a repository built with the real git binary. dir is its git
// directory, the layout of a bare repository; work is its work tree.
type fixture struct {
	t    testing.TB
	home string
	work string
	dir  string
}

// newEmpty makes an empty bare repository whose HEAD names main.
func newEmpty(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, home: t.TempDir()}
	f.dir = filepath.Join(t.TempDir(), "empty.git")
	f.git("", "init", "-q", "--bare", "-b", "main", f.dir)
	return f
}

// newFixture builds this history (dates are seconds after T0):
//
//	first(0) ── second(100) ─────────── third(200) ── merge(300) ── fourth(350)
//	    └──────────────── feature work(200) ──┘└── feature more(400)
//
// with branches main, feature, packedonly, dup, loose; tags v0.1
// (lightweight), v1.0 (annotated), nested (a tag of v1.0), treetag (of a
// tree) and dup (also a branch name). Everything but loose, feature's new
// tip and fourth is in packed-refs.
//
// The history is built once per test binary and copied for each test.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	templateOnce.Do(func() { templateDir, templateErr = buildTemplate() })
	if templateErr != nil {
		t.Fatalf("building the fixture: %v", templateErr)
	}
	f := &fixture{t: t, home: t.TempDir()}
	f.work = filepath.Join(t.TempDir(), "work")
	f.dir = filepath.Join(f.work, ".git")
	if out, err := exec.Command("cp", "-a", templateDir, f.work).CombinedOutput(); err != nil {
		t.Fatalf("copying the fixture: %v\n%s", err, out)
	}
	return f
}

var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
)

// TestMain removes the fixture template after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if templateDir != "" {
		os.RemoveAll(filepath.Dir(templateDir))
	}
	os.Exit(code)
}

// buildTemplate builds the history of newFixture in a new temporary
// directory and returns its work tree.
func buildTemplate() (dir string, err error) {
	root, err := os.MkdirTemp("", "gitref-fixture-")
	if err != nil {
		return "", err
	}
	ft := &fatalT{}
	defer func() {
		if r := recover(); r != nil {
			if r != ft {
				panic(r)
			}
			err = ft.err
		}
	}()
	f := &fixture{t: ft, home: filepath.Join(root, "home")}
	if err := os.Mkdir(f.home, 0o755); err != nil {
		return "", err
	}
	f.work = filepath.Join(root, "work")
	f.dir = filepath.Join(f.work, ".git")
	f.git("", "init", "-q", "-b", "main", f.work)
	f.commit("first", 0)
	f.git(f.work, "tag", "v0.1")
	f.commitEnv("second\n\nWith a body\nof two lines.\n", 100,
		"GIT_AUTHOR_NAME=Alice Example", "GIT_AUTHOR_EMAIL=alice@example.org",
		fmt.Sprintf("GIT_AUTHOR_DATE=@%d +0200", T0+50))
	f.git(f.work, "checkout", "-q", "-b", "feature", "main~1")
	f.commit("feature work", 200)
	f.git(f.work, "checkout", "-q", "main")
	f.commit("third", 200)
	f.gitEnv(f.work, dates(300), "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	f.gitEnv(f.work, dates(310), "tag", "-a", "v1.0", "-m", "release 1.0\n\nnotes")
	f.gitEnv(f.work, dates(320), "tag", "-a", "nested", "-m", "a tag of a tag", "v1.0")
	f.gitEnv(f.work, dates(330), "tag", "-a", "treetag", "-m", "a tree", "main^{tree}")
	f.git(f.work, "branch", "packedonly", "main~1")
	f.git(f.work, "branch", "dup", "main^1~1")
	f.git(f.work, "tag", "dup", "v0.1")
	f.git(f.work, "pack-refs", "--all")
	f.git(f.work, "checkout", "-q", "feature")
	f.commit("feature more", 400)
	f.git(f.work, "checkout", "-q", "main")
	f.commit("fourth", 350)
	f.git(f.work, "branch", "loose", "main~1")
	return f.work, nil
}

// fatalT lets the fixture helpers run outside a test: Fatalf panics with
// the receiver, which buildTemplate recovers.
type fatalT struct {
	testing.TB
	err error
}

func (ft *fatalT) Helper() {}
func (ft *fatalT) Fatal(args ...any) {
	ft.err = errors.New(fmt.Sprint(args...))
	panic(ft)
}
func (ft *fatalT) Fatalf(format string, args ...any) {
	ft.err = fmt.Errorf(format, args...)
	panic(ft)
}

func dates(offset int) []string {
	d := fmt.Sprintf("@%d +0000", T0+offset)
	return []string{"GIT_AUTHOR_DATE=" + d, "GIT_COMMITTER_DATE=" + d}
}

func (f *fixture) commit(msg string, offset int) string {
	f.t.Helper()
	return f.commitEnv(msg, offset)
}

// commitEnv commits a change to a file named after msg, dated offset
// seconds after T0; env overrides the defaults.
func (f *fixture) commitEnv(msg string, offset int, env ...string) string {
	f.t.Helper()
	file := filepath.Join(f.work, strings.Fields(msg)[0])
	if err := os.WriteFile(file, []byte(msg), 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.git(f.work, "add", "-A")
	f.gitEnv(f.work, append(dates(offset), env...), "commit", "-q", "-m", msg)
	return f.rev("HEAD")
}

func (f *fixture) git(dir string, args ...string) string {
	f.t.Helper()
	return f.gitEnv(dir, nil, args...)
}

func (f *fixture) gitEnv(dir string, env []string, args ...string) string {
	f.t.Helper()
	out, err := f.run(dir, env, args...)
	if err != nil {
		f.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// run runs git with the fixture's isolated environment; dir "" is the
// git directory. It returns git's standard output, and its standard
// error too when git fails.
func (f *fixture) run(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	if dir == "" {
		cmd.Env = append(cmd.Env, "GIT_DIR="+f.dir)
		cmd.Dir = f.home
	} else {
		cmd.Dir = dir
	}
	cmd.Env = append(append(os.Environ(), cmd.Env...),
		"HOME="+f.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=tester@example.com")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// rev is `git rev-parse --verify rev`.
func (f *fixture) rev(rev string) string {
	f.t.Helper()
	return strings.TrimSpace(f.git("", "rev-parse", "--verify", "-q", rev))
}

// fsck fails the test when git finds the repository broken.
func (f *fixture) fsck() {
	f.t.Helper()
	f.git("", "fsck", "--no-progress", "--no-dangling")
}

// showRef returns `git show-ref` as "id name" lines.
func (f *fixture) showRef() string {
	f.t.Helper()
	out, _ := f.run("", nil, "show-ref")
	return out
}
