package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/api"
)

// passwordForm returns the fields of the password form.
func passwordFields(csrf, current, next, confirm string) url.Values {
	v := url.Values{"current_password": {current}, "new_password": {next}, "confirm_password": {confirm}}
	if csrf != "" {
		v.Set("csrf", csrf)
	}
	return v
}

// auditEvents returns the events of action in f's audit log, newest first.
func (f *fixture) auditEvents(t *testing.T, action string) []audit.Event {
	t.Helper()
	_, events, err := audit.New(f.db).List(context.Background(), audit.Query{Action: action, PageNo: 1, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// TestChangePasswordRefused: a form the rules refuse is answered with
// the profile page, the reason next to its field and the right status,
// and changes nothing: the old password still signs in, the other
// session stays, nothing is audited as a change.
func TestChangePasswordRefused(t *testing.T) {
	const good = "a brand new password"
	for _, tt := range []struct {
		name     string
		form     func(csrf string) url.Values
		code     int
		want     string // on the page
		field    string // the field marked invalid, if one
		attempts int    // failed password attempts counted
	}{
		{"WrongCurrent", func(c string) url.Values { return passwordFields(c, "not-my-password", good, good) },
			http.StatusUnauthorized, "The current password is wrong.", "current_password", 1},
		{"MissingCurrent", func(c string) url.Values { return passwordFields(c, "", good, good) },
			http.StatusBadRequest, "Enter your current password.", "current_password", 0},
		{"TooShort", func(c string) url.Values { return passwordFields(c, "tester-password", "short", "short") },
			http.StatusBadRequest, "Use at least 8 characters", "new_password", 0},
		{"TooLong", func(c string) url.Values {
			long := strings.Repeat("x", tokens.MaxPasswordBytes+1)
			return passwordFields(c, "tester-password", long, long)
		}, http.StatusBadRequest, "at most 72 bytes", "new_password", 0},
		{"Mismatch", func(c string) url.Values { return passwordFields(c, "tester-password", good, good+"!") },
			http.StatusBadRequest, "The two new passwords differ.", "confirm_password", 0},
		{"SameAsCurrent", func(c string) url.Values {
			return passwordFields(c, "tester-password", "tester-password", "tester-password")
		}, http.StatusBadRequest, "Choose a password other than the current one.", "new_password", 0},
		{"MissingCSRF", func(string) url.Values { return passwordFields("", "tester-password", good, good) },
			http.StatusForbidden, "another site", "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.pages.Audit = audit.New(f.db)
			b, phone := f.browser(t), f.browser(t)
			csrf := b.signIn("tester")
			phone.signIn("tester")

			code, _, body := b.do("POST", "/settings/password", tt.form(csrf))
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("POST /settings/password = %d; want %d saying %q:\n%s", code, tt.code, tt.want, body)
			}
			if tt.field != "" {
				if !strings.Contains(body, `id="`+tt.field+`-error"`) || !strings.Contains(body, `name="`+tt.field+`" type="password"`) {
					t.Errorf("the refusal is not shown next to %s, on the profile page:\n%s", tt.field, body)
				}
				if strings.Contains(body, "tester-password") || strings.Contains(body, good) {
					t.Errorf("the page shows a password typed:\n%s", body)
				}
			}
			if _, err := f.store.VerifyPassword(context.Background(), "tester", "tester-password"); err != nil {
				t.Errorf("after a refused change, the old password: %v", err)
			}
			if code, _, _ := phone.get("/settings/profile"); code != http.StatusOK {
				t.Errorf("after a refused change, the other session's profile = %d; want 200", code)
			}
			if ev := f.auditEvents(t, audit.PasswordChange); len(ev) != 0 {
				t.Errorf("a refused change is audited as a change: %+v", ev)
			}
			if ev := f.auditEvents(t, audit.AuthFail); len(ev) != tt.attempts {
				t.Errorf("auth.fail events = %+v; want %d", ev, tt.attempts)
			}
		})
	}
}

// TestChangePasswordThrottled: wrong current passwords count against the
// sign-in limiter (three here): the next try is 429 with Retry-After, even
// with the right password, and so is the sign-in form from that address.
func TestChangePasswordThrottled(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	csrf := b.signIn("tester")
	const next = "a brand new password"
	for i := 0; i < 3; i++ {
		if code, _, _ := b.do("POST", "/settings/password", passwordFields(csrf, "wrong-password", next, next)); code != http.StatusUnauthorized {
			t.Fatalf("wrong current password %d = %d; want 401", i, code)
		}
	}
	req, _ := http.NewRequest("POST", f.srv.URL+"/settings/password",
		strings.NewReader(passwordFields(csrf, "tester-password", next, next).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("right password after 3 wrong ones = %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if _, err := f.store.VerifyPassword(context.Background(), "tester", "tester-password"); err != nil {
		t.Errorf("a throttled change changed the password: %v", err)
	}
	other := f.browser(t)
	if code, _, body := other.do("POST", "/login", url.Values{"username": {"tester"}, "password": {"tester-password"}}); code != http.StatusTooManyRequests {
		t.Errorf("sign-in after 3 wrong current passwords = %d; want 429:\n%s", code, body)
	}
}

// TestChangePassword: a changed password signs out every other session
// of the user, keeps this one, leaves tokens and other users alone, and
// is audited; the old password no longer signs in, on the form or the
// API, and the new one does.
func TestChangePassword(t *testing.T) {
	f := newFixture(t)
	f.pages.Audit = audit.New(f.db)
	ctx := context.Background()
	// The real current_user API on the same store and authenticator.
	r := mux.NewRouter()
	api.New(f.store, f.log).Register(r)
	apiSrv := httptest.NewServer(f.authn.Middleware(auth.Options{Passwords: true}, f.log)(r))
	t.Cleanup(apiSrv.Close)
	currentUser := func(set func(*http.Request)) int {
		t.Helper()
		req, _ := http.NewRequest("GET", apiSrv.URL+"/api/current_user", nil)
		set(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	tok := &tokens.Token{Username: "tester", Scopes: []string{auth.ScopeUser}}
	secret, err := f.store.CreateToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}

	laptop, phone, bystander := f.browser(t), f.browser(t), f.browser(t)
	csrf := laptop.signIn("tester")
	phone.signIn("tester")
	bystander.signIn("other")

	const next = "correct horse battery"
	code, loc, _ := laptop.do("POST", "/settings/password", passwordFields(csrf, "tester-password", next, next))
	if code != http.StatusSeeOther || loc != "/settings/profile" {
		t.Fatalf("POST /settings/password = %d → %q; want 303 → /settings/profile", code, loc)
	}
	code, _, body := laptop.get("/settings/profile")
	if code != http.StatusOK || !strings.Contains(body, "Password changed; your other sessions were signed out.") {
		t.Fatalf("this session's profile after the change = %d; want 200 with the notice:\n%s", code, body)
	}
	if n := len(sessionIDPattern.FindAllString(body, -1)); n != 1 {
		t.Errorf("the profile lists %d sessions; want this one only", n)
	}
	if code, loc, _ := phone.get("/settings/profile"); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Errorf("the other session after the change = %d → %q; want the sign-in form", code, loc)
	}
	if code, _, _ := bystander.get("/settings/profile"); code != http.StatusOK {
		t.Errorf("another user's session after the change = %d; want 200", code)
	}

	// Sign-in form and API: the old password is refused, the new one
	// and the token work.
	signIn := func(password string) int {
		code, _, _ := f.browser(t).do("POST", "/login", url.Values{"username": {"tester"}, "password": {password}})
		return code
	}
	if code := signIn("tester-password"); code != http.StatusUnauthorized {
		t.Errorf("sign-in with the old password = %d; want 401", code)
	}
	if code := signIn(next); code != http.StatusSeeOther {
		t.Errorf("sign-in with the new password = %d; want 303", code)
	}
	if code := currentUser(func(r *http.Request) { r.SetBasicAuth("tester", "tester-password") }); code != http.StatusUnauthorized {
		t.Errorf("current_user with the old password = %d; want 401", code)
	}
	if code := currentUser(func(r *http.Request) { r.SetBasicAuth("tester", next) }); code != http.StatusOK {
		t.Errorf("current_user with the new password = %d; want 200", code)
	}
	if code := currentUser(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }); code != http.StatusOK {
		t.Errorf("current_user with tester's token = %d; want 200 (tokens survive a password change)", code)
	}

	ev := f.auditEvents(t, audit.PasswordChange)
	if len(ev) != 1 || ev[0].Actor != "tester" || ev[0].Subject != "tester" || ev[0].Via != "session" || ev[0].IP == "" ||
		ev[0].Detail != "sessions ended: 1" {
		t.Errorf("password.change events = %+v; want one by tester over a session, one session ended", ev)
	}
	for _, e := range ev {
		if strings.Contains(e.Detail+e.Target, "password-") || strings.Contains(e.Detail+e.Target, next) {
			t.Errorf("an audit event holds a password: %+v", e)
		}
	}

	// Revoking a session from the list is audited too.
	tablet := f.browser(t)
	if code, _, _ := tablet.do("POST", "/login", url.Values{"username": {"tester"}, "password": {next}}); code != http.StatusSeeOther {
		t.Fatalf("tablet sign-in = %d; want 303", code)
	}
	list, err := f.store.ListSessions(ctx, "tester")
	if err != nil {
		t.Fatal(err)
	}
	victim := list[0].ID // the tablet's, seen last
	if code, _, _ := laptop.do("POST", "/settings/sessions/"+victim+"/delete", url.Values{"csrf": {csrf}, "confirmed": {"1"}}); code != http.StatusSeeOther {
		t.Fatalf("revoke = %d; want 303", code)
	}
	if ev := f.auditEvents(t, audit.SessionRevoke); len(ev) != 1 || ev[0].Target != victim || ev[0].Subject != "tester" || ev[0].Actor != "tester" {
		t.Errorf("session.revoke events = %+v; want one for %s", ev, victim)
	}
}

// TestChangePasswordChinese: the form's texts and refusals are in the
// visitor's language too.
func TestChangePasswordChinese(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.lang = "zh-CN"
	csrf := b.signIn("tester")
	if _, _, body := b.get("/settings/profile"); !strings.Contains(body, "修改密码") || !strings.Contains(body, "个人访问令牌不受影响") {
		t.Fatalf("Chinese profile lacks the password form:\n%s", body)
	}
	_, _, body := b.do("POST", "/settings/password", passwordFields(csrf, "tester-password", "abc", "abd"))
	if !strings.Contains(body, "请使用至少 8 个字符") || !strings.Contains(body, "两次输入的新密码不一致") {
		t.Fatalf("Chinese refusals missing:\n%s", body)
	}
}
