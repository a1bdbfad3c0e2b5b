package receivepack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/odb"
)

// TestDescends checks the fast-forward test of the token rules against
// histories made by git: with and without a commit-graph, whose
// generations prune the walk.
func TestDescends(t *testing.T) {
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	wt, bare := t.TempDir(), filepath.Join(t.TempDir(), "r.git")
	git(wt, "init", "-q", "-b", "main")
	commits := map[string]string{}
	for i := 1; i <= 20; i++ {
		git(wt, "commit", "-q", "--allow-empty", "-m", "c")
		commits["c"+string(rune('a'+i-1))] = git(wt, "rev-parse", "HEAD")
		if i == 10 {
			git(wt, "branch", "side")
		}
	}
	git(wt, "checkout", "-q", "side")
	for i := 1; i <= 3; i++ {
		git(wt, "commit", "-q", "--allow-empty", "-m", "s")
	}
	commits["side"] = git(wt, "rev-parse", "HEAD")
	git(wt, "tag", "-a", "-m", "t", "v1", commits["cj"])
	commits["tag"] = git(wt, "rev-parse", "v1")
	git(wt, "init", "-q", "--bare", bare)
	git(wt, "push", "-q", bare, "main", "side", "v1")

	for _, graph := range []bool{false, true} {
		if graph {
			git(bare, "commit-graph", "write", "--reachable")
		}
		db, err := odb.Open(bare)
		if err != nil {
			t.Fatal(err)
		}
		if got := db.CommitGraph() != nil; got != graph {
			t.Fatalf("commit-graph loaded: %v; want %v", got, graph)
		}
		c := newChecker(nil, db)
		for _, tc := range []struct {
			tip, old string
			want     bool
		}{
			{"ct", "cj", true},    // 10 commits ahead
			{"ct", "ca", true},    // to the root
			{"ct", "ct", true},    // unchanged
			{"cj", "ct", false},   // back
			{"side", "cj", true},  // the side branch grew from cj
			{"side", "ct", false}, // a branch moved to another line
			{"ct", "side", false},
			{"tag", "cj", false}, // a tag is no commit
			{"ct", "tag", false},
		} {
			got, err := c.descends(plumbing.NewHash(commits[tc.tip]), plumbing.NewHash(commits[tc.old]))
			if err != nil || got != tc.want {
				t.Errorf("graph %v: descends(%s, %s) = %v, %v; want %v", graph, tc.tip, tc.old, got, err, tc.want)
			}
		}
		c.close()
		db.Close()
	}
}
