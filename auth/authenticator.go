package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/depot/depot/auth/apierr"
)

// Errors a Verifier returns; the token store wraps them.
var (
	// ErrBadCredentials: unknown user, wrong password, unknown token.
	ErrBadCredentials = errors.New("bad credentials")
	// ErrMalformedToken: the secret is not a well-formed token, decided
	// without touching the database.
	ErrMalformedToken = errors.New("malformed token")
	// ErrTokenLocked: TokenUsed refused a use from a network the token
	// was never used from, and disabled the token.
	ErrTokenLocked = errors.New("token locked")
)

// Account is a user as the authenticator needs it.
type Account struct {
	Name  string
	Admin bool
}

// Grant is a personal access token as the authenticator needs it.
type Grant struct {
	ID          string
	Owner       string
	Scopes      []string
	Enabled     bool
	NotBefore   time.Time
	ExpireTime  time.Time // zero: never
	IPWhitelist []string  // addresses and CIDR ranges; empty: any address
	// Previous reports that the secret was the token's previous one,
	// which a regeneration with a grace window keeps working a while.
	Previous bool
	// State is the verifier's own record of the token; the authenticator
	// hands it back to TokenUsed untouched.
	State any

	Rules *Rules // limits inside git; nil: none
}

// Verifier checks secrets against the store. Implementations return errors
// that wrap ErrBadCredentials or ErrMalformedToken for credentials that do
// not verify, and anything else for failures of the store itself.
type Verifier interface {
	VerifyPassword(ctx context.Context, user, password string) (Account, error)
	VerifyToken(ctx context.Context, secret string) (Grant, Account, error)
	// TokenUsed notes a use of g that passed every check above. It must
	// not block on I/O except to refuse the use: an error wrapping
	// ErrTokenLocked refuses it as from a new network of a token that
	// locks on one; any other error is the store failing, and refuses
	// it too.
	TokenUsed(ctx context.Context, g Grant, ip string, at time.Time) error
}

// Authenticator is the one code path that turns a request's credentials
// into an Identity.
type Authenticator struct {
	verifier Verifier
	limiter  *Limiter
	now      func() time.Time

	// Failed, when set, hears of each request whose credentials
	// Authenticate refused and counted against the limiter: the user the
	// credentials named ("" for a bearer token) and the refusal. It runs
	// on the request's goroutine, for the audit log.
	Failed   func(r *http.Request, user string, refusal error)
	observer Observer
}

// Observer counts what the authenticator refuses, for the server's
// metrics. via is ViaRequest for credentials on a request and ViaSignIn
// for a password typed into a page (the sign-in form, ConfirmPassword).
// Its methods must return quickly.
type Observer interface {
	// Failed is called for credentials that did not verify (a 401).
	Failed(via string)
	// Limited is called for an attempt refused by the failure limiter
	// (a 429).
	Limited(via string)
}

// The values of an Observer's via.
const (
	ViaRequest = "request"
	ViaSignIn  = "sign_in"
)

// Observe makes o count the authenticator's refusals; call it before
// serving.
func (a *Authenticator) Observe(o Observer) { a.observer = o }

func (a *Authenticator) observeFailed(via string) {
	if a.observer != nil {
		a.observer.Failed(via)
	}
}

func (a *Authenticator) observeLimited(via string) {
	if a.observer != nil {
		a.observer.Limited(via)
	}
}

// NewAuthenticator returns an Authenticator over v. limiter may be nil for
// no throttling of failed attempts.
func NewAuthenticator(v Verifier, limiter *Limiter) *Authenticator {
	return &Authenticator{verifier: v, limiter: limiter, now: time.Now}
}

// Options choose what an endpoint accepts.
type Options struct {
	// Passwords allows Basic user:password. Git over HTTP takes tokens only.
	Passwords bool
}

