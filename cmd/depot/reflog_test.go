package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// reflogEnv is a live server with a project repository team/app owned by
// tester, a viewer member and a stranger, and a work tree pushing to it
// with tester's token.
type reflogEnv struct {
	t       *testing.T
	s       *liveServer
	data    string
	repo    string // the repository on disk
	work    string
	home    string
	url     string // team/app with tester's token
	tokens  map[string]string
	tokenID string // the id of tester's token
}

var createdTokenRE = regexp.MustCompile(`created token (\S+) for`)

func newReflogEnv(t *testing.T) *reflogEnv {
	t.Helper()
	e := &reflogEnv{t: t, data: t.TempDir(), home: t.TempDir(), tokens: map[string]string{}}
	e.s = startServer(t, e.data)
	for _, u := range []string{"tester", "viewer", "stranger"} {
		e.depot(u+"-password\n", "user", "add", u, "--password-stdin")
		out := e.depot("", "token", "create", "--user", u, "--scopes", "project:depot")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		e.tokens[u] = lines[len(lines)-1]
		if u == "tester" {
			e.tokenID = createdTokenRE.FindStringSubmatch(out)[1]
		}
	}
	e.depot("", "project", "create", "team", "--owner", "tester")
	e.depot("", "member", "add", "team", "viewer", "--role", "viewer")
	e.depot("", "repo", "create", "team/app")
	e.repo = filepath.Join(e.data, "repos", "team", "app.git")
	e.url = "http://tester:" + e.tokens["tester"] + "@" + strings.TrimPrefix(e.s.url, "http://") + "/team/app.git"
	e.work = filepath.Join(e.home, "work")
	e.git(e.home, "init", "-q", "-b", "main", e.work)
	e.git(e.work, "remote", "add", "origin", e.url)
	return e
}

// depot runs the CLI on the server's data directory and fails the test
// when it fails.
func (e *reflogEnv) depot(stdin string, args ...string) string {
	e.t.Helper()
	out, errOut, code := cli(e.t, stdin, append(args, "--data", e.data)...)
	if code != 0 {
		e.t.Fatalf("depot %v: exit %d: %s %s", args, code, out, errOut)
	}
	return out
}

func (e *reflogEnv) git(dir string, args ...string) string {
	e.t.Helper()
	out, err := e.tryGit(dir, args...)
	if err != nil {
		e.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return out
}

func (e *reflogEnv) tryGit(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+e.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
		"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.com")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// commit commits a change in the work tree and returns its id.
func (e *reflogEnv) commit(msg string) string {
	e.t.Helper()
	os.WriteFile(filepath.Join(e.work, "file"), []byte(msg+"\n"), 0o644)
	e.git(e.work, "add", "file")
	e.git(e.work, "commit", "-q", "-m", msg)
	return e.git(e.work, "rev-parse", "HEAD")
}

// remoteRef is what a fresh look at the server says ref holds, "" when
// it is missing.
func (e *reflogEnv) remoteRef(ref string) string {
	e.t.Helper()
	out := e.git(e.work, "ls-remote", e.url, ref)
	id, _, _ := strings.Cut(out, "\t")
	return id
}

// hasObject reports whether the server's repository holds id.
func (e *reflogEnv) hasObject(id string) bool {
	_, err := e.tryGit(e.repo, "cat-file", "-e", id)
	return err == nil
}

type reflogPage struct {
	Total    int `json:"total"`
	PageNo   int `json:"pageNo"`
	PageSize int `json:"pageSize"`
	Entries  []struct {
		Ref, Old, New, User, TokenID, IP, Message string
		Time                                      int64
	} `json:"entries"`
}

// reflog asks the API as user for the reflog with the query q.
func (e *reflogEnv) reflog(user, q string) (int, reflogPage, string) {
	e.t.Helper()
	code, body := e.s.get(e.t, "/api/v1/repos/team/app/reflog"+q, "Authorization", "Bearer "+e.tokens[user])
	var page reflogPage
	if code == 200 {
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			e.t.Fatalf("reflog answer %s: %v", body, err)
		}
	}
	return code, page, body
}

// ageObjects dates every pack and loose object of the server's repository
// past gc's grace for unreachable objects, so that only the reflog keeps
// them.
func (e *reflogEnv) ageObjects() {
	e.t.Helper()
	old := time.Now().Add(-30 * 24 * time.Hour)
	filepath.WalkDir(filepath.Join(e.repo, "objects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chtimes(p, old, old)
		}
		return nil
	})
}

