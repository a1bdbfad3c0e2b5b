package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	"net/http/httptest"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/projects"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/sqlite"
	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// fixture is a real server of the pages on a real database, with the
// users tester and other.
type fixture struct {
	db           *sqlite.DB
	store        *tokens.Store
	projectStore *projects.Store
	srv          *httptest.Server
	handler      http.Handler

	dir    *repos.Dir
	authn  *auth.Authenticator
	policy *repos.Policy
	pages  *Server
	log    logrus.FieldLogger
}

func newFixture(t *testing.T) *fixture { return newBenchFixture(t) }

// newBenchFixture is newFixture for tests and benchmarks alike.
func newBenchFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, dbtest.Location(t)) // a copy of a migrated database
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := tokens.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	store.SetPasswordCost(bcrypt.MinCost)
	for _, name := range []string{"tester", "other"} {
		if err := store.CreateUser(ctx, &tokens.User{GlobalKey: name, Email: name + "@example.com"}, name+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	rd, err := repos.OpenDir(filepath.Join(dir, "repos"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Create("tester", "hello", repos.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	authn := auth.NewAuthenticator(tokens.Verifier{Store: store}, auth.NewLimiter(3, time.Minute))
	r := mux.NewRouter()
	ps := projects.New(db)
	policy := repos.NewPolicy(ps, rd)
	pages := New(store, authn, ps, rd, policy, log)
	pages.Register(r)
	// The API's middleware on the same authenticator, to see its limiter.
	r.Handle("/api/whoami", authn.Middleware(auth.Options{Passwords: true}, log)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, auth.FromContext(r.Context()).User) })))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &fixture{db: db, store: store, projectStore: ps, srv: srv, handler: r,
		dir: rd, authn: authn, policy: policy, pages: pages, log: log}
}

// browser is a client with its own cookies that does not follow
// redirects, so that tests see them.
type browser struct {
	t    *testing.T
	f    *fixture
	c    *http.Client
	lang string
}

func (f *fixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// do sends one request and returns the status, the Location and the body.
func (b *browser) do(method, path string, form url.Values, header ...string) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.f.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	text, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(text)
}

func (b *browser) get(path string) (int, string, string) { return b.do("GET", path, nil) }

// signIn signs in as user and returns the CSRF token of its pages.
func (b *browser) signIn(user string) string {
	b.t.Helper()
	code, loc, _ := b.do("POST", "/login", url.Values{"username": {user}, "password": {user + "-password"}})
	if code != http.StatusSeeOther || loc != "/" {
		b.t.Fatalf("sign in as %s = %d → %q; want 303 → /", user, code, loc)
	}
	return b.csrf()
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token off the token list.
func (b *browser) csrf() string {
	b.t.Helper()
	_, _, body := b.get("/settings/profile")
	m := csrfPattern.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on /settings/profile:\n%s", body)
	}
	return m[1]
}

