package commitgraph

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// entries returns the commits of r as Write takes them, from git log.
func entries(tb testing.TB, r *repo) []Entry {
	tb.Helper()
	var es []Entry
	for _, w := range r.log(tb) {
		es = append(es, Entry{ID: w.id, Tree: w.tree, Parents: w.parents, Time: w.time})
	}
	return es
}

// TestWriteMatchesGit: the file Write makes is byte for byte the one
// `git commit-graph write --reachable` makes of the same history (octopus
// merges, two roots, times past 2^32 and corrected dates that overflow
// nothing), and git verifies it.
func TestWriteMatchesGit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		specs [][]spec
	}{
		{"History", [][]spec{history}},
		{"HistoryAndMore", [][]spec{history, more}},
		{"OneRoot", [][]spec{{{"x", nil, t0}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			for _, s := range tc.specs {
				r.add(t, s)
			}
			r.git(t, "", "commit-graph", "write", "--reachable")
			want, err := os.ReadFile(filepath.Join(r.objects(), "info", "commit-graph"))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if _, err := Write(&got, entries(t, r)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("Write made %d bytes that differ from git's %d at byte %d", got.Len(), len(want), firstDiff(got.Bytes(), want))
			}

			// WriteFile replaces git's file and a chain; git verifies it
			// and Open reads it back.
			if err := os.Remove(filepath.Join(r.objects(), "info", "commit-graph")); err != nil {
				t.Fatal(err)
			}
			r.git(t, "", "commit-graph", "write", "--reachable", "--split")
			if err := WriteFile(r.objects(), entries(t, r)); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(r.objects(), "info", "commit-graphs")); !os.IsNotExist(err) {
				t.Fatalf("the split chain is still there: %v", err)
			}
			r.git(t, "", "commit-graph", "verify")
			if bad := mismatches(mustOpen(t, r.objects()), r.log(t)); len(bad) > 0 {
				t.Fatalf("read back:\n%s", strings.Join(bad, "\n"))
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestWriteRefuses: a parent outside the graph, a commit given twice and
// a cycle are errors, not a file git would reject.
func TestWriteRefuses(t *testing.T) {
	a, b := plumbing.NewHash(strings.Repeat("a", 40)), plumbing.NewHash(strings.Repeat("b", 40))
	for _, tc := range []struct {
		name    string
		commits []Entry
		want    string
	}{
		{"MissingParent", []Entry{{ID: a, Parents: []plumbing.Hash{b}}}, "not in the graph"},
		{"Twice", []Entry{{ID: a}, {ID: a}}, "given twice"},
		{"Cycle", []Entry{{ID: a, Parents: []plumbing.Hash{b}}, {ID: b, Parents: []plumbing.Hash{a}}}, "own ancestor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Write(&bytes.Buffer{}, tc.commits)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write = %v; want an error saying %q", err, tc.want)
			}
		})
	}
}
