package browse

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

// workRepo is a repository built with the real git binary in a temporary
// directory; its .git directory is what the package opens.
type workRepo struct {
	tb   testing.TB
	work string
	dir  string // work/.git
	home string
	tick int // seconds after t0 of the next commit
}

const t0 = 1_700_000_000

func newWorkRepo(tb testing.TB) *workRepo {
	tb.Helper()
	work := tb.TempDir()
	g := &workRepo{tb: tb, work: work, dir: filepath.Join(work, ".git"), home: tb.TempDir()}
	g.git("init", "-q", "-b", "main")
	return g
}

// git runs git in the work tree and returns its output; a failure fails
// the test. Neither the user's nor the system's configuration applies.
func (g *workRepo) git(args ...string) string {
	g.tb.Helper()
	return g.gitIn(nil, args...)
}

func (g *workRepo) gitIn(stdin []byte, args ...string) string {
	g.tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = g.work
	date := fmt.Sprintf("%d +0000", t0+g.tick)
	cmd.Env = append(os.Environ(), "HOME="+g.home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.com", "GIT_COMMITTER_DATE="+date)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		g.tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

// write writes files (path → content) into the work tree.
func (g *workRepo) write(files map[string]string) {
	g.tb.Helper()
	for name, content := range files {
		p := filepath.Join(g.work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			g.tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			g.tb.Fatal(err)
		}
	}
}

// commit stages everything and commits it, one minute after the last
// commit, and returns the commit's id.
func (g *workRepo) commit(msg string) plumbing.Hash {
	g.tb.Helper()
	g.git("add", "-A")
	g.git("commit", "-q", "--allow-empty", "-m", msg)
	g.tick += 60
	return g.rev("HEAD")
}

func (g *workRepo) rev(rev string) plumbing.Hash {
	g.tb.Helper()
	return plumbing.NewHash(strings.TrimSpace(g.git("rev-parse", rev)))
}

func (g *workRepo) open() *Repo {
	g.tb.Helper()
	r, err := Open(g.dir)
	if err != nil {
		g.tb.Fatal(err)
	}
	g.tb.Cleanup(r.Close)
	return r
}

// modeOf is the object.Mode of an octal mode git printed.
func modeOf(m uint64) object.Mode { return object.Mode(m) }
