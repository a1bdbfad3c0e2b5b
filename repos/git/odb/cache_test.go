package odb

import (
	"testing"

	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// TestLRU checks the byte budget, recency and dropping a closed pack's
// bases.
func TestLRU(t *testing.T) {
	a, b := &packfile.Pack{Path: "a"}, &packfile.Pack{Path: "b"}
	c := newLRU(100)
	c.add(a, 1, plumbing.BlobObject, make([]byte, 20))
	c.add(b, 1, plumbing.BlobObject, make([]byte, 20))
	c.add(a, 2, plumbing.TreeObject, make([]byte, 20))
	if _, _, ok := c.get(a, 1); !ok { // a/1 is now the most recent
		t.Fatal("a/1 not cached")
	}
	c.add(b, 2, plumbing.BlobObject, make([]byte, 25)) // 85 bytes
	c.add(b, 3, plumbing.BlobObject, make([]byte, 20)) // 105: b/1 goes
	if _, _, ok := c.get(b, 1); ok {
		t.Error("b/1, the least recently used, survived going over budget")
	}
	if _, _, ok := c.get(a, 1); !ok {
		t.Error("a/1 was evicted although recently used")
	}
	if c.add(a, 9, plumbing.BlobObject, make([]byte, 26)); c.items[cacheKey{a, 9}] != nil {
		t.Error("an entry over a quarter of the budget was cached")
	}
	c.drop([]*packfile.Pack{a})
	for _, off := range []int64{1, 2} {
		if _, _, ok := c.get(a, off); ok {
			t.Errorf("a/%d survived dropping pack a", off)
		}
	}
	if _, _, ok := c.get(b, 3); !ok {
		t.Error("dropping pack a removed b/3")
	}
	if c.used != 45 || c.ll.Len() != 2 {
		t.Errorf("after drop: %d bytes in %d entries; want 45 in 2", c.used, c.ll.Len())
	}
}
