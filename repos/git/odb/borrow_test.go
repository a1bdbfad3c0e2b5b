package odb

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestEmptyTree checks that the empty tree reads as an empty tree in a
// repository that does not store it, as git's does.
func TestEmptyTree(t *testing.T) {
	dir := newBare(t)
	c := plumbing.NewHash(git(t, dir, "", "-c", "user.name=T", "-c", "user.email=t@example.com", "commit-tree", EmptyTree.String(), "-m", "empty"))
	s := EmptyTree.String()
	if _, err := os.Stat(filepath.Join(dir, "objects", s[:2], s[2:])); err == nil {
		t.Fatal("git stored the empty tree; the test needs a repository without it")
	}
	db := openDB(t, dir)
	if !db.Has(EmptyTree) {
		t.Errorf("Has(empty tree) = false")
	}
	if typ, err := db.Type(EmptyTree); err != nil || typ != plumbing.TreeObject {
		t.Errorf("Type(empty tree) = %v, %v; want tree", typ, err)
	}
	if typ, n, err := db.Header(EmptyTree); err != nil || typ != plumbing.TreeObject || n != 0 {
		t.Errorf("Header(empty tree) = %v, %d, %v; want tree, 0", typ, n, err)
	}
	if typ, b, err := db.Read(EmptyTree); err != nil || typ != plumbing.TreeObject || len(b) != 0 {
		t.Errorf("Read(empty tree) = %v, %q, %v; want tree, empty", typ, b, err)
	}
	tree, err := db.Tree(EmptyTree)
	if err != nil || len(tree) != 0 {
		t.Errorf("Tree(empty tree) = %q, %v", tree, err)
	}
	ci, err := db.CommitInfo(c)
	if err != nil || ci.Tree != EmptyTree {
		t.Errorf("CommitInfo(%s) = %+v, %v", c, ci, err)
	}
	// Other missing objects stay missing.
	other := plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4905")
	if _, _, err := db.Read(other); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read(%s) = %v; want ErrNotFound", other, err)
	}
	if db.Has(other) {
		t.Errorf("Has(%s) = true", other)
	}
}

