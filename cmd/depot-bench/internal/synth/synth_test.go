package synth

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func revParse(t *testing.T, dir, rev string) string {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", dir, "rev-parse", rev).Output()
	if err != nil {
		t.Fatalf("git rev-parse %s: %v", rev, err)
	}
	return strings.TrimSpace(string(out))
}

// TestGenerateDeterministic generates the same parameters twice and
// expects identical commits and refs; a different seed must differ.
func TestGenerateDeterministic(t *testing.T) {
	ctx := context.Background()
	p := Params{Commits: 40, Files: 30, Refs: 8, FileSize: 512, Seed: 7}
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "a.git"), filepath.Join(root, "b.git"), filepath.Join(root, "c.git")}
	q := p
	q.Seed = 8
	for i, params := range []Params{p, p, q} {
		if err := Generate(ctx, dirs[i], params); err != nil {
			t.Fatal(err)
		}
	}
	refs := func(dir string) string {
		out, err := exec.Command("git", "--git-dir", dir, "for-each-ref", "--format=%(objectname) %(refname)").Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if a, b := refs(dirs[0]), refs(dirs[1]); a != b {
		t.Fatalf("refs differ between two runs:\n%s\n%s", a, b)
	}
	if n := strings.Count(refs(dirs[0]), "\n"); n != 1+p.Refs {
		t.Fatalf("got %d refs; want %d", n, 1+p.Refs)
	}
	if a, c := revParse(t, dirs[0], Branch), revParse(t, dirs[2], Branch); a == c {
		t.Fatalf("seeds 7 and 8 gave the same main %s", a)
	}
	out, err := exec.Command("git", "--git-dir", dirs[0], "rev-list", "--count", Branch).Output()
	if err != nil || strings.TrimSpace(string(out)) != "40" {
		t.Fatalf("rev-list --count main = %q, %v; want 40", out, err)
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		ok   bool
	}{
		{"OK", Params{Commits: 1, Files: 1, FileSize: 16}, true},
		{"ErrCommits", Params{Files: 1, FileSize: 16}, false},
		{"ErrFiles", Params{Commits: 1, FileSize: 16}, false},
		{"ErrRefs", Params{Commits: 1, Files: 1, Refs: -1, FileSize: 16}, false},
		{"ErrFileSize", Params{Commits: 1, Files: 1, FileSize: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v; want ok %v", tt.p, err, tt.ok)
			}
		})
	}
}
