package gitref

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func TestCheckRefName(t *testing.T) {
	noRepo := &fixture{t: t, home: t.TempDir()}
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"refs/heads/main", true},
		{"refs/heads/feature/x-1", true},
		{"refs/tags/v1.0", true},
		{"refs/heads/ünïcode", true},
		{"main", false},
		{"HEAD", false},
		{"refs/heads/", false},
		{"refs/heads//x", false},
		{"refs/heads/.hidden", false},
		{"refs/heads/x.", false},
		{"refs/heads/x.lock", false},
		{"refs/heads/x.lock/y", false},
		{"refs/heads/a..b", false},
		{"refs/../config", false},
		{"refs/heads/a@{1}", false},
		{"refs/heads/a\x7fb", false},
		{"refs/heads/a\tb", false},
		{"refs/heads/a b", false},
		{"refs/heads/a~1", false},
		{"refs/heads/a^", false},
		{"refs/heads/a:b", false},
		{"refs/heads/a?", false},
		{"refs/heads/a*", false},
		{"refs/heads/a[", false},
		{"refs/heads/a\\b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckRefName(tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckRefName(%q) = %v; want ok=%v", tc.name, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("CheckRefName(%q) = %v; want an ErrInvalid", tc.name, err)
			}
			// git agrees (names without "refs/" it judges otherwise,
			// but depot only stores full refs).
			if strings.HasPrefix(tc.name, "refs/") {
				_, gerr := noRepo.run(noRepo.home, nil, "check-ref-format", tc.name)
				if (gerr == nil) != tc.ok {
					t.Errorf("git check-ref-format %q: %v; want ok=%v", tc.name, gerr, tc.ok)
				}
			}
		})
	}
}

func TestCheckBranchName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"main", true},
		{"feature/x", true},
		{"v1.0", true},
		{"", false},
		{"HEAD", false},
		{"-rf", false},
		{"a..b", false},
		{"x.lock", false},
		{"a b", false},
		{"a/", false},
		{".x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckBranchName(tc.name); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Errorf("CheckBranchName(%q) = %v; want ok=%v", tc.name, err, tc.ok)
			}
		})
	}
}

func TestReadRef(t *testing.T) {
	f := newFixture(t)
	f.git("", "symbolic-ref", "refs/heads/sym", "refs/heads/main")
	for _, tc := range []struct {
		name    string
		wantErr error
	}{
		{"refs/heads/main", nil},       // loose
		{"refs/heads/packedonly", nil}, // packed only
		{"refs/heads/feature", nil},    // loose shadowing an older packed value
		{"refs/tags/v1.0", nil},        // annotated: the tag object
		{"refs/heads/nope", ErrNotFound},
		{"refs/heads/sym", ErrSymref},
		{"refs/heads/a..b", ErrInvalid},
		{"HEAD", ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ReadRef(f.dir, tc.name)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ReadRef(%q) = %v, %v; want %v", tc.name, h, err, tc.wantErr)
				}
				return
			}
			if err != nil || h.String() != f.rev(tc.name) {
				t.Errorf("ReadRef(%q) = %v, %v; want %s", tc.name, h, err, f.rev(tc.name))
			}
		})
	}
}