// TestReflogUndoesForcePushAndDelete drives the real git client: a force
// push that drops a commit and a push --delete are shown by the reflog
// API with who did them, and depot repo restore-ref brings them back.
func TestReflogUndoesForcePushAndDelete(t *testing.T) {
	e := newReflogEnv(t)
	c1 := e.commit("one")
	c2 := e.commit("two")
	e.git(e.work, "push", "-q", "origin", "main")
	e.git(e.work, "reset", "-q", "--hard", c1)
	c3 := e.commit("three")
	e.git(e.work, "push", "-q", "--force", "origin", "main")

	code, page, body := e.reflog("tester", "?ref=refs/heads/main")
	if code != 200 || page.Total != 2 || len(page.Entries) != 2 {
		t.Fatalf("reflog of main = %d %s; want 2 entries", code, body)
	}
	got := page.Entries[0]
	if got.Ref != "refs/heads/main" || got.Old != c2 || got.New != c3 || got.User != "tester" ||
		got.TokenID != e.tokenID || got.IP != "127.0.0.1" || got.Message != "push" || time.Since(time.UnixMilli(got.Time)) > time.Minute {
		t.Errorf("newest entry = %+v; want the force push %s → %s by tester with token %s from 127.0.0.1", got, c2, c3, e.tokenID)
	}
	if first := page.Entries[1]; first.Old != strings.Repeat("0", 40) || first.New != c2 {
		t.Errorf("oldest entry = %+v; want the creation at %s", first, c2)
	}
	// git itself reads the server's reflogs.
	if out := e.git(e.repo, "reflog", "show", "--format=%H %gs", "main"); !strings.HasPrefix(out, c3+" push [token "+e.tokenID+", from 127.0.0.1]") {
		t.Errorf("git reflog show main on the server =\n%s", out)
	}
	if out := e.git(e.repo, "reflog", "show", "--format=%H", "HEAD"); out != c3+"\n"+c2 {
		t.Errorf("git reflog show HEAD on the server =\n%s", out)
	}

	out := e.depot("", "repo", "restore-ref", "team/app", "refs/heads/main", c2)
	if !strings.Contains(out, "restored refs/heads/main of team/app to "+c2+" (was "+c3+")") {
		t.Errorf("restore-ref printed %q", out)
	}
	clone := filepath.Join(e.home, "clone")
	e.git(e.home, "clone", "-q", e.url, clone)
	if tip := e.git(clone, "rev-parse", "HEAD"); tip != c2 {
		t.Errorf("a clone after restore-ref has main at %s; want %s", tip, c2)
	}
	_, page, _ = e.reflog("tester", "?ref=main")
	if r := page.Entries[0]; r.Old != c3 || r.New != c2 || !strings.HasPrefix(r.User, "cli") || r.TokenID != "" || r.IP != "" || r.Message != "restore-ref: back to "+c2 {
		t.Errorf("newest entry after restore-ref = %+v; want the restore from the command line", r)
	}
	if out := e.depot("", "repo", "reflog", "team/app", "main"); !strings.Contains(out, "restore-ref: back to "+c2) || !strings.Contains(out, e.tokenID) {
		t.Errorf("depot repo reflog =\n%s", out)
	}

	// A deleted branch keeps its log, and comes back.
	e.git(e.work, "checkout", "-q", "-b", "feature")
	f1 := e.commit("feature work")
	e.git(e.work, "push", "-q", "origin", "feature")
	e.git(e.work, "push", "-q", "--delete", "origin", "feature")
	if id := e.remoteRef("refs/heads/feature"); id != "" {
		t.Fatalf("feature still on the server at %s", id)
	}
	_, page, body = e.reflog("tester", "?ref=feature")
	if page.Total != 2 || page.Entries[0].Old != f1 || page.Entries[0].New != strings.Repeat("0", 40) || page.Entries[0].TokenID != e.tokenID {
		t.Fatalf("reflog of the deleted feature = %s; want its deletion newest", body)
	}
	e.depot("", "repo", "restore-ref", "team/app", "feature", f1)
	if id := e.remoteRef("refs/heads/feature"); id != f1 {
		t.Errorf("feature after restore-ref = %q; want %s", id, f1)
	}
	e.git(clone, "fetch", "-q", "origin")
	if id := e.git(clone, "rev-parse", "origin/feature"); id != f1 {
		t.Errorf("a fetch after restore-ref has feature at %s; want %s", id, f1)
	}

	_, errOut, code := cli(t, "", "repo", "restore-ref", "team/app", "main", strings.Repeat("ab", 20), "--data", e.data)
	if code != 1 || !strings.Contains(errOut, "is no longer in team/app") {
		t.Errorf("restore-ref to a missing object = exit %d %q; want a refusal", code, errOut)
	}
	tree := e.git(e.work, "rev-parse", "HEAD^{tree}")
	_, errOut, code = cli(t, "", "repo", "restore-ref", "team/app", "main", tree, "--data", e.data)
	if code != 1 || !strings.Contains(errOut, "a branch may only point at a commit") {
		t.Errorf("restore-ref of a branch to a tree = exit %d %q; want a refusal", code, errOut)
	}
	e.git(e.repo, "fsck", "--no-progress", "--no-dangling")
}

