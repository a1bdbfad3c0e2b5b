package gitref

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBranches(t *testing.T) {
	t.Run("Fixture", func(t *testing.T) {
		f := newFixture(t)
		got, err := Branches(f.dir)
		if err != nil {
			t.Fatal(err)
		}
		var want []Branch
		for _, line := range strings.Split(strings.TrimSpace(f.git("", "for-each-ref", "--format=%(refname) %(objectname) [%(HEAD)]", "refs/heads")), "\n") {
			fields := strings.Split(line, " ")
			want = append(want, Branch{Name: strings.TrimPrefix(fields[0], "refs/heads/"), Commit: fields[1], Default: fields[2] == "[*]"})
		}
		if !equalSlices(got, want) {
			t.Errorf("Branches = %+v; want %+v", got, want)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		got, err := Branches(newEmpty(t).dir)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("Branches(empty) = %#v, %v; want [], nil", got, err)
		}
	})
}

func TestDefaultBranch(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name    string
		set     string
		wantErr error
	}{
		{name: "Existing", set: "feature"},
		{name: "Packed", set: "packedonly"},
		{name: "Unborn", set: "not/yet"},
		{name: "Back", set: "main"},
		{name: "ErrEmpty", set: "", wantErr: ErrInvalid},
		{name: "ErrHEAD", set: "HEAD", wantErr: ErrInvalid},
		{name: "ErrDash", set: "-x", wantErr: ErrInvalid},
		{name: "ErrDots", set: "a..b", wantErr: ErrInvalid},
		{name: "ErrLock", set: "x.lock", wantErr: ErrInvalid},
		{name: "ErrEscape", set: "../../config", wantErr: ErrInvalid},
		{name: "ErrFullRef", set: "refs/heads/../x", wantErr: ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.git("", "symbolic-ref", "HEAD")
			err := SetDefaultBranch(f.dir, tc.set, Actor{})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("SetDefaultBranch(%q) = %v; want %v", tc.set, err, tc.wantErr)
				}
				if after := f.git("", "symbolic-ref", "HEAD"); after != before {
					t.Errorf("HEAD changed on error: %s", after)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetDefaultBranch(%q) = %v", tc.set, err)
			}
			if got := strings.TrimSpace(f.git("", "symbolic-ref", "HEAD")); got != "refs/heads/"+tc.set {
				t.Errorf("git symbolic-ref HEAD = %s; want refs/heads/%s", got, tc.set)
			}
			if got, err := DefaultBranch(f.dir); got != tc.set || err != nil {
				t.Errorf("DefaultBranch = %q, %v; want %q", got, err, tc.set)
			}
			branches, _ := Branches(f.dir)
			for _, b := range branches {
				if b.Default != (b.Name == tc.set) {
					t.Errorf("branch %s Default = %v", b.Name, b.Default)
				}
			}
		})
	}
	t.Run("EmptyRepository", func(t *testing.T) {
		e := newEmpty(t)
		if got, err := DefaultBranch(e.dir); got != "main" || err != nil {
			t.Errorf("DefaultBranch(empty) = %q, %v; want main", got, err)
		}
		if err := SetDefaultBranch(e.dir, "trunk", Actor{}); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(e.git("", "symbolic-ref", "HEAD")); got != "refs/heads/trunk" {
			t.Errorf("git symbolic-ref HEAD = %s", got)
		}
	})
	t.Run("ErrNotFoundDetached", func(t *testing.T) {
		e := newFixture(t)
		e.git("", "update-ref", "--no-deref", "HEAD", e.rev("main"))
		if got, err := DefaultBranch(e.dir); !errors.Is(err, ErrNotFound) {
			t.Errorf("DefaultBranch(detached) = %q, %v; want ErrNotFound", got, err)
		}
	})
	assertNoLocks(t, f.dir)
}