func TestListRefs(t *testing.T) {
	f := newFixture(t)
	refs, err := ListRefs(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for name, h := range refs {
		got = append(got, h.String()+" "+name)
	}
	want := strings.Fields(f.showRef())
	if strings.Join(sortedLines(got), "\n") != strings.Join(pairs(want), "\n") {
		t.Errorf("ListRefs = %q; want %q", sortedLines(got), pairs(want))
	}
}

func TestUpdateRef(t *testing.T) {
	f := newFixture(t)
	h := func(rev string) plumbing.Hash { return plumbing.NewHash(f.rev(rev)) }
	main, first := h("main"), h("v0.1")
	f.git("", "symbolic-ref", "refs/heads/sym", "refs/heads/main")
	for _, tc := range []struct {
		name     string
		ref      string
		old, new plumbing.Hash
		wantErr  []error // all must match
		want     string  // ref afterwards, "" = absent; unchecked on error
	}{
		{name: "OK", ref: "refs/heads/main", old: main, new: first, want: first.String()},
		{name: "Create", ref: "refs/heads/new/branch", old: plumbing.ZeroHash, new: main, want: main.String()},
		{name: "DeleteLoose", ref: "refs/heads/loose", old: h("loose"), new: plumbing.ZeroHash},
		{name: "UpdatePackedOnly", ref: "refs/heads/packedonly", old: h("packedonly"), new: main, want: main.String()},
		{name: "DeletePackedOnly", ref: "refs/tags/v1.0", old: h("refs/tags/v1.0"), new: plumbing.ZeroHash},
		{name: "DeleteLooseAndPacked", ref: "refs/heads/feature", old: h("feature"), new: plumbing.ZeroHash},
		{name: "ErrStale", ref: "refs/heads/dup", old: first, new: main, wantErr: []error{ErrStale}},
		{name: "ErrStaleExists", ref: "refs/heads/dup", old: plumbing.ZeroHash, new: main, wantErr: []error{ErrStale, ErrExists}},
		{name: "ErrStaleNotFound", ref: "refs/heads/nope", old: first, new: main, wantErr: []error{ErrStale, ErrNotFound}},
		{name: "ErrConflictChild", ref: "refs/heads/dup/sub", old: plumbing.ZeroHash, new: main, wantErr: []error{ErrConflict, ErrExists}},
		{name: "ErrConflictParent", ref: "refs/tags", old: plumbing.ZeroHash, new: main, wantErr: []error{ErrConflict}},
		{name: "ErrConflictPrefix", ref: "refs/heads/new", old: plumbing.ZeroHash, new: main, wantErr: []error{ErrConflict}},
		{name: "ErrSymref", ref: "refs/heads/sym", old: main, new: first, wantErr: []error{ErrSymref, ErrInvalid}},
		{name: "ErrInvalidDots", ref: "refs/heads/a..b", new: main, wantErr: []error{ErrInvalid}},
		{name: "ErrInvalidEscape", ref: "refs/../../x", new: main, wantErr: []error{ErrInvalid}},
		{name: "ErrInvalidHEAD", ref: "HEAD", old: main, new: first, wantErr: []error{ErrInvalid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.showRef()
			err := UpdateRef(f.dir, tc.ref, tc.old, tc.new)
			if len(tc.wantErr) > 0 {
				for _, w := range tc.wantErr {
					if !errors.Is(err, w) {
						t.Errorf("UpdateRef(%s) = %v; want %v", tc.ref, err, w)
					}
				}
				if after := f.showRef(); after != before {
					t.Errorf("refs changed on error:\n%s\nwant\n%s", after, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("UpdateRef(%s) = %v", tc.ref, err)
			}
			got, _ := f.run("", nil, "rev-parse", "--verify", "-q", tc.ref)
			if strings.TrimSpace(got) != tc.want {
				t.Errorf("after UpdateRef, %s = %q; want %q", tc.ref, got, tc.want)
			}
			packed, _ := os.ReadFile(filepath.Join(f.dir, "packed-refs"))
			if tc.new.IsZero() && strings.Contains(string(packed), " "+tc.ref+"\n") {
				t.Errorf("deleted %s still in packed-refs:\n%s", tc.ref, packed)
			}
			f.fsck()
		})
	}
	// Deleting v1.0 from packed-refs dropped its peeled line too, and kept
	// the others', which git would otherwise report as corrupt.
	packed, _ := os.ReadFile(filepath.Join(f.dir, "packed-refs"))
	if n := strings.Count(string(packed), "\n^"); n != 2 {
		t.Errorf("packed-refs has %d peeled lines; want 2 (nested, treetag):\n%s", n, packed)
	}
	assertNoLocks(t, f.dir)
}

// TestUpdateRefForeignLock holds a ref's lock as another git process
// would: the update is refused with ErrLocked and the lock left alone.
func TestUpdateRefForeignLock(t *testing.T) {
	f := newFixture(t)
	main := plumbing.NewHash(f.rev("main"))
	for _, tc := range []struct {
		name string
		lock string
		ref  string
		new  plumbing.Hash
	}{
		{"Ref", "refs/heads/main.lock", "refs/heads/main", plumbing.NewHash(f.rev("v0.1"))},
		{"PackedRefsOnDelete", "packed-refs.lock", "refs/heads/main", plumbing.ZeroHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lock := filepath.Join(f.dir, tc.lock)
			if err := os.WriteFile(lock, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(lock)
			if err := UpdateRef(f.dir, tc.ref, main, tc.new); !errors.Is(err, ErrLocked) {
				t.Errorf("UpdateRef with %s held = %v; want ErrLocked", tc.lock, err)
			}
			if _, err := os.Stat(lock); err != nil {
				t.Errorf("foreign lock removed: %v", err)
			}
			if got := f.rev(tc.ref); got != main.String() {
				t.Errorf("%s = %s; want %s", tc.ref, got, main)
			}
		})
	}
}

// TestUpdateRefConcurrent races updates that all start from the same old
// value: exactly one wins, every other loses with ErrStale.
func TestUpdateRefConcurrent(t *testing.T) {
	f := newFixture(t)
	old := plumbing.NewHash(f.rev("main"))
	var targets []plumbing.Hash
	for _, rev := range []string{"main~1", "main~2", "main~3", "feature", "feature~1", "v0.1", "dup", "loose"} {
		targets = append(targets, plumbing.NewHash(f.rev(rev+"^{commit}")))
	}
	for _, tc := range []struct {
		name string
		ref  string
		git  bool // half of the racers are git update-ref processes
	}{
		{"Goroutines", "refs/heads/main", false},
		{"GoroutinesPackedOnly", "refs/heads/packedonly", false},
		{"WithGitUpdateRef", "refs/heads/main", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := old
			if tc.ref != "refs/heads/main" {
				old = plumbing.NewHash(f.rev(tc.ref))
			} else {
				f.git("", "update-ref", tc.ref, old.String())
			}
			errs := make([]error, len(targets))
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, target := range targets {
				wg.Go(func() {
					<-start
					if tc.git && i%2 == 1 {
						out, err := f.run("", nil, "update-ref", tc.ref, target.String(), old.String())
						if err != nil {
							err = fmt.Errorf("%w: %s", ErrStale, out)
						}
						errs[i] = err
						return
					}
					errs[i] = UpdateRef(f.dir, tc.ref, old, target)
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Errorf("racers %d and %d both won", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, ErrStale) && !errors.Is(err, ErrLocked):
					t.Errorf("racer %d: %v; want ErrStale", i, err)
				case !tc.git && !errors.Is(err, ErrStale):
					t.Errorf("racer %d: %v; want ErrStale (in-process racers queue)", i, err)
				}
			}
			if winner < 0 {
				t.Fatalf("no winner: %v", errs)
			}
			if got := f.rev(tc.ref); got != targets[winner].String() {
				t.Errorf("%s = %s; want the winner's %s", tc.ref, got, targets[winner])
			}
			assertNoLocks(t, f.dir)
			f.fsck()
		})
	}
}

// TestTx checks a transaction of several refs: nothing is written before
// Commit, Close without Commit leaves every ref alone, and the lock of a
// ref in an open transaction stops git.
func TestTx(t *testing.T) {
	f := newFixture(t)
	main, feature := plumbing.NewHash(f.rev("main")), plumbing.NewHash(f.rev("feature"))
	t.Run("CloseWithoutCommit", func(t *testing.T) {
		before := f.showRef()
		tx := Begin(f.dir)
		if err := tx.Update("refs/heads/main", main, feature); err != nil {
			t.Fatal(err)
		}
		if err := tx.Update("refs/heads/packedonly", plumbing.NewHash(f.rev("packedonly")), plumbing.ZeroHash); err != nil {
			t.Fatal(err)
		}
		if out, err := f.run("", nil, "update-ref", "refs/heads/main", feature.String()); err == nil {
			t.Errorf("git update-ref succeeded under our lock:\n%s", out)
		}
		tx.Close()
		tx.Close()
		if after := f.showRef(); after != before {
			t.Errorf("refs changed:\n%s\nwant\n%s", after, before)
		}
		assertNoLocks(t, f.dir)
	})
	t.Run("Commit", func(t *testing.T) {
		tx := Begin(f.dir)
		defer tx.Close()
		before, err := tx.Refs()
		if err != nil {
			t.Fatal(err)
		}
		ups := []struct {
			name     string
			old, new plumbing.Hash
		}{
			{"refs/heads/main", main, feature},
			{"refs/heads/feature", feature, main},
			{"refs/heads/packedonly", before["refs/heads/packedonly"], plumbing.ZeroHash},
			{"refs/tags/new", plumbing.ZeroHash, main},
		}
		for _, u := range ups {
			if err := tx.Update(u.name, u.old, u.new); err != nil {
				t.Fatalf("Update(%s) = %v", u.name, err)
			}
		}
		if err := tx.Update("refs/heads/main", main, feature); !errors.Is(err, ErrLocked) {
			t.Errorf("second Update of main = %v; want ErrLocked", err)
		}
		if got := f.rev("main"); got != main.String() {
			t.Errorf("main moved before Commit: %s", got)
		}
		if failed := tx.Commit(); len(failed) != 0 {
			t.Fatalf("Commit = %v", failed)
		}
		for _, u := range ups {
			got, _ := f.run("", nil, "rev-parse", "--verify", "-q", u.name)
			want := u.new.String()
			if u.new.IsZero() {
				want = ""
			}
			if strings.TrimSpace(got) != want {
				t.Errorf("%s = %q; want %q", u.name, got, want)
			}
		}
		if refs, _ := tx.Refs(); refs["refs/heads/main"] != main {
			t.Errorf("Refs after Commit changed: main = %s; want the value before, %s", refs["refs/heads/main"], main)
		}
	})
	assertNoLocks(t, f.dir)
	f.fsck()
}

func assertNoLocks(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".lock") {
			t.Errorf("lock file left behind: %s", p)
		}
		return nil
	})
}

func sortedLines(lines []string) []string {
	out := append([]string(nil), lines...)
	sort.Strings(out)
	return out
}

// pairs joins the fields of show-ref output back into "id name" lines.
func pairs(fields []string) []string {
	var out []string
	for i := 0; i+1 < len(fields); i += 2 {
		out = append(out, fields[i]+" "+fields[i+1])
	}
	return sortedLines(out)
}