// Authenticate returns the caller of r: an anonymous Identity when r has no
// credentials, an authenticated one when they verify, and an *apierr.Error
// otherwise (401 for credentials that do not verify, 429 while the client
// address, or for a password the user name, has failed too often, 500
// when the store fails).
//
// A well-formed token is looked up before any limit is asked: the lookup
// costs one hash and a token cannot be guessed, so a valid token is never
// refused by the limiter, neither because its user's password is locked
// nor because its address (an office behind one NAT) sent bad passwords.
// A token that does not verify counts against the address, and is
// answered 429 while the address is blocked. A password is checked only
// while neither its address nor its user name is blocked.
func (a *Authenticator) Authenticate(r *http.Request, opt Options) (*Identity, error) {
	creds, present, err := ParseAuthorization(r)
	if !present {
		return &Identity{}, nil
	}
	ip := ClientIP(r)
	if err != nil {
		return nil, a.refuse(r, ip, "", apierr.Errorf(apierr.Unauthorized, "malformed Authorization header: use Basic user:token or Bearer token"))
	}
	grant, acct, err := a.verifier.VerifyToken(r.Context(), creds.Secret)
	switch {
	case err == nil:
		id, err := a.tokenIdentity(r.Context(), creds, grant, acct, ip)
		if apierr.KindOf(err) == apierr.Unauthorized {
			return nil, a.refuse(r, ip, creds.Username, err)
		}
		return id, err
	case errors.Is(err, ErrMalformedToken) && !creds.Bearer && opt.Passwords:
		id, err := a.password(r.Context(), ViaRequest, ip, creds.Username, creds.Secret,
			"too many failed authentication attempts; try again later, or use a personal access token")
		if apierr.KindOf(err) == apierr.Unauthorized {
			a.failed(r, creds.Username, err)
		}
		return id, err
	case errors.Is(err, ErrMalformedToken) && !creds.Bearer && !opt.Passwords:
		return nil, a.refuse(r, ip, creds.Username, apierr.Errorf(apierr.Unauthorized, "bad credentials: use a personal access token as the password"))
	case errors.Is(err, ErrMalformedToken), errors.Is(err, ErrBadCredentials):
		return nil, a.refuse(r, ip, creds.Username, apierr.Errorf(apierr.Unauthorized, "bad credentials"))
	}
	return nil, fmt.Errorf("auth: verify token: %w", err)
}

// failed tells Failed, when set, of credentials refused and counted.
func (a *Authenticator) failed(r *http.Request, user string, err error) {
	if a.Failed != nil {
		a.Failed(r, user, err)
	}
}

// SignIn checks a password typed into the web's sign-in form, through the
// same failure limiter as Authenticate: it returns the user in person, or
// an *apierr.Error (401 for a wrong user or password, 429 while r's
// address or the user name has failed too often, 500 when the store
// fails). The caller starts the session.
func (a *Authenticator) SignIn(r *http.Request, user, password string) (*Identity, error) {
	return a.password(r.Context(), ViaSignIn, ClientIP(r), user, password, "too many failed sign-in attempts; try again later")
}

// ConfirmPassword checks the password of user, signed in already, that a
// page asks for again before a change as grave as a new password, through
// the same failure limiter as SignIn: a wrong password counts against r's
// address and the user name, so that a stolen session cannot guess the
// password faster than the sign-in form could. It returns nil or an
// *apierr.Error (401 for a wrong password, 429 while r's address or the
// user name has failed too often, 500 when the store fails).
func (a *Authenticator) ConfirmPassword(r *http.Request, user, password string) error {
	_, err := a.password(r.Context(), ViaSignIn, ClientIP(r), user, password, "too many failed password attempts; try again later")
	return err
}

