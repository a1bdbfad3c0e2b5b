package object

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitRepo is an empty bare repository driven by the real git binary, in
// which tests make objects and ask git how it reads them.
type gitRepo struct {
	t    testing.TB
	dir  string
	home string
}

func newGitRepo(t testing.TB) *gitRepo {
	t.Helper()
	g := &gitRepo{t: t, dir: filepath.Join(t.TempDir(), "r.git"), home: t.TempDir()}
	g.run(nil, "", "init", "-q", "--bare", g.dir)
	return g
}

// run runs git in the repository with stdin and extra environment, and
// returns its standard output.
func (g *gitRepo) run(env []string, stdin string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = g.home
	cmd.Env = append(os.Environ(), "GIT_DIR="+g.dir, "HOME="+g.home, "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
		"GIT_AUTHOR_NAME=Ann Author", "GIT_AUTHOR_EMAIL=ann@example.com", "GIT_AUTHOR_DATE=1700000000 +0000",
		"GIT_COMMITTER_NAME=Carl Committer", "GIT_COMMITTER_EMAIL=carl@example.com", "GIT_COMMITTER_DATE=1700000100 +0000")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// git runs git and returns its output without the trailing newline.
func (g *gitRepo) git(args ...string) string {
	g.t.Helper()
	return strings.TrimSuffix(g.run(nil, "", args...), "\n")
}

// write stores content as an object of type typ, as written, even where
// git would not make such an object itself.
func (g *gitRepo) write(typ, content string) string {
	g.t.Helper()
	return strings.TrimSpace(g.run(nil, content, "hash-object", "-t", typ, "-w", "--literally", "--stdin"))
}

// cat returns the content of object id as git stores it.
func (g *gitRepo) cat(typ, id string) []byte {
	g.t.Helper()
	return []byte(g.run(nil, "", "cat-file", typ, id))
}

// blob stores a blob.
func (g *gitRepo) blob(content string) string {
	g.t.Helper()
	return g.write("blob", content)
}

// commitTree runs git commit-tree with extra environment and arguments.
func (g *gitRepo) commitTree(env []string, msg string, args ...string) string {
	g.t.Helper()
	return strings.TrimSpace(g.run(env, msg, append([]string{"commit-tree"}, args...)...))
}
