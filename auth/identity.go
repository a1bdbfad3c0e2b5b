// Package auth decides who is calling: it parses Basic and Bearer
// credentials, verifies them through a Verifier that the token store
// implements, enforces a token's status, validity window and IP whitelist,
// and hands handlers an Identity that answers scope questions. Every HTTP
// surface of depot authenticates through Authenticator.Authenticate, and
// the web's sign-in form through Authenticator.SignIn, on the same
// failure limiter (per address and per user name). Where a request came
// from, seen through trusted reverse proxies, is Proxies.Resolve's to say;
// the server stores it once a request, and ClientIP reads it.
package auth

import (
	"context"
	"slices"
	"time"

	"github.com/depot/depot/auth/apierr"
)

// Method says how a caller proved who it is.
type Method int

// The ways a request can be authenticated.
const (
	MethodNone     Method = iota // anonymous
	MethodPassword               // Basic user:password
	MethodToken                  // Basic user:token or Bearer token
	MethodSession                // a web page's session cookie, begun with a password
)

func (m Method) String() string {
	switch m {
	case MethodPassword:
		return "password"
	case MethodToken:
		return "token"
	case MethodSession:
		return "session"
	}
	return "anonymous"
}

// Identity is the authenticated caller of one request.
type Identity struct {
	User   string // global_key; "" when anonymous
	Admin  bool
	Method Method
	// TokenID, Scopes and TokenExpires describe the token when Method is
	// MethodToken. A password holds every scope and never expires.
	TokenID      string
	Scopes       []string
	TokenExpires time.Time // zero: never
	// Rules are the token's limits inside git; nil for no limit, and
	// always nil for a caller in person.
	Rules *Rules
}

// Anonymous reports whether the request carried no credentials.
func (id *Identity) Anonymous() bool { return id == nil || id.Method == MethodNone }

// InPerson reports whether the caller is the user in person, by a
// password or a session begun with one, and so holds every scope: only a
// token is limited to its own.
func (id *Identity) InPerson() bool {
	return id != nil && (id.Method == MethodPassword || id.Method == MethodSession)
}

// HasScope reports whether the caller holds scope. Callers in person hold
// every scope; anonymous callers none.
func (id *Identity) HasScope(scope string) bool {
	switch {
	case id.Anonymous():
		return false
	case id.InPerson():
		return true
	}
	return slices.Contains(id.Scopes, scope)
}

// HeldScopes returns the scopes the caller holds: every scope for a
// caller in person, the token's own for a token.
func (id *Identity) HeldScopes() []string {
	if id.InPerson() {
		return ScopeNames()
	}
	return slices.Clone(id.Scopes)
}

// Require returns nil when the caller is authenticated and holds scope, a
// 401 error when the caller is anonymous, and a 403 error naming the scope
// otherwise.
func (id *Identity) Require(scope string) error {
	if id.Anonymous() {
		return ErrCredentialsRequired
	}
	if !id.HasScope(scope) {
		return apierr.Errorf(apierr.Forbidden, "token lacks the %q scope", scope)
	}
	return nil
}

// ErrCredentialsRequired is returned to anonymous callers of endpoints that
// need an identity.
var ErrCredentialsRequired = apierr.Errorf(apierr.Unauthorized, "authentication required")

type identityKey struct{}

// WithIdentity returns a copy of ctx carrying id.
func WithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity stored by the middleware, or an anonymous
// identity when there is none.
func FromContext(ctx context.Context) *Identity {
	if id, ok := ctx.Value(identityKey{}).(*Identity); ok && id != nil {
		return id
	}
	return &Identity{}
}
