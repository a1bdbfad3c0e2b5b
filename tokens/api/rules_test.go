package api_test

import (
	"encoding/json"
	"testing"

	"github.com/depot/depot/auth"
)

// TestTokenRulesValidation checks that rules are checked on create and
// edit with a 400 naming the field, and come back in the token's JSON.
func TestTokenRulesValidation(t *testing.T) {
	f := newFixture(t)
	depot := []string{auth.ScopeDepot}
	for _, tc := range []struct {
		name   string
		rules  any // the value of "rules"; a string is sent as raw JSON
		status int
		errMsg string
		want   string // the token's "rules" as JSON
	}{
		{name: "Absent", rules: nil, status: 200, want: "null"},
		{name: "Null", rules: "null", status: 200, want: "null"},
		{name: "Full", rules: map[string]any{"repos": []string{"tester/site", "test/*"}, "operations": []string{"fetch", "push"},
			"refs": []string{"refs/heads/ci/*", "refs/tags/v*"}, "allowForcePush": false, "allowDelete": true},
			status: 200, want: `{"repos":["tester/site","test/*"],"operations":["fetch","push"],"refs":["refs/heads/ci/*","refs/tags/v*"],"allowForcePush":false,"allowDelete":true}`},
		{name: "EmptyObjectLimitsForceAndDelete", rules: map[string]any{}, status: 200,
			want: `{"allowForcePush":false,"allowDelete":false}`},
		{name: "DuplicatesDropped", rules: map[string]any{"operations": []string{"fetch", "fetch"}}, status: 200,
			want: `{"operations":["fetch"],"allowForcePush":false,"allowDelete":false}`},
		{name: "ErrNotObject", rules: `["fetch"]`, status: 400, errMsg: "rules: must be an object or null"},
		{name: "ErrUnknownField", rules: map[string]any{"allowForce": true}, status: 400, errMsg: `rules: unknown field "allowForce"`},
		{name: "ErrReposNotArray", rules: map[string]any{"repos": "tester/site"}, status: 400, errMsg: "rules.repos: must be an array"},
		{name: "ErrBoolNotBool", rules: map[string]any{"allowDelete": "yes"}, status: 400, errMsg: "rules.allowDelete: must be true or false"},
		{name: "ErrUnknownOperation", rules: map[string]any{"operations": []string{"clone"}}, status: 400, errMsg: `rules.operations: "clone" is not an operation`},
		{name: "ErrEmptyOperations", rules: map[string]any{"operations": []string{}}, status: 400, errMsg: "rules.operations: must not be empty"},
		{name: "ErrRepoWithoutOwner", rules: map[string]any{"repos": []string{"site"}}, status: 400, errMsg: `rules.repos: "site" is not an OWNER/NAME pattern`},
		{name: "ErrRepoThreeSegments", rules: map[string]any{"repos": []string{"a/b/c"}}, status: 400, errMsg: `"a/b/c" is not an OWNER/NAME pattern`},
		{name: "ErrRepoBadChars", rules: map[string]any{"repos": []string{"tester/s?te"}}, status: 400, errMsg: `"tester/s?te"`},
		{name: "ErrRepoDotDot", rules: map[string]any{"repos": []string{"tester/.."}}, status: 400, errMsg: `"tester/.."`},
		{name: "ErrRefNotFull", rules: map[string]any{"refs": []string{"main"}}, status: 400, errMsg: `rules.refs: "main" is not a full ref name pattern`},
		{name: "ErrRefBadChars", rules: map[string]any{"refs": []string{"refs/heads/a b"}}, status: 400, errMsg: `"refs/heads/a b"`},
		{name: "ErrRefTrailingSlash", rules: map[string]any{"refs": []string{"refs/heads/"}}, status: 400, errMsg: "empty path component"},
		{name: "ErrRefLock", rules: map[string]any{"refs": []string{"refs/heads/x.lock"}}, status: 400, errMsg: ".lock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"username":"tester","scopes":["project:depot"]}`
			if tc.rules != nil {
				raw, ok := tc.rules.(string)
				if !ok {
					b, _ := json.Marshal(tc.rules)
					raw = string(b)
				}
				body = `{"username":"tester","scopes":["project:depot"],"rules":` + raw + `}`
			}
			r := f.do("POST", tokensPath, testerPW, body)
			if tc.status != 200 {
				wantError(t, r, tc.status, tc.errMsg)
				// An edit checks them the same way.
				id, _ := f.mint("tester", depot)
				editBody := `{"rules":` + body[len(`{"username":"tester","scopes":["project:depot"],"rules":`):]
				wantError(t, f.do("PUT", tokensPath+"/"+id, testerPW, editBody), tc.status, tc.errMsg)
				return
			}
			if r.status != 200 {
				t.Fatalf("create = %d %s", r.status, r.body)
			}
			id, _ := r.json(t)["id"].(string)
			got := f.do("GET", tokensPath+"/"+id, testerPW, nil)
			var view struct {
				Rules json.RawMessage `json:"rules"`
			}
			if err := json.Unmarshal(got.body, &view); err != nil {
				t.Fatal(err)
			}
			if string(view.Rules) != tc.want {
				t.Fatalf("rules = %s; want %s", view.Rules, tc.want)
			}
		})
	}
}

// TestTokenRulesEdit checks that an edit without "rules" keeps them, that
// null removes them, and that the list shows them.
func TestTokenRulesEdit(t *testing.T) {
	f := newFixture(t)
	id, _ := f.mint("tester", []string{auth.ScopeDepot})
	rules := `{"repos":["tester/site"],"allowForcePush":false,"allowDelete":false}`
	for _, step := range []struct{ body, want string }{
		{`{"rules":` + rules + `}`, rules},
		{`{"description":"ci"}`, rules},
		{`{"rules":null}`, "null"},
	} {
		r := f.do("PUT", tokensPath+"/"+id, testerPW, step.body)
		if r.status != 200 {
			t.Fatalf("PUT %s = %d %s", step.body, r.status, r.body)
		}
		list := f.do("GET", tokensPath, testerPW, nil)
		var page struct {
			Tokens []struct {
				ID    string          `json:"id"`
				Rules json.RawMessage `json:"rules"`
			} `json:"tokens"`
		}
		if err := json.Unmarshal(list.body, &page); err != nil || len(page.Tokens) != 1 {
			t.Fatalf("list = %s (%v)", list.body, err)
		}
		if got := string(page.Tokens[0].Rules); got != step.want {
			t.Fatalf("after PUT %s: rules = %s; want %s", step.body, got, step.want)
		}
	}
}
