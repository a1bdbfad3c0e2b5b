package object

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// commitCase is a commit stored by git, with what git does not report
// itself.
type commitCase struct {
	name    string
	id      string
	headers []Header
}

// gitCommits makes the commits of the table tests: most by git
// commit-tree, the rest written by hand and stored by git.
func gitCommits(t *testing.T, g *gitRepo) []commitCase {
	t.Helper()
	tree := g.run(nil, "100644 blob "+g.blob("hello\n")+"\tfile\n", "mktree")
	tree = strings.TrimSpace(tree)
	root := g.commitTree(nil, "root\n", tree)
	child := g.commitTree(nil, "child\n\nwith a body\n", tree, "-p", root)
	var args []string
	for i := range 20 {
		args = append(args, "-p", g.commitTree(nil, fmt.Sprintf("side %d\n", i), tree))
	}
	octopus := g.commitTree(nil, "octopus\n", append([]string{tree}, args...)...)
	encoded := strings.TrimSpace(g.run(nil, "latin\n", "-c", "i18n.commitEncoding=ISO-8859-1", "commit-tree", tree))
	zones := g.commitTree([]string{"GIT_AUTHOR_DATE=1700000000 +0530", "GIT_COMMITTER_DATE=1700000100 -0030"}, "zones\n", tree, "-p", root)
	unicode := g.commitTree([]string{"GIT_AUTHOR_NAME=Zoë Ünicode", "GIT_AUTHOR_EMAIL=zoë@example.org"}, "ünicode\n", tree)
	empty := g.commitTree(nil, "", tree)

	head := "tree " + tree + "\nparent " + root + "\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0100\n"
	sig := "-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----"
	gpgsig := g.write("commit", head+"gpgsig "+strings.ReplaceAll(sig, "\n", "\n ")+"\n\nsigned\n")

	g.git("update-ref", "refs/heads/main", root)
	g.run([]string{"GIT_COMMITTER_DATE=1700000200 +0000"}, "", "tag", "-a", "-m", "release", "v1", root)
	tag := strings.TrimSuffix(string(g.cat("tag", "v1")), "\n")
	mergetag := g.write("commit", "tree "+tree+"\nparent "+root+"\nparent "+child+
		"\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\nmergetag "+
		strings.ReplaceAll(tag, "\n", "\n ")+"\n\nmerge v1\n")
	extra := g.write("commit", "tree "+tree+"\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\n"+
		"x-custom one\n two\nencoding UTF-8\nparent "+root+"\n")

	cases := []commitCase{
		{name: "Root", id: root},
		{name: "OneParent", id: child},
		{name: "Octopus", id: octopus},
		{name: "Encoding", id: encoded},
		{name: "Zones", id: zones},
		{name: "Unicode", id: unicode},
		{name: "EmptyMessage", id: empty},
		{name: "Gpgsig", id: gpgsig, headers: []Header{{"gpgsig", sig}}},
		{name: "Mergetag", id: mergetag, headers: []Header{{"mergetag", tag}}},
		{name: "ExtraNoMessage", id: extra, headers: []Header{{"x-custom", "one\ntwo"}}},
	}
	// Identities as people have written them by hand.
	for i, ident := range []string{
		"A <a@x>1700000000 +0000",
		" Spaced  <a@x> 1700000000 +0000",
		"A <a@x>",
		"A <a>b> 17 +0100",
		"A <a@x> 1700000000",
		"A <a@x> 1700000000 -0030",
		"A <a@x> 17 +01",
		"A <b <a@x> 17 +0000",
		"<> 0 +0000",
		"A a@x 17 +0000",
	} {
		id := g.write("commit", "tree "+tree+"\nauthor "+ident+"\ncommitter C <c@x> 1700000000 +0000\n\nident\n")
		cases = append(cases, commitCase{name: fmt.Sprintf("Ident%d", i), id: id})
	}
	return cases
}

// rawDate is git's --date=raw spelling of a signature's time.
func rawDate(s Signature) string {
	if s.When.IsZero() {
		return ""
	}
	return strconv.FormatInt(s.When.Unix(), 10) + " " + s.When.Format("-0700")
}

func hexes(hs []plumbing.Hash) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = h.String()
	}
	return strings.Join(s, " ")
}

