package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/depot/depot/tokens/sqlite/dbtest"
	"golang.org/x/crypto/bcrypt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/api"
	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
)

// fixture is a running API over a real store with three users.
type fixture struct {
	t     *testing.T
	store *tokens.Store
	srv   *httptest.Server
}

const password = "correct-horse"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := tokens.Open(ctx, dbtest.Location(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	store.SetPasswordCost(bcrypt.MinCost)
	for _, u := range []*tokens.User{
		{GlobalKey: "admin", Admin: true, Email: "admin@example.com"},
		{GlobalKey: "tester", Name: "Test User", Email: "tester@example.com"},
		{GlobalKey: "other", Email: "other@example.com"},
	} {
		if err := store.CreateUser(ctx, u, password); err != nil {
			t.Fatal(err)
		}
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	r := mux.NewRouter()
	a := auth.NewAuthenticator(tokens.Verifier{Store: store}, nil)
	r.Use(a.Middleware(auth.Options{Passwords: true}, log))
	api.New(store, log).Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &fixture{t: t, store: store, srv: srv}
}

// mint creates a token directly in the store.
func (f *fixture) mint(user string, scopes []string, mod ...func(*tokens.Token)) (id, secret string) {
	f.t.Helper()
	tok := &tokens.Token{Username: user, Issuer: user, Audience: "default", Scopes: scopes}
	for _, m := range mod {
		m(tok)
	}
	secret, err := f.store.CreateToken(context.Background(), tok)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok.ID, secret
}

// cred is an Authorization header value.
type cred string

func basic(user, secret string) cred {
	return cred("Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+secret)))
}
func bearer(secret string) cred { return cred("Bearer " + secret) }

var (
	adminPW  = basic("admin", password)
	testerPW = basic("tester", password)
	otherPW  = basic("other", password)
)

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends a request; a non-nil body is sent as JSON unless contentType
// overrides it.
func (f *fixture) do(method, path string, c cred, body any, contentType ...string) response {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			buf, _ := json.Marshal(b)
			rd = bytes.NewReader(buf)
		}
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if c != "" {
		req.Header.Set("Authorization", string(c))
	}
	if body != nil {
		ct := "application/json"
		if len(contentType) > 0 {
			ct = contentType[0]
		}
		req.Header.Set("Content-Type", ct)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// wantError checks the status and the JSON error shape of docs/api.md, and
// that the message mentions want.
func wantError(t *testing.T, r response, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d; want %d (body %s)", r.status, status, r.body)
	}
	m := r.json(t)
	code, _ := m["code"].(float64)
	msg, _ := m["msg"].(string)
	if code == 0 || msg == "" {
		t.Fatalf("error body %s lacks a non-zero code and a msg", r.body)
	}
	if !strings.Contains(msg, want) {
		t.Fatalf("msg = %q; want it to mention %q", msg, want)
	}
	if status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") != `Basic realm="depot"` {
		t.Fatalf("401 without WWW-Authenticate: %v", r.header)
	}
}

func TestCurrentUser(t *testing.T) {
	f := newFixture(t)
	_, userOnly := f.mint("tester", []string{auth.ScopeUser})
	_, withEmail := f.mint("tester", []string{auth.ScopeUser, auth.ScopeUserEmail})
	_, noUser := f.mint("tester", []string{auth.ScopeDepot})
	_, disabledID := f.mint("tester", []string{auth.ScopeUser})
	disabled, disabledSecret := f.mint("tester", []string{auth.ScopeUser})
	_ = disabledID
	if err := f.store.SetTokenEnabled(context.Background(), disabled, false, ""); err != nil {
		t.Fatal(err)
	}
	_, expired := f.mint("tester", []string{auth.ScopeUser}, func(tk *tokens.Token) {
		tk.NotBefore = time.Now().Add(-2 * time.Hour)
		tk.ExpireTime = time.Now().Add(-time.Hour)
	})
	_, future := f.mint("tester", []string{auth.ScopeUser}, func(tk *tokens.Token) {
		tk.NotBefore = time.Now().Add(time.Hour)
	})
	_, elsewhere := f.mint("tester", []string{auth.ScopeUser}, func(tk *tokens.Token) {
		tk.IPWhitelist = []string{"10.0.0.0/8", "2001:db8::1"}
	})
	_, loopback := f.mint("tester", []string{auth.ScopeUser}, func(tk *tokens.Token) {
		tk.IPWhitelist = []string{"192.0.2.1", "127.0.0.0/8"}
	})

	for _, tc := range []struct {
		name      string
		cred      cred
		status    int
		wantEmail bool
		errMsg    string
	}{
		{"Password", testerPW, 200, true, ""},
		{"BasicToken", basic("tester", userOnly), 200, false, ""},
		{"BearerToken", bearer(userOnly), 200, false, ""},
		{"GitHubTokenScheme", cred("token " + userOnly), 200, false, ""},
		{"TokenWithEmailScope", bearer(withEmail), 200, true, ""},
		{"ErrMissingScope", bearer(noUser), 403, false, `"user"`},
		{"ErrAnonymous", "", 401, false, "authentication required"},
		{"ErrWrongPassword", basic("tester", "nope-nope"), 401, false, "bad credentials"},
		{"ErrUnknownUser", basic("ghost", password), 401, false, "bad credentials"},
		{"ErrOtherUsersToken", basic("other", userOnly), 401, false, "does not belong"},
		{"ErrUnknownToken", bearer("dpt_" + strings.Repeat("A", 36)), 401, false, "bad credentials"},
		{"ErrRevokedLookingToken", bearer(otherLastChar(userOnly)), 401, false, "bad credentials"},
		{"ErrDisabled", bearer(disabledSecret), 401, false, "disabled"},
		{"ErrExpired", bearer(expired), 401, false, "expired"},
		{"ErrNotYetValid", bearer(future), 401, false, "not valid yet"},
		{"ErrOutsideWhitelist", bearer(elsewhere), 401, false, "address"},
		{"InsideWhitelist", bearer(loopback), 200, false, ""},
		{"ErrMalformedHeader", cred("Basic !!!"), 401, false, "malformed"},
		{"ErrUnknownScheme", cred("Digest abc"), 401, false, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do("GET", "/api/current_user", tc.cred, nil)
			if tc.status != 200 {
				wantError(t, r, tc.status, tc.errMsg)
				return
			}
			if r.status != 200 {
				t.Fatalf("status = %d; want 200 (%s)", r.status, r.body)
			}
			m := r.json(t)
			data, _ := m["data"].(map[string]any)
			if m["code"] != 0.0 || data["global_key"] != "tester" || data["name"] != "Test User" {
				t.Fatalf("body = %s", r.body)
			}
			if ms, _ := data["created_at"].(float64); ms < 1e12 || ms > 1e13 {
				t.Fatalf("created_at = %v; want 13-digit milliseconds", data["created_at"])
			}
			if av, _ := data["avatar"].(string); !strings.HasPrefix(av, "http://") {
				t.Fatalf("avatar = %q", av)
			}
			_, hasEmail := data["email"]
			if hasEmail != tc.wantEmail {
				t.Fatalf("email present = %v; want %v (%s)", hasEmail, tc.wantEmail, r.body)
			}
		})
	}
}

func TestScopes(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/api/v1/auth/scopes", "", nil)
	var list []map[string]string
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 {
		t.Fatalf("GET scopes = %d %s", r.status, r.body)
	}
	want := []string{"project:depot", "user", "user:email", "notification", "social:message", "project",
		"project:members", "project:task", "project:file", "project:key", "user:token"}
	if len(list) != len(want) {
		t.Fatalf("got %d scopes; want %d", len(list), len(want))
	}
	for i, s := range want {
		if list[i]["scope"] != s || list[i]["description"] == "" || list[i]["descriptionZh"] == "" {
			t.Fatalf("scope %d = %v; want %s with descriptions", i, list[i], s)
		}
	}
	if list[0]["descriptionZh"] != "代码仓库" {
		t.Fatalf("project:depot descriptionZh = %q", list[0]["descriptionZh"])
	}
}

// otherLastChar returns secret with its last character changed, so that
// the result is never the secret itself.
func otherLastChar(secret string) string {
	last := "x"
	if strings.HasSuffix(secret, last) {
		last = "y"
	}
	return secret[:len(secret)-1] + last
}
