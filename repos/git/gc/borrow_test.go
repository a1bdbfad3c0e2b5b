package gc

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/depot/depot/repos/git/odb"
)

// TestRepackShallowAndBorrowing checks gc on a repository that is itself
// shallow and on one that borrows its objects: both stay whole, the
// shallow one without walking into parents it never had, the borrowing
// one with the borrowed objects copied in, its lender untouched.
func TestRepackShallowAndBorrowing(t *testing.T) {
	t.Parallel()
	lender, tip := messyRepo(t, 2)
	root := filepath.Dir(lender)
	if err := odb.AllowAlternatesUnder(root); err != nil {
		t.Fatal(err)
	}
	lenderPacks, _ := filepath.Glob(filepath.Join(lender, "objects", "pack", "*"))

	all := git(t, lender, nil, "rev-list", "--count", tip)
	for _, tc := range []struct {
		name    string
		depth   string // clone --depth; "" for git clone --shared
		borrows bool   // objects/info/alternates names the lender
		count   string // commits of main afterwards
	}{
		{"shallow", "5", false, "5"},
		{"borrowing", "", true, all},
		{"shallow and borrowing", "5", true, "5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(root, filepath.Base(t.Name())+".git")
			if tc.depth == "" {
				git(t, root, nil, "clone", "-q", "--bare", "--shared", lender, dir)
			} else {
				git(t, root, nil, "-c", "protocol.file.allow=always", "clone", "-q", "--bare", "--depth", tc.depth, "file://"+lender, dir)
			}
			alt := filepath.Join(dir, "objects", "info", "alternates")
			if tc.borrows {
				// A fork layout: the history the clone has is also the
				// lender's, and its own copy goes.
				if err := os.WriteFile(alt, []byte(filepath.Join(lender, "objects")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				git(t, dir, nil, "repack", "-a", "-d", "-l", "-q")
			}
			if err := Repack(context.Background(), dir); err != nil {
				t.Fatalf("Repack: %v", err)
			}
			git(t, dir, nil, "fsck", "--full", "--strict", "--no-dangling")
			if got := git(t, dir, nil, "rev-list", "--count", tip); got != tc.count {
				t.Errorf("rev-list --count = %s; want %s", got, tc.count)
			}
			if _, err := os.Stat(filepath.Join(dir, "shallow")); err == nil {
				if m, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.bitmap")); len(m) > 0 {
					t.Errorf("gc wrote a bitmap in a shallow repository: %v", m)
				}
			}
			// Without its alternates the repository still holds all it
			// reaches: gc copied the borrowed objects in.
			if tc.borrows {
				if err := os.Rename(alt, alt+".off"); err != nil {
					t.Fatal(err)
				}
				git(t, dir, nil, "fsck", "--full", "--strict", "--no-dangling", "--connectivity-only")
				if err := os.Rename(alt+".off", alt); err != nil {
					t.Fatal(err)
				}
			}
			after, _ := filepath.Glob(filepath.Join(lender, "objects", "pack", "*"))
			if len(after) != len(lenderPacks) {
				t.Errorf("the lender's pack directory changed: %v, was %v", after, lenderPacks)
			}
		})
	}
}
