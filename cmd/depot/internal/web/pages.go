package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/tokens"
)

// loginData is the sign-in form: what was typed, besides the password,
// and why it failed.
type loginData struct {
	Username string
	Next     string
	Error    string
}

// safeNext returns next when it is a path on this site, else "/": the
// form must never send a visitor to another site after signing in.
// Browsers drop tabs and newlines from URLs and read a backslash as a
// slash, so "/\t/evil.example" would be "//evil.example": next may hold
// neither.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.ContainsAny(next, "\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(next, "//") {
		return "/"
	}
	return next
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if visitorOf(r).signedIn() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return s.render(w, http.StatusOK, "login", newPage(r, "login.title", "", &loginData{Next: next}))
}

// login checks the password through the authenticator, so that failures
// count against the API's limiter, then starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	data := &loginData{Username: r.PostFormValue("username"), Next: safeNext(r.PostFormValue("next"))}
	p := newPage(r, "login.title", "", data)
	id, err := s.auth.SignIn(r, data.Username, r.PostFormValue("password"))
	switch kind := apierr.KindOf(err); {
	case err == nil:
	case kind == apierr.Unauthorized:
		s.recordEvent(r, audit.Event{Action: audit.SignInFail, IP: auth.ClientIP(r), Via: auth.MethodPassword.String(),
			Target: data.Username, Subject: data.Username, Detail: audit.Reason(err)})
		data.Error = p.T("login.failed")
		return s.render(w, http.StatusUnauthorized, "login", p)
	case kind == apierr.TooManyRequests:
		secs := retrySeconds(err)
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		data.Error = p.T("login.throttled", secs)
		return s.render(w, http.StatusTooManyRequests, "login", p)
	default:
		return err
	}
	if old := visitorOf(r); old.signedIn() {
		// A new sign-in replaces the session this browser had.
		_ = s.store.DeleteSession(r.Context(), old.user.GlobalKey, old.sess.ID)
	}
	_, secret, err := s.store.CreateSession(r.Context(), id.User, auth.ClientIP(r), r.UserAgent())
	if err != nil {
		return fmt.Errorf("sign in %s: %w", id.User, err)
	}
	setSessionCookie(w, r, secret)
	s.recordEvent(r, audit.Event{Action: audit.SignIn, Actor: id.User, IP: auth.ClientIP(r),
		Via: auth.MethodPassword.String(), Target: id.User, Subject: id.User})
	// Sign-ins are rare enough to sweep the sessions nobody uses any more.
	if _, err := s.store.DeleteIdleSessions(r.Context()); err != nil {
		s.log.WithField("request_id", apierr.RequestID(r.Context())).WithError(err).Warn("delete idle sessions")
	}
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
	return nil
}

// retrySeconds returns how many whole seconds a refusal of the failure
// limiter asks the client to wait, at least one.
func retrySeconds(err error) int {
	var e *apierr.Error
	wait := time.Second
	if errors.As(err, &e) && e.RetryAfter > wait {
		wait = e.RetryAfter
	}
	return int(wait.Seconds() + 0.999)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	if err := s.store.DeleteSession(r.Context(), v.user.GlobalKey, v.sess.ID); err != nil && !errors.Is(err, tokens.ErrNotFound) {
		return fmt.Errorf("sign out: %w", err)
	}
	s.record(r, audit.SignOut, v.user.GlobalKey, v.user.GlobalKey, "")
	clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// homeData is the home page: what the user owns and where they belong.
type homeData struct {
	Repos    []*repos.Repo
	Projects []*repos.Project
	Base     string // scheme://user@host/ of clone URLs
}

// cloneBase returns what every clone URL of the visitor starts with:
// http://USER@HOST/, https over TLS, without USER@ for a visitor signed
// out; behind a trusted proxy, the scheme and host the client used.
func cloneBase(r *http.Request) string {
	c := auth.ClientOf(r)
	scheme := c.Scheme + "://"
	if v := visitorOf(r); v.signedIn() {
		return scheme + v.user.GlobalKey + "@" + c.Host + "/"
	}
	return scheme + c.Host + "/"
}

// home sends a visitor who is not signed in to the sign-in form, and shows
// a signed-in one their repositories and projects.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	if !v.signedIn() {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	projects, err := s.projects.ListProjects(r.Context(), v.user.GlobalKey)
	if err != nil {
		return fmt.Errorf("home of %s: %w", v.user.GlobalKey, err)
	}
	// The user's own namespace, then each project's: every repository
	// the user reads as a member.
	var own []*repos.Repo
	for _, ns := range append([]string{v.user.GlobalKey}, projectNames(projects)...) {
		list, err := s.dir.List(ns)
		if err != nil {
			return fmt.Errorf("home of %s: repositories of %s: %w", v.user.GlobalKey, ns, err)
		}
		sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].Name) < strings.ToLower(list[j].Name) })
		own = append(own, list...)
	}
	return s.render(w, http.StatusOK, "home", newPage(r, "home.title", "repos",
		&homeData{Repos: own, Projects: projects, Base: cloneBase(r)}))
}

