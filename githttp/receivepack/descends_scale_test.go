package receivepack

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/odb"
)

// descendsScale is the length of the history TestDescendsScale walks.
var descendsScale = flag.Int("descendsscale", 200, "commits in TestDescendsScale's history")

// TestDescendsScale prints what the force-push check of the token rules
// costs on a linear history of -descendsscale commits, ten minutes apart
// (so that the walk without a commit-graph stops after a day's worth, 144
// commits, below the old value; see descends): a fast-forward of
// one commit, one over the whole history, and two force pushes: the tip
// amended (without a commit-graph the walk goes to the end of the
// history) and a rewind to the root; with and without a commit-graph.
//
//	go test ./githttp/receivepack -run TestDescendsScale -descendsscale 100000 -v
//
// Small by default, so that every run checks the answers it measures.
func TestDescendsScale(t *testing.T) {
	n := *descendsScale
	bare := filepath.Join(t.TempDir(), "r.git")
	run := func(stdin []byte, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+bare)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run(nil, "init", "-q", "--bare", bare)
	var stream bytes.Buffer
	n = max(n, 2)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&stream, "commit refs/heads/main\nmark :%d\ncommitter T <t@e> %d +0000\ndata 0\n", i, 1700000000+600*i)
		if i > 1 {
			fmt.Fprintf(&stream, "from :%d\n", i-1)
		}
	}
	// other is main's last commit amended: a force push that drops it.
	fmt.Fprintf(&stream, "commit refs/heads/other\ncommitter T <t@e> %d +0000\ndata 7\namended\nfrom :%d\n", 1700000000+600*n, n-1)
	run(stream.Bytes(), "-C", bare, "fast-import", "--quiet")
	tip := plumbing.NewHash(run(nil, "-C", bare, "rev-parse", "main"))
	parent := plumbing.NewHash(run(nil, "-C", bare, "rev-parse", "main~1"))
	root := plumbing.NewHash(run(nil, "-C", bare, "rev-list", "--max-parents=0", "main"))
	amended := plumbing.NewHash(run(nil, "-C", bare, "rev-parse", "other"))

	for _, graph := range []bool{false, true} {
		if graph {
			run(nil, "-C", bare, "commit-graph", "write", "--reachable")
		}
		db, err := odb.Open(bare)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name     string
			tip, old plumbing.Hash
			want     bool
		}{
			{"fast-forward by one", tip, parent, true},
			{"amended tip (force)", amended, tip, false},
			{"rewind to the root (force)", root, tip, false},
			{"root to tip", tip, root, true},
		} {
			c := newChecker(nil, db)
			start := time.Now()
			got, err := c.descends(tc.tip, tc.old)
			took := time.Since(start)
			c.close()
			if err != nil || got != tc.want {
				t.Fatalf("%s (graph %v) = %v, %v; want %v", tc.name, graph, got, err, tc.want)
			}
			t.Logf("%d commits, commit-graph %v: %s: %v", n, graph, tc.name, took.Round(time.Microsecond))
		}
		db.Close()
	}
}
