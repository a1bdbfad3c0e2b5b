package api_test

import (
	"context"
	"reflect"
	"slices"
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
	rules     *auth.Rules
}

// mintLimits creates a token of tester with l.
func (f *fixture) mintLimits(l limits) (id, secret string) {
	f.t.Helper()
	id, secret = f.mint("tester", l.scopes, func(tk *tokens.Token) {
		tk.IPWhitelist = l.whitelist
		tk.Rules = l.rules.Clone()
		if l.expires != 0 {
			tk.ExpireTime = time.Now().Add(l.expires)
		}
	})
	if l.disabled {
		if err := f.store.SetTokenEnabled(context.Background(), id, false, ""); err != nil {
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
	// A calling token usable anywhere but only for an hour.
	brief := limits{scopes: manage, expires: time.Hour}
	// A calling token with git rules: one owner's repositories, CI
	// branches, no force push, deletes allowed.
	ciRules := &auth.Rules{Repos: []string{"tester/*"}, Operations: []string{"fetch", "push"},
		Refs: []string{"refs/heads/ci/*"}, AllowDelete: true}
	ruled := limits{scopes: manage, rules: ciRules}
	rulesWith := func(mod func(r *auth.Rules)) *auth.Rules {
		r := ciRules.Clone()
		mod(r)
		return r
	}

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
		// Creating.
		{name: "ErrCreateWithoutWhitelist", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot},
			status: 403, errMsg: "token may not widen ipWhitelist"},
		{name: "ErrCreateWhitelistAnywhere", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "ipWhitelist": []string{"0.0.0.0/0"}},
			status: 403, errMsg: "token may not widen ipWhitelist"},
		{name: "ErrCreateWhitelistOneEntryOutside", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "ipWhitelist": []string{"10.1.0.0/16", "192.168.0.1"}},
			status: 403, errMsg: `"192.168.0.1"`},
		{name: "ErrCreateWhitelistSupernet", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "ipWhitelist": []string{"10.0.0.0/7"}},
			status: 403, errMsg: "token may not widen ipWhitelist"},
		{name: "CreateNarrowerWhitelist", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "ipWhitelist": []string{"10.1.0.0/16", "10.2.3.4", "127.0.0.1"}},
			status: 200, check: wantWhitelist("10.1.0.0/16", "10.2.3.4", "127.0.0.1")},
		{name: "CreateSameWhitelist", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "ipWhitelist": fenced.whitelist},
			status: 200, check: wantWhitelist(fenced.whitelist...)},
		{name: "CreateIPv6Narrower", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "ipWhitelist": []string{"2001:db8:1::/48", "2001:db8::5"}},
			status: 200, check: wantWhitelist("2001:db8:1::/48", "2001:db8::5")},
		{name: "ErrCreateIPv6Wider", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "ipWhitelist": []string{"2001:db8::/31"}},
			status: 403, errMsg: "token may not widen ipWhitelist"},
		{name: "ErrCreateIPv6Anywhere", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "ipWhitelist": []string{"::/0"}},
			status: 403, errMsg: "token may not widen ipWhitelist"},
		{name: "CreateV4MappedAddressInside", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "ipWhitelist": []string{"::ffff:10.1.2.3"}},
			status: 200, check: wantWhitelist("10.1.2.3")},
		{name: "ErrCreateV4MappedAddressOutside", caller: fenced, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "ipWhitelist": []string{"::ffff:192.168.0.1"}},
			status: 403, errMsg: "token may not widen ipWhitelist"},
		{name: "UnfencedCallerCreatesFenced", caller: limits{scopes: manage}, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "ipWhitelist": []string{"192.168.0.0/16"}},
			status: 200, check: wantWhitelist("192.168.0.0/16")},
		{name: "ErrCreateOutlivingCaller", caller: brief, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot},
			status: 403, errMsg: "expireTime"},
		{name: "PasswordCreatesWithoutWhitelist", caller: fenced, password: true, op: create,
			body: map[string]any{"username": "tester", "scopes": depot}, status: 200, check: wantWhitelist()},

		// Rules on creating: every axis of the rules, and absent rules.
		{name: "ErrCreateWithoutRules", caller: ruled, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot},
			status: 403, errMsg: "token may not widen rules: they may not be absent"},
		{name: "ErrCreateRulesRepoOutside", caller: ruled, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": rulesWith(func(r *auth.Rules) { r.Repos = []string{"other/*"} })},
			status: 403, errMsg: `token may not widen rules: repos "other/*" is outside the calling token's`},
		{name: "ErrCreateRulesRepoWiderGlob", caller: ruled, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": rulesWith(func(r *auth.Rules) { r.Repos = []string{"*/*"} })},
			status: 403, errMsg: `repos "*/*"`},
		{name: "ErrCreateRulesReposAbsent", caller: ruled, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": rulesWith(func(r *auth.Rules) { r.Repos = nil })},
			status: 403, errMsg: "repos may not be absent"},
		{name: "ErrCreateRulesOperationsAbsent", caller: limits{scopes: manage, rules: &auth.Rules{Operations: []string{"fetch"}}}, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": map[string]any{"repos": []string{"tester/a"}}},
			status: 403, errMsg: "operations may not be absent"},
		{name: "ErrCreateRulesPushFromFetchOnly", caller: limits{scopes: manage, rules: &auth.Rules{Operations: []string{"fetch"}}}, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": map[string]any{"operations": []string{"fetch", "push"}}},
			status: 403, errMsg: `operations "push"`},
		{name: "ErrCreateRulesRefOutside", caller: ruled, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": rulesWith(func(r *auth.Rules) { r.Refs = []string{"refs/heads/*"} })},
			status: 403, errMsg: `refs "refs/heads/*"`},
		{name: "ErrCreateRulesRefsAbsent", caller: ruled, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": rulesWith(func(r *auth.Rules) { r.Refs = nil })},
			status: 403, errMsg: "refs may not be absent"},
		{name: "ErrCreateRulesForcePush", caller: ruled, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": rulesWith(func(r *auth.Rules) { r.AllowForcePush = true })},
			status: 403, errMsg: "allowForcePush may not be true"},
		{name: "ErrCreateRulesDelete", caller: limits{scopes: manage, rules: &auth.Rules{}}, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": map[string]any{"allowDelete": true}},
			status: 403, errMsg: "allowDelete may not be true"},
		{name: "CreateSameRules", caller: ruled, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": ciRules},
			status: 200, check: wantRules(ciRules)},
		{name: "CreateNarrowerRules", caller: ruled, op: create,
			body: map[string]any{"username": "tester", "scopes": depot, "rules": map[string]any{
				"repos": []string{"Tester/site", "tester/ci-*"}, "operations": []string{"push"},
				"refs": []string{"refs/heads/ci/main", "refs/heads/ci/x*"}}},
			status: 200, check: wantRules(&auth.Rules{Repos: []string{"Tester/site", "tester/ci-*"}, Operations: []string{"push"},
				Refs: []string{"refs/heads/ci/main", "refs/heads/ci/x*"}})},
		{name: "UnruledCallerCreatesLooseRules", caller: limits{scopes: manage}, op: create,
			body:   map[string]any{"username": "tester", "scopes": depot, "rules": map[string]any{"allowForcePush": true, "allowDelete": true}},
			status: 200, check: wantRules(&auth.Rules{AllowForcePush: true, AllowDelete: true})},
		{name: "PasswordCreatesWithoutRules", caller: ruled, password: true, op: create,
			body: map[string]any{"username": "tester", "scopes": depot}, status: 200, check: wantRules(nil)},

		// Rules on editing, regenerating and enabling.
		{name: "ErrOwnRulesRemoved", caller: ruled, op: update,
			body:   map[string]any{"rules": nil},
			status: 403, errMsg: "token may not widen rules", check: wantRules(ciRules)},
		{name: "ErrOwnRulesForcePush", caller: ruled, op: update,
			body:   map[string]any{"rules": rulesWith(func(r *auth.Rules) { r.AllowForcePush = true })},
			status: 403, errMsg: "allowForcePush", check: wantRules(ciRules)},
		{name: "OwnRulesNarrowed", caller: ruled, op: update,
			body:   map[string]any{"rules": rulesWith(func(r *auth.Rules) { r.Operations = []string{"fetch"} })},
			status: 200, check: wantRules(rulesWith(func(r *auth.Rules) { r.Operations = []string{"fetch"} }))},
		{name: "OwnDescriptionKeepsRules", caller: ruled, op: update,
			body: map[string]any{"description": "mine"}, status: 200, check: wantRules(ciRules)},
		{name: "ErrSiblingWithoutRules", caller: ruled, op: update,
			target: &limits{scopes: depot},
			body:   map[string]any{"description": "renamed"},
			status: 403, errMsg: "token may not act on a token with looser rules"},
		{name: "ErrSiblingLooserRulesEvenNarrowing", caller: ruled, op: update,
			target: &limits{scopes: depot, rules: &auth.Rules{Repos: []string{"other/*"}}},
			body:   map[string]any{"rules": ciRules},
			status: 403, errMsg: "token may not act on a token with looser rules", check: wantRules(&auth.Rules{Repos: []string{"other/*"}})},
		{name: "SiblingRulesEdited", caller: ruled, op: update,
			target: &limits{scopes: depot, rules: rulesWith(func(r *auth.Rules) { r.Repos = []string{"tester/a"} })},
			body:   map[string]any{"rules": rulesWith(func(r *auth.Rules) { r.Repos = []string{"tester/b"} })},
			status: 200, check: wantRules(rulesWith(func(r *auth.Rules) { r.Repos = []string{"tester/b"} }))},
		{name: "ErrRegenerateLooserRules", caller: ruled, op: regenerate,
			target: &limits{scopes: depot, rules: rulesWith(func(r *auth.Rules) { r.AllowForcePush = true })},
			status: 403, errMsg: "token may not act on a token with looser rules (allowForcePush"},
		{name: "RegenerateSameRules", caller: ruled, op: regenerate,
			target: &limits{scopes: depot, rules: ciRules}, status: 200},
		{name: "ErrEnableRuledSibling", caller: ruled, op: status,
			target: &limits{scopes: depot, rules: ciRules, disabled: true},
			body:   map[string]any{"status": "enabled"},
			status: 403, errMsg: "token may not enable tokens", check: wantEnabled(false)},
		{name: "PasswordRemovesRules", caller: ruled, password: true, op: update,
			body: map[string]any{"rules": nil}, status: 200, check: wantRules(nil)},

		// Editing the calling token itself.
		{name: "ErrOwnWhitelistAnywhere", caller: fenced, op: update,
			body:   map[string]any{"ipWhitelist": []string{"0.0.0.0/0"}},
			status: 403, errMsg: "token may not widen ipWhitelist", check: wantWhitelist(fenced.whitelist...)},
		{name: "ErrOwnWhitelistEmptied", caller: fenced, op: update,
			body:   map[string]any{"ipWhitelist": []string{}},
			status: 403, errMsg: "token may not widen ipWhitelist", check: wantWhitelist(fenced.whitelist...)},
		{name: "ErrOwnWhitelistGrown", caller: fenced, op: update,
			body:   map[string]any{"ipWhitelist": append(slices.Clone(fenced.whitelist), "192.168.0.0/16")},
			status: 403, errMsg: `"192.168.0.0/16"`, check: wantWhitelist(fenced.whitelist...)},
		{name: "OwnWhitelistNarrowed", caller: fenced, op: update,
			body:   map[string]any{"ipWhitelist": []string{"127.0.0.1", "10.9.0.0/16"}},
			status: 200, check: wantWhitelist("127.0.0.1", "10.9.0.0/16")},
		{name: "OwnDescription", caller: fenced, op: update,
			body: map[string]any{"description": "mine"}, status: 200},

		// Editing a sibling.
		{name: "ErrSiblingWhitelistEmptied", caller: fenced, op: update,
			target: &limits{scopes: depot, whitelist: []string{"10.0.0.0/8"}},
			body:   map[string]any{"ipWhitelist": []string{}},
			status: 403, errMsg: "token may not widen ipWhitelist", check: wantWhitelist("10.0.0.0/8")},
		{name: "ErrSiblingWhitelistBeyondCaller", caller: fenced, op: update,
			target: &limits{scopes: depot, whitelist: []string{"10.1.0.0/16"}},
			body:   map[string]any{"ipWhitelist": []string{"10.1.0.0/16", "172.16.0.0/12"}},
			status: 403, errMsg: "token may not widen ipWhitelist", check: wantWhitelist("10.1.0.0/16")},
		{name: "ErrSiblingIPv6WhitelistBeyondCaller", caller: fenced, op: update,
			target: &limits{scopes: depot, whitelist: []string{"2001:db8:1::/48"}},
			body:   map[string]any{"ipWhitelist": []string{"2001:db8:1::/48", "2001:db9::/32"}},
			status: 403, errMsg: `"2001:db9::/32"`, check: wantWhitelist("2001:db8:1::/48")},
		{name: "SiblingWhitelistMovedWithinCaller", caller: fenced, op: update,
			target: &limits{scopes: depot, whitelist: []string{"10.1.0.0/16"}},
			body:   map[string]any{"ipWhitelist": []string{"10.2.0.0/16", "2001:db8:2::/48"}},
			status: 200, check: wantWhitelist("10.2.0.0/16", "2001:db8:2::/48")},
		{name: "ErrSiblingWiderWhitelist", caller: fenced, op: update,
			target: &limits{scopes: depot},
			body:   map[string]any{"description": "renamed"},
			status: 403, errMsg: "token may not act on a token with a wider ipWhitelist"},
		{name: "ErrSiblingWiderWhitelistEvenNarrowing", caller: fenced, op: update,
			target: &limits{scopes: depot},
			body:   map[string]any{"ipWhitelist": []string{"10.1.0.0/16"}},
			status: 403, errMsg: "token may not act on a token with a wider ipWhitelist", check: wantWhitelist()},
		{name: "ErrSiblingWithScope", caller: limits{scopes: []string{auth.ScopeUserToken}}, op: update,
			target: &limits{scopes: []string{auth.ScopeUser}},
			body:   map[string]any{"description": "renamed"},
			status: 403, errMsg: `token may not act on a token with scope "user"`},
		{name: "ErrSiblingExpiresLater", caller: brief, op: update,
			target: &limits{scopes: depot, expires: 2 * time.Hour},
			body:   map[string]any{"description": "renamed"},
			status: 403, errMsg: "token may not act on a token that expires later"},
		{name: "ErrSiblingNeverExpires", caller: brief, op: update,
			target: &limits{scopes: depot},
			body:   map[string]any{"description": "renamed"},
			status: 403, errMsg: "token may not act on a token that expires later"},
		{name: "SiblingExpiresEarlier", caller: brief, op: update,
			target: &limits{scopes: depot, expires: 30 * time.Minute},
			body:   map[string]any{"description": "renamed", "scopes": manage},
			status: 200},
		{name: "ErrSiblingScopeGrant", caller: fenced, op: update,
			target: &limits{scopes: depot, whitelist: []string{"10.0.0.0/8"}},
			body:   map[string]any{"scopes": []string{auth.ScopeDepot, auth.ScopeUser}},
			status: 403, errMsg: `"user"`},
		{name: "PasswordEmptiesSiblingWhitelist", caller: fenced, password: true, op: update,
			target: &limits{scopes: depot, whitelist: []string{"10.0.0.0/8"}},
			body:   map[string]any{"ipWhitelist": []string{}},
			status: 200, check: wantWhitelist()},
		{name: "PasswordSetsWhitelistAnywhere", caller: fenced, password: true, op: update,
			target: &limits{scopes: depot, whitelist: []string{"10.0.0.0/8"}},
			body:   map[string]any{"ipWhitelist": []string{"0.0.0.0/0", "::/0"}},
			status: 200, check: wantWhitelist("0.0.0.0/0", "::/0")},

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

		// Regenerating.
		{name: "ErrRegenerateWiderWhitelist", caller: fenced, op: regenerate,
			target: &limits{scopes: depot},
			status: 403, errMsg: "token may not act on a token with a wider ipWhitelist"},
		{name: "ErrRegenerateExpiresLater", caller: brief, op: regenerate,
			target: &limits{scopes: depot},
			status: 403, errMsg: "token may not act on a token that expires later"},
		{name: "RegenerateNoStronger", caller: fenced, op: regenerate,
			target: &limits{scopes: depot, whitelist: []string{"10.1.0.0/16"}, expires: time.Hour},
			status: 200},
		{name: "RegenerateSelf", caller: fenced, op: regenerate, status: 200},
		{name: "PasswordRegeneratesAnything", caller: fenced, password: true, op: regenerate,
			target: &limits{scopes: auth.ScopeNames()}, status: 200},

		// Deleting only takes power away, so it stays allowed.
		{name: "DeleteStrongerSibling", caller: fenced, op: remove,
			target: &limits{scopes: auth.ScopeNames()}, status: 200},
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

func wantRules(want *auth.Rules) func(t *testing.T, tok *tokens.Token) {
	return func(t *testing.T, tok *tokens.Token) {
		t.Helper()
		if !reflect.DeepEqual(tok.Rules, want) {
			t.Fatalf("rules = %+v; want %+v", tok.Rules, want)
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
