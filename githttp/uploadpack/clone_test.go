package uploadpack

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

func TestClone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, v := range []int{0, 2} {
		t.Run(fmt.Sprintf("v%d/Bare", v), func(t *testing.T) {
			dir, stderr := f.clone(t, v, "--bare")
			if got, want := f.git.refsOf(dir), f.serverRefs(); got != want {
				t.Errorf("refs of bare clone:\n%s\nwant:\n%s", got, want)
			}
			f.fsck(t, dir)
			if !strings.Contains(stderr, "remote: Enumerating objects:") {
				t.Errorf("no progress on side-band 2 in:\n%s", stderr)
			}
			if got := f.git.run(dir, "symbolic-ref", "HEAD"); got != "refs/heads/main" {
				t.Errorf("HEAD = %q; want refs/heads/main (symref capability)", got)
			}
		})
		t.Run(fmt.Sprintf("v%d/WorkTree", v), func(t *testing.T) {
			dir, _ := f.clone(t, v)
			if got, want := f.remoteRefsAsServer(dir), f.serverRefs("refs/heads", "refs/tags"); got != want {
				t.Errorf("refs of clone:\n%s\nwant:\n%s", got, want)
			}
			f.fsck(t, dir)
			if got, want := f.git.run(dir, "rev-parse", "HEAD:big.txt"), f.git.run(f.server, "rev-parse", "main:big.txt"); got != want {
				t.Errorf("big.txt = %s; want %s", got, want)
			}
			if st := f.git.run(dir, "status", "--porcelain"); st != "" {
				t.Errorf("work tree not clean after clone: %s", st)
			}
		})
		t.Run(fmt.Sprintf("v%d/SingleBranch", v), func(t *testing.T) {
			dir, _ := f.clone(t, v, "--single-branch", "--branch", "feature", "--no-tags")
			got := f.git.refsOf(dir, "refs/remotes")
			want := f.git.run(f.server, "rev-parse", "feature") + " refs/remotes/origin/feature"
			if got != want {
				t.Errorf("remote refs = %q; want %q", got, want)
			}
			f.fsck(t, dir)
			// Commits 3..5 of main are not on feature and must not be sent.
			if _, _, err := f.git.try(dir, nil, "cat-file", "-e", f.main[5]); err == nil {
				t.Errorf("single-branch clone holds main's tip %s", f.main[5])
			}
		})
	}
	if errs := f.srv.errors(); len(errs) > 0 {
		t.Errorf("server errors: %v", errs)
	}
}

func TestCloneEmpty(t *testing.T) {
	t.Parallel()
	g := newGit(t)
	root := t.TempDir()
	repo := filepath.Join(root, "empty.git")
	g.run(root, "init", "-q", "--bare", "-b", "main", repo)
	srv := newTestServer(t, repo)
	for _, v := range []int{0, 2} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "clone")
			_, stderr := g.runEnv(root, nil, "-c", fmt.Sprintf("protocol.version=%d", v), "clone", srv.URL, dir)
			if !strings.Contains(stderr, "empty repository") {
				t.Errorf("clone stderr = %q; want the empty repository warning", stderr)
			}
			if out, _, err := g.try(dir, nil, "rev-parse", "--verify", "HEAD"); err == nil {
				t.Errorf("HEAD resolves to %s in a clone of an empty repository", out)
			}
		})
	}
	if errs := srv.errors(); len(errs) > 0 {
		t.Errorf("server errors: %v", errs)
	}
}

func TestCloneGoGit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "gogit")
	r, err := git.PlainClone(dir, false, &git.CloneOptions{URL: f.srv.URL, Tags: git.AllTags})
	if err != nil {
		t.Fatalf("go-git PlainClone: %v", err)
	}
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := head.Hash().String(), f.main[5]; got != want {
		t.Errorf("go-git HEAD = %s; want %s", got, want)
	}
	if got, want := f.remoteRefsAsServer(dir), f.serverRefs("refs/heads", "refs/tags"); got != want {
		t.Errorf("refs of go-git clone:\n%s\nwant:\n%s", got, want)
	}
	f.fsck(t, dir)

	// An incremental fetch through go-git after the server moves on.
	writeFile(t, filepath.Join(f.src, "small.txt"), "go-git fetch\n")
	tip := f.commit("for go-git")
	f.push("main")
	if err := r.Fetch(&git.FetchOptions{}); err != nil {
		t.Fatalf("go-git Fetch: %v", err)
	}
	got, err := r.Reference(plumbing.NewRemoteReferenceName("origin", "main"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash().String() != tip {
		t.Errorf("origin/main after go-git fetch = %s; want %s", got.Hash(), tip)
	}
	f.fsck(t, dir)
	if errs := f.srv.errors(); len(errs) > 0 {
		t.Errorf("server errors: %v", errs)
	}
}
