package githttp_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttpclient "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/depot/depot/auth"
)

// The client-compatibility tests drive git implementations other than the
// git CLI against depot: dulwich and libgit2 (through pygit2) from Debian's
// python3-dulwich and python3-pygit2, which .ci/run installs, and go-git.
// A missing client fails the test; it is never skipped. Every exchange goes
// through a recording proxy whose trace is logged when a test fails.

// dulwichScript drives dulwich's porcelain. The credentials are in the URL.
// Every command prints the commit id it leaves HEAD at (or the remote refs).
const dulwichScript = `
import os, sys
from dulwich import porcelain
from dulwich.repo import Repo

cmd, args = sys.argv[1], sys.argv[2:]
err = sys.stderr.buffer
sig = b"Dulwich <dulwich@example.com>"

def head(path):
    with Repo(path) as r:
        return r.head().decode()

if cmd == "clone":
    url, path = args[0], args[1]
    depth = int(args[2]) if len(args) > 2 else None
    porcelain.clone(url, path, errstream=err, depth=depth).close()
    print(head(path))
elif cmd == "commit":
    path, msg = args
    name = os.path.join(path, "client.txt")
    with open(name, "a") as f:
        f.write(msg + "\n")
    porcelain.add(path, [name])
    print(porcelain.commit(path, message=msg.encode(), author=sig, committer=sig).decode())
elif cmd == "push":
    path, url, refspec = args
    porcelain.push(path, url, refspec.encode(), errstream=err)
    print(head(path))
elif cmd == "pull":
    path, url = args
    porcelain.pull(path, url, [b"refs/heads/main"], errstream=err)
    print(head(path))
elif cmd == "ls-remote":
    for ref, sha in sorted(porcelain.ls_remote(args[0]).items()):
        print(sha.decode(), ref.decode())
else:
    sys.exit("unknown command " + cmd)
`

// pygit2Script drives libgit2 through pygit2. The URL carries no
// credentials: a RemoteCallbacks hands out CLIENT_USER and CLIENT_TOKEN as
// UserPass, once, so that a rejected token fails instead of looping.
const pygit2Script = `
import os, sys, tempfile
import pygit2

cmd, args = sys.argv[1], sys.argv[2:]
sig = pygit2.Signature("Libgit2", "libgit2@example.com")

class Callbacks(pygit2.RemoteCallbacks):
    asked = 0
    rejected = []

    def credentials(self, url, username_from_url, allowed_types):
        self.asked += 1
        if self.asked > 1:
            raise RuntimeError("credentials rejected by the server")
        return pygit2.UserPass(os.environ["CLIENT_USER"], os.environ["CLIENT_TOKEN"])

    def push_update_reference(self, refname, message):
        if message is not None:
            self.rejected.append("%s: %s" % (refname, message))

def head(repo):
    return str(repo.head.target)

if cmd == "clone":
    url, path = args
    print(head(pygit2.clone_repository(url, path, callbacks=Callbacks())))
elif cmd == "commit":
    path, msg = args
    repo = pygit2.Repository(path)
    with open(os.path.join(path, "client.txt"), "a") as f:
        f.write(msg + "\n")
    repo.index.add("client.txt")
    repo.index.write()
    tree = repo.index.write_tree()
    print(repo.create_commit("HEAD", sig, sig, msg, tree, [repo.head.target]))
elif cmd == "push":
    path, url, refspec = args
    repo = pygit2.Repository(path)
    cb = Callbacks()
    repo.remotes.set_url("origin", url)
    repo.remotes["origin"].push([refspec], callbacks=cb)
    if cb.rejected:
        sys.exit("push rejected: " + "; ".join(cb.rejected))
    print(head(repo))
elif cmd == "pull":
    path, url = args
    repo = pygit2.Repository(path)
    repo.remotes.set_url("origin", url)
    repo.remotes["origin"].fetch(callbacks=Callbacks())
    fetched = repo.references["refs/remotes/origin/main"].target
    base = repo.merge_base(repo.head.target, fetched)
    if base != repo.head.target:
        sys.exit("pull is not a fast-forward")
    repo.checkout_tree(repo[fetched])
    repo.references["refs/heads/main"].set_target(fetched)
    print(head(repo))
elif cmd == "ls-remote":
    repo = pygit2.init_repository(tempfile.mkdtemp(), bare=True)
    for r in repo.remotes.create("origin", args[0]).ls_remotes(callbacks=Callbacks()):
        print(r["oid"], r["name"])
else:
    sys.exit("unknown command " + cmd)
`

