package gitref

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gitLog returns `git log rev` parsed into Commits.
func gitLog(t *testing.T, f *fixture, rev string) []Commit {
	t.Helper()
	out := f.git("", "log", "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x01", rev)
	var list []Commit
	for _, rec := range strings.Split(out, "\x01") {
		rec = strings.TrimPrefix(rec, "\n")
		if rec == "" {
			continue
		}
		fl := strings.Split(rec, "\x00")
		when := func(s string) time.Time {
			tm, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Fatal(err)
			}
			return tm
		}
		c := Commit{
			ID:        fl[0],
			Author:    Signature{Name: fl[2], Email: fl[3], When: when(fl[4])},
			Committer: Signature{Name: fl[5], Email: fl[6], When: when(fl[7])},
			Message:   strings.TrimRight(fl[8], "\n"),
			Parents:   strings.Fields(fl[1]),
		}
		list = append(list, c)
	}
	return list
}

// sameCommit compares two commits, times by instant and by offset.
func sameCommit(a, b Commit) bool {
	const iso = "2006-01-02T15:04:05-07:00"
	return a.ID == b.ID && a.Message == b.Message && equalSlices(a.Parents, b.Parents) &&
		a.Author.Name == b.Author.Name && a.Author.Email == b.Author.Email &&
		a.Author.When.Format(iso) == b.Author.When.Format(iso) &&
		a.Committer.Name == b.Committer.Name && a.Committer.Email == b.Committer.Email &&
		a.Committer.When.Format(iso) == b.Committer.When.Format(iso)
}

func sameCommits(a, b []Commit) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameCommit(a[i], b[i]) {
			return false
		}
	}
	return true
}

func ids(list []Commit) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.ID[:7] + " " + strings.SplitN(c.Message, "\n", 2)[0]
	}
	return out
}

func TestCommits(t *testing.T) {
	f := newFixture(t)
	// A commit dated before its parent: git log still starts with it.
	f.git(f.work, "checkout", "-q", "-b", "skewed", "main")
	f.commit("skewed", -1000)
	f.git(f.work, "checkout", "-q", "main")
	for _, ref := range []string{"", "HEAD", "main", "refs/heads/main", "feature", "packedonly", "v1.0", "nested", "dup", "skewed", f.rev("main~1"), f.rev("main")[:7]} {
		t.Run("Ref="+ref, func(t *testing.T) {
			rev := ref
			if rev == "" {
				rev = "HEAD"
			}
			want := gitLog(t, f, rev)
			got, more, err := Commits(f.dir, ref, 0, 100)
			if err != nil || more || !sameCommits(got, want) {
				t.Fatalf("Commits(%q) = %v, more=%v, %v;\nwant %v", ref, ids(got), more, err, ids(want))
			}
		})
	}
	t.Run("Fields", func(t *testing.T) {
		got, _, err := Commits(f.dir, "dup", 0, 1) // the tag dup wins over the branch, as in git
		if err != nil || len(got) != 1 || got[0].ID != f.rev("v0.1") {
			t.Fatalf("Commits(dup) = %v, %v; want the first commit", ids(got), err)
		}
		got, _, err = Commits(f.dir, "refs/heads/dup", 0, 1)
		if err != nil || len(got) != 1 {
			t.Fatal(err)
		}
		c := got[0]
		if c.Message != "second\n\nWith a body\nof two lines." || c.Author.Name != "Alice Example" ||
			c.Author.Email != "alice@example.org" || c.Committer.Name != "Tester" {
			t.Errorf("second = %+v", c)
		}
		if _, off := c.Author.When.Zone(); off != 2*3600 || c.Author.When.Unix() != T0+50 || c.Committer.When.Unix() != T0+100 {
			t.Errorf("second's times: author %v, committer %v", c.Author.When, c.Committer.When)
		}
	})
	t.Run("Paging", func(t *testing.T) {
		all := gitLog(t, f, "main")
		if len(all) != 6 {
			t.Fatalf("main has %d commits; want 6", len(all))
		}
		for _, tc := range []struct {
			name        string
			skip, limit int
		}{
			{"First", 0, 1}, {"FirstTwo", 0, 2}, {"Middle", 2, 2}, {"LastExact", 4, 2},
			{"LastPartial", 5, 3}, {"All", 0, 6}, {"AllAndMore", 0, 7}, {"PastEnd", 6, 3}, {"FarPastEnd", 60, 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, more, err := Commits(f.dir, "main", tc.skip, tc.limit)
				lo, hi := min(tc.skip, len(all)), min(tc.skip+tc.limit, len(all))
				want, wantMore := all[lo:hi], tc.skip+tc.limit < len(all)
				if err != nil || more != wantMore || !sameCommits(got, want) || got == nil {
					t.Errorf("Commits(main, %d, %d) = %v, more=%v, %v; want %v, more=%v",
						tc.skip, tc.limit, ids(got), more, err, ids(want), wantMore)
				}
			})
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			ref         string
			skip, limit int
			want        error
		}{
			{"ErrNotFoundRef", "nope", 0, 10, ErrNotFound},
			{"ErrNotFoundHex", strings.Repeat("ab", 20), 0, 10, ErrNotFound},
			{"ErrInvalidTree", "treetag", 0, 10, ErrInvalid},
			{"ErrInvalidSkip", "main", -1, 10, ErrInvalid},
			{"ErrInvalidLimit", "main", 0, 0, ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got, _, err := Commits(f.dir, tc.ref, tc.skip, tc.limit); !errors.Is(err, tc.want) {
					t.Errorf("Commits(%q, %d, %d) = %v, %v; want %v", tc.ref, tc.skip, tc.limit, ids(got), err, tc.want)
				}
			})
		}
	})
	t.Run("EmptyRepository", func(t *testing.T) {
		e := newEmpty(t)
		got, more, err := Commits(e.dir, "", 0, 10)
		if err != nil || more || got == nil || len(got) != 0 {
			t.Errorf("Commits(empty, \"\") = %#v, %v, %v; want [], false, nil", got, more, err)
		}
		if _, _, err := Commits(e.dir, "main", 0, 10); !errors.Is(err, ErrNotFound) {
			t.Errorf("Commits(empty, main) = %v; want ErrNotFound", err)
		}
	})
}

