package tokens

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/depot/depot/auth"
)

// Axis names one way in which a token can be stronger than another. Its
// text is the JSON field that carries the axis.
type Axis string

// The axes Within compares, in the order it compares them.
const (
	AxisScopes      Axis = "scopes"
	AxisExpireTime  Axis = "expireTime"
	AxisNotBefore   Axis = "notBefore"
	AxisIPWhitelist Axis = "ipWhitelist"
	// AxisLockOnNewNetwork: the token does not lock on a new network
	// while its limit does.
	AxisLockOnNewNetwork Axis = "lockOnNewNetwork"
	AxisRules            Axis = "rules"
)

// ErrWider is the class of every *WiderError.
var ErrWider = errors.New("stronger than its limit")

// WiderError reports the first axis on which a token is stronger than its
// limit.
type WiderError struct {
	Axis Axis
	// Scope is, for AxisScopes, the scope the limit lacks.
	Scope string
	// Entry is, for AxisIPWhitelist, the token's first entry outside the
	// limit's whitelist, or "" when the token's whitelist is empty (any
	// address) and the limit's is not.
	Entry string
	// Rule is, for AxisRules, the field of the token's rules that allows
	// more than the limit's, "" when the token has no rules at all; Entry
	// is then that field's first entry beyond the limit, or "" when the
	// field is absent (see auth.RulesWithin).
	Rule string
}

// Error says what the token has beyond its limit.
func (e *WiderError) Error() string {
	switch e.Axis {
	case AxisScopes:
		return fmt.Sprintf("scopes: %q is beyond the limit", e.Scope)
	case AxisExpireTime:
		return "expireTime: later than the limit's, or never"
	case AxisNotBefore:
		return "notBefore: earlier than the limit's"
	case AxisIPWhitelist:
		if e.Entry == "" {
			return "ipWhitelist: empty (any address) while the limit's is not"
		}
		return fmt.Sprintf("ipWhitelist: %q is beyond the limit", e.Entry)
	case AxisLockOnNewNetwork:
		return "lockOnNewNetwork: off while the limit's is on"
	case AxisRules:
		switch {
		case e.Rule == "":
			return "rules: absent (no limit) while the limit's are set"
		case e.Rule == "allowForcePush" || e.Rule == "allowDelete":
			return "rules." + e.Rule + ": true while the limit's is false"
		case e.Entry == "":
			return "rules." + e.Rule + ": absent (no limit) while the limit's is set"
		}
		return fmt.Sprintf("rules.%s: %q is beyond the limit", e.Rule, e.Entry)
	}
	return string(e.Axis) + ": beyond the limit"
}

// Is reports whether target is ErrWider.
func (e *WiderError) Is(target error) bool { return target == ErrWider }

// Within returns nil when t is no stronger than limit on any axis, and a
// *WiderError naming the first axis on which it is:
//   - scopes: t holds a scope that limit does not;
//   - expireTime: t never expires while limit does, or expires later;
//   - notBefore: t becomes valid before limit does, counting from now (a
//     validity that began in the past grants nothing more);
//   - ipWhitelist: t admits an address that limit refuses (see
//     auth.WhitelistWithin; empty admits every address);
//   - lockOnNewNetwork: t does not lock on a new network while limit does.
//   - rules: t's rules allow inside git what limit's do not (see
//     auth.RulesWithin; absent rules are the loosest).
//
// Status is not an axis: whether a token may enable another is the
// caller's rule, not a comparison.
func (t *Token) Within(limit *Token, now time.Time) error {
	for _, sc := range t.Scopes {
		if !slices.Contains(limit.Scopes, sc) {
			return &WiderError{Axis: AxisScopes, Scope: sc}
		}
	}
	if !limit.ExpireTime.IsZero() && (t.ExpireTime.IsZero() || t.ExpireTime.After(limit.ExpireTime)) {
		return &WiderError{Axis: AxisExpireTime}
	}
	if latest(t.NotBefore, now).Before(latest(limit.NotBefore, now)) {
		return &WiderError{Axis: AxisNotBefore}
	}
	if entry, ok := auth.WhitelistWithin(t.IPWhitelist, limit.IPWhitelist); !ok {
		return &WiderError{Axis: AxisIPWhitelist, Entry: entry}
	}
	if limit.LockOnNewNetwork && !t.LockOnNewNetwork {
		return &WiderError{Axis: AxisLockOnNewNetwork}
	}
	if field, entry, ok := auth.RulesWithin(t.Rules, limit.Rules); !ok {
		return &WiderError{Axis: AxisRules, Rule: field, Entry: entry}
	}
	return nil
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