func TestCreateBranch(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, branch, from string
		want               string // rev git resolves to the same commit
		wantErr            error
	}{
		{name: "FromDefault", branch: "new", from: "", want: "main"},
		{name: "FromBranch", branch: "topic/a", from: "feature", want: "feature"},
		{name: "FromPackedBranch", branch: "topic/b", from: "packedonly", want: "packedonly"},
		{name: "FromAnnotatedTag", branch: "rel", from: "v1.0", want: "v1.0^{commit}"},
		{name: "FromNestedTag", branch: "rel2", from: "refs/tags/nested", want: "nested^{commit}"},
		{name: "FromHex", branch: "fromhex", from: "__first__", want: "v0.1"},
		{name: "ErrExists", branch: "main", from: "feature", wantErr: ErrExists},
		{name: "ErrExistsPacked", branch: "packedonly", from: "feature", wantErr: ErrExists},
		{name: "ErrExistsConflict", branch: "topic", from: "feature", wantErr: ErrExists},
		{name: "ErrExistsConflictChild", branch: "main/x", from: "feature", wantErr: ErrExists},
		{name: "ErrInvalidName", branch: "bad..name", from: "main", wantErr: ErrInvalid},
		{name: "ErrInvalidHEAD", branch: "HEAD", from: "main", wantErr: ErrInvalid},
		{name: "ErrNotFoundFrom", branch: "x", from: "nope", wantErr: ErrNotFound},
		{name: "ErrInvalidTreeTag", branch: "y", from: "treetag", wantErr: ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from := tc.from
			if from == "__first__" {
				from = f.rev("v0.1")
			}
			before := f.showRef()
			b, err := CreateBranch(f.dir, tc.branch, from, Actor{})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("CreateBranch(%q, %q) = %+v, %v; want %v", tc.branch, from, b, err, tc.wantErr)
				}
				if after := f.showRef(); after != before {
					t.Errorf("refs changed on error:\n%s", after)
				}
				return
			}
			want := Branch{Name: tc.branch, Commit: f.rev(tc.want)}
			if err != nil || b != want {
				t.Fatalf("CreateBranch(%q, %q) = %+v, %v; want %+v", tc.branch, from, b, err, want)
			}
			if got := f.git("", "show-ref", "--verify", "refs/heads/"+tc.branch); got != want.Commit+" refs/heads/"+tc.branch+"\n" {
				t.Errorf("git show-ref = %q", got)
			}
		})
	}
	t.Run("ErrNotFoundEmptyRepository", func(t *testing.T) {
		if _, err := CreateBranch(newEmpty(t).dir, "x", "", Actor{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("CreateBranch(empty) = %v; want ErrNotFound", err)
		}
	})
	assertNoLocks(t, f.dir)
	f.fsck()
}

func TestDeleteBranch(t *testing.T) {
	f := newFixture(t)
	f.git("", "branch", "deep/er/branch", "main")
	for _, tc := range []struct {
		name, branch string
		wantErr      error
	}{
		{name: "Loose", branch: "loose"},
		{name: "PackedOnly", branch: "packedonly"},
		{name: "LooseAndPacked", branch: "feature"},
		{name: "Nested", branch: "deep/er/branch"},
		{name: "ErrInvalidDefault", branch: "main", wantErr: ErrInvalid},
		{name: "ErrNotFound", branch: "nope", wantErr: ErrNotFound},
		{name: "ErrNotFoundAgain", branch: "loose", wantErr: ErrNotFound},
		{name: "ErrNotFoundTag", branch: "v1.0", wantErr: ErrNotFound},
		{name: "ErrInvalidName", branch: "a..b", wantErr: ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.showRef()
			err := DeleteBranch(f.dir, tc.branch, Actor{})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("DeleteBranch(%q) = %v; want %v", tc.branch, err, tc.wantErr)
				}
				if after := f.showRef(); after != before {
					t.Errorf("refs changed on error:\n%s", after)
				}
				return
			}
			if err != nil {
				t.Fatalf("DeleteBranch(%q) = %v", tc.branch, err)
			}
			if out, err := f.run("", nil, "show-ref", "--verify", "refs/heads/"+tc.branch); err == nil {
				t.Errorf("git show-ref still finds it: %s", out)
			}
			if strings.Contains(f.showRef(), " refs/heads/"+tc.branch+"\n") {
				t.Errorf("still listed by git show-ref")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(f.dir, "refs", "heads", "deep")); !os.IsNotExist(err) {
		t.Errorf("empty directories of a deleted branch left behind: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "refs", "heads")); err != nil {
		t.Errorf("refs/heads removed: %v", err)
	}
	assertNoLocks(t, f.dir)
	f.fsck()
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
