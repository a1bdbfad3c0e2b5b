package githttp_test

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/repos"
)

// gitAt runs git in dir with extra environment, for commits with set dates.
func (e *env) gitAt(dir string, extra []string, args ...string) string {
	e.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "HOME="+e.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com"), extra...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (e *env) revParse(dir, rev string) string {
	e.t.Helper()
	return strings.TrimSpace(e.mustGit(dir, "rev-parse", rev))
}

// serverRev is rev in the server's copy of owner/name.
func (e *env) serverRev(owner, name, rev string) string {
	e.t.Helper()
	r, err := e.repos.Open(owner, name)
	if err != nil {
		e.t.Fatal(err)
	}
	out, _ := e.git("", "--git-dir", r.Path, "rev-parse", "--verify", "-q", rev)
	return strings.TrimSpace(out)
}

// TestGitCycle walks one repository through everything a team does with
// it, over the real server with token authentication, in protocol v0 and
// v2. Every step checks its result; the server repository is fsck'ed at
// the end.
func TestGitCycle(t *testing.T) {
	for _, proto := range []string{"0", "2"} {
		t.Run("v"+proto, func(t *testing.T) { gitCycle(t, proto) })
	}
}

func gitCycle(t *testing.T, proto string) {
	e := newEnv(t)
	tok := e.token("tester", auth.ScopeDepot)
	if _, err := e.repos.Create("tester", "cycle", repos.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	url := e.url("tester", tok, "tester/cycle.git")
	e.mustGit("", "config", "--global", "protocol.version", proto)
	e.mustGit("", "config", "--global", "uploadpack.allowFilter", "true")
	tmp := t.TempDir()
	wt := filepath.Join(tmp, "wt")
	day := func(n int) []string {
		d := "2024-01-" + []string{"01", "05", "10", "15", "20"}[n] + "T12:00:00Z"
		return []string{"GIT_AUTHOR_DATE=" + d, "GIT_COMMITTER_DATE=" + d}
	}
	big := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(big)

	t.Run("CloneEmpty", func(t *testing.T) {
		out := e.mustGit("", "clone", url, wt)
		if !strings.Contains(out, "empty repository") {
			t.Fatalf("clone of an empty repository: %s", out)
		}
	})
	t.Run("FirstPush", func(t *testing.T) {
		e.mustGit(wt, "checkout", "-q", "-b", "main")
		for i := 0; i < 3; i++ {
			os.WriteFile(filepath.Join(wt, "big.bin"), append(big, byte(i)), 0o644)
			os.WriteFile(filepath.Join(wt, "n.txt"), []byte{byte('a' + i)}, 0o644)
			e.mustGit(wt, "add", ".")
			e.gitAt(wt, day(i), "commit", "-qm", "c"+string(rune('0'+i)))
		}
		e.mustGit(wt, "push", "-u", "origin", "main")
		if e.serverRev("tester", "cycle", "main") != e.revParse(wt, "HEAD") {
			t.Fatal("server main is not the pushed commit")
		}
	})
	clone := filepath.Join(tmp, "clone")
	t.Run("Clone", func(t *testing.T) {
		e.mustGit("", "clone", "-q", url, clone)
		if e.revParse(clone, "HEAD") != e.revParse(wt, "HEAD") {
			t.Fatal("clone differs")
		}
		got, _ := os.ReadFile(filepath.Join(clone, "big.bin"))
		if !bytes.Equal(got, append(big, 2)) {
			t.Fatal("big.bin differs in the clone")
		}
	})
	t.Run("ThinPackPush", func(t *testing.T) {
		os.WriteFile(filepath.Join(wt, "big.bin"), append(big, 9, 9), 0o644)
		e.mustGit(wt, "commit", "-qam", "edit big")
		out := e.mustGit(wt, "push", "--progress", "origin", "main")
		if !strings.Contains(out, "main -> main") {
			t.Fatalf("push: %s", out)
		}
	})
	t.Run("IncrementalFetch", func(t *testing.T) {
		e.mustGit(clone, "fetch", "-q")
		if e.revParse(clone, "origin/main") != e.revParse(wt, "HEAD") {
			t.Fatal("fetch did not bring the new commit")
		}
	})
	t.Run("ShallowThenDeepen", func(t *testing.T) {
		sh := filepath.Join(tmp, "shallow")
		e.mustGit("", "clone", "-q", "--depth", "1", url, sh)
		if n := strings.TrimSpace(e.mustGit(sh, "rev-list", "--count", "HEAD")); n != "1" {
			t.Fatalf("depth 1 clone has %s commits", n)
		}
		e.mustGit(sh, "fetch", "-q", "--deepen", "2")
		if n := strings.TrimSpace(e.mustGit(sh, "rev-list", "--count", "HEAD")); n != "3" {
			t.Fatalf("after deepen 2: %s commits", n)
		}
		e.mustGit(sh, "fetch", "-q", "--unshallow")
		if n := strings.TrimSpace(e.mustGit(sh, "rev-list", "--count", "HEAD")); n != "4" {
			t.Fatalf("after unshallow: %s commits", n)
		}
		e.mustGit(sh, "fsck", "--full")
	})
	t.Run("ShallowSince", func(t *testing.T) {
		sh := filepath.Join(tmp, "since")
		e.mustGit("", "clone", "-q", "--shallow-since=2024-01-04", url, sh)
		if n := strings.TrimSpace(e.mustGit(sh, "rev-list", "--count", "HEAD")); n != "3" {
			t.Fatalf("shallow-since clone has %s commits; want 3", n)
		}
	})
	t.Run("PartialClone", func(t *testing.T) {
		pc := filepath.Join(tmp, "partial")
		e.mustGit("", "clone", "-q", "--filter=blob:none", "--no-checkout", url, pc)
		missing := e.mustGit(pc, "rev-list", "--objects", "--all", "--missing=print")
		if !strings.Contains(missing, "?") {
			t.Fatal("blob:none clone holds every blob")
		}
		e.mustGit(pc, "checkout", "-q", "main") // fetches the blobs it needs
		got, _ := os.ReadFile(filepath.Join(pc, "big.bin"))
		if !bytes.Equal(got, append(big, 9, 9)) {
			t.Fatal("lazily fetched big.bin differs")
		}
	})
	t.Run("BranchAndTags", func(t *testing.T) {
		e.mustGit(wt, "branch", "feature")
		e.mustGit(wt, "tag", "light")
		e.mustGit(wt, "tag", "-a", "v1", "-m", "release 1")
		e.mustGit(wt, "push", "origin", "feature", "light", "v1")
		refs := e.mustGit("", "ls-remote", url)
		for _, want := range []string{"refs/heads/feature", "refs/tags/light", "refs/tags/v1", "refs/tags/v1^{}"} {
			if !strings.Contains(refs, want) {
				t.Fatalf("ls-remote lacks %s:\n%s", want, refs)
			}
		}
		e.mustGit(clone, "fetch", "-q", "--tags")
		if e.revParse(clone, "v1^{commit}") != e.revParse(wt, "HEAD") {
			t.Fatal("annotated tag does not peel to main")
		}
	})
	t.Run("DeleteBranch", func(t *testing.T) {
		e.mustGit(wt, "push", "origin", ":feature")
		if e.serverRev("tester", "cycle", "refs/heads/feature") != "" {
			t.Fatal("feature still on the server")
		}
	})
	t.Run("ForcePush", func(t *testing.T) {
		e.mustGit(wt, "reset", "-q", "--hard", "HEAD~1")
		e.mustGit(wt, "commit", "-q", "--allow-empty", "-m", "rewritten")
		if out, err := e.git(wt, "push", "origin", "main"); err == nil {
			t.Fatalf("non-fast-forward push without --force succeeded: %s", out)
		}
		e.mustGit(wt, "push", "--force", "origin", "main")
		if e.serverRev("tester", "cycle", "main") != e.revParse(wt, "HEAD") {
			t.Fatal("force push did not move main")
		}
	})
	t.Run("AtomicPushRejectedWhole", func(t *testing.T) {
		// The server refuses a branch pointing at a tree, which git does
		// not check before sending; atomic takes the good ref down with it.
		e.mustGit(clone, "commit", "-q", "--allow-empty", "-m", "atomic")
		out, err := e.git(clone, "push", "--atomic", "origin", "HEAD:refs/heads/atomic-new", "HEAD^{tree}:refs/heads/not-a-commit")
		if err == nil || !strings.Contains(out, "atomic") {
			t.Fatalf("atomic push with a refused ref = %v:\n%s", err, out)
		}
		for _, ref := range []string{"refs/heads/atomic-new", "refs/heads/not-a-commit"} {
			if e.serverRev("tester", "cycle", ref) != "" {
				t.Fatalf("atomic push applied %s:\n%s", ref, out)
			}
		}
		// Without --atomic the good ref lands and the bad one is refused.
		out, err = e.git(clone, "push", "origin", "HEAD:refs/heads/atomic-new", "HEAD^{tree}:refs/heads/not-a-commit")
		if err == nil || e.serverRev("tester", "cycle", "refs/heads/atomic-new") == "" || e.serverRev("tester", "cycle", "refs/heads/not-a-commit") != "" {
			t.Fatalf("non-atomic push = %v:\n%s", err, out)
		}
	})
	e.fsck("tester", "cycle")
}
