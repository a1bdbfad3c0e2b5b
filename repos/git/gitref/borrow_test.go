package gitref

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/repos/git/odb"
)

// TestCommitsOfPlacedRepositories checks the history the API reads from a
// repository that is a shallow clone (it ends at the shallow commits, as
// git log shows it) and from one borrowing its objects (git clone
// --shared).
func TestCommitsOfPlacedRepositories(t *testing.T) {
	f := newFixture(t)
	root := filepath.Dir(f.work)
	if err := odb.AllowAlternatesUnder(root); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"shallow", []string{"-c", "protocol.file.allow=always", "clone", "-q", "--bare", "--depth", "2", "--branch", "main", "file://" + f.dir}},
		{"borrowing", []string{"clone", "-q", "--bare", "--shared", f.dir}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(root, tc.name+".git")
			f.git(root, append(tc.args, dir)...)
			g := &fixture{t: t, home: f.home, dir: dir}
			want := gitLog(t, g, "main")
			got, more, err := Commits(dir, "main", 0, 100)
			if err != nil || more {
				t.Fatalf("Commits = %v, more %v", err, more)
			}
			if tc.name == "shallow" && len(want) >= len(gitLog(t, f, "main")) {
				t.Fatalf("git log shows %d commits of the shallow clone; the case needs fewer than the source's", len(want))
			}
			if len(got) != len(want) {
				t.Fatalf("Commits lists %d commits; git log %d", len(got), len(want))
			}
			for i := range got {
				if got[i].ID != want[i].ID || strings.Join(got[i].Parents, " ") != strings.Join(want[i].Parents, " ") {
					t.Errorf("commit %d = %s parents %v; git log: %s parents %v", i, got[i].ID, got[i].Parents, want[i].ID, want[i].Parents)
				}
			}
		})
	}
}
