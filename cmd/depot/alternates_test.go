package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/depot/depot/repos/git/odb"
)

// TestReposRootBoundsAlternates checks the wiring of depot serve and the
// CLI: once the data directory is open, a repository may borrow objects
// from another repository of DATA/repos, and from nowhere else.
func TestReposRootBoundsAlternates(t *testing.T) {
	data := t.TempDir()
	rd, err := openRepos(data)
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside.git")
	lender := filepath.Join(rd.Root(), "tester", "lender.git")
	for _, tc := range []struct {
		name   string
		lender string
		ok     bool
	}{
		{"inside", lender, true},
		{"outside", outside, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			borrower := filepath.Join(rd.Root(), "tester", tc.name+".git")
			for _, dir := range []string{tc.lender, borrower} {
				if out, err := exec.Command("git", "init", "-q", "--bare", dir).CombinedOutput(); err != nil {
					t.Fatalf("git init: %v\n%s", err, out)
				}
			}
			alt := filepath.Join(borrower, "objects", "info", "alternates")
			if err := os.WriteFile(alt, []byte(filepath.Join(tc.lender, "objects")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			db, err := odb.Open(borrower)
			if err == nil {
				db.Close()
			}
			if tc.ok && err != nil {
				t.Errorf("odb.Open(%s) = %v; want it to borrow from %s", borrower, err, tc.lender)
			}
			if !tc.ok && !errors.Is(err, odb.ErrUnsafeAlternate) {
				t.Errorf("odb.Open(%s) = %v; want ErrUnsafeAlternate", borrower, err)
			}
		})
	}
}