// password checks user's password from ip, unless ip or user is blocked
// (429 with busy as its message); a wrong one counts against both. via
// says to the Observer where the password came from.
func (a *Authenticator) password(ctx context.Context, via, ip, user, password, busy string) (*Identity, error) {
	if wait := max(a.limiter.Blocked(ip), a.limiter.UserBlocked(user)); wait > 0 {
		a.observeLimited(via)
		return nil, &apierr.Error{Kind: apierr.TooManyRequests, RetryAfter: wait, Msg: busy}
	}
	var id *Identity
	err := error(apierr.Errorf(apierr.Unauthorized, "bad credentials"))
	if user != "" && password != "" {
		id, err = a.passwordIdentity(ctx, Credentials{Username: user, Secret: password})
	}
	if apierr.KindOf(err) == apierr.Unauthorized {
		a.observeFailed(via)
		a.limiter.Fail(ip)
		a.limiter.FailUser(user)
	}
	return id, err
}

// refuse answers credentials from ip that did not verify: err, counted
// against ip and told to Failed, or a 429 while ip is blocked already.
// Attempts refused so are not counted, so that the bucket refills as the
// limit promises.
func (a *Authenticator) refuse(r *http.Request, ip, user string, err error) error {
	if wait := a.limiter.Blocked(ip); wait > 0 {
		a.observeLimited(ViaRequest)
		return &apierr.Error{Kind: apierr.TooManyRequests, RetryAfter: wait,
			Msg: "too many failed authentication attempts; try again later"}
	}
	a.observeFailed(ViaRequest)
	a.limiter.Fail(ip)
	a.failed(r, user, err)
	return err
}

func (a *Authenticator) passwordIdentity(ctx context.Context, c Credentials) (*Identity, error) {
	acct, err := a.verifier.VerifyPassword(ctx, c.Username, c.Secret)
	if errors.Is(err, ErrBadCredentials) {
		return nil, apierr.Errorf(apierr.Unauthorized, "bad credentials")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: verify password: %w", err)
	}
	return &Identity{User: acct.Name, Admin: acct.Admin, Method: MethodPassword}, nil
}

// tokenIdentity enforces everything about a token beyond its secret.
func (a *Authenticator) tokenIdentity(ctx context.Context, c Credentials, g Grant, acct Account, ip string) (*Identity, error) {
	unauthorized := func(msg string) error { return apierr.Errorf(apierr.Unauthorized, "%s", msg) }
	now := a.now()
	switch {
	case !c.Bearer && !strings.EqualFold(c.Username, g.Owner):
		return nil, unauthorized("bad credentials: the token does not belong to this user")
	case !g.Enabled:
		return nil, unauthorized("token is disabled")
	case now.Before(g.NotBefore):
		return nil, unauthorized("token is not valid yet")
	case !g.ExpireTime.IsZero() && !now.Before(g.ExpireTime):
		return nil, unauthorized("token has expired")
	case !AddressAllowed(ip, g.IPWhitelist):
		return nil, unauthorized("token may not be used from this address")
	}
	if err := a.verifier.TokenUsed(ctx, g, ip, now); errors.Is(err, ErrTokenLocked) {
		return nil, unauthorized("token locked: first use from a new network; its owner must enable it again")
	} else if err != nil {
		return nil, fmt.Errorf("auth: record token use: %w", err)
	}
	return &Identity{
		User: acct.Name, Admin: acct.Admin, Method: MethodToken,
		TokenID: g.ID, Scopes: g.Scopes, TokenExpires: g.ExpireTime, Rules: g.Rules,
	}, nil
}

// ParseWhitelistEntry parses one ipWhitelist entry: an IPv4 or IPv6 address
// or a CIDR range. It returns the prefix the entry covers.
func ParseWhitelistEntry(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR range", s)
		}
		return p.Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR range", s)
	}
	addr = addr.Unmap()
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// AddressAllowed reports whether ip falls inside whitelist; an empty
// whitelist allows every address. Entries that do not parse allow nothing.
func AddressAllowed(ip string, whitelist []string) bool {
	if len(whitelist) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, entry := range whitelist {
		if p, err := ParseWhitelistEntry(entry); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}
