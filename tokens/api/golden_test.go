package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/auth"
)

// The example answers of the two public documents whose shapes depot keeps
// (CODING's current_user, Qiniu Pandora's token API) are transcribed in
// testdata/golden at the top of the repository. These tests compare
// depot's real answers with them by shape: every key of an example must be
// in the answer, at the same place, with a value of the same JSON type.
// Values differ, and depot may add keys; it may not rename or drop one.

// golden reads testdata/golden/name.
func golden(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// checkShape fails t when body is not shaped like the golden file name.
func checkShape(t *testing.T, name string, body []byte) {
	t.Helper()
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("answer %q is not JSON: %v", body, err)
	}
	if diffs := shapeDiff(golden(t, name), got, "$"); len(diffs) > 0 {
		t.Errorf("answer is not shaped like testdata/golden/%s:\n%s\nanswer: %s", name, strings.Join(diffs, "\n"), body)
	}
}

// shapeDiff returns where got is not shaped like want. An object must hold
// every key of want's, shaped alike. In an array, every element of want
// must be matched by an element of got and every element of got must
// match one of want's, so that an example's variants (a token used, a
// token never used) must all appear.
func shapeDiff(want, got any, at string) []string {
	if kind(want) != kind(got) {
		return []string{fmt.Sprintf("%s: %s, want %s", at, kind(got), kind(want))}
	}
	var diffs []string
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing", at, k))
				continue
			}
			diffs = append(diffs, shapeDiff(w[k], gv, at+"."+k)...)
		}
	case []any:
		g := got.([]any)
		matches := func(a, b any) bool { return len(shapeDiff(a, b, "")) == 0 }
		for i, we := range w {
			if !slices.ContainsFunc(g, func(ge any) bool { return matches(we, ge) }) {
				diffs = append(diffs, fmt.Sprintf("%s: no element shaped like the example's [%d]", at, i))
				if len(g) > 0 {
					diffs = append(diffs, shapeDiff(we, g[min(i, len(g)-1)], fmt.Sprintf("%s[%d]", at, min(i, len(g)-1)))...)
				}
			}
		}
		for j, ge := range g {
			if len(w) > 0 && !slices.ContainsFunc(w, func(we any) bool { return matches(we, ge) }) {
				diffs = append(diffs, fmt.Sprintf("%s[%d]: shaped like no element of the example", at, j))
			}
		}
	}
	return diffs
}

// kind names the JSON type of a decoded value.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func TestShapeDiff(t *testing.T) {
	const want = `{"total":2,"tokens":[{"id":"a","ip":"1.2.3.4"},{"id":"b","ip":null}]}`
	for _, tc := range []struct {
		name, got string
		ok        bool
	}{
		{"OK", `{"total":5,"tokens":[{"id":"x","ip":null},{"id":"y","ip":"::1"}]}`, true},
		{"OKExtraKeys", `{"total":1,"more":true,"tokens":[{"id":"x","ip":null,"scopes":[]},{"id":"y","ip":"::1"}]}`, true},
		{"ErrDropped", `{"tokens":[{"id":"x","ip":null},{"id":"y","ip":"::1"}]}`, false},
		{"ErrRenamed", `{"total":1,"tokens":[{"ID":"x","ip":null},{"id":"y","ip":"::1"}]}`, false},
		{"ErrType", `{"total":"1","tokens":[{"id":"x","ip":null},{"id":"y","ip":"::1"}]}`, false},
		{"ErrVariantMissing", `{"total":1,"tokens":[{"id":"x","ip":null}]}`, false},
		{"ErrNotAnArray", `{"total":1,"tokens":{}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w, g any
			_ = json.Unmarshal([]byte(want), &w)
			_ = json.Unmarshal([]byte(tc.got), &g)
			if diffs := shapeDiff(w, g, "$"); (len(diffs) == 0) != tc.ok {
				t.Errorf("shapeDiff(%s) = %q; want ok %v", tc.got, diffs, tc.ok)
			}
		})
	}
}

// TestCodingCurrentUserShape calls current_user the three ways CODING's
// page shows: a password, user:token, and a Bearer token.
func TestCodingCurrentUserShape(t *testing.T) {
	f := newFixture(t)
	_, secret := f.mint("tester", []string{auth.ScopeUser})
	for name, c := range map[string]cred{"Password": testerPW, "BasicToken": basic("tester", secret), "Bearer": bearer(secret)} {
		t.Run(name, func(t *testing.T) {
			r := f.do("GET", "/api/current_user", c, nil)
			if r.status != 200 {
				t.Fatalf("GET /api/current_user = %d %s", r.status, r.body)
			}
			checkShape(t, "coding_current_user.json", r.body)
		})
	}
}

// TestPandoraTokenShapes walks Pandora's token API with its own example
// bodies: create, list, enable, delete with the trailing slash.
func TestPandoraTokenShapes(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	req := golden(t, "pandora_token_create_request.json").(map[string]any)
	// Pandora's example names its user and a day in 2020.
	req["username"] = "tester"
	req["notBefore"] = now.UnixMilli()
	req["expireTime"] = now.Add(24 * time.Hour).UnixMilli()
	r := f.do("POST", "/api/v1/auth/tokens", testerPW, req)
	if r.status != 200 {
		t.Fatalf("create with Pandora's body = %d %s", r.status, r.body)
	}
	checkShape(t, "pandora_token_create.json", r.body)
	created := r.json(t)
	id, secret := created["id"].(string), created["token"].(string)

	// One token used, one never used: the example shows both.
	if r := f.do("GET", "/api/current_user", bearer(secret), nil); r.status != 200 {
		t.Fatalf("using the new token = %d %s", r.status, r.body)
	}
	if err := f.store.FlushTokenUse(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mint("tester", []string{auth.ScopeDepot})

	r = f.do("GET", "/api/v1/auth/tokens?pageNo=1&pageSize=2", testerPW, nil)
	if r.status != 200 {
		t.Fatalf("list = %d %s", r.status, r.body)
	}
	checkShape(t, "pandora_token_list.json", r.body)

	if r := f.do("PUT", "/api/v1/auth/tokens/"+id+"/status", testerPW, golden(t, "pandora_token_status_request.json")); r.status != 200 {
		t.Fatalf("status with Pandora's body = %d %s", r.status, r.body)
	}
	if r := f.do("DELETE", "/api/v1/auth/tokens/"+id+"/", testerPW, nil); r.status != 200 {
		t.Fatalf("delete with Pandora's path = %d %s", r.status, r.body)
	}
}
