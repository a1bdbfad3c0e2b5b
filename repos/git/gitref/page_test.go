package gitref

import (
	"fmt"
	"testing"
)

// TestPages: BranchPage and TagPage cut the lists Branches and Tags
// return, give their length as the total, and are empty past the end.
func TestPages(t *testing.T) {
	f := newFixture(t)
	branches, err := Branches(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := Tags(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 2, 4, 100} {
		for off := 0; off <= len(branches)+1; off += size {
			got, total, err := BranchPage(f.dir, off, size)
			want := branches[min(off, len(branches)):min(off+size, len(branches))]
			if err != nil || total != len(branches) || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("BranchPage(%d, %d) = %v, %d, %v; want %v, %d", off, size, got, total, err, want, len(branches))
			}
		}
		for off := 0; off <= len(tags)+1; off += size {
			got, total, err := TagPage(f.dir, off, size)
			want := tags[min(off, len(tags)):min(off+size, len(tags))]
			if err != nil || total != len(tags) || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("TagPage(%d, %d) = %v, %d, %v; want %v, %d", off, size, got, total, err, want, len(tags))
			}
		}
	}
}
