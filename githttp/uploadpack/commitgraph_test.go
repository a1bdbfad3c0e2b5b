package uploadpack

import (
	"slices"
	"strings"
	"testing"

	"github.com/depot/depot/repos/git/object"
)

// TestCommitsFromGraph reads every commit of a branchy repository through
// its commit-graph and compares each with the commit object parsed.
func TestCommitsFromGraph(t *testing.T) {
	t.Parallel()
	g := newGit(t)
	dir := genBranchyRepo(t, 5, 300, false)
	g.run(dir, "commit-graph", "write", "--reachable")
	r, err := openRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if r.db.CommitGraph() == nil {
		t.Fatal("the commit-graph git wrote was not opened")
	}
	for _, h := range hashes(t, g.run(dir, "rev-list", "--all")) {
		got, err := r.commit(h)
		if err != nil {
			t.Fatal(err)
		}
		_, b, err := r.db.Read(h)
		if err != nil {
			t.Fatal(err)
		}
		var want object.CommitInfo
		if err := object.ParseCommitInfo(b, &want); err != nil {
			t.Fatal(err)
		}
		if got.Tree != want.Tree || !slices.Equal(got.Parents, want.Parents) || got.Time != want.Time {
			t.Errorf("commit %s from the graph = %+v; the object says %+v", h, got, want)
		}
	}
	// A commit made after the graph was written is read from its object.
	tip := strings.TrimSpace(g.run(dir, "rev-parse", "main"))
	tree := strings.TrimSpace(g.run(dir, "rev-parse", "main^{tree}"))
	c := strings.TrimSpace(g.run(dir, "commit-tree", tree, "-p", tip, "-m", "after the graph"))
	if got, err := r.commit(hashes(t, c)[0]); err != nil || got.Parents[0].String() != tip {
		t.Errorf("commit outside the graph = %+v, %v", got, err)
	}
}
