package object

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestTreeIter reads trees git made and compares each entry with git
// ls-tree.
func TestTreeIter(t *testing.T) {
	g := newGitRepo(t)
	blob := g.blob("content\n")
	link := g.blob("target")
	sub := strings.TrimSpace(g.run(nil, "100644 blob "+blob+"\tinner\n", "mktree"))
	gitlink := "0123456789abcdef0123456789abcdef01234567"
	entries := []string{
		"100644 blob " + blob + "\tfile.txt",
		"100755 blob " + blob + "\trun.sh",
		"120000 blob " + link + "\tlink",
		"040000 tree " + sub + "\tdir",
		"160000 commit " + gitlink + "\tsubmodule",
		"100644 blob " + blob + "\t" + strings.Repeat("n", 255),
		"100644 blob " + blob + "\t" + strings.Repeat("long name ", 100),
		"100644 blob " + blob + "\tünïcode name",
	}
	full := strings.TrimSpace(g.run(nil, strings.Join(entries, "\n")+"\n", "mktree", "--missing"))
	empty := strings.TrimSpace(g.run(nil, "", "mktree"))

	for _, tc := range []struct {
		name, id string
	}{
		{"Full", full},
		{"Sub", sub},
		{"Empty", empty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := g.cat("tree", tc.id)
			var got []string
			var links []plumbing.Hash
			it := Tree(raw).Iter()
			for it.Next() {
				e := it.Entry()
				got = append(got, fmt.Sprintf("%06o %s %s\t%s", uint32(e.Mode), e.Mode.Type(), e.ID, e.Name))
				if !e.Mode.IsGitlink() {
					links = append(links, e.ID)
				}
			}
			if err := it.Err(); err != nil {
				t.Fatalf("iterating %q: %v", raw, err)
			}
			var want []string
			if out := g.run(nil, "", "ls-tree", "-z", tc.id); out != "" {
				want = strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
			}
			if !slices.Equal(got, want) {
				t.Errorf("entries\n got %q\nwant %q (git ls-tree)", got, want)
			}
			if l, err := AppendLinks(nil, plumbing.TreeObject, raw); err != nil || !slices.Equal(l, links) {
				t.Errorf("AppendLinks = %v, %v; want %v", l, err, links)
			}
			var trees, blobs []plumbing.Hash
			trees, err := Tree(raw).Children(trees, func(id plumbing.Hash) { blobs = append(blobs, id) })
			var wantTrees, wantBlobs []plumbing.Hash
			for _, l := range want {
				mode, rest, _ := strings.Cut(l, " ")
				typ, rest, _ := strings.Cut(rest, " ")
				id, _ := ParseHex(rest[:HexSize])
				switch {
				case mode == "040000":
					wantTrees = append(wantTrees, id)
				case typ == "blob":
					wantBlobs = append(wantBlobs, id)
				}
			}
			if err != nil || !slices.Equal(trees, wantTrees) || !slices.Equal(blobs, wantBlobs) {
				t.Errorf("Children = %v, %v, %v; want %v, %v", trees, blobs, err, wantTrees, wantBlobs)
			}
		})
	}
}

// TestTreeIterNames checks that names are sub-slices of the tree, which
// a caller must copy to keep past the tree's content.
func TestTreeIterNames(t *testing.T) {
	raw := []byte("100644 a\x00" + strings.Repeat("\x01", 20) + "40000 bb\x00" + strings.Repeat("\x02", 20))
	it := Tree(raw).Iter()
	var names [][]byte
	for it.Next() {
		names = append(names, it.Entry().Name)
	}
	if it.Err() != nil || len(names) != 2 || &names[0][0] != &raw[7] || &names[1][0] != &raw[35] || cap(names[0]) != 1 {
		t.Errorf("names %q (err %v) are not the tree's own bytes", names, it.Err())
	}
}

// TestTreeIterMalformed checks the trees git's decode_tree_entry refuses.
func TestTreeIterMalformed(t *testing.T) {
	id := strings.Repeat("\x01", 20)
	good := "100644 ok\x00" + id
	for _, tc := range []struct {
		name, raw, want string
		before          int // entries read before the error
	}{
		{"EmptyMode", " name\x00" + id, "entry at offset 0: bad mode", 0},
		{"NonOctalMode", "100844 name\x00" + id, "bad mode", 0},
		{"NoSpace", "100644", "bad mode", 0},
		{"HugeMode", "77777777777 name\x00" + id, "bad mode", 0},
		{"NoNul", "100644 name", "name not terminated", 0},
		{"EmptyName", "100644 \x00" + id, "empty name", 0},
		{"ShortID", "100644 name\x00" + id[:19], "truncated object id", 0},
		{"SecondEntry", good + "100644 name\x00" + id[:5], "entry at offset 30: truncated object id", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := Tree(tc.raw).Iter()
			n := 0
			for it.Next() {
				n++
			}
			err := it.Err()
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) || n != tc.before {
				t.Errorf("iterating %q: %d entries, %v; want %d, ErrMalformed naming %q", tc.raw, n, err, tc.before, tc.want)
			}
			if it.Next() {
				t.Error("Next after an error = true")
			}
			if _, err := AppendLinks(nil, plumbing.TreeObject, []byte(tc.raw)); !errors.Is(err, ErrMalformed) {
				t.Errorf("AppendLinks = %v; want ErrMalformed", err)
			}
			if _, err := Tree(tc.raw).Children(nil, func(plumbing.Hash) {}); !errors.Is(err, ErrMalformed) {
				t.Errorf("Children = %v; want ErrMalformed", err)
			}
		})
	}
}

// TestMode checks the mode helpers against git's canon_mode.
func TestMode(t *testing.T) {
	for _, tc := range []struct {
		mode              Mode
		tree, blob, glink bool
		typ               plumbing.ObjectType
	}{
		{ModeTree, true, false, false, plumbing.TreeObject},
		{0o040755, true, false, false, plumbing.TreeObject},
		{ModeBlob, false, true, false, plumbing.BlobObject},
		{0o100664, false, true, false, plumbing.BlobObject},
		{ModeExec, false, true, false, plumbing.BlobObject},
		{ModeSymlink, false, true, false, plumbing.BlobObject},
		{ModeGitlink, false, false, true, plumbing.CommitObject},
		{0, false, false, true, plumbing.CommitObject},
		{0o170000, false, false, true, plumbing.CommitObject},
	} {
		t.Run(fmt.Sprintf("%06o", uint32(tc.mode)), func(t *testing.T) {
			m := tc.mode
			if m.IsTree() != tc.tree || m.IsBlob() != tc.blob || m.IsGitlink() != tc.glink || m.Type() != tc.typ {
				t.Errorf("%06o: tree %v blob %v gitlink %v type %s; want %v %v %v %s",
					uint32(m), m.IsTree(), m.IsBlob(), m.IsGitlink(), m.Type(), tc.tree, tc.blob, tc.glink, tc.typ)
			}
		})
	}
}
