package tokens

import (
	"context"
	"errors"
	"fmt"
)

// Leaks lets push protection (githttp/receivepack.Tokens) recognise,
// look up and revoke the tokens that a push's files hold.
type Leaks struct {
	Store *Store
}

// WellFormed reports whether s has the prefix, length, alphabet and
// checksum of a token, without a database query.
func (Leaks) WellFormed(s string) bool { return WellFormed(s) }

// LiveToken returns the id and owner of the token whose secret is s, and
// found false when there is none: never issued, deleted, or not well
// formed. Disabled and expired tokens are found: they can be enabled or
// extended again, so a leaked one is still worth revoking.
func (l Leaks) LiveToken(ctx context.Context, secret string) (id, owner string, found bool, err error) {
	t, _, err := l.Store.LookupToken(ctx, secret)
	switch {
	case errors.Is(err, ErrBadCredentials), errors.Is(err, ErrMalformedToken):
		return "", "", false, nil
	case err != nil:
		return "", "", false, err
	}
	return t.ID, t.Username, true, nil
}

// RevokeToken deletes the token id; one already deleted is not an error.
func (l Leaks) RevokeToken(ctx context.Context, id string) error {
	if err := l.Store.DeleteToken(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("tokens: revoke leaked token: %w", err)
	}
	return nil
}