// TestShallowRepository checks that the commits of $GIT_DIR/shallow read
// as parentless, and that the commit-graph and bitmap, which record the
// history past them, are not used.
func TestShallowRepository(t *testing.T) {
	src := newBare(t)
	// One fast-import stream: a linear history of four commits.
	var stream strings.Builder
	for i := range 4 {
		fmt.Fprintf(&stream, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 2\n%c\n", i+1, 1700000000+i, 'a'+i)
	}
	git(t, src, stream.String(), "fast-import", "--quiet")
	var commits []plumbing.Hash
	for i := 3; i >= 0; i-- {
		commits = append(commits, plumbing.NewHash(git(t, src, "", "rev-parse", fmt.Sprintf("main~%d", i))))
	}
	// A bitmap and a commit-graph written while the history was whole,
	// then a shallow file cutting it below commits[2]: both still
	// record the parents the shallow file hides.
	git(t, src, "", "repack", "-adb")
	git(t, src, "", "commit-graph", "write", "--reachable")
	dir := src
	for _, f := range []string{"objects/info/commit-graph", "objects/pack/*.bitmap"} {
		if m, _ := filepath.Glob(filepath.Join(dir, f)); len(m) == 0 {
			t.Fatalf("git wrote no %s", f)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "shallow"), []byte(commits[2].String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := git(t, dir, "", "rev-list", "--count", "main"); n != "2" {
		t.Fatalf("git rev-list --count main = %s in the shallow repository; want 2", n)
	}
	db := openDB(t, dir)
	list := db.Shallow()
	if len(list) != 1 {
		t.Fatalf("Shallow() = %v; want one commit", list)
	}
	bottom := list[0]
	if !db.IsShallow(bottom) {
		t.Errorf("IsShallow(%s) = false", bottom)
	}
	ci, err := db.CommitInfo(bottom)
	if err != nil || len(ci.Parents) != 0 {
		t.Errorf("CommitInfo(shallow %s) = %+v, %v; want no parents", bottom, ci, err)
	}
	c, err := db.Commit(bottom)
	if err != nil || len(c.Parents) != 0 {
		t.Errorf("Commit(shallow %s) parents = %v, %v; want none", bottom, c.Parents, err)
	}
	top, err := db.CommitInfo(commits[3])
	if err != nil || len(top.Parents) != 1 || top.Parents[0] != bottom {
		t.Errorf("CommitInfo(tip) = %+v, %v; want parent %s", top, err, bottom)
	}
	if g := db.CommitGraph(); g != nil {
		t.Errorf("CommitGraph() = %v in a shallow repository; want nil", g)
	}
	if p, bm := db.Bitmap(); p != nil || bm != nil {
		t.Errorf("Bitmap() in a shallow repository = %v; want none", p)
	}
}

// TestAlternates checks that objects of the directories named in
// objects/info/alternates are read, recursively to git's depth, and that
// an alternate outside the allowed roots refuses the repository.
func TestAlternates(t *testing.T) {
	root := t.TempDir()
	if err := AllowAlternatesUnder(root); err != nil {
		t.Fatal(err)
	}
	// chain[0] holds the object; chain[i] borrows from chain[i-1].
	var chain []string
	for i := range 8 {
		d := filepath.Join(root, "o", string(rune('a'+i))+".git")
		git(t, root, "", "init", "-q", "--bare", d)
		chain = append(chain, d)
	}
	obj := commitPacked(t, chain[0], "base")
	loose := plumbing.NewHash(git(t, chain[0], "hello\n", "hash-object", "-w", "--stdin"))
	write := func(dir, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "objects", "info"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "objects", "info", "alternates"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < len(chain); i++ {
		if i%2 == 1 {
			// Relative to the objects directory, with a comment and a
			// missing entry git skips.
			write(chain[i], "# borrowed\n\n/nonexistent/objects\n../../"+filepath.Base(chain[i-1])+"/objects\n")
		} else {
			write(chain[i], filepath.Join(chain[i-1], "objects")+"\n")
		}
	}
	outside := newBare(t)
	secret := commitPacked(t, outside, "secret")
	bad := filepath.Join(root, "bad.git")
	git(t, root, "", "init", "-q", "--bare", bad)
	write(bad, filepath.Join(outside, "objects")+"\n")
	link := filepath.Join(root, "link")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	badLink := filepath.Join(root, "badlink.git")
	git(t, root, "", "init", "-q", "--bare", badLink)
	write(badLink, filepath.Join(link, "objects")+"\n")
	nested := filepath.Join(root, "nested.git")
	git(t, root, "", "init", "-q", "--bare", nested)
	write(nested, filepath.Join(badLink, "objects")+"\n")

	for _, tc := range []struct {
		name    string
		dir     string
		has     plumbing.Hash
		want    bool
		refused bool
	}{
		{"direct", chain[1], obj, true, false},
		{"loose in alternate", chain[1], loose, true, false},
		{"six deep", chain[6], obj, true, false},
		{"seven deep, past git's limit", chain[7], obj, false, false},
		{"outside the root", bad, secret, false, true},
		{"symlink out of the root", badLink, secret, false, true},
		{"through an alternate", nested, secret, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(tc.dir)
			if tc.refused {
				if !errors.Is(err, ErrUnsafeAlternate) {
					t.Fatalf("Open = %v; want ErrUnsafeAlternate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// git itself must agree on what the repository holds.
			if gitHas := exec.Command("git", "-C", tc.dir, "cat-file", "-e", tc.has.String()).Run() == nil; gitHas != tc.want {
				t.Fatalf("git cat-file -e %s: %v; the case expects %v", tc.has, gitHas, tc.want)
			}
			if got := db.Has(tc.has); got != tc.want {
				t.Errorf("Has(%s) = %v; want %v", tc.has, got, tc.want)
			}
			_, _, err = db.Read(tc.has)
			if tc.want && err != nil {
				t.Errorf("Read(%s) = %v", tc.has, err)
			}
			if !tc.want && !errors.Is(err, ErrNotFound) {
				t.Errorf("Read(%s) = %v; want ErrNotFound", tc.has, err)
			}
			if n, err := db.WithPrefix(tc.has.String()[:6]); err != nil || (len(n) == 1) != tc.want {
				t.Errorf("WithPrefix = %v, %v; want found %v", n, err, tc.want)
			}
			if len(db.Packs()) != 0 {
				t.Errorf("Packs() lists %d packs; want only the repository's own, none", len(db.Packs()))
			}
		})
	}
}

// TestAcquireSeesShallowAndAlternates checks that the shared store is
// reopened when the shallow or alternates file changes, which Open reads
// once, though the pack directory did not.
func TestAcquireSeesShallowAndAlternates(t *testing.T) {
	root := t.TempDir()
	if err := AllowAlternatesUnder(root); err != nil {
		t.Fatal(err)
	}
	lender := filepath.Join(root, "lender.git")
	dir := filepath.Join(root, "r.git")
	git(t, root, "", "init", "-q", "--bare", lender)
	git(t, root, "", "init", "-q", "--bare", dir)
	borrowed := commitPacked(t, lender, "borrowed")
	own := commitPacked(t, dir, "own")
	c := newDBCache(4)
	check := func(step string, wantBorrowed, wantShallow bool) {
		t.Helper()
		db, release, err := c.acquire(dir)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		defer release()
		if got := db.Has(borrowed); got != wantBorrowed {
			t.Errorf("%s: Has(borrowed) = %v; want %v", step, got, wantBorrowed)
		}
		if got := db.IsShallow(own); got != wantShallow {
			t.Errorf("%s: IsShallow(own) = %v; want %v", step, got, wantShallow)
		}
	}
	check("first", false, false)
	if err := os.WriteFile(filepath.Join(dir, "objects", "info", "alternates"), []byte(filepath.Join(lender, "objects")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("after alternates", true, false)
	if err := os.WriteFile(filepath.Join(dir, "shallow"), []byte(own.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("after shallow", true, true)
	if err := os.Remove(filepath.Join(dir, "shallow")); err != nil {
		t.Fatal(err)
	}
	check("after unshallowing", true, false)
}