func TestResolve(t *testing.T) {
	f := newFixture(t)
	first := f.rev("v0.1")
	for _, tc := range []struct {
		name, rev string
		want      string // git rev-parse of this, ^{commit}
		wantErr   error
	}{
		{name: "Empty", rev: "", want: "HEAD"},
		{name: "HEAD", rev: "HEAD", want: "HEAD"},
		{name: "Branch", rev: "main", want: "main"},
		{name: "PackedBranch", rev: "packedonly", want: "packedonly"},
		{name: "ShadowedBranch", rev: "feature", want: "feature"},
		{name: "FullRef", rev: "refs/heads/feature", want: "feature"},
		{name: "PartialRef", rev: "heads/dup", want: "refs/heads/dup"},
		{name: "TagWinsOverBranch", rev: "dup", want: "refs/tags/dup"},
		{name: "LightweightTag", rev: "v0.1", want: "v0.1"},
		{name: "AnnotatedTag", rev: "v1.0", want: "v1.0"},
		{name: "NestedTag", rev: "nested", want: "nested"},
		{name: "TagObjectID", rev: "__v1.0-object__", want: "v1.0"},
		{name: "FullHex", rev: first, want: first},
		{name: "FullHexUpper", rev: strings.ToUpper(first), want: first},
		{name: "Abbrev7", rev: first[:7], want: first},
		{name: "Abbrev8", rev: first[:8], want: first},
		{name: "ErrNotFoundAbbrev4", rev: "__short4__", wantErr: ErrNotFound},
		{name: "ErrNotFoundAbbrev6", rev: first[:6], wantErr: ErrNotFound},
		{name: "ErrNotFoundName", rev: "nope", wantErr: ErrNotFound},
		{name: "ErrNotFoundAbbrev3", rev: first[:3], wantErr: ErrNotFound},
		{name: "ErrNotFoundHex", rev: strings.Repeat("0", 39) + "1", wantErr: ErrNotFound},
		{name: "ErrNotFoundSuffix", rev: "main~1", wantErr: ErrNotFound},
		{name: "ErrNotFoundEscape", rev: "../../config", wantErr: ErrNotFound},
		{name: "ErrNotFoundGitDirFile", rev: "config", wantErr: ErrNotFound},
		{name: "ErrInvalidTreeTag", rev: "treetag", wantErr: ErrInvalid},
		{name: "ErrNotFoundTree", rev: "__tree__", wantErr: ErrNotFound}, // ids name commits and the tags refs point at
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev := tc.rev
			switch rev {
			case "__v1.0-object__":
				rev = f.rev("refs/tags/v1.0")
			case "__short4__":
				rev = strings.TrimSpace(f.git("", "rev-parse", "--short=4", first))
			case "__tree__":
				rev = f.rev("main^{tree}")
			}
			h, err := Resolve(f.dir, rev)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("Resolve(%q) = %v, %v; want %v", rev, h, err, tc.wantErr)
				}
				return
			}
			want := f.rev(tc.want + "^{commit}")
			if err != nil || h.String() != want {
				t.Errorf("Resolve(%q) = %v, %v; want %s", rev, h, err, want)
			}
		})
	}
	t.Run("ErrNotFoundEmptyRepository", func(t *testing.T) {
		e := newEmpty(t)
		for _, rev := range []string{"", "HEAD", "main"} {
			if h, err := Resolve(e.dir, rev); !errors.Is(err, ErrNotFound) {
				t.Errorf("Resolve(empty, %q) = %v, %v; want ErrNotFound", rev, h, err)
			}
		}
	})
}

