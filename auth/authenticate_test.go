package auth_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/sqlite/dbtest"
)

func newStore(t testing.TB) *tokens.Store {
	t.Helper()
	s, err := tokens.Open(context.Background(), dbtest.Location(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetPasswordCost(bcrypt.MinCost)
	if err := s.CreateUser(context.Background(), &tokens.User{GlobalKey: "tester"}, "password1"); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthenticatePasswordsOnlyWhereAllowed(t *testing.T) {
	s := newStore(t)
	a := auth.NewAuthenticator(tokens.Verifier{Store: s}, nil)
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth("tester", "password1")
	id, err := a.Authenticate(r, auth.Options{Passwords: true})
	if err != nil || id.Method != auth.MethodPassword || id.User != "tester" {
		t.Fatalf("API password auth = %+v, %v", id, err)
	}
	if _, err := a.Authenticate(r, auth.Options{}); apierr.KindOf(err) != apierr.Unauthorized {
		t.Fatalf("git password auth = %v; want 401", err)
	}
}

func TestAuthenticateThrottlesFailures(t *testing.T) {
	s := newStore(t)
	a := auth.NewAuthenticator(tokens.Verifier{Store: s}, auth.NewLimiter(3, time.Minute))
	obs := countObserver{}
	a.Observe(obs)
	bad := httptest.NewRequest("GET", "/", nil)
	bad.Header.Set("Authorization", "Bearer dpt_"+base64.RawURLEncoding.EncodeToString(make([]byte, 27)))
	for i := 0; i < 3; i++ {
		if _, err := a.Authenticate(bad, auth.Options{}); apierr.KindOf(err) != apierr.Unauthorized {
			t.Fatalf("attempt %d = %v; want 401", i, err)
		}
	}
	_, err := a.Authenticate(bad, auth.Options{})
	var e *apierr.Error
	if apierr.KindOf(err) != apierr.TooManyRequests || !asError(err, &e) || e.RetryAfter <= 0 {
		t.Fatalf("4th attempt = %v; want 429 with Retry-After", err)
	}
	w := httptest.NewRecorder()
	apierr.Write(w, bad, nil, err)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("written as %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	// A good token from the same address still gets in: a token cannot
	// be guessed, so the address's failures do not stand in its way.
	_, secret := mint(t, s)
	good := httptest.NewRequest("GET", "/", nil)
	good.Header.Set("Authorization", "Bearer "+secret)
	if id, err := a.Authenticate(good, auth.Options{}); err != nil || id.User != "tester" {
		t.Fatalf("good token from a throttled address = %v, %v; want tester", id, err)
	}
	// A password from that address is refused unread.
	pw := httptest.NewRequest("GET", "/", nil)
	pw.SetBasicAuth("tester", "password1")
	if _, err := a.Authenticate(pw, auth.Options{Passwords: true}); apierr.KindOf(err) != apierr.TooManyRequests {
		t.Fatalf("right password from a throttled address = %v; want 429", err)
	}
	// Anonymous requests are never throttled.
	if id, err := a.Authenticate(httptest.NewRequest("GET", "/", nil), auth.Options{}); err != nil || !id.Anonymous() {
		t.Fatalf("anonymous = %v, %v", id, err)
	}
	obs.want(t, map[string]int{"failed request": 3, "limited request": 2})
}

// countObserver counts an Authenticator's refusals by kind and via.
type countObserver map[string]int

func (c countObserver) Failed(via string)  { c["failed "+via]++ }
func (c countObserver) Limited(via string) { c["limited "+via]++ }

func (c countObserver) want(t *testing.T, want map[string]int) {
	t.Helper()
	if len(c) != len(want) {
		t.Errorf("observed %v; want %v", c, want)
	}
	for k, n := range want {
		if c[k] != n {
			t.Errorf("observed %v; want %v", c, want)
			return
		}
	}
}

func TestAuthenticateRecordsUse(t *testing.T) {
	s := newStore(t)
	a := auth.NewAuthenticator(tokens.Verifier{Store: s}, nil)
	id, secret := mint(t, s)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[2001:db8::7]:5555"
	r.SetBasicAuth("TESTER", secret) // the owner's name, in any case
	got, err := a.Authenticate(r, auth.Options{})
	if err != nil || got.TokenID != id {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	if err := s.FlushTokenUse(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Token(context.Background(), id)
	if err != nil || tok.LastAccessIP != "2001:db8::7" || tok.LastAccessTime.IsZero() {
		t.Fatalf("after use: %+v, %v", tok, err)
	}
}

func mint(t testing.TB, s *tokens.Store) (string, string) {
	t.Helper()
	tok := &tokens.Token{Username: "tester", Issuer: "tester", Scopes: []string{auth.ScopeDepot}}
	secret, err := s.CreateToken(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return tok.ID, secret
}

func asError(err error, target **apierr.Error) bool {
	e, ok := err.(*apierr.Error)
	*target = e
	return ok
}

// BenchmarkAuthenticateToken measures the hot path every git and API
// request takes: parse the header, look the token up, check it, record use.
func BenchmarkAuthenticateToken(b *testing.B) {
	s := newStore(b)
	a := auth.NewAuthenticator(tokens.Verifier{Store: s}, auth.NewLimiter(30, time.Second))
	_, secret := mint(b, s)
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth("tester", secret)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.Authenticate(r, auth.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSignInThrottlesFailures: the web's sign-in form counts against the
// same limiter as the API, and a right password is refused too while the
// address is blocked.
func TestSignInThrottlesFailures(t *testing.T) {
	s := newStore(t)
	a := auth.NewAuthenticator(tokens.Verifier{Store: s}, auth.NewLimiter(3, time.Minute))
	obs := countObserver{}
	a.Observe(obs)
	r := httptest.NewRequest("POST", "/login", nil)
	id, err := a.SignIn(r, "tester", "password1")
	if err != nil || id.User != "tester" || id.Method != auth.MethodPassword {
		t.Fatalf("SignIn(right password) = %+v, %v", id, err)
	}
	for i, bad := range [][2]string{{"tester", "wrong"}, {"nobody", "password1"}, {"tester", ""}} {
		if _, err := a.SignIn(r, bad[0], bad[1]); apierr.KindOf(err) != apierr.Unauthorized {
			t.Fatalf("SignIn attempt %d (%q) = %v; want 401", i, bad[0], err)
		}
	}
	if _, err := a.SignIn(r, "tester", "password1"); apierr.KindOf(err) != apierr.TooManyRequests {
		t.Fatalf("SignIn from a blocked address = %v; want 429", err)
	}
	// The API's Basic password is blocked for that address as well.
	api := httptest.NewRequest("GET", "/", nil)
	api.SetBasicAuth("tester", "password1")
	if _, err := a.Authenticate(api, auth.Options{Passwords: true}); apierr.KindOf(err) != apierr.TooManyRequests {
		t.Fatalf("API after failed sign-ins = %v; want 429", err)
	}
	obs.want(t, map[string]int{"failed sign_in": 3, "limited sign_in": 1, "limited request": 1})
}

// TestConfirmPasswordThrottlesFailures: a page's second ask for the
// password counts wrong ones against the user name as well as the
// address, like the sign-in form: from a new address, the user's
// password stays blocked.
func TestConfirmPasswordThrottlesFailures(t *testing.T) {
	s := newStore(t)
	a := auth.NewAuthenticator(tokens.Verifier{Store: s}, auth.NewLimiter(3, time.Minute))
	obs := countObserver{}
	a.Observe(obs)
	r := httptest.NewRequest("POST", "/settings/password", nil)
	if err := a.ConfirmPassword(r, "tester", "password1"); err != nil {
		t.Fatalf("ConfirmPassword(right password) = %v", err)
	}
	for i := range 3 {
		if err := a.ConfirmPassword(r, "tester", "wrong"); apierr.KindOf(err) != apierr.Unauthorized {
			t.Fatalf("ConfirmPassword attempt %d = %v; want 401", i, err)
		}
	}
	elsewhere := httptest.NewRequest("POST", "/settings/password", nil)
	elsewhere.RemoteAddr = "192.0.2.7:1234"
	if err := a.ConfirmPassword(elsewhere, "tester", "password1"); apierr.KindOf(err) != apierr.TooManyRequests {
		t.Fatalf("ConfirmPassword from another address after 3 failures = %v; want 429", err)
	}
	obs.want(t, map[string]int{"failed sign_in": 3, "limited sign_in": 1})
}

// TestLimiterRules: failures are limited per address and per user name,
// and neither limit stands in the way of a valid token.
func TestLimiterRules(t *testing.T) {
	const (
		alice = "tester" // newStore's user, with password1
		bob   = "bob"
	)
	setup := func(t *testing.T) (*auth.Authenticator, *tokens.Store) {
		s := newStore(t)
		if err := s.CreateUser(context.Background(), &tokens.User{GlobalKey: bob}, "password2"); err != nil {
			t.Fatal(err)
		}
		// Three failures per address, two per user.
		return auth.NewAuthenticator(tokens.Verifier{Store: s}, auth.NewLimiter(3, time.Minute).WithUserLimit(2, time.Minute)), s
	}
	from := func(ip string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = ip + ":5000"
		return r
	}
	password := func(a *auth.Authenticator, ip, user, pw string) error {
		r := from(ip)
		r.SetBasicAuth(user, pw)
		_, err := a.Authenticate(r, auth.Options{Passwords: true})
		return err
	}
	token := func(a *auth.Authenticator, ip, user, secret string) error {
		r := from(ip)
		r.SetBasicAuth(user, secret)
		_, err := a.Authenticate(r, auth.Options{})
		return err
	}
	want := func(t *testing.T, what string, err error, kind apierr.Kind, ok bool) {
		t.Helper()
		if ok && err != nil {
			t.Fatalf("%s = %v; want success", what, err)
		}
		if !ok && apierr.KindOf(err) != kind {
			t.Fatalf("%s = %v; want %d", what, err, kind.Status())
		}
	}

	t.Run("LockedUserDoesNotSlowAnother", func(t *testing.T) {
		a, _ := setup(t)
		// Alice's password is guessed from two addresses until her
		// name is locked; neither address is.
		want(t, "guess 1", password(a, "198.51.100.1", alice, "nope"), apierr.Unauthorized, false)
		want(t, "guess 2", password(a, "198.51.100.2", alice, "nope"), apierr.Unauthorized, false)
		want(t, "alice's right password", password(a, "203.0.113.7", alice, "password1"), apierr.TooManyRequests, false)
		want(t, "ALICE (any case)", password(a, "203.0.113.7", "TESTER", "password1"), apierr.TooManyRequests, false)
		want(t, "bob from a guessing address", password(a, "198.51.100.1", bob, "password2"), 0, true)
		want(t, "bob elsewhere", password(a, "203.0.113.7", bob, "password2"), 0, true)
	})
	t.Run("LockedUsersTokenWorks", func(t *testing.T) {
		a, s := setup(t)
		_, secret := mint(t, s)
		for _, ip := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
			_ = password(a, ip, alice, "nope")
		}
		want(t, "alice's password", password(a, "203.0.113.7", alice, "password1"), apierr.TooManyRequests, false)
		want(t, "alice's token as Basic", token(a, "203.0.113.7", alice, secret), 0, true)
		want(t, "alice's token where her password was guessed", token(a, "198.51.100.1", alice, secret), 0, true)
	})
	t.Run("NATAddressWithValidToken", func(t *testing.T) {
		a, s := setup(t)
		_, secret := mint(t, s)
		// One office address: wrong passwords for two users, then a bad
		// token, until the address is blocked.
		want(t, "office 1", password(a, "192.0.2.50", bob, "nope"), apierr.Unauthorized, false)
		want(t, "office 2", password(a, "192.0.2.50", alice, "nope"), apierr.Unauthorized, false)
		want(t, "office 3", token(a, "192.0.2.50", alice, "dpt_"+base64.RawURLEncoding.EncodeToString(make([]byte, 27))), apierr.Unauthorized, false)
		want(t, "office password now", password(a, "192.0.2.50", bob, "password2"), apierr.TooManyRequests, false)
		want(t, "office bad token now", token(a, "192.0.2.50", alice, "dpt_"+base64.RawURLEncoding.EncodeToString(make([]byte, 27))), apierr.TooManyRequests, false)
		want(t, "office valid token", token(a, "192.0.2.50", alice, secret), 0, true)
		r := from("192.0.2.50")
		r.Header.Set("Authorization", "Bearer "+secret)
		_, err := a.Authenticate(r, auth.Options{Passwords: true})
		want(t, "office valid Bearer token on the API", err, 0, true)
		// A valid token does not refill the address for passwords.
		want(t, "office password after the token", password(a, "192.0.2.50", bob, "password2"), apierr.TooManyRequests, false)
	})
	t.Run("IPv6CountedPer64", func(t *testing.T) {
		a, _ := setup(t)
		want(t, "v6 1", password(a, "2001:db8:1:2::1", alice, "nope"), apierr.Unauthorized, false)
		want(t, "v6 2", password(a, "2001:db8:1:2::2", bob, "nope"), apierr.Unauthorized, false)
		want(t, "v6 3", password(a, "2001:db8:1:2:ffff::3", "carol", "nope"), apierr.Unauthorized, false)
		want(t, "same /64", password(a, "2001:db8:1:2::99", "dave", "x"), apierr.TooManyRequests, false)
		want(t, "next /64", password(a, "2001:db8:1:3::1", bob, "password2"), 0, true)
	})
	t.Run("SignInSharesTheLimits", func(t *testing.T) {
		a, _ := setup(t)
		for _, ip := range []string{"198.51.100.1", "198.51.100.2"} {
			_, err := a.SignIn(from(ip), alice, "nope")
			want(t, "sign-in guess", err, apierr.Unauthorized, false)
		}
		_, err := a.SignIn(from("203.0.113.7"), alice, "password1")
		want(t, "alice signs in", err, apierr.TooManyRequests, false)
		_, err = a.SignIn(from("203.0.113.7"), bob, "password2")
		want(t, "bob signs in", err, 0, true)
	})
}
