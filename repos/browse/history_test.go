package browse

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/repos/repostest"
	"github.com/go-git/go-git/v5/plumbing"
)

// historyRepo has merges that git's history simplification cuts for one
// path and not another, an evil merge, a file deleted and added again,
// a merge that drops a branch's change, commits of equal date, and a
// subject over two lines.
func historyRepo(tb testing.TB) *workRepo {
	tb.Helper()
	g := newWorkRepo(tb)
	g.write(map[string]string{"a.txt": "a1\n", "b.txt": "b1\n", "dir/x": "x1\n"})
	g.commit("c1")
	g.git("branch", "side", "HEAD")
	g.write(map[string]string{"a.txt": "a2\n"})
	g.commit("c2\ncontinued subject\n\nbody")
	g.git("checkout", "-q", "-b", "topic")
	g.write(map[string]string{"b.txt": "b-topic\n"})
	g.commit("t1")
	g.write(map[string]string{"dir/x": "x-topic\n"})
	g.commit("t2")
	g.git("checkout", "-q", "main")
	g.write(map[string]string{"a.txt": "a3\n"})
	g.commit("c3")
	g.git("merge", "-q", "--no-ff", "-m", "merge topic", "topic")
	g.tick += 60
	g.git("checkout", "-q", "side")
	g.write(map[string]string{"b.txt": "b-side\n", "c.txt": "c\n"})
	g.commit("s1")
	g.git("checkout", "-q", "main")
	g.git("merge", "-q", "--no-commit", "-X", "ours", "side")
	g.write(map[string]string{"b.txt": "b-evil\n"})
	g.git("add", "-A")
	g.git("commit", "-q", "-m", "evil merge side")
	g.tick += 60
	// A branch's change to a.txt that the merge drops: git log -- a.txt
	// never shows it, as the merge is TREESAME to its first parent.
	g.git("checkout", "-q", "-b", "lost", "HEAD~1")
	g.write(map[string]string{"a.txt": "a-lost\n"})
	g.commit("lost change")
	g.git("checkout", "-q", "main")
	g.git("merge", "-q", "-s", "ours", "-m", "merge lost keeping ours", "lost")
	g.tick += 60
	g.git("rm", "-q", "a.txt")
	g.commit("delete a")
	g.tick -= 60 // the next two commits share a date
	g.write(map[string]string{"a.txt": "a-again\n"})
	g.commit("add a again")
	g.tick -= 60
	g.write(map[string]string{"dir/y": "y\n"})
	g.commit("same date")
	return g
}

// gitLog is git log's answer for the same question.
func gitLog(tb testing.TB, g *workRepo, commit plumbing.Hash, path string) []CommitSummary {
	tb.Helper()
	args := []string{"log", "--format=%H%x1f%s%x1f%an%x1f%ae%x1f%at%x1f%P", commit.String()}
	if path != "" {
		args = append(args, "--", path)
	}
	var want []CommitSummary
	for _, line := range strings.Split(strings.TrimSpace(g.git(args...)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\x1f")
		s := CommitSummary{ID: plumbing.NewHash(f[0]), Short: f[0][:7], Subject: f[1]}
		s.Author.Name, s.Author.Email = f[2], f[3]
		at, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		s.Author.When = time.Unix(at, 0)
		for _, p := range strings.Fields(f[5]) {
			s.Parents = append(s.Parents, plumbing.NewHash(p))
		}
		want = append(want, s)
	}
	return want
}

func sameSummary(got, want CommitSummary) bool {
	if got.ID != want.ID || got.Short != want.Short || got.Subject != want.Subject ||
		got.Author.Name != want.Author.Name || !got.Author.When.Equal(want.Author.When) || got.Author.Email != want.Author.Email || len(got.Parents) != len(want.Parents) {
		return false
	}
	for i := range got.Parents {
		if got.Parents[i] != want.Parents[i] {
			return false
		}
	}
	return true
}

func TestHistoryMatchesGitLog(t *testing.T) {
	g := historyRepo(t)
	r := g.open()
	head := g.rev("main")
	fx := repostest.NewFixture(t)
	fr, err := Open(fx.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	fg := &workRepo{tb: t, work: fx.Path, home: t.TempDir()}
	for _, tc := range []struct {
		name   string
		g      *workRepo
		r      *Repo
		commit plumbing.Hash
		path   string
	}{
		{"whole history", g, r, head, ""},
		{"file simplified at merges", g, r, head, "a.txt"},
		{"file changed on a branch and by an evil merge", g, r, head, "b.txt"},
		{"directory", g, r, head, "dir"},
		{"file in a directory", g, r, head, "dir/x"},
		{"file of a merged branch", g, r, head, "c.txt"},
		{"path never there", g, r, head, "nope"},
		{"from a branch", g, r, g.rev("topic"), ""},
		{"fixture", fg, fr, plumbing.NewHash(fx.ID(t, "merge topic")), ""},
		{"fixture path", fg, fr, plumbing.NewHash(fx.ID(t, "merge topic")), "src/hello.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := gitLog(t, tc.g, tc.commit, tc.path)
			page, err := tc.r.History(tc.commit, tc.path, 0, MaxPageSize)
			if err != nil {
				t.Fatal(err)
			}
			if page.Next != 0 {
				t.Errorf("Next = %d on the only page", page.Next)
			}
			if len(page.Commits) != len(want) {
				t.Fatalf("History has %d commits, git log %d:\n%v\n%v", len(page.Commits), len(want), subjects(page.Commits), subjects(want))
			}
			for i := range want {
				if !sameSummary(page.Commits[i], want[i]) {
					t.Errorf("commit %d = %+v; git log says %+v", i, page.Commits[i], want[i])
				}
			}
			// Pages of two add up to the same list.
			var paged []CommitSummary
			for skip := 0; ; {
				p, err := tc.r.History(tc.commit, tc.path, skip, 2)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, p.Commits...)
				if p.Next == 0 {
					break
				}
				if p.Next != skip+2 {
					t.Fatalf("Next = %d after skip %d", p.Next, skip)
				}
				skip = p.Next
			}
			if len(paged) != len(want) {
				t.Fatalf("pages of 2 give %d commits; want %d", len(paged), len(want))
			}
			for i := range want {
				if paged[i].ID != want[i].ID {
					t.Errorf("paged commit %d = %s; want %s", i, paged[i].Subject, want[i].Subject)
				}
			}
		})
	}
}

func TestHistoryLimits(t *testing.T) {
	g := historyRepo(t)
	r := g.open()
	for _, tc := range []struct {
		name        string
		skip, limit int
	}{
		{"negative skip", -1, 10},
		{"zero limit", 0, 0},
		{"limit too large", 0, MaxPageSize + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.History(g.rev("main"), "", tc.skip, tc.limit); !errors.Is(err, ErrInvalid) {
				t.Errorf("History(skip %d, limit %d) = %v; want ErrInvalid", tc.skip, tc.limit, err)
			}
		})
	}
}

func TestSubject(t *testing.T) {
	for _, tc := range []struct{ name, msg, want string }{
		{"one line", "fix it\n", "fix it"},
		{"paragraph", "first\nsecond  line \n\nbody\n", "first second  line"},
		{"leading blank lines", "\n\n  indented\n", "  indented"},
		{"blank line of spaces ends it", "a\n   \nb\n", "a"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Subject(tc.msg); got != tc.want {
				t.Errorf("Subject(%q) = %q; want %q", tc.msg, got, tc.want)
			}
		})
	}
}

func subjects(list []CommitSummary) []string {
	var s []string
	for _, c := range list {
		s = append(s, c.Subject)
	}
	return s
}
