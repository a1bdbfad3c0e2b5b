package uploadpack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fixtureBase is the commit time of the fixture's first commit; commit i of
// main is one day later per step.
const fixtureBase = 1700000000

const day = 86400

// fixture is a working repository src, the bare repository server cloned
// from it and repacked with deltas, and an HTTP server for it.
type fixture struct {
	git    *gitRunner
	root   string
	src    string
	server string
	srv    *testServer
	main   []string // main's commits, oldest first
	next   int64    // time for the next commit
}

// bigFile is a ~100 KiB text whose line n mentions version v when n%50 == v,
// so each version differs from the last in a few lines and packs as a delta.
func bigFile(v int) string {
	var b strings.Builder
	for n := range 2000 {
		fmt.Fprintf(&b, "line %04d: the quick brown fox jumps over the lazy dog", n)
		if n%50 <= v {
			fmt.Fprintf(&b, " edited in version %d", v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// newFixture builds: main with 6 commits (README, big.txt edited each time,
// dir/a.txt, dir/sub/b.txt from commit 2), lightweight tag v0.1 on commit 1,
// annotated tag v1.0 on commit 4, branch feature off commit 2 with 2 commits
// and annotated tag v-feature on its tip.
//
// The repositories are built once per test binary and copied for each
// test, which then owns its copy and may commit and push in it.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	templateOnce.Do(func() {
		// A Fatalf in the build ends only the test that ran it; the
		// others find this error.
		template.err = errors.New("building the fixture failed in another test")
		template.fixture = buildFixture(t)
		template.err = nil
	})
	if template.err != nil {
		t.Fatal(template.err)
	}
	f := &fixture{git: newGit(t), root: t.TempDir()}
	if out, err := exec.Command("cp", "-a", template.root+"/.", f.root).CombinedOutput(); err != nil {
		t.Fatalf("copying the fixture: %v\n%s", err, out)
	}
	f.src = filepath.Join(f.root, "src")
	f.server = filepath.Join(f.root, "server.git")
	f.main = append([]string(nil), template.main...)
	f.next = template.next
	f.srv = newTestServer(t, f.server)
	return f
}

var (
	templateOnce sync.Once
	template     struct {
		*fixture
		err error
	}
)

// TestMain removes the fixture template after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if template.fixture != nil {
		os.RemoveAll(template.root)
	}
	if shallowTemplate.dir != "" {
		os.RemoveAll(filepath.Dir(shallowTemplate.dir))
	}
	os.Exit(code)
}

// buildFixture builds newFixture's repositories in a new directory
// outside any test's, for newFixture to copy.
func buildFixture(t testing.TB) *fixture {
	t.Helper()
	root, err := os.MkdirTemp("", "uploadpack-fixture-")
	if err != nil {
		t.Fatal(err)
	}
	g := newGit(t)
	f := &fixture{git: g, root: root}
	f.src = filepath.Join(f.root, "src")
	f.server = filepath.Join(f.root, "server.git")
	g.run(f.root, "init", "-q", "-b", "main", f.src)
	writeFile(t, filepath.Join(f.src, "README.md"), "# fixture\n")
	writeFile(t, filepath.Join(f.src, "dir", "a.txt"), "a\n")
	for i := range 6 {
		writeFile(t, filepath.Join(f.src, "big.txt"), bigFile(i))
		writeFile(t, filepath.Join(f.src, "small.txt"), fmt.Sprintf("small %d\n", i))
		if i == 2 {
			writeFile(t, filepath.Join(f.src, "dir", "sub", "b.txt"), "b\n")
		}
		f.commit(fmt.Sprintf("commit %d", i))
		switch i {
		case 1:
			g.run(f.src, "tag", "v0.1")
		case 4:
			f.tag("v1.0")
		}
	}
	g.run(f.src, "checkout", "-q", "-b", "feature", f.main[2])
	for i := range 2 {
		writeFile(t, filepath.Join(f.src, "feature.txt"), fmt.Sprintf("feature %d\n", i))
		f.commitOn(fmt.Sprintf("feature %d", i))
	}
	f.tag("v-feature")
	g.run(f.src, "checkout", "-q", "main")
	g.run(f.root, "clone", "-q", "--bare", f.src, f.server)
	g.run(f.server, "repack", "-q", "-a", "-d", "-f", "--depth=50", "--window=10")
	f.git = nil // the test that built it ends before the others
	return f
}