// pythonClient is a git client in Python, driven by a script of the
// commands clone, commit, push, pull and ls-remote.
type pythonClient struct {
	name, module, script string
	// credsInURL puts user:token in the URL; otherwise the script reads
	// CLIENT_USER and CLIENT_TOKEN from its environment.
	credsInURL bool
	// wrongToken is what the client says when the server refuses a token.
	wrongToken string
	// shallow is whether the client can clone with a depth; libgit2 1.5
	// cannot.
	shallow bool
}

// TestClientsPython clones, commits, pushes and pulls with dulwich and
// libgit2 and checks every result on the server with the git CLI.
func TestClientsPython(t *testing.T) {
	t.Parallel()
	for _, c := range []pythonClient{
		{name: "Dulwich", module: "dulwich", script: dulwichScript, credsInURL: true, wrongToken: "HTTPUnauthorized", shallow: true},
		{name: "Libgit2", module: "pygit2", script: pygit2Script, wrongToken: "credentials rejected by the server"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testPythonClient(t, c)
		})
	}
}

func testPythonClient(t *testing.T, c pythonClient) {
	e := newEnv(t)
	tr := newTracer(t, e)
	tok := e.token("tester", auth.ScopeDepot)
	cli := e.seed("tester", "hello", "tester", tok)
	py := python(t, c.module)
	script := filepath.Join(t.TempDir(), c.module+"_client.py")
	if err := os.WriteFile(script, []byte(c.script), 0o644); err != nil {
		t.Fatal(err)
	}
	clientURL := func(secret string) string {
		if c.credsInURL {
			return tr.url("tester", secret, "tester/hello.git")
		}
		return tr.url("", "", "tester/hello.git")
	}
	run := func(secret string, args ...string) (string, error) {
		cmd := exec.Command(py, append([]string{script}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+e.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
			"CLIENT_USER=tester", "CLIENT_TOKEN="+secret)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("%s %s: %v\n%s%s", c.name, args[0], err, stdout.Bytes(), stderr.Bytes())
		}
		return strings.TrimSpace(stdout.String()), err
	}
	mustRun := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := run(tok, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	wt := filepath.Join(t.TempDir(), "clone")

	if !t.Run("Clone", func(t *testing.T) {
		if got, want := mustRun(t, "clone", clientURL(tok), wt), e.serverRev("tester", "hello", "main"); got != want {
			t.Fatalf("cloned HEAD = %s; want %s", got, want)
		}
	}) {
		t.FailNow() // the other steps work in the clone
	}
	t.Run("CommitAndPush", func(t *testing.T) {
		commit := mustRun(t, "commit", wt, "by "+c.name)
		mustRun(t, "push", wt, clientURL(tok), "refs/heads/main:refs/heads/main")
		if got := e.serverRev("tester", "hello", "main"); got != commit {
			t.Fatalf("server main = %s; want the pushed %s", got, commit)
		}
	})
	t.Run("PullCommitOfGitCLI", func(t *testing.T) {
		e.mustGit(cli, "pull", "-q", "--ff-only", e.url("tester", tok, "tester/hello.git"), "main")
		if err := os.WriteFile(filepath.Join(cli, "README"), []byte("from the git CLI\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e.mustGit(cli, "commit", "-qam", "by the git CLI")
		e.mustGit(cli, "push", "-q", e.url("tester", tok, "tester/hello.git"), "main")
		want := e.revParse(cli, "HEAD")
		if got := mustRun(t, "pull", wt, clientURL(tok)); got != want {
			t.Fatalf("HEAD after pull = %s; want %s", got, want)
		}
		if b, err := os.ReadFile(filepath.Join(wt, "README")); err != nil || string(b) != "from the git CLI\n" {
			t.Fatalf("README after pull = %q, %v", b, err)
		}
	})
	if c.shallow {
		t.Run("ShallowClone", func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "shallow")
			want := e.serverRev("tester", "hello", "main")
			if got := mustRun(t, "clone", clientURL(tok), dir, "1"); got != want {
				t.Fatalf("shallow HEAD = %s; want %s", got, want)
			}
			if got := strings.TrimSpace(e.mustGit(dir, "rev-list", "--all")); got != want {
				t.Fatalf("commits in the shallow clone:\n%s\nwant only %s", got, want)
			}
			e.mustGit(dir, "fsck", "--strict")
		})
	}
	t.Run("WrongToken", func(t *testing.T) {
		bad := "dpt_" + strings.Repeat("x", 36)
		_, err := run(bad, "ls-remote", clientURL(bad))
		if err == nil || !strings.Contains(err.Error(), c.wrongToken) {
			t.Fatalf("ls-remote with a wrong token = %v; want a failure mentioning %q", err, c.wrongToken)
		}
		if !tr.refused("tester") {
			t.Fatal("the server answered no request with tester's credentials with 401")
		}
	})
	e.fsck("tester", "hello")
}

// TestClientsGoGit clones, commits, pushes, fetches, clones shallow and
// pushes a tag with go-git, and checks every result with the git CLI.
func TestClientsGoGit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tr := newTracer(t, e)
	tok := e.token("tester", auth.ScopeDepot)
	cli := e.seed("tester", "hello", "tester", tok)
	remote := tr.url("", "", "tester/hello.git")
	basic := &githttpclient.BasicAuth{Username: "tester", Password: tok}
	sig := &object.Signature{Name: "Go Git", Email: "go-git@example.com", When: time.Unix(1700000000, 0)}
	var repo *git.Repository
	wt := filepath.Join(t.TempDir(), "clone")

	if !t.Run("Clone", func(t *testing.T) {
		var err error
		repo, err = git.PlainClone(wt, false, &git.CloneOptions{URL: remote, Auth: basic})
		if err != nil {
			t.Fatalf("PlainClone: %v", err)
		}
		head, err := repo.Head()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := head.Hash().String(), e.serverRev("tester", "hello", "main"); got != want {
			t.Fatalf("cloned HEAD = %s; want %s", got, want)
		}
	}) {
		t.FailNow() // the other steps work in the clone
	}
	t.Run("CommitAndPush", func(t *testing.T) {
		w, err := repo.Worktree()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(wt, "client.txt"), []byte("by go-git\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Add("client.txt"); err != nil {
			t.Fatal(err)
		}
		commit, err := w.Commit("by go-git", &git.CommitOptions{Author: sig, Committer: sig})
		if err != nil {
			t.Fatal(err)
		}
		if err := repo.Push(&git.PushOptions{Auth: basic}); err != nil {
			t.Fatalf("Push: %v", err)
		}
		if got := e.serverRev("tester", "hello", "main"); got != commit.String() {
			t.Fatalf("server main = %s; want the pushed %s", got, commit)
		}
	})
	t.Run("FetchCommitOfGitCLI", func(t *testing.T) {
		e.mustGit(cli, "pull", "-q", "--ff-only", e.url("tester", tok, "tester/hello.git"), "main")
		if err := os.WriteFile(filepath.Join(cli, "README"), []byte("from the git CLI\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e.mustGit(cli, "commit", "-qam", "by the git CLI")
		e.mustGit(cli, "push", "-q", e.url("tester", tok, "tester/hello.git"), "main")
		if err := repo.Fetch(&git.FetchOptions{Auth: basic}); err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		ref, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", "main"), true)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ref.Hash().String(), e.revParse(cli, "HEAD"); got != want {
			t.Fatalf("origin/main after Fetch = %s; want %s", got, want)
		}
		c, err := repo.CommitObject(ref.Hash())
		if err != nil {
			t.Fatalf("fetched commit: %v", err)
		}
		if _, err := c.File("README"); err != nil {
			t.Fatalf("README in the fetched commit: %v", err)
		}
	})
	t.Run("ShallowClone", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "shallow")
		sr, err := git.PlainClone(dir, false, &git.CloneOptions{URL: remote, Auth: basic, Depth: 1})
		if err != nil {
			t.Fatalf("PlainClone(Depth: 1): %v", err)
		}
		head, err := sr.Head()
		if err != nil {
			t.Fatal(err)
		}
		want := e.serverRev("tester", "hello", "main")
		if head.Hash().String() != want {
			t.Fatalf("shallow HEAD = %s; want %s", head.Hash(), want)
		}
		shallow, err := sr.Storer.Shallow()
		if err != nil {
			t.Fatal(err)
		}
		if len(shallow) != 1 || shallow[0].String() != want {
			t.Fatalf("shallow roots = %v; want [%s]", shallow, want)
		}
		// The parent did not come: the pack held one commit.
		c, err := sr.CommitObject(head.Hash())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sr.CommitObject(c.ParentHashes[0]); !errors.Is(err, plumbing.ErrObjectNotFound) {
			t.Fatalf("parent of the shallow root: %v; want ErrObjectNotFound", err)
		}
		e.mustGit(dir, "fsck", "--strict")
	})
	t.Run("TagPush", func(t *testing.T) {
		head, err := repo.Head()
		if err != nil {
			t.Fatal(err)
		}
		tag, err := repo.CreateTag("v1.0", head.Hash(), &git.CreateTagOptions{Tagger: sig, Message: "release 1.0"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.CreateTag("light", head.Hash(), nil); err != nil {
			t.Fatal(err)
		}
		err = repo.Push(&git.PushOptions{Auth: basic, RefSpecs: []config.RefSpec{"refs/tags/*:refs/tags/*"}})
		if err != nil {
			t.Fatalf("Push tags: %v", err)
		}
		for rev, want := range map[string]string{
			"refs/tags/v1.0":          tag.Hash().String(),
			"refs/tags/v1.0^{commit}": head.Hash().String(),
			"refs/tags/light":         head.Hash().String(),
		} {
			if got := e.serverRev("tester", "hello", rev); got != want {
				t.Errorf("server %s = %s; want %s", rev, got, want)
			}
		}
		out := e.mustGit(cli, "ls-remote", "--tags", e.url("tester", tok, "tester/hello.git"))
		if !strings.Contains(out, tag.Hash().String()+"\trefs/tags/v1.0\n") {
			t.Fatalf("git ls-remote --tags:\n%s", out)
		}
	})
	t.Run("WrongToken", func(t *testing.T) {
		bad := &githttpclient.BasicAuth{Username: "tester", Password: "dpt_" + strings.Repeat("x", 36)}
		_, err := git.PlainClone(filepath.Join(t.TempDir(), "c"), false, &git.CloneOptions{URL: remote, Auth: bad})
		if !errors.Is(err, transport.ErrAuthenticationRequired) {
			t.Fatalf("PlainClone with a wrong token = %v; want %v", err, transport.ErrAuthenticationRequired)
		}
	})
	e.fsck("tester", "hello")
}

// python returns a Python interpreter that imports module: the one on
// PATH, or Debian's, where apt installs python3-dulwich and python3-pygit2
// when PATH leads to another Python. It fails the test if there is none.
func python(t *testing.T, module string) string {
	t.Helper()
	var tried []string
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		out, err := exec.Command(py, "-c", "import "+module).CombinedOutput()
		if err == nil {
			return py
		}
		tried = append(tried, fmt.Sprintf("%s: %v %s", py, err, bytes.TrimSpace(out)))
	}
	t.Fatalf("no python3 imports %s (.ci/run installs it: apt-get install python3-dulwich python3-pygit2):\n%s",
		module, strings.Join(tried, "\n"))
	return ""
}
