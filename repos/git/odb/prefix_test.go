package odb

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWithPrefix compares WithPrefix with git's own list of objects, over
// packed and loose objects and prefixes of even and odd length.
func TestWithPrefix(t *testing.T) {
	t.Parallel()
	dir := newBare(t)
	// The 40 commits commitPacked would make, in one fast-import, and
	// the 300 loose blobs in one hash-object: the same objects, from 2
	// git processes instead of 380.
	var script strings.Builder
	for i := range 40 {
		msg := fmt.Sprintf("b%d", i)
		fmt.Fprintf(&script, "commit refs/heads/%s\ncommitter T <t@example.com> 1700000000 +0000\ndata %d\n%s\n", msg, len(msg), msg)
	}
	git(t, dir, script.String(), "fast-import", "--quiet")
	git(t, dir, "", "repack", "-q", "-a", "-d")
	blobs := t.TempDir()
	var paths strings.Builder
	for i := range 300 {
		p := filepath.Join(blobs, fmt.Sprint(i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("loose %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths.WriteString(p + "\n")
	}
	if n := len(strings.Fields(git(t, dir, paths.String(), "hash-object", "-w", "--stdin-paths"))); n != 300 {
		t.Fatalf("hash-object wrote %d blobs; want 300", n)
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