// commit commits src's work tree on main and records it.
func (f *fixture) commit(msg string) string {
	f.commitOn(msg)
	h := f.git.run(f.src, "rev-parse", "HEAD")
	f.main = append(f.main, h)
	return h
}

func (f *fixture) commitOn(msg string) {
	if f.next == 0 {
		f.next = fixtureBase
	}
	f.git.commitAt(f.src, f.next, msg)
	f.next += day
}

func (f *fixture) tag(name string) {
	date := "GIT_COMMITTER_DATE=@" + strconv.FormatInt(f.next, 10) + " +0000"
	f.git.runEnv(f.src, []string{date}, "tag", "-a", "-m", "tag "+name, name)
}

// push sends src's refs to the server repository (loose objects there).
func (f *fixture) push(refspecs ...string) {
	f.git.run(f.src, append([]string{"push", "-q", f.server}, refspecs...)...)
}

// clone clones from the test server with protocol version v and extra args,
// returning the clone's directory and git's stderr.
func (f *fixture) clone(t testing.TB, v int, args ...string) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	all := append([]string{"-c", fmt.Sprintf("protocol.version=%d", v), "clone", "--progress"}, args...)
	all = append(all, f.srv.URL, dir)
	_, stderr := f.git.runEnv(f.root, nil, all...)
	return dir, stderr
}

// fetch runs git fetch with protocol version v in dir and returns stderr.
func (f *fixture) fetch(t testing.TB, dir string, v int, args ...string) string {
	t.Helper()
	all := append([]string{"-c", fmt.Sprintf("protocol.version=%d", v), "fetch", "--progress"}, args...)
	_, stderr := f.git.runEnv(dir, nil, all...)
	return stderr
}

// fsck fails the test unless git fsck --full passes in dir.
func (f *fixture) fsck(t testing.TB, dir string) {
	t.Helper()
	if out, errOut, err := f.git.try(dir, nil, "fsck", "--full", "--strict"); err != nil {
		t.Fatalf("git fsck in %s: %v\n%s%s", dir, err, out, errOut)
	}
}

// serverRefs lists the server's refs as "<oid> <name>" lines.
func (f *fixture) serverRefs(patterns ...string) string {
	return f.git.refsOf(f.server, patterns...)
}

// remoteRefsAsServer lists a non-bare clone's refs/remotes/origin/* renamed
// to refs/heads/*, and its tags, for comparison with serverRefs.
func (f *fixture) remoteRefsAsServer(dir string) string {
	var lines []string
	for _, l := range strings.Split(f.git.refsOf(dir, "refs/remotes/origin", "refs/tags"), "\n") {
		if l == "" || strings.HasSuffix(l, "refs/remotes/origin/HEAD") {
			continue
		}
		lines = append(lines, strings.Replace(l, " refs/remotes/origin/", " refs/heads/", 1))
	}
	return sortLines(lines)
}

// sortLines sorts "<oid> <name>" lines by name, as for-each-ref does.
func sortLines(lines []string) string {
	s := append([]string(nil), lines...)
	name := func(l string) string { _, n, _ := strings.Cut(l, " "); return n }
	sort.Slice(s, func(i, j int) bool { return name(s[i]) < name(s[j]) })
	return strings.Join(s, "\n")
}

// totalObjects parses "remote: Total N" from git's progress output.
func totalObjects(t testing.TB, stderr string) int {
	t.Helper()
	i := strings.LastIndex(stderr, "remote: Total ")
	if i < 0 {
		t.Fatalf("no remote: Total line in:\n%s", stderr)
	}
	var n int
	if _, err := fmt.Sscanf(stderr[i:], "remote: Total %d", &n); err != nil {
		t.Fatalf("parse Total line: %v", err)
	}
	return n
}
