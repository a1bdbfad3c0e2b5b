package uploadpack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/depot/depot/repos/git/odb"
)

// storedIDs lists the object ids the repository at dir stores, packed
// or loose; git's virtual empty tree is not among them unless stored.
func storedIDs(g *gitRunner, dir string) map[string]bool {
	ids := map[string]bool{}
	for _, l := range strings.Fields(g.run(dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")) {
		ids[l] = true
	}
	return ids
}

// TestEmptyTreeServed checks that a commit whose tree is the empty tree,
// which the repository does not store, is served, with the tree in the
// pack as git's pack-objects sends it.
func TestEmptyTreeServed(t *testing.T) {
	s := odb.EmptyTree.String()
	for _, v := range []int{0, 2} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			g := newGit(t)
			root := t.TempDir()
			server := filepath.Join(root, "server.git")
			g.run(root, "init", "-q", "--bare", server)
			empty := g.run(server, "commit-tree", s, "-m", "empty root")
			g.run(server, "update-ref", "refs/heads/main", empty)
			g.run(server, "symbolic-ref", "HEAD", "refs/heads/main")
			if storedIDs(g, server)[s] {
				t.Fatal("the server stores the empty tree; the case needs one that does not")
			}
			srv := newTestServer(t, server)
			dir := filepath.Join(t.TempDir(), "clone")
			g.run(root, "-c", fmt.Sprintf("protocol.version=%d", v), "clone", "-q", srv.URL, dir)
			if got := g.run(dir, "rev-parse", "HEAD"); got != empty {
				t.Fatalf("HEAD = %s; want %s", got, empty)
			}
			if !storedIDs(g, dir)[s] {
				t.Errorf("the pack lacks the empty tree")
			}
			if out, errOut, err := g.try(dir, nil, "fsck", "--full", "--strict"); err != nil {
				t.Fatalf("fsck: %v\n%s%s", err, out, errOut)
			}
			// A second commit on top: the client has the empty tree's
			// commit and fetches the rest.
			next := g.run(server, "commit-tree", odb.EmptyTree.String(), "-p", empty, "-m", fmt.Sprintf("again %d", v))
			g.run(server, "update-ref", "refs/heads/main", next)
			g.run(dir, "-c", fmt.Sprintf("protocol.version=%d", v), "fetch", "-q", "origin")
			if got := g.run(dir, "rev-parse", "origin/main"); got != next {
				t.Fatalf("origin/main = %s; want %s", got, next)
			}
			if errs := srv.errors(); len(errs) > 0 {
				t.Fatalf("server errors: %v", errs)
			}
		})
	}
}

// shallowServer makes the fixture's server a shallow clone of its source,
// depth 3 on every branch, as "git clone --bare --depth" builds one: main
// ends at its shallow commit 3, whose parent 2 is there (feature's
// history reaches it) but is not main's history, and 2 is shallow too,
// with its parent missing. The clone is made once per test binary, from
// the fixture template, and copied.
func shallowServer(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	shallowOnce.Do(func() {
		shallowTemplate.err = errors.New("building the shallow server failed in another test")
		// Not under template.root, which other tests copy meanwhile.
		root, err := os.MkdirTemp("", "uploadpack-shallow-")
		if err != nil {
			t.Fatal(err)
		}
		shallowTemplate.dir = filepath.Join(root, "shallow.git")
		f.git.run(root, "-c", "protocol.file.allow=always", "clone", "-q", "--bare", "--depth", "3", "--no-single-branch", "--no-tags", "file://"+template.src, shallowTemplate.dir)
		shallowTemplate.err = nil
	})
	if shallowTemplate.err != nil {
		t.Fatal(shallowTemplate.err)
	}
	shallow := filepath.Join(f.root, "shallow.git")
	if out, err := exec.Command("cp", "-a", shallowTemplate.dir, shallow).CombinedOutput(); err != nil {
		t.Fatalf("copying the shallow server: %v\n%s", err, out)
	}
	for _, c := range []string{f.main[2], f.main[3]} {
		if !strings.Contains(readFile(t, filepath.Join(shallow, "shallow")), c) {
			t.Fatalf("%s is not shallow in the server; the fixture changed", c)
		}
	}
	if _, err := os.Stat(filepath.Join(shallow, "shallow")); err != nil {
		t.Fatalf("git made no shallow repository: %v", err)
	}
	f.server = shallow
	f.srv = newTestServer(t, shallow)
	return f
}

var (
	shallowOnce     sync.Once
	shallowTemplate struct {
		dir string
		err error
	}
)

