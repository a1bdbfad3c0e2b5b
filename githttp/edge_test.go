package githttp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/repos/git/odb"
)

// TestRepositoriesPlacedByHand serves repositories that depot did not
// create but an operator placed in the data directory, as C git serves
// them: one borrowing its objects from another (git clone --shared), one
// that is itself a shallow clone, and one whose commit names the empty
// tree without storing it. Each clones in v0 and v2, takes pushes, and
// fetches them back; a repository borrowing from outside the data
// directory is refused.
func TestRepositoriesPlacedByHand(t *testing.T) {
	e := newEnv(t)
	// What depot serve does at start.
	if err := odb.AllowAlternatesUnder(e.repos.Root()); err != nil {
		t.Fatal(err)
	}
	tok := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "origin", "tester", tok)
	for i := range 4 {
		os.WriteFile(filepath.Join(wt, "README"), []byte(strings.Repeat("hello\n", 50+i)), 0o644)
		e.mustGit(wt, "commit", "-qam", "more")
	}
	e.mustGit(wt, "tag", "-a", "-m", "v1", "v1")
	e.mustGit(wt, "branch", "old", "HEAD~2")
	e.mustGit(wt, "push", "-q", e.url("tester", tok, "tester/origin.git"), "main", "old", "v1")
	origin, err := e.repos.Open("tester", "origin")
	if err != nil {
		t.Fatal(err)
	}
	place := func(name string, args ...string) string {
		t.Helper()
		dir := filepath.Join(e.repos.Root(), "tester", name+".git")
		e.mustGit("", append(append([]string{"-c", "protocol.file.allow=always", "clone", "-q", "--bare"}, args...), dir)...)
		return dir
	}
	place("shared", "--shared", origin.Path)
	place("shallow", "--depth", "3", "--no-single-branch", "file://"+origin.Path)
	empty := filepath.Join(e.repos.Root(), "tester", "empty.git")
	e.mustGit("", "init", "-q", "--bare", "-b", "main", empty)
	root := strings.TrimSpace(e.mustGit(empty, "commit-tree", odb.EmptyTree.String(), "-m", "empty"))
	e.mustGit(empty, "update-ref", "refs/heads/main", root)
	outside := filepath.Join(t.TempDir(), "outside.git")
	e.mustGit("", "clone", "-q", "--bare", origin.Path, outside)
	escaped := place("escaped", "--shared", outside)

	for _, tc := range []struct {
		name string
		fsck bool // whether git fsck accepts the server's copy
	}{
		{"shared", true},
		{"shallow", true},
		// git 2.47's fsck calls the empty tree missing unless stored.
		{"empty", false},
	} {
		for _, v := range []string{"0", "2"} {
			t.Run(tc.name+"/v"+v, func(t *testing.T) {
				u := e.url("tester", tok, "tester/"+tc.name+".git")
				clone := filepath.Join(t.TempDir(), "clone")
				e.mustGit("", "-c", "protocol.version="+v, "clone", "-q", u, clone)
				e.mustGit(clone, "fsck", "--full", "--strict")
				dir := filepath.Join(e.repos.Root(), "tester", tc.name+".git")
				want := e.mustGit(dir, "rev-list", "--count", "HEAD")
				if got := e.mustGit(clone, "rev-list", "--count", "HEAD"); got != want {
					t.Errorf("clone has %s commits; the server %s", got, want)
				}
				// A push on top, and a second clone fetching it.
				other := filepath.Join(t.TempDir(), "other")
				e.mustGit("", "-c", "protocol.version="+v, "clone", "-q", u, other)
				os.WriteFile(filepath.Join(clone, "pushed-v"+v), []byte("pushed\n"), 0o644)
				e.mustGit(clone, "add", ".")
				e.mustGit(clone, "commit", "-qm", "pushed over v"+v)
				e.mustGit(clone, "push", "-q", "origin", "HEAD")
				e.mustGit(other, "-c", "protocol.version="+v, "pull", "-q", "--ff-only")
				e.mustGit(other, "fsck", "--full", "--strict")
				if a, b := e.mustGit(clone, "rev-parse", "HEAD"), e.mustGit(other, "rev-parse", "HEAD"); a != b {
					t.Errorf("fetched %s; pushed %s", b, a)
				}
				if tc.fsck {
					e.fsck("tester", tc.name)
				}
			})
		}
	}

	t.Run("shared/push --all and --mirror", func(t *testing.T) {
		place("fork", "--shared", origin.Path)
		u := e.url("tester", tok, "tester/fork.git")
		e.mustGit(wt, "checkout", "-q", "-b", "topic")
		os.WriteFile(filepath.Join(wt, "README"), []byte(strings.Repeat("hello\n", 60)), 0o644)
		e.mustGit(wt, "commit", "-qam", "topic")
		e.mustGit(wt, "tag", "v2")
		e.mustGit(wt, "push", "-q", "--all", u)
		e.mustGit(wt, "push", "-q", "--mirror", u)
		e.fsck("tester", "fork")
		local := strings.TrimSpace(e.mustGit(wt, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags"))
		remote := strings.TrimSpace(e.mustGit("", "ls-remote", "--refs", u))
		if strings.Join(strings.Fields(local), " ") != strings.Join(strings.Fields(remote), " ") {
			t.Errorf("after push --mirror the fork lists\n%s\nwant\n%s", remote, local)
		}
	})

	t.Run("alternate outside the data directory", func(t *testing.T) {
		out, err := e.git("", "clone", "-q", e.url("tester", tok, "tester/escaped.git"), filepath.Join(t.TempDir(), "c"))
		if err == nil {
			t.Fatalf("clone of a repository borrowing from %s succeeded\n%s", outside, out)
		}
		_ = escaped
	})
}