func (f *fixture) tokenCount(t *testing.T, user string) int {
	t.Helper()
	n, _, err := f.store.ListTokens(context.Background(), tokens.ListOptions{Username: user})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSignInAndOut(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	if code, loc, _ := b.get("/"); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("GET / signed out = %d → %q; want 303 → /login", code, loc)
	}
	if code, loc, _ := b.get("/settings/tokens"); code != http.StatusSeeOther || loc != "/login?next=%2Fsettings%2Ftokens" {
		t.Fatalf("GET /settings/tokens signed out = %d → %q; want the sign-in form and back", code, loc)
	}
	code, _, body := b.do("POST", "/login", url.Values{"username": {"tester"}, "password": {"wrong"}})
	if code != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") || !strings.Contains(body, `value="tester"`) {
		t.Fatalf("wrong password = %d; want 401 with the reason and the username kept:\n%s", code, body)
	}

	req, _ := http.NewRequest("POST", f.srv.URL+"/login", strings.NewReader("username=tester&password=tester-password&next=%2Fsettings%2Ftokens"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/settings/tokens" {
		t.Fatalf("sign in = %d → %q; want 303 → /settings/tokens", res.StatusCode, res.Header.Get("Location"))
	}
	cookie := res.Cookies()[0]
	if cookie.Name != sessionCookie || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || len(cookie.Value) < 40 {
		t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Lax, not Secure over plain HTTP, a long secret", cookie)
	}
	u, _ := url.Parse(f.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{cookie})

	code, _, body = b.get("/")
	if code != 200 || !strings.Contains(body, `<a href="/tester">tester</a>/<a href="/tester/hello"><strong>hello</strong></a>`) || !strings.Contains(body, "http://tester@"+u.Host+"/tester/hello.git") {
		t.Fatalf("home = %d; want tester's repository with its clone URL:\n%s", code, body)
	}
	if code, loc, _ := b.get("/login?next=//evil.example/"); code != http.StatusSeeOther || loc != "/" {
		t.Errorf("signed-in GET /login?next=//evil.example/ = %d → %q; want 303 → / (never another site)", code, loc)
	}

	// Signing out needs the form's token too: a link elsewhere cannot.
	if code, _, _ := b.do("POST", "/logout", url.Values{}); code != http.StatusForbidden {
		t.Fatalf("POST /logout without CSRF = %d; want 403", code)
	}
	if code, _, _ := b.get("/settings/tokens"); code != 200 {
		t.Fatalf("after a refused sign-out, GET /settings/tokens = %d; want 200 (still signed in)", code)
	}
	csrf := b.csrf()
	if code, loc, _ := b.do("POST", "/logout", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("POST /logout = %d → %q; want 303 → /login", code, loc)
	}
	// The old cookie, replayed, signs nobody in: the session is gone.
	b.c.Jar.SetCookies(u, []*http.Cookie{cookie})
	if code, loc, _ := b.get("/"); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("GET / with the signed-out cookie = %d → %q; want 303 → /login", code, loc)
	}
}

// TestCrossSitePostChangesNothing: a post without the session's CSRF
// token, with a wrong one, or from another origin is 403 and creates no
// token; the same post from depot's own form does.
func TestCrossSitePostChangesNothing(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	csrf := b.signIn("tester")
	form := func(csrf string) url.Values {
		v := url.Values{"description": {"ci"}, "scopes": {"project:depot"}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v
	}
	other := f.browser(t)
	otherCSRF := other.signIn("other")
	for _, tc := range []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"NoToken", form(""), nil},
		{"WrongToken", form(csrf[1:] + "A"), nil},
		{"AnotherSessionsToken", form(otherCSRF), nil},
		{"OtherOrigin", form(csrf), []string{"Origin", "http://evil.example"}},
		{"CrossSiteFetch", form(csrf), []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := b.do("POST", "/settings/tokens/new", tc.form, tc.header...)
			if code != http.StatusForbidden || !strings.Contains(body, "another site") {
				t.Errorf("POST /settings/tokens/new = %d; want 403 saying why:\n%s", code, body)
			}
			if n := f.tokenCount(t, "tester"); n != 0 {
				t.Errorf("after a refused post, tester has %d tokens; want 0", n)
			}
		})
	}
	code, loc, _ := b.do("POST", "/settings/tokens/new", form(csrf), "Origin", f.srv.URL, "Sec-Fetch-Site", "same-origin")
	if code != http.StatusSeeOther || loc != "/settings/tokens" || f.tokenCount(t, "tester") != 1 {
		t.Fatalf("POST from depot's own form = %d → %q, %d tokens; want 303 → /settings/tokens and one token", code, loc, f.tokenCount(t, "tester"))
	}
	// Signed out, a post to a page that changes state is refused as well.
	anon := f.browser(t)
	if code, _, _ := anon.do("POST", "/settings/tokens/delete-all", url.Values{"confirmed": {"1"}}); code != http.StatusForbidden || f.tokenCount(t, "tester") != 1 {
		t.Fatalf("signed-out delete-all = %d; want 403 and the token kept", code)
	}
}

var sessionIDPattern = regexp.MustCompile(`/settings/sessions/([0-9a-f-]+)/delete`)

