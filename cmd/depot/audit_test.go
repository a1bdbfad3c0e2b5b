package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/cmd/depot/internal/server"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/sqlite"
)

// auditEvent is an event as GET /api/v1/audit shows it.
type auditEvent struct {
	ID      int64  `json:"id"`
	Time    int64  `json:"time"`
	Actor   string `json:"actor"`
	IP      string `json:"ip"`
	Via     string `json:"via"`
	Action  string `json:"action"`
	Target  string `json:"target"`
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
}

type auditPage struct {
	Total    int          `json:"total"`
	PageNo   int          `json:"pageNo"`
	PageSize int          `json:"pageSize"`
	Events   []auditEvent `json:"events"`
}

// apiClient calls the API of srv with one Authorization.
type apiClient struct {
	t         *testing.T
	url       string
	user, pwd string
}

func (c apiClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.user != "" || c.pwd != "" {
		req.SetBasicAuth(c.user, c.pwd)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// must calls the API and decodes a 2xx answer into v.
func (c apiClient) must(method, path string, body, v any) {
	c.t.Helper()
	code, out := c.do(method, path, body)
	if code/100 != 2 {
		c.t.Fatalf("%s %s as %s = %d %s", method, path, c.user, code, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
}

func (c apiClient) audit(query string) auditPage {
	c.t.Helper()
	var p auditPage
	c.must("GET", "/api/v1/audit"+query, nil, &p)
	return p
}

// TestAuditLog drives every recorded action through the real API, the
// web's sign-in and token pages and git, then reads the log back as the
// admin and as each user: who did what, from where, to what and whom,
// with no secret anywhere in it.
func TestAuditLog(t *testing.T) {
	d, cfg := testData(t)
	d.store.SetPasswordCost(bcrypt.MinCost)
	ctx := context.Background()
	for _, u := range []*tokens.User{{GlobalKey: "admin", Admin: true}, {GlobalKey: "tester"}, {GlobalKey: "other"}} {
		if err := d.store.CreateUser(ctx, u, u.GlobalKey+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(server.New(cfg))
	defer srv.Close()
	admin := apiClient{t, srv.URL, "admin", "admin-password"}
	tester := apiClient{t, srv.URL, "tester", "tester-password"}
	other := apiClient{t, srv.URL, "other", "other-password"}

	// Tokens: tester acts with a token of its own; the admin for tester.
	var tok struct{ ID, Token string }
	tester.must("POST", "/api/v1/auth/tokens", map[string]any{"username": "tester", "description": "ci"}, &tok)
	secrets := []string{tok.Token, "admin-password", "tester-password", "other-password", "wrong-password"}
	viaToken := apiClient{t, srv.URL, "tester", tok.Token}
	var made struct{ ID, Token string }
	viaToken.must("POST", "/api/v1/auth/tokens", map[string]any{"username": "tester", "scopes": []string{"project:depot"}, "ipWhitelist": []string{"127.0.0.0/8"}}, &made)
	secrets = append(secrets, made.Token)
	viaToken.must("PUT", "/api/v1/auth/tokens/"+made.ID, map[string]any{"description": "edited"}, nil)
	viaToken.must("PUT", "/api/v1/auth/tokens/"+made.ID+"/status", map[string]any{"status": "disabled"}, nil)
	tester.must("PUT", "/api/v1/auth/tokens/"+made.ID+"/status", map[string]any{"status": "enabled"}, nil)
	var regen struct{ ID, Token string }
	tester.must("POST", "/api/v1/auth/tokens/"+made.ID+"/regenerate", nil, &regen)
	secrets = append(secrets, regen.Token)
	admin.must("DELETE", "/api/v1/auth/tokens/"+made.ID, nil, nil)
	var byAdmin struct{ ID, Token string }
	admin.must("POST", "/api/v1/auth/tokens", map[string]any{"username": "other"}, &byAdmin)
	secrets = append(secrets, byAdmin.Token)
	admin.must("DELETE", "/api/v1/auth/tokens?username=other", nil, nil)

	// Projects, members, repositories.
	tester.must("POST", "/api/v1/projects", map[string]any{"name": "team"}, nil)
	tester.must("PUT", "/api/v1/projects/team/members/other", map[string]any{"role": "viewer"}, nil)
	tester.must("PUT", "/api/v1/projects/team/members/other", map[string]any{"role": "viewer"}, nil) // no change, no event
	tester.must("PUT", "/api/v1/projects/team/members/other", map[string]any{"role": "developer"}, nil)
	tester.must("DELETE", "/api/v1/projects/team/members/other", nil, nil)
	tester.must("POST", "/api/v1/projects/team/repos", map[string]any{"name": "site"}, nil)
	tester.must("PATCH", "/api/v1/repos/team/site", map[string]any{"visibility": "public"}, nil)
	tester.must("PATCH", "/api/v1/repos/team/site", map[string]any{"description": "same visibility"}, nil) // no event
	tester.must("DELETE", "/api/v1/repos/team/site", nil, nil)

	// Refused credentials: a wrong password on the API, a wrong token in git.
	if code, _ := (apiClient{t, srv.URL, "tester", "wrong-password"}).do("GET", "/api/current_user", nil); code != http.StatusUnauthorized {
		t.Fatalf("wrong password = %d; want 401", code)
	}
	gitURL := strings.Replace(srv.URL, "http://", "http://tester:"+strings.Repeat("0", 40)+"@", 1) + "/tester/none.git"
	if out, err := gitCommand(t, "ls-remote", gitURL).CombinedOutput(); err == nil {
		t.Fatalf("git ls-remote with a wrong token succeeded:\n%s", out)
	}

	// The web: a failed and a good sign-in, a token made on its pages,
	// signing out.
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) int {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", srv.URL)
		res, err := web.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("/login", url.Values{"username": {"other"}, "password": {"wrong-password"}}); code != http.StatusUnauthorized {
		t.Fatalf("web sign-in with a wrong password = %d; want 401", code)
	}
	if code := post("/login", url.Values{"username": {"other"}, "password": {"other-password"}}); code != http.StatusSeeOther {
		t.Fatalf("web sign-in = %d; want 303", code)
	}
	res, err := web.Get(srv.URL + "/settings/tokens/new")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRE.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the new token form:\n%s", page)
	}
	csrf := string(m[1])
	if code := post("/settings/tokens/new", url.Values{"csrf": {csrf}, "description": {"laptop"}, "scopes": {"user"}}); code != http.StatusSeeOther {
		t.Fatalf("web token create = %d; want 303", code)
	}
	if code := post("/logout", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("web sign-out = %d; want 303", code)
	}

	// The admin sees everything, newest first.
	all := admin.audit("?pageSize=1000")
	type want struct{ actor, via, action, target, subject, detail string }
	wants := []want{
		{"tester", "password", audit.TokenCreate, tok.ID, "tester", "scopes="},
		{"tester", "token " + tok.ID, audit.TokenCreate, made.ID, "tester", "ipWhitelist=127.0.0.0/8"},
		{"tester", "token " + tok.ID, audit.TokenEdit, made.ID, "tester", "scopes=project:depot"},
		{"tester", "token " + tok.ID, audit.TokenDisable, made.ID, "tester", ""},
		{"tester", "password", audit.TokenEnable, made.ID, "tester", ""},
		{"tester", "password", audit.TokenRegen, made.ID, "tester", ""},
		{"admin", "password", audit.TokenDelete, made.ID, "tester", ""},
		{"admin", "password", audit.TokenCreate, byAdmin.ID, "other", ""},
		{"admin", "password", audit.TokenDeleteAll, "", "other", "1 tokens"},
		{"tester", "password", audit.ProjectCreate, "team", "tester", ""},
		{"tester", "password", audit.MemberAdd, "team", "other", "role viewer"},
		{"tester", "password", audit.MemberRole, "team", "other", "role viewer -> developer"},
		{"tester", "password", audit.MemberRemove, "team", "other", "role developer"},
		{"tester", "password", audit.RepoCreate, "team/site", "team", "private"},
		{"tester", "password", audit.RepoVisibility, "team/site", "team", "private -> public"},
		{"tester", "password", audit.RepoDelete, "team/site", "team", ""},
		{"", "", audit.AuthFail, "tester", "tester", "bad credentials"},
		{"", "", audit.AuthFail, "tester", "tester", ""},
		{"", "password", audit.SignInFail, "other", "other", "bad credentials"},
		{"other", "password", audit.SignIn, "other", "other", ""},
		{"other", "session", audit.TokenCreate, "", "other", "scopes=user"},
		{"other", "session", audit.SignOut, "other", "other", ""},
	}
	if all.Total != len(wants) || len(all.Events) != len(wants) {
		t.Errorf("the admin sees %d events (total %d); want %d:\n%s", len(all.Events), all.Total, len(wants), dumpEvents(all.Events))
	}
	for i, w := range wants {
		if i >= len(all.Events) {
			break
		}
		e := all.Events[len(all.Events)-1-i] // newest first
		if e.Actor != w.actor || e.Via != w.via || e.Action != w.action || (w.target != "" && e.Target != w.target) ||
			e.Subject != w.subject || !strings.Contains(e.Detail, w.detail) || e.IP != "127.0.0.1" ||
			time.Since(time.UnixMilli(e.Time)) > time.Minute {
			t.Errorf("event %d = %+v; want %+v from 127.0.0.1, just now", i, e, w)
		}
	}
	raw, _ := json.Marshal(all)
	for _, s := range secrets {
		if s != "" && bytes.Contains(raw, []byte(s)) {
			t.Errorf("the audit log holds the secret %q", s)
		}
	}

	// A user sees the events they caused or that concern them.
	for _, tc := range []struct {
		name string
		c    apiClient
	}{{"tester", tester}, {"other", other}} {
		t.Run("Visibility/"+tc.name, func(t *testing.T) {
			mine := tc.c.audit("?pageSize=1000")
			n := 0
			for _, e := range all.Events {
				if e.Actor == tc.name || e.Subject == tc.name {
					n++
				}
			}
			if mine.Total != n || len(mine.Events) != n || n == 0 {
				t.Errorf("%s sees %d events (total %d); want the %d of theirs", tc.name, len(mine.Events), mine.Total, n)
			}
			for _, e := range mine.Events {
				if e.Actor != tc.name && e.Subject != tc.name {
					t.Errorf("%s sees %+v, which is not theirs", tc.name, e)
				}
			}
			// Asking for another user narrows to what is theirs too.
			if p := tc.c.audit("?user=admin&pageSize=1000"); p.Total == 0 || p.Total >= n {
				t.Errorf("%s asking for admin's events sees %d; want some, fewer than their %d", tc.name, p.Total, n)
			}
		})
	}

	t.Run("Paging", func(t *testing.T) {
		var got []int64
		for no := 1; ; no++ {
			p := admin.audit(fmt.Sprintf("?pageNo=%d&pageSize=5", no))
			if p.Total != all.Total || p.PageNo != no || p.PageSize != 5 {
				t.Fatalf("page %d = total %d, pageNo %d, pageSize %d; want %d, %d, 5", no, p.Total, p.PageNo, p.PageSize, all.Total, no)
			}
			if len(p.Events) == 0 {
				break
			}
			for _, e := range p.Events {
				got = append(got, e.ID)
			}
		}
		if len(got) != len(all.Events) {
			t.Fatalf("pages of 5 held %d events; want %d", len(got), len(all.Events))
		}
		for i, id := range got {
			if id != all.Events[i].ID {
				t.Fatalf("paged event %d is id %d; want %d, newest first", i, id, all.Events[i].ID)
			}
		}
	})

	t.Run("Filters", func(t *testing.T) {
		if p := admin.audit("?action=token."); p.Total != 10 {
			t.Errorf("action=token. = %d events; want 10", p.Total)
		}
		if p := admin.audit("?action=member.role"); p.Total != 1 || p.Events[0].Detail != "role viewer -> developer" {
			t.Errorf("action=member.role = %+v; want the one role change", p)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, query string
			c           apiClient
			code        int
		}{
			{"Anonymous", "", apiClient{t: t, url: srv.URL}, http.StatusUnauthorized},
			{"TokenWithoutUser", "", apiClient{t, srv.URL, "tester", regen.Token}, http.StatusUnauthorized}, // deleted
			{"PageSizeTooLarge", "?pageSize=1001", admin, http.StatusBadRequest},
			{"PageNoZero", "?pageNo=0", admin, http.StatusBadRequest},
			{"UnknownAction", "?action=token.steal", admin, http.StatusBadRequest},
		} {
			code, body := tc.c.do("GET", "/api/v1/audit"+tc.query, nil)
			var e struct {
				Code int    `json:"code"`
				Msg  string `json:"msg"`
			}
			if code != tc.code || json.Unmarshal(body, &e) != nil || e.Code == 0 || e.Msg == "" {
				t.Errorf("%s: GET /api/v1/audit%s = %d %s; want %d with the JSON error", tc.name, tc.query, code, body, tc.code)
			}
		}
		// A token needs the user scope.
		var noUser struct{ ID, Token string }
		tester.must("POST", "/api/v1/auth/tokens", map[string]any{"username": "tester", "scopes": []string{"project"}}, &noUser)
		if code, body := (apiClient{t, srv.URL, "tester", noUser.Token}).do("GET", "/api/v1/audit", nil); code != http.StatusForbidden || !strings.Contains(string(body), `\"user\"`) {
			t.Errorf("a token without the user scope = %d %s; want 403 naming it", code, body)
		}
	})
}

func dumpEvents(es []auditEvent) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "  %+v\n", e)
	}
	return b.String()
}

// gitCommand is git with no credential helper or prompt, so that a
// refused credential fails at once.
func gitCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	return cmd
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestAuditCLIAndRetention: the CLI's admin commands are in the log,
// depot audit prints it, and the server deletes events past
// --audit-retention while it runs, keeping the rest.
func TestAuditCLIAndRetention(t *testing.T) {
	data := t.TempDir()
	for _, args := range [][]string{
		{"user", "add", "tester", "--admin", "--password-stdin"},
		{"project", "create", "team", "--owner", "tester"},
		{"user", "add", "other", "--password-stdin"},
		{"member", "add", "team", "other", "--role", "viewer"},
		{"member", "add", "team", "other", "--role", "admin"},
		{"member", "remove", "team", "other"},
		{"repo", "create", "team/site", "--public"},
		{"token", "create", "--user", "tester", "--scopes", "user"},
	} {
		if out, errOut, code := runInProcess(t, "a-password\n", append(args, "--data", data)...); code != 0 {
			t.Fatalf("depot %s: %d %s %s", strings.Join(args, " "), code, out, errOut)
		}
	}
	// Two events from before the retention and one within it, as an
	// older server would have left them.
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "depot.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(db)
	for _, age := range []int{400, 31, 29} {
		e := audit.Event{Action: audit.SignIn, Actor: "tester", Time: time.Now().AddDate(0, 0, -age), Detail: fmt.Sprintf("%d days ago", age)}
		if err := log.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	out, errOut, code := runInProcess(t, "", "audit", "--data", data)
	if code != 0 {
		t.Fatalf("depot audit = %d %s", code, errOut)
	}
	for _, want := range []string{
		"TIME ", "ACTOR", "user.create", "project.create", "member.add", "member.role", "member.remove",
		"repo.create", "token.create", "team/site", "role viewer -> admin", "cli", "400 days ago",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("depot audit lacks %q:\n%s", want, out)
		}
	}
	if out, _, code := runInProcess(t, "", "audit", "--action", "token.steal", "--data", data); code != 2 {
		t.Errorf("depot audit --action token.steal = %d %s; want usage error 2", code, out)
	}

	s := startServerFlags(t, data, []string{"--audit-retention", "30d"})
	var left []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		out, _, _ = runInProcess(t, "", "audit", "--json", "--action", "signin", "--data", data)
		left = strings.Split(strings.TrimSpace(out), "\n")
		if len(left) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var e auditEvent
	if len(left) != 1 || json.Unmarshal([]byte(left[0]), &e) != nil || e.Detail != "29 days ago" {
		t.Fatalf("with --audit-retention 30d, the sign-ins left are %q; want only the one of 29 days ago\n%s", left, s.stderr)
	}
	// The server logs the deletion once it is done, a moment after the
	// rows are gone.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.stderr.String(), "deleted=2"); {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not log the 2 events it deleted:\n%s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, _, _ = runInProcess(t, "", "audit", "--json", "--user", "other", "--data", data)
	if n := strings.Count(out, "\n"); n != 4 { // user.create, member add, role, remove
		t.Errorf("depot audit --json --user other = %d events; want 4 (the server keeps events within the retention):\n%s", n, out)
	}
	// Served without TLS, there is no HSTS.
	res, err := http.Get(s.url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if h := res.Header.Get("Strict-Transport-Security"); h != "" {
		t.Errorf("plain HTTP answers Strict-Transport-Security %q; want none", h)
	}
}

// runInProcess runs the CLI as cli does, without starting a process: the
// commands that set up a test need not pay for one each.
func runInProcess(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code := run(e, args)
	return out.String(), errOut.String(), code
}

func TestDaysFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"365d", 365 * 24 * time.Hour, true},
		{"90d", 90 * 24 * time.Hour, true},
		{"2160h", 90 * 24 * time.Hour, true},
		{"0", 0, true},
		{"1h30m", 90 * time.Minute, true},
		{"d", 0, false},
		{"-3d", 0, false},
		{"-1h", 0, false},
		{"5x", 0, false},
		{"99999999d", 0, false},
	} {
		var d days
		err := d.Set(tc.in)
		if (err == nil) != tc.ok || (tc.ok && time.Duration(d) != tc.want) {
			t.Errorf("Set(%q) = %v, %v; want %v, ok %v", tc.in, time.Duration(d), err, tc.want, tc.ok)
		}
	}
	if d := days(90 * 24 * time.Hour); d.String() != "90d" {
		t.Errorf("String() = %q; want 90d", d.String())
	}
}
