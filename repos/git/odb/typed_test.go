package odb

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestTypedReads reads commits (from the commit-graph and from their
// objects), trees and tags of a repository git made, and compares them
// with what git says.
func TestTypedReads(t *testing.T) {
	t.Parallel()
	dir := newBare(t)
	first := commitPacked(t, dir, "one")
	second := commitPacked(t, dir, "two")
	tree := git(t, dir, "", "rev-parse", second.String()+"^{tree}")
	merge := plumbing.NewHash(git(t, dir, "merge\n", "-c", "user.name=M", "-c", "user.email=m@x",
		"commit-tree", tree, "-p", first.String(), "-p", second.String()))
	git(t, dir, "", "update-ref", "refs/heads/merge", merge.String())
	git(t, dir, "", "-c", "user.name=T", "-c", "user.email=t@x", "tag", "-a", "-m", "v1 notes", "v1", merge.String())
	git(t, dir, "", "-c", "user.name=T", "-c", "user.email=t@x", "tag", "-a", "-m", "nested", "v1n", "v1")
	// The graph covers the packed commits; merge stays loose and outside it.
	git(t, dir, "", "commit-graph", "write", "--reachable", "--no-progress")
	merge2 := plumbing.NewHash(git(t, dir, "later\n", "-c", "user.name=M", "-c", "user.email=m@x",
		"commit-tree", tree, "-p", merge.String()))

	db := openDB(t, dir)
	if db.CommitGraph() == nil {
		t.Fatal("no commit-graph; the test needs one")
	}
	if db.RepoDir() != dir {
		t.Errorf("RepoDir() = %q; want %q", db.RepoDir(), dir)
	}

	for _, h := range []plumbing.Hash{first, second, merge, merge2} {
		t.Run("Commit"+h.String()[:7], func(t *testing.T) {
			want := strings.Split(git(t, dir, "", "log", "-1", "--format=%T%x00%P%x00%ct%x00%an%x00%B", h.String()), "\x00")
			info, err := db.CommitInfo(h)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{info.Tree.String(), hexList(info.Parents), strconv.FormatInt(info.Time, 10)}
			if !slices.Equal(got, want[:3]) {
				t.Errorf("CommitInfo(%s) = %q; git says %q", h, got, want[:3])
			}
			c, err := db.Commit(h)
			if err != nil {
				t.Fatal(err)
			}
			// git log ends %B with a newline the message may lack.
			got = []string{c.Tree.String(), hexList(c.Parents), strconv.FormatInt(c.Committer.When.Unix(), 10), c.Author.Name,
				strings.TrimSuffix(c.Message, "\n")}
			if want[4] = strings.TrimSuffix(want[4], "\n"); !slices.Equal(got, want) {
				t.Errorf("Commit(%s) = %q; git says %q", h, got, want)
			}
		})
	}

	tr, err := db.Tree(plumbing.NewHash(tree))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for it := tr.Iter(); it.Next(); {
		names = append(names, string(it.Entry().Name))
	}
	if want := strings.Fields(git(t, dir, "", "ls-tree", "--name-only", tree)); !slices.Equal(names, want) {
		t.Errorf("Tree(%s) names %q; git says %q", tree, names, want)
	}

	v1 := plumbing.NewHash(git(t, dir, "", "rev-parse", "v1"))
	v1n := plumbing.NewHash(git(t, dir, "", "rev-parse", "v1n"))
	tag, err := db.Tag(v1n)
	if err != nil || tag.Object != v1 || tag.Type != plumbing.TagObject || tag.Name != "v1n" || tag.Message != "nested\n" {
		t.Errorf("Tag(v1n) = %+v, %v", tag, err)
	}

	for _, tc := range []struct {
		name  string
		h     plumbing.Hash
		obj   plumbing.Hash
		typ   plumbing.ObjectType
		chain []plumbing.Hash
	}{
		{"Commit", merge, merge, plumbing.CommitObject, nil},
		{"Tree", plumbing.NewHash(tree), plumbing.NewHash(tree), plumbing.TreeObject, nil},
		{"Tag", v1, merge, plumbing.CommitObject, []plumbing.Hash{v1}},
		{"TagOfTag", v1n, merge, plumbing.CommitObject, []plumbing.Hash{v1n, v1}},
	} {
		obj, typ, chain, err := db.Peel(tc.h)
		if err != nil || obj != tc.obj || typ != tc.typ || !slices.Equal(chain, tc.chain) {
			t.Errorf("Peel(%s) = %s, %s, %v, %v; want %s, %s, %v", tc.name, obj, typ, chain, err, tc.obj, tc.typ, tc.chain)
		}
	}

	missing := plumbing.NewHash(strings.Repeat("12", 20))
	for _, tc := range []struct {
		name string
		err  error
		f    func() error
	}{
		{"CommitOfTree", ErrWrongType, func() error { _, err := db.Commit(plumbing.NewHash(tree)); return err }},
		{"CommitInfoOfTag", ErrWrongType, func() error { _, err := db.CommitInfo(v1); return err }},
		{"TreeOfCommit", ErrWrongType, func() error { _, err := db.Tree(merge); return err }},
		{"TagOfCommit", ErrWrongType, func() error { _, err := db.Tag(merge); return err }},
		{"MissingCommit", ErrNotFound, func() error { _, err := db.Commit(missing); return err }},
		{"MissingCommitInfo", ErrNotFound, func() error { _, err := db.CommitInfo(missing); return err }},
		{"MissingTree", ErrNotFound, func() error { _, err := db.Tree(missing); return err }},
		{"MissingTag", ErrNotFound, func() error { _, err := db.Tag(missing); return err }},
		{"MissingPeel", ErrNotFound, func() error { _, _, _, err := db.Peel(missing); return err }},
	} {
		if err := tc.f(); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.err)
		}
	}
}

// TestPeelChain checks the bound on tags of tags.
func TestPeelChain(t *testing.T) {
	t.Parallel()
	dir := newBare(t)
	h := commitPacked(t, dir, "one").String()
	var tags []string
	for i := range maxPeel + 1 {
		h = git(t, dir, fmt.Sprintf("object %s\ntype %s\ntag t%d\ntagger T <t@x> 1 +0000\n\nt\n", h, map[bool]string{true: "commit", false: "tag"}[i == 0], i),
			"hash-object", "-t", "tag", "-w", "--stdin")
		tags = append(tags, h)
	}
	db := openDB(t, dir)
	if _, typ, chain, err := db.Peel(plumbing.NewHash(tags[maxPeel-1])); err != nil || typ != plumbing.CommitObject || len(chain) != maxPeel {
		t.Errorf("Peel of %d tags = %s, %d tags, %v", maxPeel, typ, len(chain), err)
	}
	if _, _, _, err := db.Peel(plumbing.NewHash(tags[maxPeel])); err == nil {
		t.Errorf("Peel of %d tags succeeded", maxPeel+1)
	}
}

func hexList(hs []plumbing.Hash) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = h.String()
	}
	return strings.Join(s, " ")
}