// TestSessionRevocation: the profile lists each browser's session; one
// revoked there signs that browser out at once, and nobody revokes
// another user's.
func TestSessionRevocation(t *testing.T) {
	f := newFixture(t)
	laptop, phone := f.browser(t), f.browser(t)
	csrf := laptop.signIn("tester")
	phone.signIn("tester")
	_, _, body := laptop.get("/settings/profile")
	ids := sessionIDPattern.FindAllStringSubmatch(body, -1)
	if len(ids) != 2 || !strings.Contains(body, "this browser") || !strings.Contains(body, "tester@example.com") {
		t.Fatalf("profile lists %d sessions; want 2, this one marked, and the email:\n%s", len(ids), body)
	}
	list, _ := f.store.ListSessions(context.Background(), "tester")
	current := list[0].ID // the phone's, seen last
	if current == ids[0][1] && current == ids[1][1] {
		t.Fatal("both rows name one session")
	}

	// Another user cannot revoke tester's session, even with a valid form.
	intruder := f.browser(t)
	icsrf := intruder.signIn("other")
	if code, _, _ := intruder.do("POST", "/settings/sessions/"+current+"/delete", url.Values{"csrf": {icsrf}, "confirmed": {"1"}}); code != http.StatusNotFound {
		t.Fatalf("other revoking tester's session = %d; want 404", code)
	}
	if code, _, _ := phone.get("/settings/tokens"); code != 200 {
		t.Fatalf("phone after the intruder's try = %d; want 200", code)
	}

	// Without confirmation the page asks, and nothing changes.
	code, _, body := laptop.do("POST", "/settings/sessions/"+current+"/delete", url.Values{"csrf": {csrf}})
	if code != 200 || !strings.Contains(body, `name="confirmed" value="1"`) {
		t.Fatalf("unconfirmed revoke = %d; want the confirmation page:\n%s", code, body)
	}
	if code, _, _ := phone.get("/settings/tokens"); code != 200 {
		t.Fatalf("phone after an unconfirmed revoke = %d; want 200", code)
	}
	code, loc, _ := laptop.do("POST", "/settings/sessions/"+current+"/delete", url.Values{"csrf": {csrf}, "confirmed": {"1"}})
	if code != http.StatusSeeOther || loc != "/settings/profile" {
		t.Fatalf("revoke = %d → %q; want 303 → /settings/profile", code, loc)
	}
	if code, loc, _ := phone.get("/settings/tokens"); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("revoked phone GET /settings/tokens = %d → %q; want the sign-in form", code, loc)
	}
	if code, _, body := laptop.get("/settings/profile"); code != 200 || !strings.Contains(body, "The session was revoked.") {
		t.Fatalf("laptop after revoking = %d; want 200 with the notice:\n%s", code, body)
	}
}

// TestSignInThrottled: failed sign-ins count against the API's limiter:
// after three, the form answers 429 with Retry-After, even to the right
// password, and so does the API's Basic password from that address.
func TestSignInThrottled(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	for i := 0; i < 3; i++ {
		if code, _, _ := b.do("POST", "/login", url.Values{"username": {"tester"}, "password": {"wrong"}}); code != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d; want 401", i, code)
		}
	}
	req, _ := http.NewRequest("POST", f.srv.URL+"/login", strings.NewReader("username=tester&password=tester-password"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(string(text), "Too many failed attempts") || len(res.Cookies()) != 0 {
		t.Fatalf("right password after 3 failures = %d, Retry-After %q, cookies %v; want 429, Retry-After, no session:\n%s",
			res.StatusCode, res.Header.Get("Retry-After"), res.Cookies(), text)
	}
	api, _ := http.NewRequest("GET", f.srv.URL+"/api/whoami", nil)
	api.SetBasicAuth("tester", "tester-password")
	res, err = http.DefaultClient.Do(api)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("API password after failed sign-ins = %d; want 429", res.StatusCode)
	}
}