func projectNames(ps []*repos.Project) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}

// browserOf names the browser and system of a User-Agent for the
// sessions list, in the words people know them by; the full text is in
// the row's title.
func browserOf(ua string) string {
	name := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Headless Chrome"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			name = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	switch {
	case name != "" && system != "":
		return name + " · " + system
	case name != "" || system != "":
		return name + system
	case ua == "":
		return "?"
	}
	if len(ua) > 60 {
		return ua[:60] + "…"
	}
	return ua
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/settings/profile", http.StatusSeeOther)
	return nil
}

// profileData is the profile page: the account, the password form and
// the sessions.
type profileData struct {
	Password *passwordForm // a refused change, or an empty form
	Sessions []*tokens.Session
	Current  string // the id of the session viewing the page
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) error {
	return s.profilePage(w, r, http.StatusOK, nil)
}

// profilePage renders the profile with status; f is the password form
// that was refused, or nil for a plain view, which shows the session's
// notice.
func (s *Server) profilePage(w http.ResponseWriter, r *http.Request, status int, f *passwordForm) error {
	v := visitorOf(r)
	list, err := s.store.ListSessions(r.Context(), v.user.GlobalKey)
	if err != nil {
		return err
	}
	data := &profileData{Password: f, Sessions: list, Current: v.sess.ID}
	p := newPage(r, "profile.title", "profile", data)
	if f == nil {
		data.Password = &passwordForm{}
		s.takeNotice(r, p)
	} else if len(f.Errors) > 0 {
		p.Notice, p.Bad = p.T("err.form"), true
	}
	return s.render(w, status, "profile", p)
}

// deleteSession revokes one of the user's sessions, this one included.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	id := mux.Vars(r)["id"]
	if ok, err := s.confirm(w, r, visitorOf(r).lang.t("session.confirm"), "session.revoke", "/settings/profile"); !ok {
		return err
	}
	err := s.store.DeleteSession(r.Context(), v.user.GlobalKey, id)
	if errors.Is(err, tokens.ErrNotFound) {
		return apierr.Errorf(apierr.NotFound, "no such session")
	}
	if err != nil {
		return err
	}
	s.record(r, audit.SessionRevoke, id, v.user.GlobalKey, "")
	if id == v.sess.ID {
		clearSessionCookie(w, r)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	s.flashes.put(v.sess.ID, flash{Notice: "session.revoked", at: s.now()})
	http.Redirect(w, r, "/settings/profile", http.StatusSeeOther)
	return nil
}

// takeNotice moves the session's flash notice, if any, onto p.
func (s *Server) takeNotice(r *http.Request, p *page) (flash, bool) {
	v := visitorOf(r)
	f, ok := s.flashes.take(v.sess.ID, s.now())
	if ok && f.Notice != "" {
		p.Bad = f.Bad
		if f.Arg != nil {
			p.Notice = p.T(f.Notice, f.Arg)
		} else {
			p.Notice = p.T(f.Notice)
		}
	}
	return f, ok
}

// confirmData is the page that asks before a destructive post, for
// browsers without JavaScript (the others ask in a dialog first).
type confirmData struct {
	Question string
	Action   string // the form's own URL
	Button   string // its label
	Back     string // where Cancel leads
	Fields   map[string]string
}

// confirm reports whether a destructive post was confirmed: by the
// dialog, which sets the field "confirmed", or by the page it answers
// otherwise, which asks again and whose Cancel leads back.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request, question, buttonKey, back string) (bool, error) {
	if r.PostFormValue("confirmed") == "1" {
		return true, nil
	}
	fields := map[string]string{}
	for k, vs := range r.PostForm {
		if k != csrfField && k != "confirmed" && len(vs) > 0 {
			fields[k] = vs[0]
		}
	}
	p := newPage(r, buttonKey, "", nil)
	p.Data = &confirmData{Question: question, Action: r.URL.Path, Button: p.T(buttonKey), Back: back, Fields: fields}
	return false, s.render(w, http.StatusOK, "confirm", p)
}
