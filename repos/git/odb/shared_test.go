package odb

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func git(tb testing.TB, dir, stdin string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+tb.TempDir())
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// newBare makes an empty bare repository and returns its directory.
func newBare(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "r.git")
	git(tb, tb.TempDir(), "", "init", "-q", "--bare", dir)
	return dir
}

// openDB opens the store of dir for the test.
func openDB(tb testing.TB, dir string) *DB {
	tb.Helper()
	db, err := Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func commitPacked(tb testing.TB, dir, msg string) plumbing.Hash {
	tb.Helper()
	git(tb, dir, "commit refs/heads/"+msg+"\ncommitter T <t@example.com> 1700000000 +0000\ndata "+
		string(rune('0'+len(msg)))+"\n"+msg+"\n", "fast-import", "--quiet")
	return plumbing.NewHash(git(tb, dir, "", "rev-parse", "refs/heads/"+msg))
}

// TestAcquire checks that the shared store is reused while the pack
// directory is unchanged, replaced when a pack is added or a repack removes
// packs, and that a holder of the old store can still read from it.
func TestAcquire(t *testing.T) {
	dir := newBare(t)
	first := commitPacked(t, dir, "one")
	c := newDBCache(2)

	db1, rel1, err := c.acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	db2, rel2, err := c.acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db1 != db2 {
		t.Error("second Acquire opened the repository again")
	}
	rel2()

	second := commitPacked(t, dir, "two")
	git(t, dir, "", "repack", "-q", "-ad")
	db3, rel3, err := c.acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer rel3()
	if db3 == db1 {
		t.Fatal("Acquire after a repack returned the old store")
	}
	if !db3.Has(second) || !db3.Has(first) {
		t.Error("new store misses objects")
	}
	// The old packs are deleted but still mapped by db1.
	if _, _, err := db1.Read(first); err != nil {
		t.Errorf("old store after repack: %v", err)
	}
	rel1()
	rel1() // a second release is harmless

	// Idle stores beyond the bound are closed.
	for i := range 3 {
		_, rel, err := c.acquire(newBare(t))
		if err != nil {
			t.Fatal(i, err)
		}
		rel()
	}
	c.mu.Lock()
	idle := c.idle.Len()
	c.mu.Unlock()
	if idle > 2 {
		t.Errorf("%d idle stores; want at most 2", idle)
	}
}
