package gitref

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResolveOnlyReachable: an object id, full or abbreviated, names a
// commit only when a ref reaches it. A commit that a force push or a
// branch deletion left behind answers ErrNotFound, as a missing one does,
// so that a reader cannot recover it by trying short prefixes; and an
// abbreviation needs at least 7 hex digits. It runs on loose objects, on
// a repository with a commit-graph, and on one whose pack has a bitmap
// (the left-behind commit then sits in the pack, kept by the reflog).
func TestResolveOnlyReachable(t *testing.T) {
	for _, variant := range []struct {
		name    string
		prepare func(f *fixture)
	}{
		{"Loose", func(*fixture) {}},
		{"CommitGraph", func(f *fixture) {
			f.git("", "repack", "-a", "-d", "-q")
			f.git("", "commit-graph", "write") // of every packed commit, the left-behind one too
		}},
		{"Bitmap", func(f *fixture) { f.git("", "repack", "-a", "-d", "-b", "-q") }},
		{"BitmapAndCommitGraph", func(f *fixture) {
			f.git("", "repack", "-a", "-d", "-b", "-q")
			f.git("", "commit-graph", "write", "--reachable")
		}},
	} {
		t.Run(variant.name, func(t *testing.T) {
			f := newFixture(t)
			f.git(f.work, "checkout", "-q", "-b", "gone", "main")
			gone := f.commit("secret left behind", 500)
			f.git(f.work, "checkout", "-q", "main")
			f.git(f.work, "branch", "-D", "-q", "gone")
			variant.prepare(f)
			if variant.name != "Loose" {
				if _, err := os.Stat(filepath.Join(f.dir, "objects", gone[:2], gone[2:])); err == nil {
					t.Fatalf("the left-behind commit is still loose; the variant does not test packs")
				}
			}
			// first is a tip (tag v0.1); third and featureWork are no ref's
			// value, reached only through history.
			first, third, featureWork := f.rev("v0.1"), f.rev("main~1^1"), f.rev("feature~1")
			for _, tc := range []struct {
				name, rev string
				want      string // "" for ErrNotFound
			}{
				{"FullTip", first, first},
				{"Abbrev7Tip", first[:7], first},
				{"FullReachable", third, third},
				{"Abbrev7Reachable", third[:7], third},
				{"Abbrev10Reachable", featureWork[:10], featureWork},
				{"FullUnreachable", gone, ""},
				{"FullUnreachableUpper", strings.ToUpper(gone), ""},
				{"Abbrev7Unreachable", gone[:7], ""},
				{"Abbrev12Unreachable", gone[:12], ""},
				{"Abbrev6Reachable", third[:6], ""},
				{"Abbrev4Tip", first[:4], ""},
				{"Abbrev4Unreachable", gone[:4], ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					h, err := Resolve(f.dir, tc.rev)
					if tc.want == "" {
						if !errors.Is(err, ErrNotFound) {
							t.Errorf("Resolve(%q) = %v, %v; want ErrNotFound", tc.rev, h, err)
						}
						return
					}
					if err != nil || h.String() != tc.want {
						t.Errorf("Resolve(%q) = %v, %v; want %s", tc.rev, h, err, tc.want)
					}
				})
			}
			if _, _, err := Commits(f.dir, gone[:8], 0, 10); !errors.Is(err, ErrNotFound) {
				t.Errorf("Commits(%s) = %v; want ErrNotFound", gone[:8], err)
			}
			if _, err := CreateBranch(f.dir, "recovered", gone[:8], Actor{}); !errors.Is(err, ErrNotFound) {
				t.Errorf("CreateBranch(from %s) = %v; want ErrNotFound", gone[:8], err)
			}
			if out, err := f.run("", nil, "rev-parse", "--verify", "-q", "refs/heads/recovered"); err == nil {
				t.Errorf("branch recovered exists at %s", out)
			}
		})
	}
}