func TestSize(t *testing.T) {
	sum := func(t *testing.T, dir string, patterns ...string) int64 {
		var n int64
		for _, p := range patterns {
			matches, _ := filepath.Glob(filepath.Join(dir, "objects", p))
			for _, m := range matches {
				fi, err := os.Stat(m)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().IsRegular() {
					n += fi.Size()
				}
			}
		}
		return n
	}
	t.Run("Empty", func(t *testing.T) {
		if n, err := Size(newEmpty(t).dir); n != 0 || err != nil {
			t.Errorf("Size(empty) = %d, %v; want 0", n, err)
		}
	})
	f := newFixture(t)
	t.Run("Loose", func(t *testing.T) {
		want := sum(t, f.dir, "[0-9a-f][0-9a-f]/*")
		if n, err := Size(f.dir); n != want || err != nil || n == 0 {
			t.Errorf("Size = %d, %v; want %d", n, err, want)
		}
	})
	t.Run("PackedIgnoresQuarantineAndTemp", func(t *testing.T) {
		f.git("", "gc", "-q", "--prune=now")
		for _, junk := range []string{"incoming-123/tmp_pack", "pack/tmp_pack_x", "info/packs"} {
			p := filepath.Join(f.dir, "objects", junk)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, make([]byte, 1000), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want := sum(t, f.dir, "[0-9a-f][0-9a-f]/*", "pack/pack-*")
		if n, err := Size(f.dir); n != want || err != nil || n == 0 {
			t.Errorf("Size = %d, %v; want %d", n, err, want)
		}
	})
}

// TestCountCommits counts histories as `git rev-list --count` does, from
// the commits themselves and then from a commit-graph that holds only
// part of them (commits made after it are read whole), and remembers a
// count by its start commit.
func TestCountCommits(t *testing.T) {
	check := func(t *testing.T, f *fixture, refs []string) {
		t.Helper()
		for _, ref := range refs {
			rev := ref
			if rev == "" {
				rev = "HEAD"
			}
			want, err := strconv.Atoi(strings.TrimSpace(f.git("", "rev-list", "--count", rev)))
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // counted, then remembered
				got, err := CountCommits(f.dir, ref)
				if err != nil || got != want {
					t.Errorf("CountCommits(%q) = %d, %v; want %d", ref, got, err, want)
				}
			}
		}
	}
	t.Run("Commits", func(t *testing.T) {
		f := newFixture(t)
		check(t, f, []string{"", "HEAD", "main", "feature", "v1.0", "nested", "dup", f.rev("main~1")})
	})
	t.Run("CommitGraph", func(t *testing.T) {
		// A copy of its own, so that the repository is first opened
		// with its graph.
		f := newFixture(t)
		f.git("", "commit-graph", "write", "--reachable")
		f.git(f.work, "checkout", "-q", "-b", "after-graph", "main")
		f.commit("after-graph", 10)
		f.git(f.work, "checkout", "-q", "main")
		check(t, f, []string{"main", "feature", "v1.0", "after-graph"})
	})
	t.Run("Errors", func(t *testing.T) {
		f := newFixture(t)
		if _, err := CountCommits(f.dir, "no-such-ref"); !errors.Is(err, ErrNotFound) {
			t.Errorf("CountCommits(no-such-ref) = %v; want ErrNotFound", err)
		}
		e := newEmpty(t)
		if n, err := CountCommits(e.dir, ""); err != nil || n != 0 {
			t.Errorf("CountCommits of an empty repository = %d, %v; want 0", n, err)
		}
	})
}
