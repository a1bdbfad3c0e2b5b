package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
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
}

// Verifier checks secrets against the store. Implementations return errors
// that wrap ErrBadCredentials or ErrMalformedToken for credentials that do
// not verify, and anything else for failures of the store itself.
type Verifier interface {
	VerifyPassword(ctx context.Context, user, password string) (Account, error)
	VerifyToken(ctx context.Context, secret string) (Grant, Account, error)
	// RecordTokenUse notes a successful use; it must not block on I/O.
	RecordTokenUse(tokenID, ip string, at time.Time)
}

// Authenticator is the one code path that turns a request's credentials
// into an Identity.
type Authenticator struct {
	verifier Verifier
	limiter  *Limiter
	now      func() time.Time
	observer Observer
}

// Observer counts what the authenticator refuses, for the server's
// metrics. via is ViaRequest for credentials on a request and ViaSignIn
// for the web's sign-in form. Its methods must return quickly.
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

func (a *Authenticator) failed(via string) {
	if a.observer != nil {
		a.observer.Failed(via)
	}
}

func (a *Authenticator) limited(via string) {
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
// otherwise (401 for credentials that do not verify, 429 when the client
// address has failed too often, 500 when the store fails).
func (a *Authenticator) Authenticate(r *http.Request, opt Options) (*Identity, error) {
	creds, present, err := ParseAuthorization(r)
	if !present {
		return &Identity{}, nil
	}
	ip := ClientIP(r)
	if wait := a.limiter.Blocked(ip); wait > 0 {
		a.limited(ViaRequest)
		return nil, &apierr.Error{Kind: apierr.TooManyRequests, RetryAfter: wait,
			Msg: "too many failed authentication attempts; try again later"}
	}
	if err != nil {
		a.failed(ViaRequest)
		return nil, a.fail(ip, "malformed Authorization header: use Basic user:token or Bearer token")
	}
	id, err := a.verify(r.Context(), creds, ip, opt)
	if err != nil {
		if apierr.KindOf(err) == apierr.Unauthorized {
			a.failed(ViaRequest)
			a.limiter.Fail(ip)
		}
		return nil, err
	}
	return id, nil
}

// SignIn checks a password typed into the web's sign-in form, through the
// same failure limiter as Authenticate: it returns the user in person, or
// an *apierr.Error (401 for a wrong user or password, 429 while r's
// address has failed too often, 500 when the store fails). The caller
// starts the session.
func (a *Authenticator) SignIn(r *http.Request, user, password string) (*Identity, error) {
	ip := ClientIP(r)
	if wait := a.limiter.Blocked(ip); wait > 0 {
		a.limited(ViaSignIn)
		return nil, &apierr.Error{Kind: apierr.TooManyRequests, RetryAfter: wait,
			Msg: "too many failed sign-in attempts; try again later"}
	}
	if user == "" || password == "" {
		a.failed(ViaSignIn)
		return nil, a.fail(ip, "bad credentials")
	}
	id, err := a.passwordIdentity(r.Context(), Credentials{Username: user, Secret: password})
	if err != nil {
		if apierr.KindOf(err) == apierr.Unauthorized {
			a.failed(ViaSignIn)
			a.limiter.Fail(ip)
		}
		return nil, err
	}
	return id, nil
}

func (a *Authenticator) fail(ip, msg string) error {
	a.limiter.Fail(ip)
	return apierr.Errorf(apierr.Unauthorized, "%s", msg)
}

func (a *Authenticator) verify(ctx context.Context, c Credentials, ip string, opt Options) (*Identity, error) {
	grant, acct, err := a.verifier.VerifyToken(ctx, c.Secret)
	switch {
	case err == nil:
		return a.tokenIdentity(c, grant, acct, ip)
	case errors.Is(err, ErrMalformedToken) && !c.Bearer && opt.Passwords:
		return a.passwordIdentity(ctx, c)
	case errors.Is(err, ErrMalformedToken), errors.Is(err, ErrBadCredentials):
		if !opt.Passwords && !c.Bearer && errors.Is(err, ErrMalformedToken) {
			return nil, apierr.Errorf(apierr.Unauthorized, "bad credentials: use a personal access token as the password")
		}
		return nil, apierr.Errorf(apierr.Unauthorized, "bad credentials")
	}
	return nil, fmt.Errorf("auth: verify token: %w", err)
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
func (a *Authenticator) tokenIdentity(c Credentials, g Grant, acct Account, ip string) (*Identity, error) {
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
	a.verifier.RecordTokenUse(g.ID, ip, now)
	return &Identity{
		User: acct.Name, Admin: acct.Admin, Method: MethodToken,
		TokenID: g.ID, Scopes: g.Scopes, TokenExpires: g.ExpireTime,
	}, nil
}

// ClientIP returns the address of r's peer, without the port.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.Unmap().String()
	}
	return host
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
