package gc

import (
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// TestRefTips checks the walk's starting points against git's own view:
// loose and packed refs, an annotated tag, and a detached HEAD on a commit
// no ref names.
func TestRefTips(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com",
			"GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("commit", "-q", "--allow-empty", "-m", "one")
	git("tag", "-a", "v1", "-m", "v1")
	git("branch", "packed")
	git("pack-refs", "--all")                         // main, packed and v1 now live in packed-refs
	git("commit", "-q", "--allow-empty", "-m", "two") // main loose again, shadowing
	git("checkout", "-q", "--detach")
	git("commit", "-q", "--allow-empty", "-m", "detached")

	want := strings.Fields(git("for-each-ref", "--format=%(objectname)"))
	want = append(want, git("rev-parse", "HEAD"))
	sort.Strings(want)
	tips, err := refTips(dir + "/.git")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range tips {
		got = append(got, h.String())
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("refTips = %v; want %v", got, want)
	}
}
