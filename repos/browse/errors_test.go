package browse

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestMissingObjects asks about a commit the repository does not hold,
// as a stale link would: every reader says ErrNotFound.
func TestMissingObjects(t *testing.T) {
	g, _ := richRepo(t)
	r := g.open()
	missing := plumbing.NewHash(strings.Repeat("5a", 20))
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Tree", func() error { _, err := r.Tree(missing, ""); return err }},
		{"Blob", func() error { _, err := r.Blob(missing, "README.md"); return err }},
		{"Raw", func() error { _, err := r.Raw(missing, "README.md"); return err }},
		{"History", func() error { _, err := r.History(missing, "", 0, 10); return err }},
		{"Commit", func() error { _, err := r.Commit(missing); return err }},
		{"Readme", func() error { _, err := r.Readme(missing, "", repoLinks); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s of a missing commit = %v; want ErrNotFound", tc.name, err)
			}
		})
	}
}

// TestResolveTagOfTree names a tag that points at a tree: no commit, so
// no page.
func TestResolveTagOfTree(t *testing.T) {
	g, commit := richRepo(t)
	g.git("tag", "tree-tag", commit.String()+"^{tree}")
	g.git("tag", "-a", "-m", "annotated tree", "annotated-tree-tag", commit.String()+"^{tree}")
	r := g.open()
	for _, ref := range []string{"tree-tag", "annotated-tree-tag/src"} {
		t.Run(ref, func(t *testing.T) {
			if loc, err := r.Resolve(ref); !errors.Is(err, ErrNotFound) {
				t.Errorf("Resolve(%q) = %+v, %v; want ErrNotFound", ref, loc, err)
			}
		})
	}
}

func TestKindNames(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{KindDir.String(), "dir"}, {KindExec.String(), "executable"}, {KindSubmodule.String(), "submodule"},
		{RefBranch.String(), "branch"}, {RefCommit.String(), "commit"},
		{Added.String(), "added"}, {Deleted.String(), "deleted"}, {Modified.String(), "modified"},
		{Kind(0).String(), "Kind(0)"},
	} {
		if tc.got != tc.want {
			t.Errorf("String() = %q; want %q", tc.got, tc.want)
		}
	}
}
