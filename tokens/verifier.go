package tokens

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/depot/depot/auth"
)

// Verifier lets the authenticator check secrets against a Store.
type Verifier struct {
	Store *Store
}

var _ auth.Verifier = Verifier{}

// VerifyPassword implements auth.Verifier.
func (v Verifier) VerifyPassword(ctx context.Context, user, password string) (auth.Account, error) {
	u, err := v.Store.VerifyPassword(ctx, user, password)
	if err != nil {
		return auth.Account{}, authError(err)
	}
	return auth.Account{Name: u.GlobalKey, Admin: u.Admin}, nil
}

// VerifyToken implements auth.Verifier.
func (v Verifier) VerifyToken(ctx context.Context, secret string) (auth.Grant, auth.Account, error) {
	t, u, prev, err := v.Store.lookup(ctx, secret)
	if err != nil {
		return auth.Grant{}, auth.Account{}, authError(err)
	}
	g := auth.Grant{
		ID: t.ID, Owner: u.GlobalKey, Scopes: t.Scopes, Enabled: t.Enabled,
		NotBefore: t.NotBefore, ExpireTime: t.ExpireTime, IPWhitelist: t.IPWhitelist,
		Previous: prev, State: t,

		Rules: t.Rules,
	}
	return g, auth.Account{Name: u.GlobalKey, Admin: u.Admin}, nil
}

// TokenUsed implements auth.Verifier through Store.TokenUsed.
func (v Verifier) TokenUsed(ctx context.Context, g auth.Grant, ip string, at time.Time) error {
	t, ok := g.State.(*Token)
	if !ok || t.ID != g.ID {
		return fmt.Errorf("tokens: token use of %q: grant not from this verifier", g.ID)
	}
	err := v.Store.TokenUsed(ctx, Use{Token: t, Previous: g.Previous, IP: ip, At: at})
	if errors.Is(err, ErrLocked) {
		return fmt.Errorf("%w: %w", auth.ErrTokenLocked, err)
	}
	return err
}

// authError translates the store's credential errors into auth's.
func authError(err error) error {
	switch {
	case errors.Is(err, ErrMalformedToken):
		return fmt.Errorf("%w: %w", auth.ErrMalformedToken, err)
	case errors.Is(err, ErrBadCredentials):
		return fmt.Errorf("%w: %w", auth.ErrBadCredentials, err)
	}
	return err
}
