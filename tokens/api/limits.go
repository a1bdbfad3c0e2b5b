package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/tokens"
)

// A caller authenticated by a token never creates, edits, enables or
// regenerates a token stronger than that token on any axis (docs/api.md,
// "Tokens"): otherwise one leaked user:token token would undo every limit the
// owner put on the others. tokens.Token.Within decides "stronger"; this
// file turns its answer into the API's 403s. A password caller is the user
// (or an admin) in person and has no such limit.

// limitOf returns what a token caller may never exceed: its own token as
// stored now. It returns nil for a password caller.
func (s *Server) limitOf(r *http.Request, caller *auth.Identity) (*tokens.Token, error) {
	if caller.Method != auth.MethodToken {
		return nil, nil
	}
	t, err := s.store.Token(r.Context(), caller.TokenID)
	if errors.Is(err, tokens.ErrNotFound) {
		// Deleted since it authenticated this request.
		return nil, apierr.Wrap(apierr.Unauthorized, err, "token no longer exists")
	}
	if err != nil {
		return nil, fmt.Errorf("load calling token: %w", err)
	}
	return t, nil
}

// mayGrant refuses a token t, new or as an edit would leave it, that is
// stronger than limit, the calling token. A nil limit allows everything.
func mayGrant(limit, t *tokens.Token, now time.Time) error {
	we, err := wider(limit, t, now)
	if we == nil {
		return err
	}
	var why string
	switch we.Axis {
	case tokens.AxisScopes:
		why = fmt.Sprintf("the calling token lacks %q and cannot grant it", we.Scope)
	case tokens.AxisExpireTime:
		why = fmt.Sprintf("it must be set and no later than the calling token's expiry (%d)", limit.ExpireTime.UnixMilli())
	case tokens.AxisNotBefore:
		why = fmt.Sprintf("it must be no earlier than the calling token's (%d)", limit.NotBefore.UnixMilli())
	case tokens.AxisIPWhitelist:
		why = fmt.Sprintf("%q is outside the calling token's", we.Entry)
		if we.Entry == "" {
			why = "it may not be empty (any address) while the calling token's is not"
		}
	case tokens.AxisLockOnNewNetwork:
		why = "it must be true while the calling token's is"

	case tokens.AxisRules:
		why = rulesWhy(we)
	default:
		why = "it would be wider than the calling token's"
	}
	return apierr.Wrap(apierr.Forbidden, we, fmt.Sprintf("token may not widen %s: %s", we.Axis, why))
}

// mayActOn refuses any change to a token t that is already stronger than
// limit, the calling token: editing or regenerating it would hand the
// caller power it does not hold. A nil limit allows everything.
func mayActOn(limit, t *tokens.Token, now time.Time) error {
	we, err := wider(limit, t, now)
	if we == nil {
		return err
	}
	var what string
	switch we.Axis {
	case tokens.AxisScopes:
		what = fmt.Sprintf("with scope %q, which the calling token lacks", we.Scope)
	case tokens.AxisExpireTime:
		what = "that expires later than the calling token, or never"
	case tokens.AxisNotBefore:
		what = "that becomes valid earlier than the calling token"
	case tokens.AxisRules:
		what = "with looser rules (" + rulesWhy(we) + ")"
	default:
		what = fmt.Sprintf("with a wider %s", we.Axis)
	}
	return apierr.Wrap(apierr.Forbidden, we, "token may not act on a token "+what)
}

// rulesWhy says how a token's rules are looser than the calling token's.
func rulesWhy(we *tokens.WiderError) string {
	switch {
	case we.Rule == "":
		return "they may not be absent (no limit) while the calling token has rules"
	case we.Rule == "allowForcePush" || we.Rule == "allowDelete":
		return we.Rule + " may not be true while the calling token's is false"
	case we.Entry == "":
		return we.Rule + " may not be absent (no limit) while the calling token's is set"
	}
	return fmt.Sprintf("%s %q is outside the calling token's", we.Rule, we.Entry)
}

// wider returns how t is stronger than limit, or nil when it is not or
// limit is nil. Any other error from the comparison is returned as err, so
// that a failure refuses rather than allows.
func wider(limit, t *tokens.Token, now time.Time) (we *tokens.WiderError, err error) {
	if limit == nil {
		return nil, nil
	}
	if err := t.Within(limit, now); err != nil && !errors.As(err, &we) {
		return nil, err
	}
	return we, nil
}
