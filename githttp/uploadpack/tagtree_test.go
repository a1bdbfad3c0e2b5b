package uploadpack

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCloneTagsOfTreesAndBlobs clones a repository whose tags name a tree
// and a blob that no commit holds, as git.git's v2.6.11-tree does: the
// clone gets the tree with everything in it, over both protocols, from
// loose objects (the walk) and after a repack with a bitmap (the bitmap
// plan), and git fsck finds nothing missing.
func TestCloneTagsOfTreesAndBlobs(t *testing.T) {
	t.Parallel()
	g := newGit(t)
	dir := filepath.Join(t.TempDir(), "server.git")
	g.run(t.TempDir(), "init", "-q", "--bare", "-b", "main", dir)
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir, cmd.Env = dir, g.env
	cmd.Stdin = strings.NewReader("commit refs/heads/main\ncommitter T <t@example.com> 1700000000 +0000\ndata 6\nfirst\nM 100644 inline a.txt\ndata 2\na\n\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fast-import: %v\n%s", err, out)
	}
	hashObject := func(content string) string {
		cmd := exec.Command("git", "hash-object", "-w", "--stdin")
		cmd.Dir, cmd.Env, cmd.Stdin = dir, g.env, strings.NewReader(content)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	mktree := func(entries string) string {
		cmd := exec.Command("git", "mktree")
		cmd.Dir, cmd.Env, cmd.Stdin = dir, g.env, strings.NewReader(entries)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	// A tree of its own, with a subtree, that no commit reaches.
	sub := mktree(fmt.Sprintf("100644 blob %s\tdeep.txt\n", hashObject("only under the tagged tree\n")))
	tree := mktree(fmt.Sprintf("100644 blob %s\tkernel.txt\n040000 tree %s\tsub\n", hashObject("the tree's own file\n"), sub))
	other := mktree(fmt.Sprintf("100644 blob %s\tlight.txt\n", hashObject("under the lightweight tag\n")))
	blob := hashObject("a tagged blob\n")
	g.run(dir, "tag", "-a", "-m", "a tree", "v0-tree", tree)
	g.run(dir, "tag", "tree-light", other)
	g.run(dir, "tag", "-a", "-m", "a key", "key-blob", blob)
	srv := newTestServer(t, dir)

	for _, packed := range []bool{false, true} {
		if packed {
			g.run(dir, "repack", "-q", "-adb")
		}
		for _, v := range []int{0, 2} {
			t.Run(fmt.Sprintf("packed=%v/v%d", packed, v), func(t *testing.T) {
				clone := filepath.Join(t.TempDir(), "clone.git")
				if _, errOut, err := g.try(t.TempDir(), nil, "-c", fmt.Sprintf("protocol.version=%d", v), "clone", "-q", "--mirror", srv.URL, clone); err != nil {
					t.Fatalf("git clone: %v\n%s", err, errOut)
				}
				if out, errOut, err := g.try(clone, nil, "fsck", "--full", "--strict"); err != nil {
					t.Fatalf("git fsck: %v\n%s%s", err, out, errOut)
				}
				for _, obj := range []string{tree + ":sub/deep.txt", other + ":light.txt", blob, "v0-tree^{tree}"} {
					if _, _, err := g.try(clone, nil, "cat-file", "-e", obj); err != nil {
						t.Errorf("clone lacks %s", obj)
					}
				}
			})
		}
	}
	if errs := srv.errors(); len(errs) > 0 {
		t.Errorf("Serve errors: %v", errs)
	}
}