// TestReflogKeepsObjectsFromGC: gc keeps a commit that a force push
// dropped while its reflog entry is within --reflog-expire, and prunes it
// once the entry has expired; restore-ref then refuses.
func TestReflogKeepsObjectsFromGC(t *testing.T) {
	e := newReflogEnv(t)
	c1 := e.commit("one")
	dropped := e.commit("two")
	e.git(e.work, "push", "-q", "origin", "main")
	e.git(e.work, "reset", "-q", "--hard", c1)
	e.commit("three")
	e.git(e.work, "push", "-q", "--force", "origin", "main")

	for _, tc := range []struct {
		name, expire string
		kept         bool
	}{
		{name: "WithinWindow", expire: "1h", kept: true},
		{name: "NeverExpires", expire: "0", kept: true},
		{name: "Expired", expire: "1ns", kept: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.ageObjects()
			e.depot("", "repo", "gc", "team/app", "--reflog-expire", tc.expire)
			if got := e.hasObject(dropped); got != tc.kept {
				t.Errorf("after gc --reflog-expire %s the dropped commit is there: %v; want %v", tc.expire, got, tc.kept)
			}
			e.git(e.repo, "fsck", "--no-progress", "--no-dangling")
		})
	}
	if _, page, body := e.reflog("tester", ""); page.Total != 0 {
		t.Errorf("reflog after expiry = %s; want no entries", body)
	}
	_, errOut, code := cli(t, "", "repo", "restore-ref", "team/app", "main", dropped, "--data", e.data)
	if code != 1 || !strings.Contains(errOut, "no longer in team/app") {
		t.Errorf("restore-ref of a pruned commit = exit %d %q; want a refusal", code, errOut)
	}
}

// TestReflogAPI: only the repository's admins read the reflog, and it
// pages as the token list does.
func TestReflogAPI(t *testing.T) {
	e := newReflogEnv(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, e.commit("c"+string(rune('a'+i))))
		e.git(e.work, "push", "-q", "origin", "main")
	}
	for _, tc := range []struct {
		name, user, query string
		wantCode          int
		wantNew           []string // the page's entries' new ids
		wantTotal         int
	}{
		{name: "AllRefs", user: "tester", query: "", wantCode: 200, wantNew: []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, wantTotal: 5},
		{name: "FirstPage", user: "tester", query: "?ref=refs/heads/main&pageSize=2", wantCode: 200, wantNew: []string{ids[4], ids[3]}, wantTotal: 5},
		{name: "LastPage", user: "tester", query: "?ref=refs/heads/main&pageSize=2&pageNo=3", wantCode: 200, wantNew: []string{ids[0]}, wantTotal: 5},
		{name: "PastTheEnd", user: "tester", query: "?pageSize=2&pageNo=4", wantCode: 200, wantNew: []string{}, wantTotal: 5},
		{name: "OtherRef", user: "tester", query: "?ref=refs/heads/none", wantCode: 200, wantNew: []string{}, wantTotal: 0},
		{name: "PageSizeTooLarge", user: "tester", query: "?pageSize=1001", wantCode: 400},
		{name: "BadRef", user: "tester", query: "?ref=refs/heads/a..b", wantCode: 400},
		{name: "ReaderNotAdmin", user: "viewer", query: "", wantCode: 403},
		{name: "Stranger", user: "stranger", query: "", wantCode: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, page, body := e.reflog(tc.user, tc.query)
			if code != tc.wantCode {
				t.Fatalf("GET reflog%s as %s = %d %s; want %d", tc.query, tc.user, code, body, tc.wantCode)
			}
			if code != 200 {
				if !strings.Contains(body, `"code"`) || !strings.Contains(body, `"msg"`) {
					t.Errorf("error body %s is not {code, msg}", body)
				}
				return
			}
			if page.Total != tc.wantTotal {
				t.Errorf("total = %d; want %d", page.Total, tc.wantTotal)
			}
			var got []string
			for _, en := range page.Entries {
				got = append(got, en.New)
			}
			if strings.Join(got, ",") != strings.Join(tc.wantNew, ",") || page.Entries == nil {
				t.Errorf("entries %s; want new ids %v", body, tc.wantNew)
			}
		})
	}
	code, body := e.s.get(t, "/api/v1/repos/team/app/reflog")
	if code != 401 {
		t.Errorf("anonymous GET reflog = %d %s; want 401", code, body)
	}
}
