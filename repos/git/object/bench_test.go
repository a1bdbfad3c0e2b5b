package object

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// benchTree is a tree of 60 entries, files and subtrees, as in a source
// directory.
var benchTree = func() Tree {
	var b strings.Builder
	for i := range 60 {
		mode := "100644"
		if i%10 == 0 {
			mode = "40000"
		}
		fmt.Fprintf(&b, "%s entry-%02d.go\x00%s", mode, i, strings.Repeat(string(rune('A'+i%26)), RawSize))
	}
	return Tree(b.String())
}()

var benchCommit = []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" +
	"parent 0123456789abcdef0123456789abcdef01234567\n" +
	"parent 89abcdef0123456789abcdef0123456789abcdef\n" +
	"author Ann Author <ann@example.com> 1700000000 +0100\n" +
	"committer Carl Committer <carl@example.com> 1700000100 +0100\n" +
	"\nMerge branch 'feature'\n\nA body of a few lines\nexplaining the change.\n")

var benchTag = []byte("object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1.0\n" +
	"tagger Tim Tagger <tim@example.com> 1700000000 +0000\n\nrelease 1.0\n")

// TestFastPathsDoNotAllocate holds the promise of the package comment.
func TestFastPathsDoNotAllocate(t *testing.T) {
	info := CommitInfo{Parents: make([]plumbing.Hash, 0, 4)}
	links := make([]plumbing.Hash, 0, 64)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"TreeIter", func() {
			it := benchTree.Iter()
			for it.Next() {
				_ = it.Entry()
			}
		}},
		{"ParseCommitInfo", func() { _ = ParseCommitInfo(benchCommit, &info) }},
		{"TagTarget", func() { _, _, _ = TagTarget(benchTag) }},
		{"ParseHex", func() { _, _ = ParseHex(benchCommit[5:45]) }},
		{"AppendLinksTree", func() { _, _ = AppendLinks(links[:0], plumbing.TreeObject, benchTree) }},
		{"AppendLinksCommit", func() { _, _ = AppendLinks(links[:0], plumbing.CommitObject, benchCommit) }},
		{"Children", func() {
			n := 0
			_, _ = benchTree.Children(links[:0], func(plumbing.Hash) { n++ })
		}},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s: %v allocations; want 0", tc.name, n)
		}
	}
}

func BenchmarkTreeIter(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchTree)))
	for range b.N {
		it := benchTree.Iter()
		n := 0
		for it.Next() {
			if it.Entry().Mode.IsTree() {
				n++
			}
		}
		if it.Err() != nil || n != 6 {
			b.Fatal(it.Err(), n)
		}
	}
}

func BenchmarkParseCommitInfo(b *testing.B) {
	b.ReportAllocs()
	var c CommitInfo
	for range b.N {
		if err := ParseCommitInfo(benchCommit, &c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCommit(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := ParseCommit(benchCommit); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTag(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := ParseTag(benchTag); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseHex(b *testing.B) {
	b.ReportAllocs()
	s := benchCommit[5:45]
	for range b.N {
		if _, ok := ParseHex(s); !ok {
			b.Fatal("bad hex")
		}
	}
}