func TestLanguage(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.lang = "fr-FR, zh-CN;q=0.8, en;q=0.5"
	if _, _, body := b.get("/login"); !strings.Contains(body, `<html lang="zh-CN">`) || !strings.Contains(body, "登录 depot") {
		t.Fatalf("Accept-Language preferring Chinese: want the Chinese form:\n%s", body)
	}
	csrf := b.signIn("tester")
	if _, _, body := b.get("/settings/tokens"); !strings.Contains(body, "个人访问令牌") || !strings.Contains(body, "新建令牌") {
		t.Fatalf("token list in Chinese lacks CODING's words:\n%s", body)
	}
	if _, _, body := b.get("/settings/tokens/new"); !strings.Contains(body, "代码仓库") || !strings.Contains(body, "令牌描述") || !strings.Contains(body, "IP 白名单") {
		t.Fatalf("new token form in Chinese lacks CODING's words:\n%s", body)
	}
	// The switch is remembered over Accept-Language.
	code, loc, _ := b.get("/settings/tokens?lang=en")
	if code != http.StatusSeeOther || loc != "/settings/tokens" {
		t.Fatalf("switch = %d → %q; want 303 back to the page", code, loc)
	}
	if _, _, body := b.get("/settings/tokens"); !strings.Contains(body, "Personal access tokens") || !strings.Contains(body, `href="/settings/tokens?lang=zh-CN"`) {
		t.Fatalf("after switching to English, the page is not English or offers no way back:\n%s", body)
	}
	// Errors next to the field are in the chosen language too.
	b.get("/?lang=zh-CN")
	_, _, body := b.do("POST", "/settings/tokens/new", url.Values{"csrf": {csrf}})
	if !strings.Contains(body, "请填写令牌描述") || !strings.Contains(body, "请至少选择一项访问权限") {
		t.Fatalf("Chinese validation errors missing:\n%s", body)
	}
}

var keyPattern = regexp.MustCompile(`\.T "([^"]+)"`)

// TestMessagesComplete: every text a template asks for exists, in both
// languages.
func TestMessagesComplete(t *testing.T) {
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v", err)
	}
	for _, name := range files {
		text, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyPattern.FindAllStringSubmatch(string(text), -1) {
			if _, ok := messages[m[1]]; !ok {
				t.Errorf("%s asks for %q, which has no text", name, m[1])
			}
		}
	}
	for key, m := range messages {
		if m[langEN] == "" || m[langZH] == "" {
			t.Errorf("message %q lacks a language: %q", key, m)
		}
	}
}

var secretPattern = regexp.MustCompile(`dpt_[0-9A-Za-z]{36}`)

