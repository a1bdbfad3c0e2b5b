package odb

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestWithPrefix compares WithPrefix with git's own list of objects, over
// packed and loose objects and prefixes of even and odd length.
func TestWithPrefix(t *testing.T) {
	t.Parallel()
	dir := newBare(t)
	for i := range 40 {
		commitPacked(t, dir, fmt.Sprintf("b%d", i))
	}
	git(t, dir, "", "repack", "-q", "-a", "-d")
	for i := range 300 {
		git(t, dir, fmt.Sprintf("loose %d\n", i), "hash-object", "-w", "--stdin")
	}
	all := strings.Fields(git(t, dir, "", "cat-file", "--batch-all-objects", "--batch-check=%(objectname)"))
	db := openDB(t, dir)
	if len(db.Packs()) == 0 {
		t.Fatal("no packs; the test needs packed objects too")
	}
	for _, prefix := range []string{all[0][:2], all[7][:3], all[42][:5], all[99], "ff", "0000000"} {
		var want []string
		for _, h := range all {
			if strings.HasPrefix(h, prefix) {
				want = append(want, h)
			}
		}
		slices.Sort(want)
		hs, err := db.WithPrefix(prefix)
		if err != nil {
			t.Fatalf("WithPrefix(%q): %v", prefix, err)
		}
		var got []string
		for _, h := range hs {
			got = append(got, h.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("WithPrefix(%q) = %v; git lists %v", prefix, got, want)
		}
	}
	for _, bad := range []string{"", "a", "xyz1", strings.Repeat("a", 41), "AB"} {
		if _, err := db.WithPrefix(bad); err == nil {
			t.Errorf("WithPrefix(%q) succeeded", bad)
		}
	}
}
