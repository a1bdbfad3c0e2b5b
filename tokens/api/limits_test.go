package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/tokens"
)

// limits describes a token of the tests below by its power.
type limits struct {
	scopes    []string
	whitelist []string      // must admit 127.0.0.1 for a token that calls
	expires   time.Duration // from now; 0: never
	disabled  bool
}

// mintLimits creates a token of tester with l.
func (f *fixture) mintLimits(l limits) (id, secret string) {
	f.t.Helper()
	id, secret = f.mint("tester", l.scopes, func(tk *tokens.Token) {
		tk.IPWhitelist = l.whitelist
		if l.expires != 0 {
			tk.ExpireTime = time.Now().Add(l.expires)
		}
	})
	if l.disabled {
		if err := f.store.SetTokenEnabled(context.Background(), id, false); err != nil {
			f.t.Fatal(err)
		}
	}
	return id, secret
}

// TestTokenMayNotWiden checks that a token never creates, edits, enables or
// regenerates a token stronger than itself on any axis (scopes, expiry, IP
// whitelist), that it still manages tokens no stronger than itself, and that
// a password keeps full power.
func TestTokenMayNotWiden(t *testing.T) {
	manage := []string{auth.ScopeUserToken, auth.ScopeDepot}
	depot := []string{auth.ScopeDepot}
	// A calling token limited to three networks, one of them IPv6.
	fenced := limits{scopes: manage, whitelist: []string{"127.0.0.1", "10.0.0.0/8", "2001:db8::/32"}}

	const (
		create     = "create"     // POST /tokens
		update     = "update"     // PUT /tokens/{id}
		status     = "status"     // PUT /tokens/{id}/status
		regenerate = "regenerate" // POST /tokens/{id}/regenerate
		remove     = "delete"     // DELETE /tokens/{id}
	)
	for _, tc := range []struct {
		name     string
		caller   limits
		password bool    // call as tester with a password instead of the caller token
		op       string  // one of the constants above
		target   *limits // the token acted on; nil: the caller token itself
		body     any
		status   int
		errMsg   string
		// check sees the target (or the created token) after the call.
		check func(t *testing.T, tok *tokens.Token)
	}{
		// Enabling and disabling.
		{name: "ErrReEnableSibling", caller: fenced, op: status,
			target: &limits{scopes: depot, whitelist: []string{"10.0.0.0/8"}, disabled: true},
			body:   map[string]any{"status": "enabled"},
			status: 403, errMsg: "token may not enable tokens", check: wantEnabled(false)},
		{name: "ErrEnableSelf", caller: fenced, op: status,
			body:   map[string]any{"status": "enabled"},
			status: 403, errMsg: "token may not enable tokens", check: wantEnabled(true)},
		{name: "DisableStrongerSibling", caller: fenced, op: status,
			target: &limits{scopes: []string{auth.ScopeDepot, auth.ScopeUser}},
			body:   map[string]any{"status": "disabled"}, status: 200, check: wantEnabled(false)},
		{name: "DisableSelf", caller: fenced, op: status,
			body: map[string]any{"status": "disabled"}, status: 200, check: wantEnabled(false)},
		{name: "PasswordReEnables", caller: fenced, password: true, op: status,
			target: &limits{scopes: depot, disabled: true},
			body:   map[string]any{"status": "enabled"}, status: 200, check: wantEnabled(true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			callerID, secret := f.mintLimits(tc.caller)
			c := bearer(secret)
			if tc.password {
				c = testerPW
			}
			targetID := callerID
			if tc.target != nil {
				targetID, _ = f.mintLimits(*tc.target)
			}
			var r response
			switch item := tokensPath + "/" + targetID; tc.op {
			case create:
				r = f.do("POST", tokensPath, c, tc.body)
			case update:
				r = f.do("PUT", item, c, tc.body)
			case status:
				r = f.do("PUT", item+"/status", c, tc.body)
			case regenerate:
				r = f.do("POST", item+"/regenerate", c, nil)
			case remove:
				r = f.do("DELETE", item, c, nil)
			default:
				t.Fatalf("unknown op %q", tc.op)
			}
			if tc.status != 200 {
				wantError(t, r, tc.status, tc.errMsg)
			} else if r.status != 200 {
				t.Fatalf("%s = %d %s; want 200", tc.op, r.status, r.body)
			}
			if tc.check == nil {
				return
			}
			id := targetID
			if tc.op == create {
				id, _ = r.json(t)["id"].(string)
			}
			tok, err := f.store.Token(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, tok)
		})
	}
}

func wantWhitelist(want ...string) func(t *testing.T, tok *tokens.Token) {
	return func(t *testing.T, tok *tokens.Token) {
		t.Helper()
		if strings.Join(tok.IPWhitelist, ",") != strings.Join(want, ",") {
			t.Fatalf("ipWhitelist = %q; want %q", tok.IPWhitelist, want)
		}
	}
}

func wantEnabled(want bool) func(t *testing.T, tok *tokens.Token) {
	return func(t *testing.T, tok *tokens.Token) {
		t.Helper()
		if tok.Enabled != want {
			t.Fatalf("enabled = %v; want %v", tok.Enabled, want)
		}
	}
}