// TestParseCommit parses commits git made and compares every field with
// what git log reports of them.
func TestParseCommit(t *testing.T) {
	g := newGitRepo(t)
	for _, tc := range gitCommits(t, g) {
		t.Run(tc.name, func(t *testing.T) {
			raw := g.cat("commit", tc.id)
			c, err := ParseCommit(raw)
			if err != nil {
				t.Fatalf("ParseCommit(%q) = %v", raw, err)
			}
			want := strings.Split(g.git("log", "-1", "--date=raw", "--format=%T%x00%P%x00%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%e", tc.id), "\x00")
			got := []string{c.Tree.String(), hexes(c.Parents), c.Author.Name, c.Author.Email, rawDate(c.Author),
				c.Committer.Name, c.Committer.Email, rawDate(c.Committer), c.Encoding}
			if !slices.Equal(got, want) {
				t.Errorf("ParseCommit(%q)\n got %q\nwant %q (git log)", raw, got, want)
			}
			wantMsg := ""
			if _, m, ok := strings.Cut(string(raw), "\n\n"); ok {
				wantMsg = m
			}
			if c.Message != wantMsg {
				t.Errorf("Message = %q; want %q", c.Message, wantMsg)
			}
			if !slices.Equal(c.Headers, tc.headers) {
				t.Errorf("Headers = %q; want %q", c.Headers, tc.headers)
			}

			var info CommitInfo
			if err := ParseCommitInfo(raw, &info); err != nil {
				t.Fatalf("ParseCommitInfo = %v", err)
			}
			ct, _ := strconv.ParseInt(g.git("log", "-1", "--format=%ct", tc.id), 10, 64)
			if info.Tree != c.Tree || !slices.Equal(info.Parents, c.Parents) || info.Time != ct {
				t.Errorf("ParseCommitInfo = %v %v %d; want %v %v %d", info.Tree, info.Parents, info.Time, c.Tree, c.Parents, ct)
			}
			links, err := AppendLinks(nil, plumbing.CommitObject, raw)
			if want := append([]plumbing.Hash{c.Tree}, c.Parents...); err != nil || !slices.Equal(links, want) {
				t.Errorf("AppendLinks = %v, %v; want %v", links, err, want)
			}
		})
	}
}

// TestCommitTime checks the committer time of commits whose author and
// committer lines are not where git expects them: git then orders them as
// if made at 0, and so does ParseCommitInfo.
func TestCommitTime(t *testing.T) {
	const tree = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
	for _, tc := range []struct {
		name string
		raw  string
		want int64
	}{
		{"Normal", tree + "author A <a@x> 5 +0000\ncommitter C <c@x> 7 +0000\n\nm", 7},
		{"SpacesBeforeDate", tree + "author A <a@x> 5 +0000\ncommitter C <c@x>   7 +0000\n", 7},
		{"NoAuthor", tree + "committer C <c@x> 7 +0000\n\nm", 0},
		{"CommitterFirst", tree + "committer C <c@x> 7 +0000\nauthor A <a@x> 5 +0000\n", 0},
		{"NoDate", tree + "author A <a@x> 5 +0000\ncommitter C <c@x>\n", 0},
		{"Overflow", tree + "author A <a@x> 5 +0000\ncommitter C <c@x> 99999999999999999999 +0000\n", 0},
		{"NoNewline", tree + "author A <a@x> 5 +0000\ncommitter C <c@x> 7 +0000", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c CommitInfo
			if err := ParseCommitInfo([]byte(tc.raw), &c); err != nil || c.Time != tc.want {
				t.Errorf("ParseCommitInfo(%q) = time %d, %v; want %d", tc.raw, c.Time, err, tc.want)
			}
		})
	}
}

// TestParseCommitMalformed checks the commits git refuses to parse.
func TestParseCommitMalformed(t *testing.T) {
	const (
		id   = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
		tree = "tree " + id + "\n"
		sig  = "author A <a@x> 5 +0000\ncommitter C <c@x> 7 +0000\n\nm\n"
	)
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"Empty", "", "no tree line"},
		{"TreeNotFirst", "author A <a@x> 5 +0000\n" + tree, "no tree line"},
		{"ShortTree", "tree " + id[:39] + "\n" + sig, "no tree line"},
		{"BadTreeHex", "tree " + id[:39] + "g\n" + sig, "bad tree id"},
		{"OnlyTree", tree, "no tree line"},
		{"TreeNoNewline", "tree " + id, "no tree line"},
		{"BadParent", tree + "parent " + id[:39] + "\n" + sig, "bad parent line 1"},
		{"BadSecondParent", tree + "parent " + id + "\nparent " + id[:38] + "zz\n" + sig, "bad parent line 2"},
		{"EndsAfterParent", tree + "parent " + id + "\n", "bad parent line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCommit([]byte(tc.raw))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseCommit(%q) = %v; want ErrMalformed naming %q", tc.raw, err, tc.want)
			}
			var info CommitInfo
			if err2 := ParseCommitInfo([]byte(tc.raw), &info); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("ParseCommitInfo(%q) = %v; want %v", tc.raw, err2, err)
			}
			if _, err3 := AppendLinks(nil, plumbing.CommitObject, []byte(tc.raw)); err3 == nil || err3.Error() != err.Error() {
				t.Errorf("AppendLinks(%q) = %v; want %v", tc.raw, err3, err)
			}
		})
	}
}

// TestParseCommitInfoReuses checks that parsing into a CommitInfo reuses
// its parents' storage.
func TestParseCommitInfoReuses(t *testing.T) {
	raw := []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" +
		"author A <a@x> 5 +0000\ncommitter C <c@x> 7 +0000\n\nm\n")
	c := CommitInfo{Parents: make([]plumbing.Hash, 0, 4)}
	p := &c.Parents[:1][0]
	if err := ParseCommitInfo(raw, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Parents) != 1 || &c.Parents[0] != p {
		t.Errorf("ParseCommitInfo allocated new parents: %v", c.Parents)
	}
}
