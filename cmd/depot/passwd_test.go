package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// TestUserPasswd: an admin's `depot user passwd` on the data directory
// of a running server sets the password and signs out the user's browser
// at its next request; the old password is refused, the new one and the
// user's token work, and the audit log has the reset, and the admin that
// the server created at first start.
func TestUserPasswd(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "DEPOT_ADMIN_PASSWORD=admin-password-1")
	depot := cliIn(t, data)
	depot("tester-password\n", "user", "add", "tester", "--password-stdin")
	out := depot("", "token", "create", "--user", "tester", "--scopes", "user")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn := func(c *http.Client, password string) int {
		t.Helper()
		res, err := c.PostForm(s.url+"/login", url.Values{"username": {"tester"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	profile := func() (int, string) {
		t.Helper()
		res, err := browser.Get(s.url + "/settings/profile")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get("Location")
	}
	if code := signIn(browser, "tester-password"); code != http.StatusSeeOther {
		t.Fatalf("sign in = %d; want 303", code)
	}
	if code, _ := profile(); code != http.StatusOK {
		t.Fatalf("profile before the reset = %d; want 200", code)
	}

	out = depot("a-new-password\n", "user", "passwd", "TESTER", "--password-stdin")
	if !strings.Contains(out, "set the password of tester and ended 1 web sessions") {
		t.Errorf("depot user passwd printed %q; want the user and the one session ended", out)
	}
	if code, loc := profile(); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Errorf("the browser's next request after the reset = %d → %q; want the sign-in form", code, loc)
	}
	currentUser := func(set func(*http.Request)) int {
		t.Helper()
		req, _ := http.NewRequest("GET", s.url+"/api/current_user", nil)
		set(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"OldPassword", func(r *http.Request) { r.SetBasicAuth("tester", "tester-password") }, http.StatusUnauthorized},
		{"NewPassword", func(r *http.Request) { r.SetBasicAuth("tester", "a-new-password") }, http.StatusOK},
		{"Token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }, http.StatusOK},
	} {
		if code := currentUser(tc.set); code != tc.want {
			t.Errorf("%s: GET /api/current_user = %d; want %d", tc.name, code, tc.want)
		}
	}
	if code := signIn(browser, "a-new-password"); code != http.StatusSeeOther {
		t.Errorf("sign in with the new password = %d; want 303", code)
	}

	for _, tc := range []struct {
		action, target, detail string
	}{
		{"password.reset", "tester", "sessions ended: 1"},
		{"user.create", "admin", "admin, created by depot serve at first start"},
	} {
		out := depot("", "audit", "--json", "--action", tc.action, "--user", tc.target)
		var e auditEvent
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &e); err != nil ||
			e.Target != tc.target || e.Via != "cli" || e.Detail != tc.detail {
			t.Errorf("depot audit --action %s = %q (%v); want one event for %s, via cli, %q", tc.action, out, err, tc.target, tc.detail)
		}
	}
	if strings.Contains(s.stderr.String(), "a-new-password") {
		t.Errorf("the server logged the new password:\n%s", s.stderr)
	}
}

// TestUserPasswdRefused: what the command refuses, with the exit status
// of a usage error (2) or of a failure (1), and no change.
func TestUserPasswdRefused(t *testing.T) {
	data := t.TempDir()
	cliIn(t, data)("tester-password\n", "user", "add", "tester", "--password-stdin")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"NoPasswordStdin", "a-new-password\n", []string{"tester"}, 2, "--password-stdin"},
		{"Short", "short\n", []string{"tester", "--password-stdin"}, 2, "at least 8 characters"},
		{"Empty", "", []string{"tester", "--password-stdin"}, 2, "at least 8 characters"},
		{"NoUser", "a-new-password\n", []string{"nobody", "--password-stdin"}, 1, `no such user "nobody"`},
		{"NoName", "a-new-password\n", []string{"--password-stdin"}, 2, "missing NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := cli(t, tc.stdin, append([]string{"user", "passwd"}, append(tc.args, "--data", data)...)...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("depot user passwd %v = %d, %q %q; want %d saying %q", tc.args, code, out, errOut, tc.code, tc.want)
			}
		})
	}
	// The password is still the first one.
	if out, errOut, code := cli(t, "", "audit", "--action", "password.reset", "--data", data); code != 0 || strings.Contains(out, "password.reset") {
		t.Errorf("depot audit after refusals = %d %q %q; want no password.reset", code, out, errOut)
	}
}
