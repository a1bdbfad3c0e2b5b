package gitref

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// newLogFixture is newFixture without the reflogs git wrote while
// building it.
func newLogFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	if err := os.RemoveAll(filepath.Join(f.dir, "logs")); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReflogRecordsUpdates(t *testing.T) {
	f := newLogFixture(t)
	main, second := plumbing.NewHash(f.rev("main")), plumbing.NewHash(f.rev("main~2"))
	pusher := Actor{User: "tester", TokenID: "tok1", Addr: "10.1.2.3"}
	if _, err := CreateBranch(f.dir, "topic", "main", Actor{User: "dev", Addr: "::1"}); err != nil {
		t.Fatal(err)
	}
	tx := Begin(f.dir)
	tx.Log(pusher, "push")
	if err := tx.Update("refs/heads/main", main, second); err != nil {
		t.Fatal(err)
	}
	if err := tx.Update("refs/heads/topic", main, second); err != nil {
		t.Fatal(err)
	}
	if failed := tx.Commit(); len(failed) > 0 {
		t.Fatal(failed)
	}
	tx.Close()
	if err := DeleteBranch(f.dir, "topic", Actor{}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, ref string
		want      []ReflogEntry
	}{
		{name: "Main", ref: "refs/heads/main", want: []ReflogEntry{
			{Ref: "refs/heads/main", Old: main, New: second, By: Actor{User: "tester", Email: "tester@depot", TokenID: "tok1", Addr: "10.1.2.3"}, Message: "push"},
		}},
		{name: "HEAD", ref: "HEAD", want: []ReflogEntry{
			{Ref: "HEAD", Old: main, New: second, By: Actor{User: "tester", Email: "tester@depot", TokenID: "tok1", Addr: "10.1.2.3"}, Message: "push"},
		}},
		{name: "DeletedKeepsItsLog", ref: "refs/heads/topic", want: []ReflogEntry{
			{Ref: "refs/heads/topic", Old: second, By: Actor{User: "depot", Email: "depot@depot"}, Message: "branch: deleted"},
			{Ref: "refs/heads/topic", Old: main, New: second, By: Actor{User: "tester", Email: "tester@depot", TokenID: "tok1", Addr: "10.1.2.3"}, Message: "push"},
			{Ref: "refs/heads/topic", New: main, By: Actor{User: "dev", Email: "dev@depot", Addr: "::1"}, Message: "branch: Created from main"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadReflog(f.dir, tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ReadReflog(%s) = %d entries %+v; want %d", tc.ref, len(got), got, len(tc.want))
			}
			for i := range got {
				if time.Since(got[i].Time) > time.Minute {
					t.Errorf("entry %d time %v; want now", i, got[i].Time)
				}
				got[i].Time = time.Time{}
				if got[i] != tc.want[i] {
					t.Errorf("entry %d = %+v; want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
	all, err := ReadReflog(f.dir, "")
	if err != nil || len(all) != 4 {
		t.Errorf("ReadReflog(all) = %d entries, %v; want 4 (HEAD's left out)", len(all), err)
	}
	// git itself reads the log depot wrote.
	out := f.git("", "reflog", "show", "--format=%H %gs", "refs/heads/main")
	if want := second.String() + " push [token tok1, from 10.1.2.3]\n"; out != want {
		t.Errorf("git reflog = %q; want %q", out, want)
	}
	assertNoLocks(t, f.dir)
}

func TestReflogMovesKeptLogAside(t *testing.T) {
	for _, tc := range []struct {
		name, first, second string
	}{
		{name: "FileInTheWay", first: "a", second: "a/b"},
		{name: "DirectoryInTheWay", first: "c/d", second: "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newLogFixture(t)
			if _, err := CreateBranch(f.dir, tc.first, "main", Actor{}); err != nil {
				t.Fatal(err)
			}
			if err := DeleteBranch(f.dir, tc.first, Actor{}); err != nil {
				t.Fatal(err)
			}
			if _, err := CreateBranch(f.dir, tc.second, "main", Actor{}); err != nil {
				t.Fatalf("CreateBranch(%s) after deleting %s = %v", tc.second, tc.first, err)
			}
			for ref, n := range map[string]int{"refs/heads/" + tc.first: 2, "refs/heads/" + tc.second: 1} {
				got, err := ReadReflog(f.dir, ref)
				if err != nil || len(got) != n {
					t.Errorf("ReadReflog(%s) = %+v, %v; want %d entries", ref, got, err, n)
				}
			}
			f.git("", "reflog", "show", "refs/heads/"+tc.second)
		})
	}
}

func TestExpireReflogs(t *testing.T) {
	f := newLogFixture(t)
	main := plumbing.NewHash(f.rev("main"))
	if _, err := CreateBranch(f.dir, "gone/deep", "main", Actor{}); err != nil {
		t.Fatal(err)
	}
	if err := DeleteBranch(f.dir, "gone/deep", Actor{}); err != nil {
		t.Fatal(err)
	}
	if err := UpdateRef(f.dir, "refs/heads/main", main, plumbing.NewHash(f.rev("main~1"))); err != nil {
		t.Fatal(err)
	}
	objs, err := ReflogObjects(f.dir)
	if err != nil || len(objs) != 2 {
		t.Fatalf("ReflogObjects = %v, %v; want main and main~1", objs, err)
	}
	if n, err := ExpireReflogs(f.dir, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("ExpireReflogs(an hour ago) = %d, %v; want 0", n, err)
	}
	if n, err := ExpireReflogs(f.dir, time.Now().Add(time.Hour)); err != nil || n != 4 {
		t.Errorf("ExpireReflogs(in an hour) = %d, %v; want 4 (main, HEAD, two of gone/deep)", n, err)
	}
	if objs, err := ReflogObjects(f.dir); err != nil || len(objs) != 0 {
		t.Errorf("ReflogObjects after expiry = %v, %v; want none", objs, err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "logs", "refs", "heads", "gone")); !os.IsNotExist(err) {
		t.Errorf("the emptied log of a deleted branch is left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "logs", "refs", "heads", "main")); err != nil {
		t.Errorf("the log of an existing branch is removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "refs", "heads", "gone")); !os.IsNotExist(err) {
		t.Errorf("expiry left a directory for a deleted ref: %v", err)
	}
	assertNoLocks(t, f.dir)
}

func TestRestoreRef(t *testing.T) {
	f := newLogFixture(t)
	main := plumbing.NewHash(f.rev("main"))
	old := plumbing.NewHash(f.rev("main~1"))
	tree := plumbing.NewHash(f.rev("main^{tree}"))
	if err := DeleteBranch(f.dir, "feature", Actor{}); err != nil {
		t.Fatal(err)
	}
	// A commit kept while its parent was pruned.
	orphan := filepath.Join(t.TempDir(), "commit")
	os.WriteFile(orphan, []byte("tree "+tree.String()+"\nparent "+strings.Repeat("cd", 20)+
		"\nauthor A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\nbroken\n"), 0o644)
	broken := plumbing.NewHash(strings.TrimSpace(f.git("", "hash-object", "-t", "commit", "-w", orphan)))
	for _, tc := range []struct {
		name, ref string
		to        plumbing.Hash
		wantOld   plumbing.Hash
		wantErr   error
	}{
		{name: "Existing", ref: "refs/heads/main", to: old, wantOld: main},
		{name: "Deleted", ref: "refs/heads/feature", to: main},
		{name: "Unchanged", ref: "refs/heads/main", to: old, wantOld: old},
		{name: "ErrNotFoundGone", ref: "refs/heads/main", to: plumbing.NewHash(strings.Repeat("ab", 20)), wantErr: ErrNotFound},
		{name: "ErrNotFoundBrokenHistory", ref: "refs/heads/main", to: broken, wantErr: ErrNotFound},
		{name: "ErrInvalidTreeOnBranch", ref: "refs/heads/main", to: tree, wantErr: ErrInvalid},
		{name: "ErrInvalidName", ref: "refs/heads/a..b", to: main, wantErr: ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.showRef()
			prev, err := RestoreRef(f.dir, tc.ref, tc.to, Actor{User: "admin"})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("RestoreRef(%s, %s) = %v; want %v", tc.ref, tc.to, err, tc.wantErr)
				}
				if after := f.showRef(); after != before {
					t.Errorf("refs changed on error:\n%s", after)
				}
				return
			}
			if err != nil || prev != tc.wantOld {
				t.Fatalf("RestoreRef(%s, %s) = %s, %v; want %s", tc.ref, tc.to, prev, err, tc.wantOld)
			}
			if got := f.rev(tc.ref); got != tc.to.String() {
				t.Errorf("%s = %s; want %s", tc.ref, got, tc.to)
			}
			log, err := ReadReflog(f.dir, tc.ref)
			if err != nil || len(log) == 0 || log[0].Message != "restore-ref: back to "+tc.to.String() || log[0].By.User != "admin" {
				t.Errorf("newest entry of %s = %+v, %v; want the restore by admin", tc.ref, log, err)
			}
		})
	}
	assertNoLocks(t, f.dir)
	f.fsck()
}

func TestReflogDefaultBranchMoves(t *testing.T) {
	f := newLogFixture(t)
	main, feature := plumbing.NewHash(f.rev("main")), plumbing.NewHash(f.rev("feature"))
	for _, tc := range []struct {
		name, branch string
		want         []ReflogEntry // HEAD's log afterwards, newest first
	}{
		{name: "ToAnotherCommit", branch: "feature", want: []ReflogEntry{
			{Ref: "HEAD", Old: main, New: feature, By: Actor{User: "admin", Email: "admin@depot", Addr: "10.0.0.1"}, Message: "default branch: moving from main to feature"},
		}},
		{name: "Unchanged", branch: "feature"},
		{name: "ToUnbornBranch", branch: "future"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := SetDefaultBranch(f.dir, tc.branch, Actor{User: "admin", Addr: "10.0.0.1"}); err != nil {
				t.Fatal(err)
			}
			got, err := ReadReflog(f.dir, "HEAD")
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(got) != 1 {
					t.Errorf("HEAD's log = %+v; want the first move only", got)
				}
				return
			}
			got[0].Time = time.Time{}
			if len(got) != 1 || got[0] != tc.want[0] {
				t.Errorf("HEAD's log = %+v; want %+v", got, tc.want)
			}
			if out := f.git("", "reflog", "show", "--format=%H %gs", "HEAD"); !strings.HasPrefix(out, tc.want[0].New.String()+" "+tc.want[0].Message) {
				t.Errorf("git reflog show HEAD = %q", out)
			}
		})
	}
}
