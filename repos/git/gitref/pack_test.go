package gitref

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/repos/git/odb"
	"github.com/go-git/go-git/v5/plumbing"
)

// packRefs is PackRefs with the repository's shared odb handle.
func (f *fixture) packRefs() (int, error) {
	f.t.Helper()
	db, release, err := odb.Acquire(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	defer release()
	return PackRefs(db)
}

// gitPeeler peels with git rev-parse, independent of the code under test.
func gitPeeler(f *fixture) peeler {
	return func(h plumbing.Hash) (plumbing.Hash, bool) {
		p := f.rev(h.String() + "^{}")
		return plumbing.NewHash(p), p != "" && p != h.String()
	}
}

// looseFiles lists the files under refs/.
func looseFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(filepath.Join(dir, "refs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	return names
}

// TestPackRefs packs the fixture's refs (loose and packed, annotated tags,
// a tag of a tag, a tag of a tree) and checks that packed-refs comes out
// byte for byte as git pack-refs --all --prune writes it, that every ref
// keeps its value and that no loose file is left.
func TestPackRefs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	before := f.showRef()
	if len(looseFiles(t, f.dir)) == 0 {
		t.Fatal("the fixture has no loose refs; the test would prove nothing")
	}
	ref := filepath.Join(t.TempDir(), "ref.git")
	if out, err := exec.Command("cp", "-a", f.dir, ref).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	f.git("", "--git-dir", ref, "pack-refs", "--all", "--prune")
	want, err := os.ReadFile(filepath.Join(ref, "packed-refs"))
	if err != nil {
		t.Fatal(err)
	}

	n, err := f.packRefs()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("PackRefs pruned nothing")
	}
	got, _ := os.ReadFile(filepath.Join(f.dir, "packed-refs"))
	if !bytes.Equal(got, want) {
		t.Errorf("packed-refs differs from git's:\n--- depot\n%s--- git\n%s", got, want)
	}
	if left := looseFiles(t, f.dir); len(left) > 0 {
		t.Errorf("loose refs left: %v", left)
	}
	if after := f.showRef(); after != before {
		t.Errorf("refs changed:\n--- before\n%s--- after\n%s", before, after)
	}
	f.fsck()
	if n, err := f.packRefs(); n != 0 || err != nil {
		t.Errorf("second PackRefs = %d, %v; want 0, nil", n, err)
	}
}

// TestPackRefsLeavesBusyRefs moves one loose ref while PackRefs runs, as
// git update-ref in another process would, and holds another's lock: both
// keep their loose files and values.
func TestPackRefsLeavesBusyRefs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	moved, locked := "refs/heads/loose", "refs/heads/main"
	f.git("", "update-ref", locked, f.rev(locked)) // make sure it is loose
	second := f.rev("main~1")
	if second == f.rev(moved) {
		second = f.rev("main~2")
	}
	lockPath := refPath(f.dir, locked) + ".lock"
	if err := os.WriteFile(lockPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	peel := gitPeeler(f)
	once := false
	_, err := packRefs(f.dir, func(h plumbing.Hash) (plumbing.Hash, bool) {
		if !once {
			once = true
			// Another process moves the ref, under its own lock file.
			if err := os.WriteFile(refPath(f.dir, moved), []byte(second+"\n"), 0o644); err != nil {
				t.Error(err)
			}
		}
		return peel(h)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.rev(moved); got != second {
		t.Errorf("%s = %s after packing; want the value it was moved to, %s", moved, got, second)
	}
	left := strings.Join(looseFiles(t, f.dir), " ")
	for _, name := range []string{moved, locked, locked + ".lock"} {
		if !strings.Contains(left, name) {
			t.Errorf("%s was removed; loose files left: %s", name, left)
		}
	}
}
