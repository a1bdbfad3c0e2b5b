package repos_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/projects"
	"github.com/depot/depot/tokens/sqlite"
)

// TestCreateWithRecordIgnoresCase: a repository name taken in any case,
// recorded or placed by hand, is refused, and a refused create leaves no
// record behind; a record is never replaced.
func TestCreateWithRecordIgnoresCase(t *testing.T) {
	ctx := context.Background()
	_, store := openStores(t)
	d, err := repos.OpenDir(filepath.Join(t.TempDir(), "repos"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateWithRecord(ctx, store, "tester", "cs", repos.CreateOptions{}, &repos.Info{Visibility: repos.Private, Description: "first"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create("tester", "Hand", repos.CreateOptions{}); err != nil { // placed by hand: no record
		t.Fatal(err)
	}
	for _, name := range []string{"cs", "CS", "hand", "HAND"} {
		_, err := d.CreateWithRecord(ctx, store, "tester", name, repos.CreateOptions{}, &repos.Info{Visibility: repos.Public})
		if !errors.Is(err, repos.ErrExists) {
			t.Errorf("CreateWithRecord(tester/%s) = %v; want ErrExists", name, err)
		}
	}
	if info, err := store.RepoInfo(ctx, "tester", "cs"); err != nil || info.Name != "cs" || info.Visibility != repos.Private || info.Description != "first" {
		t.Errorf("record of tester/cs = %+v, %v; want the first one, untouched", info, err)
	}
	if info, err := store.RepoInfo(ctx, "tester", "hand"); err != nil || info.Name != "" {
		t.Errorf("record of tester/hand = %+v, %v; want none left by the refused creates", info, err)
	}
	list, err := d.List("tester")
	if err != nil || len(list) != 2 {
		t.Errorf("List(tester) = %v, %v; want cs and Hand only", list, err)
	}
	p := repos.NewPolicy(store, d)
	for _, tc := range []struct{ owner, name, want string }{
		{"TESTER", "CS", "cs"},     // recorded: the name it was created with
		{"tester", "Hand", "Hand"}, // placed by hand: as given
		{"tester", "hand", "hand"},
	} {
		if _, name, _, err := p.Canonical(ctx, tc.owner, tc.name); err != nil || name != tc.want {
			t.Errorf("Canonical(%s/%s) = %q, %v; want %q", tc.owner, tc.name, name, err, tc.want)
		}
	}
}

// failingRecords is a repos.Records whose every call fails, as a store
// that has gone away does; it counts the calls.
type failingRecords struct{ creates, deletes int }

var errStore = errors.New("store unavailable")

func (f *failingRecords) CreateRepoInfo(context.Context, string, string, *repos.Info) error {
	f.creates++
	return errStore
}

func (f *failingRecords) DeleteRepoInfo(context.Context, string, string) error {
	f.deletes++
	return errStore
}

// TestCreateWithRecordFailingRecord: a repository is its directory and
// its record or neither. When the record cannot be written no directory
// is left (none is made: the record goes first); when the directory
// cannot be made the record is taken back; when the record cannot be
// deleted the repository stays whole.
func TestCreateWithRecordFailingRecord(t *testing.T) {
	ctx := context.Background()
	d, err := repos.OpenDir(filepath.Join(t.TempDir(), "repos"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("RecordFails", func(t *testing.T) {
		recs := &failingRecords{}
		_, err := d.CreateWithRecord(ctx, recs, "tester", "lost", repos.CreateOptions{}, &repos.Info{Visibility: repos.Private})
		if !errors.Is(err, errStore) || recs.creates != 1 {
			t.Fatalf("CreateWithRecord = %v after %d record writes; want the store's error after one", err, recs.creates)
		}
		if _, err := d.Open("tester", "lost"); !errors.Is(err, repos.ErrNotFound) {
			t.Errorf("after a failed record, Open(tester/lost) = %v; want ErrNotFound", err)
		}
		if entries, _ := os.ReadDir(filepath.Join(d.Root(), "tester")); len(entries) != 0 {
			t.Errorf("after a failed record, tester/ holds %v; want nothing", entries)
		}
	})
	t.Run("RecordFailsOnClosedStore", func(t *testing.T) {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "closed.db"))
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		closed := projects.New(db)
		if _, err := d.CreateWithRecord(ctx, closed, "tester", "closed", repos.CreateOptions{}, &repos.Info{Visibility: repos.Private}); err == nil {
			t.Fatal("CreateWithRecord on a closed database = nil; want an error")
		}
		if _, err := os.Stat(filepath.Join(d.Root(), "tester", "closed.git")); !os.IsNotExist(err) {
			t.Errorf("after a failed record, tester/closed.git: %v; want no directory", err)
		}
	})
	t.Run("DirectoryFailsRecordTakenBack", func(t *testing.T) {
		_, store := openStores(t)
		if _, err := d.Create("tester", "Taken", repos.CreateOptions{}); err != nil { // on disk, no record
			t.Fatal(err)
		}
		_, err := d.CreateWithRecord(ctx, store, "tester", "taken", repos.CreateOptions{}, &repos.Info{Visibility: repos.Public})
		if !errors.Is(err, repos.ErrExists) {
			t.Fatalf("CreateWithRecord(tester/taken) = %v; want ErrExists", err)
		}
		if info, err := store.RepoInfo(ctx, "tester", "taken"); err != nil || info.Name != "" {
			t.Errorf("record of tester/taken = %+v, %v; want none after the directory failed", info, err)
		}
	})
	t.Run("DeleteRecordFailsRepositoryStays", func(t *testing.T) {
		r, err := d.Create("tester", "kept", repos.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		recs := &failingRecords{}
		if err := d.DeleteWithRecord(ctx, recs, r); !errors.Is(err, errStore) || recs.deletes != 1 {
			t.Fatalf("DeleteWithRecord = %v; want the store's error", err)
		}
		if _, err := d.Open("tester", "kept"); err != nil {
			t.Errorf("after a failed record delete, Open(tester/kept) = %v; want the repository whole", err)
		}
	})
}
