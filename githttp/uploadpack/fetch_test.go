package uploadpack

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestFetchIncremental(t *testing.T) {
	t.Parallel()
	for _, v := range []int{0, 2} {
		t.Run(fmt.Sprintf("v%d/NewCommit", v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			dir, _ := f.clone(t, v)
			writeFile(t, filepath.Join(f.src, "small.txt"), "changed\n")
			tip := f.commit("new commit")
			f.push("main")
			stderr := f.fetch(t, dir, v)
			if got := f.git.run(dir, "rev-parse", "origin/main"); got != tip {
				t.Errorf("origin/main = %s; want %s", got, tip)
			}
			// Negotiation found the common base: only the commit, its root
			// tree and the new blob travel.
			if n := totalObjects(t, stderr); n != 3 {
				t.Errorf("fetch sent %d objects; want 3\n%s", n, stderr)
			}
			f.fsck(t, dir)
		})
		t.Run(fmt.Sprintf("v%d/ClientHasLocalCommits", v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			dir, _ := f.clone(t, v)
			// Local commits unknown to the server make the client send many
			// haves the server lacks before reaching common ones.
			// They are written by one git fast-import, not 80 git add and
			// commit runs.
			var script strings.Builder
			for i := range 40 {
				msg, content := fmt.Sprintf("local %d\n", i), fmt.Sprintf("local %d\n", i)
				fmt.Fprintf(&script, "commit refs/heads/main\ncommitter Tester <tester@example.com> %d +0000\ndata %d\n%s",
					fixtureBase+int64(100+i)*day, len(msg), msg)
				if i == 0 {
					fmt.Fprintf(&script, "from %s\n", f.git.run(dir, "rev-parse", "HEAD"))
				}
				fmt.Fprintf(&script, "M 100644 inline local.txt\ndata %d\n%s\n", len(content), content)
			}
			f.git.runStdin(dir, script.String(), "fast-import", "--quiet")
			if n := depth(t, f.git, dir, "main"); n != 46 {
				t.Fatalf("main has %d commits after the local ones; want 46", n)
			}
			writeFile(t, filepath.Join(f.src, "small.txt"), "server moved\n")
			tip := f.commit("server commit")
			f.push("main")
			stderr := f.fetch(t, dir, v)
			if got := f.git.run(dir, "rev-parse", "origin/main"); got != tip {
				t.Errorf("origin/main = %s; want %s", got, tip)
			}
			if n := totalObjects(t, stderr); n != 3 {
				t.Errorf("fetch sent %d objects; want 3\n%s", n, stderr)
			}
			f.fsck(t, dir)
		})
		t.Run(fmt.Sprintf("v%d/NewBranchAndTag", v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			dir, _ := f.clone(t, v)
			f.git.run(f.src, "checkout", "-q", "-b", "topic", f.main[1])
			writeFile(t, filepath.Join(f.src, "topic.txt"), "topic\n")
			f.commitOn("topic")
			f.tag("v-topic")
			f.git.run(f.src, "checkout", "-q", "main")
			f.push("topic", "v-topic")
			f.fetch(t, dir, v)
			if got, want := f.remoteRefsAsServer(dir), f.serverRefs("refs/heads", "refs/tags"); got != want {
				t.Errorf("refs after fetch:\n%s\nwant:\n%s", got, want)
			}
			f.fsck(t, dir)
		})
	}
}

func TestFetchIncludeTag(t *testing.T) {
	t.Parallel()
	for _, v := range []int{0, 2} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			dir, _ := f.clone(t, v)
			writeFile(t, filepath.Join(f.src, "small.txt"), "release\n")
			f.commit("release")
			f.tag("v2.0")
			f.push("main", "v2.0")
			// Fetching only main follows the annotated tag pointing into it.
			f.fetch(t, dir, v, "origin", "main:refs/remotes/origin/main")
			want := f.git.run(f.server, "rev-parse", "v2.0")
			if got := f.git.run(dir, "rev-parse", "refs/tags/v2.0"); got != want {
				t.Errorf("refs/tags/v2.0 = %s; want %s", got, want)
			}
			f.fsck(t, dir)
		})
	}
}

func TestFetchUnknownObject(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dir, _ := f.clone(t, 0)
	unknown := strings.Repeat("ab", 20)
	for _, v := range []int{0, 2} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			_, stderr, err := f.git.try(dir, nil, "-c", fmt.Sprintf("protocol.version=%d", v), "fetch", "origin", unknown)
			if err == nil {
				t.Fatalf("fetch of unknown object succeeded")
			}
			if !strings.Contains(stderr, "not our ref "+unknown) {
				t.Errorf("stderr = %q; want it to name the unknown object", stderr)
			}
		})
	}
}

