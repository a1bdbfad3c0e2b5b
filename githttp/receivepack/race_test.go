package receivepack

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TestRacingPushes runs two git clients pushing different commits on top
// of the same tip at once, 20 times: each round exactly one wins, the
// other is refused with a reason, and no commit is lost silently.
func TestRacingPushes(t *testing.T) {
	e := newEnv(t)
	e.commit(e.work, "base", map[string]string{"base": "0\n"})
	e.git(e.work, "push", "-q", "origin", "main")
	clients := []string{e.newClone("a"), e.newClone("b")}
	// catchUp brings the clients but the round's winner, which has the
	// tip already, to the server's main. It fetches from the server's
	// directory: the catch-up is not what is tested, and git's
	// http-backend made it half the test's time.
	catchUp := func(winner int) {
		for i, dir := range clients {
			if i == winner {
				continue
			}
			e.git(dir, "fetch", "-q", e.bare, "+refs/heads/main:refs/remotes/origin/main")
			e.git(dir, "checkout", "-q", "-B", "main", "origin/main")
		}
	}
	catchUp(-1)
	serverSide := 0
	for round := range 20 {
		commits := make([]string, len(clients))
		for i, dir := range clients {
			commits[i] = e.commit(dir, fmt.Sprintf("round %d client %d", round, i),
				map[string]string{fmt.Sprintf("c%d", i): fmt.Sprint(round)})
		}
		outs := make([]string, len(clients))
		errs := make([]error, len(clients))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, dir := range clients {
			wg.Go(func() {
				<-start
				outs[i], errs[i] = e.gitErr(dir, "push", "origin", "main")
			})
		}
		close(start)
		wg.Wait()

		winners, winner := 0, -1
		tip := e.serverRef("refs/heads/main")
		for i := range clients {
			if errs[i] == nil {
				winners++
				winner = i
				if tip != commits[i] {
					t.Errorf("round %d: client %d won but main = %s; want %s", round, i, tip, commits[i])
				}
				continue
			}
			if !strings.Contains(outs[i], "rejected") {
				t.Errorf("round %d: client %d failed without a reason:\n%s", round, i, outs[i])
			}
			// git prints the server's "ng ... stale info" as
			// "[rejected] (stale info)"; "fetch first" is its own check.
			if strings.Contains(outs[i], "(stale info)") {
				serverSide++
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d winners; want 1\n%s\n%s", round, winners, outs[0], outs[1])
		}
		catchUp(winner)
	}
	t.Logf("%d of 20 rounds were decided by the server's compare-and-swap", serverSide)
	e.fsck()
}

// TestGoGitClient pushes with go-git: into the empty repository, then
// from a go-git clone, then a delete.
func TestGoGitClient(t *testing.T) {
	e := newEnv(t)
	sig := &object.Signature{Name: "Tester", Email: "tester@example.com", When: time.Unix(1700000000, 0)}

	dir := filepath.Join(e.home, "gogit")
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	c1 := goGitCommit(t, r, dir, "a.txt", "one\n", sig)
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{e.url}}); err != nil {
		t.Fatal(err)
	}
	err = r.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{
		"refs/heads/master:refs/heads/master", "refs/heads/master:refs/heads/tmp"}})
	if err != nil {
		t.Fatalf("go-git push into empty repository: %v", err)
	}
	if got := e.serverRef("refs/heads/master"); got != c1.String() {
		t.Fatalf("master = %q; want %s", got, c1)
	}

	cloneDir := filepath.Join(e.home, "gogit-clone")
	cl, err := git.PlainClone(cloneDir, false, &git.CloneOptions{URL: e.url})
	if err != nil {
		t.Fatalf("go-git clone: %v", err)
	}
	c2 := goGitCommit(t, cl, cloneDir, "a.txt", "two\n", sig)
	if err := cl.Push(&git.PushOptions{}); err != nil {
		t.Fatalf("go-git push: %v", err)
	}
	if got := e.serverRef("refs/heads/master"); got != c2.String() {
		t.Errorf("master = %q; want %s", got, c2)
	}
	if err := cl.Push(&git.PushOptions{RefSpecs: []config.RefSpec{":refs/heads/tmp"}}); err != nil {
		t.Fatalf("go-git delete: %v", err)
	}
	if got := e.serverRef("refs/heads/tmp"); got != "" {
		t.Errorf("tmp still at %s", got)
	}
	e.fsck()
}

func goGitCommit(t *testing.T, r *git.Repository, dir, name, content string, sig *object.Signature) plumbing.Hash {
	t.Helper()
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	f, err := wt.Filesystem.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(content))
	f.Close()
	if _, err := wt.Add(name); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("commit "+content, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