// depth returns how many commits HEAD's history has in dir.
func depth(t *testing.T, g *gitRunner, dir, rev string) int {
	t.Helper()
	n, err := strconv.Atoi(g.run(dir, "rev-list", "--count", rev))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestShallowRepositoryServed checks clones and fetches from a repository
// that is itself shallow: its shallow commits are parentless, and the
// client learns them as shallow, in v0 (from the advertisement) and v2
// (from shallow-info).
func TestShallowRepositoryServed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		args      []string
		wantDepth int // of main in the clone; 0: all the server has
	}{
		{"clone", nil, 0},
		{"clone --depth 1", []string{"--depth", "1", "--no-single-branch"}, 1},
		{"clone --depth 10, deeper than the server", []string{"--depth", "10", "--no-single-branch"}, 0},
		{"clone --shallow-since", []string{"--shallow-since", "@" + strconv.Itoa(fixtureBase+4*day), "--no-single-branch"}, 2},
	} {
		for _, v := range []int{0, 2} {
			t.Run(fmt.Sprintf("%s/v%d", tc.name, v), func(t *testing.T) {
				t.Parallel()
				f := shallowServer(t)
				all := depth(t, f.git, f.server, "main")
				want := tc.wantDepth
				if want == 0 {
					want = all
				}
				dir, _ := f.clone(t, v, tc.args...)
				f.fsck(t, dir)
				if got := depth(t, f.git, dir, "origin/main"); got != want {
					t.Errorf("clone has %d commits on main; want %d", got, want)
				}
				if got := f.git.run(dir, "rev-parse", "--is-shallow-repository"); got != "true" {
					t.Errorf("clone is not shallow")
				}
				if got, want := f.remoteRefsAsServer(dir), f.serverRefs("refs/heads", "refs/tags"); got != want {
					t.Errorf("refs differ:\n got %s\nwant %s", got, want)
				}

				// New commits on the server, pushed on top of its shallow
				// history, then fetched.
				writeFile(t, filepath.Join(f.src, "new.txt"), "new\n")
				f.commit("new on main")
				f.push("main")
				f.fetch(t, dir, v)
				f.fsck(t, dir)
				if got := depth(t, f.git, dir, "origin/main"); got != want+1 {
					t.Errorf("after fetch main has %d commits; want %d", got, want+1)
				}
				if got := f.git.run(dir, "rev-parse", "origin/main"); got != f.main[len(f.main)-1] {
					t.Errorf("origin/main = %s; want %s", got, f.main[len(f.main)-1])
				}
				// --unshallow stops where the server's history stops.
				f.fetch(t, dir, v, "--unshallow")
				f.fsck(t, dir)
				if got := depth(t, f.git, dir, "origin/main"); got != all+1 {
					t.Errorf("after --unshallow main has %d commits; want the server's %d", got, all+1)
				}
				if errs := f.srv.errors(); len(errs) > 0 {
					t.Fatalf("server errors: %v", errs)
				}
			})
		}
	}
}

// TestShallowAdvertisement checks that a v0 advertisement of a shallow
// repository ends with its shallow commits, as git's does.
func TestShallowAdvertisement(t *testing.T) {
	f := shallowServer(t)
	// git itself reads the list.
	f.git.runEnv(f.root, nil, "-c", "protocol.version=0", "ls-remote", f.srv.URL)
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(readFile(t, filepath.Join(f.server, "shallow"))), "\n") {
		want = append(want, "shallow "+l)
	}
	var b strings.Builder
	if err := AdvertiseRefs(t.Context(), f.server, &b, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(b.String(), fmt.Sprintf("%04x%s\n", len(w)+5, w)) {
			t.Errorf("advertisement lacks %q:\n%s", w, b.String())
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAlternatesServed checks that a repository borrowing its objects
// (git clone --shared) is served whole, and that one borrowing from
// outside the allowed root is refused without reading it.
func TestAlternatesServed(t *testing.T) {
	f := newFixture(t)
	if err := odb.AllowAlternatesUnder(f.root); err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(f.root, "shared.git")
	f.git.run(f.root, "clone", "-q", "--bare", "--shared", f.server, shared)
	outside := filepath.Join(t.TempDir(), "outside.git")
	f.git.run(f.root, "clone", "-q", "--bare", "--shared", f.server, outside)
	escaped := filepath.Join(f.root, "escaped.git")
	f.git.run(f.root, "clone", "-q", "--bare", "--shared", outside, escaped)

	for _, v := range []int{0, 2} {
		t.Run(fmt.Sprintf("shared/v%d", v), func(t *testing.T) {
			f.srv = newTestServer(t, shared)
			dir, _ := f.clone(t, v)
			f.fsck(t, dir)
			if got, want := f.remoteRefsAsServer(dir), f.serverRefs("refs/heads", "refs/tags"); got != want {
				t.Errorf("refs differ:\n got %s\nwant %s", got, want)
			}
		})
		t.Run(fmt.Sprintf("outside/v%d", v), func(t *testing.T) {
			srv := newTestServer(t, escaped)
			_, errOut, err := f.git.try(f.root, nil, "-c", fmt.Sprintf("protocol.version=%d", v), "clone", "-q", srv.URL, filepath.Join(t.TempDir(), "c"))
			if err == nil {
				t.Fatal("clone through an alternate outside the root succeeded")
			}
			errs := srv.errors()
			if len(errs) == 0 || !errors.Is(errs[0], odb.ErrUnsafeAlternate) {
				t.Fatalf("server errors %v; want ErrUnsafeAlternate (git said %s)", errs, errOut)
			}
		})
	}
}
