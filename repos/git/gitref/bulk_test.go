package gitref

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestBulkCreate checks a transaction of bulkCreate new refs or more: they
// land in packed-refs in one write, with the peeled line of an annotated
// tag, and git sees every ref, old and new, as the transaction set it.
// Updates and deletes in the same transaction and the branch HEAD names
// keep the loose path and their reflog; a name another process holds
// locked fails alone; a bulk-created ref deleted later keeps a log to
// restore it from.
func TestBulkCreate(t *testing.T) {
	f := newLogFixture(t)
	main, feature := plumbing.NewHash(f.rev("main")), plumbing.NewHash(f.rev("feature"))
	annotated := plumbing.NewHash(f.rev("refs/tags/v1.0"))
	before := f.showRef()

	// main is HEAD's branch: move HEAD to a name the push creates, so that
	// one creation must stay loose.
	f.git("", "symbolic-ref", "HEAD", "refs/heads/bulk/head")
	busy := "refs/heads/bulk/busy"
	if err := os.MkdirAll(filepath.Dir(refPath(f.dir, busy)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(refPath(f.dir, busy)+".lock", nil, 0o644); err != nil {
		t.Fatal(err)
	}

	tx := Begin(f.dir)
	tx.Log(Actor{User: "mirror"}, "push")
	want := map[string]plumbing.Hash{}
	add := func(name string, old, new plumbing.Hash) {
		t.Helper()
		if err := tx.Update(name, old, new); err != nil {
			t.Fatalf("Update(%s) = %v", name, err)
		}
		want[name] = new
	}
	for i := range 2 * bulkCreate {
		add(fmt.Sprintf("refs/heads/bulk/%04d", i), plumbing.ZeroHash, []plumbing.Hash{main, feature}[i%2])
	}
	add("refs/tags/bulk-annotated", plumbing.ZeroHash, annotated)
	add("refs/heads/bulk/head", plumbing.ZeroHash, main)
	add("refs/heads/main", main, feature)
	add("refs/heads/packedonly", plumbing.NewHash(f.rev("packedonly")), plumbing.ZeroHash)
	if err := tx.Update(busy, plumbing.ZeroHash, main); !errors.Is(err, ErrLocked) {
		t.Fatalf("Update(%s) under a foreign lock = %v; want ErrLocked", busy, err)
	}
	if failed := tx.Commit(); len(failed) > 0 {
		t.Fatalf("Commit = %v", failed)
	}
	tx.Close()
	if err := os.Remove(refPath(f.dir, busy) + ".lock"); err != nil {
		t.Fatal(err)
	}

	// git agrees on every ref: the new ones, the moved and deleted ones,
	// and those the transaction left alone.
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(f.showRef()), "\n") {
		id, name, _ := strings.Cut(line, " ")
		got[name] = id
	}
	for _, line := range strings.Split(strings.TrimSpace(before), "\n") {
		id, name, _ := strings.Cut(line, " ")
		if _, touched := want[name]; !touched {
			want[name] = plumbing.NewHash(id)
		}
	}
	for name, h := range want {
		if h.IsZero() {
			if _, ok := got[name]; ok {
				t.Errorf("%s is still there after its delete", name)
			}
			continue
		}
		if got[name] != h.String() {
			t.Errorf("%s = %q; want %s", name, got[name], h)
		}
	}
	if _, ok := got[busy]; ok {
		t.Errorf("%s was created under another process's lock", busy)
	}

	// The bulk went into packed-refs, with the tag peeled; no loose file
	// or directory of it is left.
	packed, err := os.ReadFile(filepath.Join(f.dir, "packed-refs"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(packed), packedHeader) {
		t.Errorf("packed-refs starts %q; want the header %q", strings.SplitN(string(packed), "\n", 2)[0], packedHeader)
	}
	if !strings.Contains(string(packed), annotated.String()+" refs/tags/bulk-annotated\n^"+f.rev("refs/tags/v1.0^{}")+"\n") {
		t.Errorf("packed-refs lacks refs/tags/bulk-annotated with its peeled line:\n%s", packed)
	}
	for name := range want {
		if !strings.HasPrefix(name, "refs/heads/bulk/") || name == "refs/heads/bulk/head" {
			continue
		}
		if _, err := os.Lstat(refPath(f.dir, name)); err == nil {
			t.Errorf("%s is a loose file; want it packed", name)
		}
		if !strings.Contains(string(packed), " "+name+"\n") {
			t.Errorf("%s is not in packed-refs", name)
		}
	}
	if out := strings.TrimSpace(f.git("", "for-each-ref", "--format=%(refname) %(*objectname)", "refs/tags/bulk-annotated")); out != "refs/tags/bulk-annotated "+f.rev("refs/tags/v1.0^{}") {
		t.Errorf("git peels the new tag as %q", out)
	}

	// The loose path kept its reflog; the bulk has none, until a delete
	// records the value it removes, which restores the ref.
	for _, name := range []string{"refs/heads/main", "refs/heads/bulk/head", "HEAD"} {
		if log, err := ReadReflog(f.dir, name); err != nil || len(log) != 1 {
			t.Errorf("reflog of %s = %v, %v; want one entry", name, log, err)
		}
	}
	if _, err := os.Lstat(logPath(f.dir, "refs/heads/bulk/0001")); err == nil {
		t.Errorf("a bulk creation wrote a reflog file")
	}
	if err := DeleteBranch(f.dir, "bulk/0001", Actor{User: "dev"}); err != nil {
		t.Fatal(err)
	}
	log, err := ReadReflog(f.dir, "refs/heads/bulk/0001")
	if err != nil || len(log) != 1 || log[0].Old != feature {
		t.Fatalf("reflog after deleting bulk/0001 = %v, %v; want its deletion from %s", log, err, feature)
	}
	if _, err := RestoreRef(f.dir, "refs/heads/bulk/0001", log[0].Old, Actor{User: "dev"}); err != nil {
		t.Fatal(err)
	}
	if got := f.rev("refs/heads/bulk/0001"); got != feature.String() {
		t.Errorf("restored bulk/0001 = %s; want %s", got, feature)
	}
	assertNoLocks(t, f.dir)
	f.fsck()
}

// TestBulkCreateBelowThreshold checks that a push of fewer new refs than
// bulkCreate writes loose refs with their reflogs, as before.
func TestBulkCreateBelowThreshold(t *testing.T) {
	f := newLogFixture(t)
	main := plumbing.NewHash(f.rev("main"))
	tx := Begin(f.dir)
	for i := range bulkCreate - 1 {
		if err := tx.Update(fmt.Sprintf("refs/heads/few/%03d", i), plumbing.ZeroHash, main); err != nil {
			t.Fatal(err)
		}
	}
	if failed := tx.Commit(); len(failed) > 0 {
		t.Fatal(failed)
	}
	tx.Close()
	for _, name := range []string{"refs/heads/few/000", fmt.Sprintf("refs/heads/few/%03d", bulkCreate-2)} {
		if _, err := os.Lstat(refPath(f.dir, name)); err != nil {
			t.Errorf("%s is not loose: %v", name, err)
		}
		if log, err := ReadReflog(f.dir, name); err != nil || len(log) != 1 {
			t.Errorf("reflog of %s = %v, %v; want its creation", name, log, err)
		}
	}
	if got := f.rev(fmt.Sprintf("refs/heads/few/%03d", bulkCreate-2)); got != main.String() {
		t.Errorf("few/%03d = %s; want %s", bulkCreate-2, got, main)
	}
	assertNoLocks(t, f.dir)
}