func TestShallow(t *testing.T) {
	t.Parallel()
	count := func(f *fixture, dir string) int {
		n, _ := strconv.Atoi(f.git.run(dir, "rev-list", "--count", "HEAD"))
		return n
	}
	for _, v := range []int{0, 2} {
		t.Run(fmt.Sprintf("v%d/DepthDeepenUnshallow", v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			dir, _ := f.clone(t, v, "--depth", "1")
			if n := count(f, dir); n != 1 {
				t.Errorf("depth 1 clone has %d commits; want 1", n)
			}
			shallow, _ := os.ReadFile(filepath.Join(dir, ".git", "shallow"))
			if got := strings.TrimSpace(string(shallow)); got != f.main[5] {
				t.Errorf(".git/shallow = %q; want %s", got, f.main[5])
			}
			f.fsck(t, dir)

			f.fetch(t, dir, v, "--deepen", "2")
			if n := count(f, dir); n != 3 {
				t.Errorf("after --deepen 2: %d commits; want 3", n)
			}
			f.fsck(t, dir)

			f.fetch(t, dir, v, "--unshallow")
			if n := count(f, dir); n != 6 {
				t.Errorf("after --unshallow: %d commits; want 6", n)
			}
			if _, err := os.Stat(filepath.Join(dir, ".git", "shallow")); !os.IsNotExist(err) {
				t.Errorf(".git/shallow still present after --unshallow: %v", err)
			}
			f.fsck(t, dir)
		})
		t.Run(fmt.Sprintf("v%d/DepthFetchAfterPush", v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			dir, _ := f.clone(t, v, "--depth", "2")
			writeFile(t, filepath.Join(f.src, "small.txt"), "after shallow\n")
			tip := f.commit("after shallow")
			f.push("main")
			f.fetch(t, dir, v)
			if got := f.git.run(dir, "rev-parse", "origin/main"); got != tip {
				t.Errorf("origin/main = %s; want %s", got, tip)
			}
			f.fsck(t, dir)
		})
		t.Run(fmt.Sprintf("v%d/ShallowSince", v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			since := fixtureBase + 3*day // commits 3, 4 and 5 are this new
			dir, _ := f.clone(t, v, "--shallow-since", strconv.Itoa(since))
			if n := count(f, dir); n != 3 {
				t.Errorf("--shallow-since clone has %d commits; want 3", n)
			}
			f.fsck(t, dir)
		})
		t.Run(fmt.Sprintf("v%d/ShallowExclude", v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			dir, _ := f.clone(t, v, "--shallow-exclude", "v0.1")
			if n := count(f, dir); n != 4 {
				t.Errorf("--shallow-exclude=v0.1 clone has %d commits; want 4 (commits 2..5)", n)
			}
			f.fsck(t, dir)
		})
	}
}

// missing lists the objects a partial clone lacks.
func missing(f *fixture, dir string) map[string]bool {
	out := f.git.run(dir, "rev-list", "--objects", "--all", "--missing=print")
	m := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "?") {
			m[l[1:]] = true
		}
	}
	return m
}

func TestPartialClone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, v := range []int{0, 2} {
		t.Run(fmt.Sprintf("v%d/BlobNone", v), func(t *testing.T) {
			dir, _ := f.clone(t, v, "--filter=blob:none", "--no-checkout")
			m := missing(f, dir)
			if bigBlob := f.git.run(f.server, "rev-parse", "main:big.txt"); !m[bigBlob] {
				t.Errorf("blob:none clone holds main:big.txt")
			}
			for h := range m {
				if typ := f.git.run(f.server, "cat-file", "-t", h); typ != "blob" {
					t.Errorf("missing object %s is a %s; only blobs may be filtered", h, typ)
				}
			}
			// Checkout fetches the missing blobs lazily.
			f.git.run(dir, "-c", fmt.Sprintf("protocol.version=%d", v), "checkout", "-q", "main")
			got, _ := os.ReadFile(filepath.Join(dir, "big.txt"))
			if string(got) != bigFile(5) {
				t.Errorf("big.txt after lazy fetch differs from the source")
			}
			f.fsck(t, dir)
		})
		t.Run(fmt.Sprintf("v%d/BlobLimit", v), func(t *testing.T) {
			dir, _ := f.clone(t, v, "--filter=blob:limit=1k", "--no-checkout")
			m := missing(f, dir)
			big := f.git.run(f.server, "rev-parse", "main:big.txt")
			small := f.git.run(f.server, "rev-parse", "main:small.txt")
			if !m[big] || m[small] {
				t.Errorf("blob:limit=1k: big missing = %v, small missing = %v; want true, false", m[big], m[small])
			}
			if len(m) != 6 {
				t.Errorf("blob:limit=1k left out %d objects; want the 6 versions of big.txt", len(m))
			}
			f.git.run(dir, "-c", fmt.Sprintf("protocol.version=%d", v), "checkout", "-q", "main")
			f.fsck(t, dir)
		})
		t.Run(fmt.Sprintf("v%d/TreeZero", v), func(t *testing.T) {
			dir, _ := f.clone(t, v, "--filter=tree:0", "--no-checkout")
			root := f.git.run(f.server, "rev-parse", "main^{tree}")
			if m := missing(f, dir); !m[root] {
				t.Errorf("tree:0 clone holds main's root tree")
			}
			f.git.run(dir, "-c", fmt.Sprintf("protocol.version=%d", v), "checkout", "-q", "main")
			if got, _ := os.ReadFile(filepath.Join(dir, "dir", "sub", "b.txt")); string(got) != "b\n" {
				t.Errorf("dir/sub/b.txt = %q after lazy fetch", got)
			}
		})
	}
	if errs := f.srv.errors(); len(errs) > 0 {
		t.Errorf("server errors: %v", errs)
	}
}