// TestTokenForm: errors appear next to their field and the form keeps
// what was typed; a good form makes the token, whose secret the list
// shows once.
func TestTokenForm(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	csrf := b.signIn("tester")
	code, _, body := b.do("POST", "/settings/tokens/new", url.Values{
		"csrf": {csrf}, "description": {""}, "ipWhitelist": {"10.0.0.0/8\nnot-an-ip"}, "expiresAt": {"2001-01-01"}})
	for _, want := range []string{
		`id="description-error">Enter a description.`,
		`id="scopes-error">Choose at least one scope.`,
		`id="ipWhitelist-error">not-an-ip is not an IP address or CIDR range.`,
		`id="expiresAt-error">Choose a day after today.`,
		"10.0.0.0/8\nnot-an-ip</textarea>", `value="2001-01-01"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("bad form: want %q in the page", want)
		}
	}
	if code != http.StatusBadRequest || f.tokenCount(t, "tester") != 0 {
		t.Fatalf("bad form = %d with %d tokens; want 400 and none", code, f.tokenCount(t, "tester"))
	}
	// An unknown scope is refused too: a page never grants what the
	// catalogue does not hold.
	code, _, body = b.do("POST", "/settings/tokens/new", url.Values{"csrf": {csrf}, "description": {"x"}, "scopes": {"project:depot", "admin"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "Unknown scope.") || f.tokenCount(t, "tester") != 0 {
		t.Fatalf("unknown scope = %d; want 400 with the reason", code)
	}

	expires := time.Now().UTC().AddDate(0, 1, 0).Format("2006-01-02")
	code, _, _ = b.do("POST", "/settings/tokens/new", url.Values{"csrf": {csrf}, "description": {"laptop <b>"},
		"scopes": {"project:depot", "user"}, "ipWhitelist": {" 127.0.0.1 \n\n::1\n"}, "expiresAt": {expires}})
	if code != http.StatusSeeOther {
		t.Fatalf("good form = %d; want 303", code)
	}
	_, list, _ := f.store.ListTokens(context.Background(), tokens.ListOptions{Username: "tester"})
	tok := list[0]
	if tok.Description != "laptop <b>" || strings.Join(tok.Scopes, ",") != "project:depot,user" ||
		strings.Join(tok.IPWhitelist, ",") != "127.0.0.1,::1" || tok.ExpireTime.Format("2006-01-02") != endOfDay(t, expires) {
		t.Fatalf("stored token = %+v; want the form's fields, expiring at the end of %s", tok, expires)
	}
	_, _, body = b.get("/settings/tokens")
	secret := secretPattern.FindString(body)
	if secret == "" || !strings.Contains(body, "laptop &lt;b&gt;") {
		t.Fatalf("list after creation shows no secret, or the description unescaped:\n%s", body)
	}
	if _, _, err := f.store.LookupToken(context.Background(), secret); err != nil {
		t.Fatalf("the secret shown is not the token's: %v", err)
	}
	if _, _, body := b.get("/settings/tokens"); strings.Contains(body, secret) || !strings.Contains(body, "laptop &lt;b&gt;") {
		t.Fatal("a reload shows the secret again, or not the description")
	}

	// Edit: the same fields, the form keeping what was typed on error.
	path := "/settings/tokens/" + tok.ID
	code, _, body = b.do("POST", path, url.Values{"csrf": {csrf}, "description": {"renamed"}, "ipWhitelist": {"300.1.1.1"}, "scopes": {"user"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `value="renamed"`) || !strings.Contains(body, "300.1.1.1 is not an IP address") {
		t.Fatalf("bad edit = %d; want 400 keeping the fields:\n%s", code, body)
	}
	if code, _, _ := b.do("POST", path, url.Values{"csrf": {csrf}, "description": {"renamed"}, "scopes": {"user"}}); code != http.StatusSeeOther {
		t.Fatalf("edit = %d; want 303", code)
	}
	got, _ := f.store.Token(context.Background(), tok.ID)
	if got.Description != "renamed" || strings.Join(got.Scopes, ",") != "user" || len(got.IPWhitelist) != 0 || !got.ExpireTime.Equal(tok.ExpireTime) {
		t.Fatalf("edited token = %+v", got)
	}

	// Another user's token is 404 on every page and every post.
	other := f.browser(t)
	ocsrf := other.signIn("other")
	if code, _, _ := other.get(path); code != http.StatusNotFound {
		t.Errorf("other GET %s = %d; want 404", path, code)
	}
	for _, action := range []string{"", "/regenerate", "/status", "/delete"} {
		if code, _, _ := other.do("POST", path+action, url.Values{"csrf": {ocsrf}, "confirmed": {"1"}, "status": {"disabled"}, "description": {"x"}, "scopes": {"user"}}); code != http.StatusNotFound {
			t.Errorf("other POST %s%s = %d; want 404", path, action, code)
		}
	}
	if got, _ := f.store.Token(context.Background(), tok.ID); got.Description != "renamed" || !got.Enabled {
		t.Fatalf("after another user's posts, the token is %+v", got)
	}

	// Delete asks first: without confirmation nothing is deleted.
	if code, _, body := b.do("POST", path+"/delete", url.Values{"csrf": {csrf}}); code != 200 || !strings.Contains(body, "Delete the token “renamed”?") || f.tokenCount(t, "tester") != 1 {
		t.Fatalf("unconfirmed delete = %d; want the question and the token kept", code)
	}
	if code, _, _ := b.do("POST", path+"/delete", url.Values{"csrf": {csrf}, "confirmed": {"1"}}); code != http.StatusSeeOther || f.tokenCount(t, "tester") != 0 {
		t.Fatalf("confirmed delete = %d; want 303 and no token", code)
	}
}

// TestSecureCookieOverTLS: over TLS the session cookie is Secure as well.
func TestSecureCookieOverTLS(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewTLSServer(f.handler)
	defer srv.Close()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.PostForm(srv.URL+"/login", url.Values{"username": {"tester"}, "password": {"tester-password"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cookies := res.Cookies()
	if res.StatusCode != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("sign in over TLS = %d, cookies %+v; want one Secure, HttpOnly, SameSite=Lax cookie", res.StatusCode, cookies)
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/settings/tokens", "/settings/tokens"},
		{"/settings/tokens?x=1", "/settings/tokens?x=1"},
		{"", "/"},
		{"https://evil.example/", "/"},
		{"//evil.example/", "/"},
		{"/\\evil.example/", "/"},
		{"/\t/evil.example/", "/"},
		{"/\n/evil.example/", "/"},
		{"evil", "/"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestSignInBehindProxy: behind a trusted proxy, the sign-in form's
// Origin check accepts the host the proxy forwarded, the cookie is Secure
// when the client used https, and the session records the client's
// address; from a peer that is not trusted, the same headers count for
// nothing.
func TestSignInBehindProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies string
		header  []string
		status  int
		secure  bool
		ip      string
	}{
		{"XForwarded", "127.0.0.1", []string{"Origin", "https://git.example.com", "X-Forwarded-Host", "git.example.com", "X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.1"}, http.StatusSeeOther, true, "198.51.100.1"},
		{"Forwarded", "127.0.0.1", []string{"Origin", "https://git.example.com", "Forwarded", `for=198.51.100.2;host=git.example.com;proto=https`}, http.StatusSeeOther, true, "198.51.100.2"},
		{"PlainHTTPProxy", "127.0.0.1", []string{"Origin", "http://git.example.com", "X-Forwarded-Host", "git.example.com", "X-Forwarded-For", "198.51.100.3"}, http.StatusSeeOther, false, "198.51.100.3"},
		{"DefaultPortSpelledOut", "127.0.0.1", []string{"Origin", "https://git.example.com", "X-Forwarded-Host", "git.example.com:443", "X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.5"}, http.StatusSeeOther, true, "198.51.100.5"},
		{"OtherPort", "127.0.0.1", []string{"Origin", "https://git.example.com", "X-Forwarded-Host", "git.example.com:8443", "X-Forwarded-Proto", "https"}, http.StatusForbidden, false, ""},
		{"ForeignOrigin", "127.0.0.1", []string{"Origin", "https://evil.example", "X-Forwarded-Host", "git.example.com", "X-Forwarded-Proto", "https"}, http.StatusForbidden, false, ""},
		{"UntrustedPeer", "", []string{"Origin", "https://git.example.com", "X-Forwarded-Host", "git.example.com", "X-Forwarded-Proto", "https"}, http.StatusForbidden, false, ""},
		{"UntrustedPeerOwnHost", "", []string{"X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.4"}, http.StatusSeeOther, false, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			proxies, err := auth.ParseProxies(tc.proxies)
			if err != nil {
				t.Fatal(err)
			}
			// What the server's middleware does for every request.
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				f.handler.ServeHTTP(w, r.WithContext(auth.WithClient(r.Context(), proxies.Resolve(r))))
			}))
			defer srv.Close()
			req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader("username=tester&password=tester-password"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("POST /login = %d; want %d", res.StatusCode, tc.status)
			}
			if tc.status != http.StatusSeeOther {
				return
			}
			if cs := res.Cookies(); len(cs) != 1 || cs[0].Secure != tc.secure {
				t.Fatalf("cookies %+v; want one, Secure=%v", cs, tc.secure)
			}
			list, err := f.store.ListSessions(context.Background(), "tester")
			if err != nil || len(list) != 1 || list[0].IP != tc.ip {
				t.Fatalf("sessions = %+v, %v; want one from %s", list, err, tc.ip)
			}
		})
	}
}

// endOfDay is the date a token expiring at the end of day (YYYY-MM-DD,
// UTC) shows: the next day's, at midnight. It is computed from the day
// the form sent, not from the clock again, which at midnight had moved
// on to the next day.
func endOfDay(t *testing.T, day string) string {
	t.Helper()
	d, err := time.Parse("2006-01-02", day)
	if err != nil {
		t.Fatal(err)
	}
	return d.AddDate(0, 0, 1).Format("2006-01-02")
}
