package receivepack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/repos/git/odb"
)

// TestPushIntoShallowRepository checks pushes into a repository that is
// itself a shallow clone, as git's receive-pack takes them: a fast-forward
// on top of the shallow history is accepted, from a full clone or from a
// shallow one, and a push that would need new shallow roots (history the
// server never had below the pushed commits) is refused.
func TestPushIntoShallowRepository(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(e *env, src string) string // returns a work tree with origin = e.url
		branch string
		ok     bool
	}{
		{"full client", func(e *env, src string) string {
			dir := filepath.Join(e.home, "full")
			e.git(e.home, "clone", "-q", src, dir)
			e.git(dir, "remote", "set-url", "origin", e.url)
			return dir
		}, "main", true},
		{"shallow client of the server", func(e *env, src string) string {
			dir := filepath.Join(e.home, "shallow")
			e.git(e.home, "clone", "-q", "--depth", "1", e.url, dir)
			return dir
		}, "main", true},
		{"shallow client bringing new shallow roots", func(e *env, src string) string {
			dir := filepath.Join(e.home, "roots")
			e.git(e.home, "-c", "protocol.file.allow=always", "clone", "-q", "--depth", "1", "--branch", "side", "file://"+src, dir)
			e.git(dir, "remote", "set-url", "origin", e.url)
			return dir
		}, "side", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			src := filepath.Join(e.home, "src")
			e.git(e.home, "init", "-q", "-b", "main", src)
			for i := range 5 {
				e.commit(src, "main "+string(rune('0'+i)), map[string]string{"a.txt": strings.Repeat("a", i+1)})
			}
			e.git(src, "checkout", "-q", "-b", "side", "HEAD~4")
			for i := range 3 {
				e.commit(src, "side "+string(rune('0'+i)), map[string]string{"s.txt": strings.Repeat("s", i+1)})
			}
			e.git(src, "checkout", "-q", "main")
			// The server: main only, 3 commits deep.
			os.RemoveAll(e.bare)
			e.git(e.home, "-c", "protocol.file.allow=always", "clone", "-q", "--bare", "--depth", "3", "--branch", "main", "file://"+src, e.bare)
			shallowBefore := readShallowFile(t, e.bare)

			work := tc.client(e, src)
			e.git(work, "checkout", "-q", tc.branch)
			c := e.commit(work, "pushed", map[string]string{"new.txt": "new\n"})
			out, err := e.gitErr(work, "push", "origin", tc.branch)
			got := e.serverRef("refs/heads/" + tc.branch)
			if tc.ok {
				if err != nil || got != c {
					t.Fatalf("push: %v, server %s = %q; want %s\n%s", err, tc.branch, got, c, out)
				}
			} else {
				if err == nil || got != "" {
					t.Fatalf("push of new shallow roots: %v, server %s = %q; want refused\n%s", err, tc.branch, got, out)
				}
			}
			// The server's shallow boundary is its own: no push moves it.
			if after := readShallowFile(t, e.bare); after != shallowBefore {
				t.Errorf("shallow file changed:\n%s\nwas:\n%s", after, shallowBefore)
			}
			e.fsck()
			if tc.ok {
				// What was pushed clones back whole.
				clone := filepath.Join(e.home, "back")
				e.git(e.home, "clone", "-q", e.url, clone)
				e.git(clone, "fsck", "--full", "--strict")
			}
		})
	}
}

func readShallowFile(t *testing.T, bare string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(bare, "shallow"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPushIntoBorrowingRepository checks pushes into a repository whose
// objects are in another (git clone --shared): the refs it advertises are
// complete through its alternates, so push --all and push --mirror go
// through, and thin packs are completed from the alternate's objects.
func TestPushIntoBorrowingRepository(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"push --all", []string{"push", "--all", "origin"}},
		{"push --mirror", []string{"push", "--mirror", "origin"}},
		{"push a branch", []string{"push", "origin", "main"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if err := odb.AllowAlternatesUnder(e.srv.root); err != nil {
				t.Fatal(err)
			}
			e.commit(e.work, "first", map[string]string{"a.txt": strings.Repeat("line\n", 200)})
			e.git(e.work, "tag", "-a", "-m", "v1", "v1")
			e.git(e.work, "push", "origin", "main", "v1")
			lender := e.bare
			e.bare = e.srv.repoPath("fork.git")
			e.url = e.srv.URL + "/fork.git"
			e.git(e.home, "clone", "-q", "--bare", "--shared", lender, e.bare)
			if b, err := os.ReadFile(filepath.Join(e.bare, "objects", "info", "alternates")); err != nil || len(b) == 0 {
				t.Fatalf("no alternates in the shared clone: %v", err)
			}
			e.git(e.work, "remote", "set-url", "origin", e.url)
			e.git(e.work, "checkout", "-q", "-b", "topic")
			// A small edit of a file the fork only borrows: the push is
			// a thin pack whose delta base is in the alternate.
			c := e.commit(e.work, "second", map[string]string{"a.txt": strings.Repeat("line\n", 200) + "more\n"})
			e.git(e.work, "checkout", "-q", "main")
			e.git(e.work, "merge", "-q", "--ff-only", "topic")
			out, err := e.gitErr(e.work, tc.args...)
			if err != nil {
				t.Fatalf("git %s: %v\n%s", strings.Join(tc.args, " "), err, out)
			}
			if got := e.serverRef("refs/heads/main"); got != c {
				t.Errorf("fork main = %q; want %q\n%s", got, c, out)
			}
			if _, body := e.srv.last(t); len(externalDeltaBases(t, body)) == 0 {
				t.Errorf("the push was not a thin pack; the case needs a base from the alternate")
			}
			e.fsck()
		})
	}
}

// TestPushEmptyTreeNotInPack checks that a pushed commit whose tree is
// the empty tree is complete without the tree in the pack: git treats the
// empty tree as always present, and so does the connectivity check.
func TestPushEmptyTreeNotInPack(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name    string
		parents []string
	}{
		{"root commit", nil},
		{"on top of main", []string{f.main}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"commit-tree", odb.EmptyTree.String(), "-m", "empty " + tc.name}
			for _, p := range tc.parents {
				args = append(args, "-p", p)
			}
			c := f.e.git(f.e.work, args...)
			pack := f.pack(t, false, c+"\n") // the commit alone
			ref := "refs/heads/empty-" + strings.ReplaceAll(tc.name, " ", "-")
			lines, _, err := rawPush(t, f.e.bare, "report-status", []string{cmdLine(zero, c, ref)}, pack, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"unpack ok", "ok " + ref}; strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Fatalf("report %q; want %q", lines, want)
			}
			if got := f.e.serverRef(ref); got != c {
				t.Errorf("%s = %q; want %s", ref, got, c)
			}
		})
	}
}
