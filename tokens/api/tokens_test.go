package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/tokens"
)

const tokensPath = "/api/v1/auth/tokens"

func ms(t time.Time) int64 { return t.UnixMilli() }

func TestCreateToken(t *testing.T) {
	f := newFixture(t)
	_, manage := f.mint("tester", []string{auth.ScopeUserToken, auth.ScopeDepot})
	_, noManage := f.mint("tester", []string{auth.ScopeDepot})
	_, shortLived := f.mint("tester", []string{auth.ScopeUserToken}, func(tk *tokens.Token) {
		tk.ExpireTime = time.Now().Add(time.Hour)
	})
	now := time.Now()

	for _, tc := range []struct {
		name   string
		cred   cred
		body   any
		ctype  string
		status int
		errMsg string
		check  func(t *testing.T, tok *tokens.Token)
	}{
		{name: "PandoraBody", cred: testerPW, status: 200,
			body: map[string]any{"username": "tester", "audience": "ci", "notBefore": ms(now), "expireTime": ms(now.Add(24 * time.Hour))},
			check: func(t *testing.T, tok *tokens.Token) {
				if tok.Audience != "ci" || tok.Issuer != "tester" || len(tok.Scopes) != len(auth.ScopeNames()) {
					t.Fatalf("token = %+v; want audience ci, issuer tester, every scope", tok)
				}
				if got := tok.ExpireTime.UnixMilli(); got != ms(now.Add(24*time.Hour)) {
					t.Fatalf("expireTime = %d", got)
				}
			}},
		{name: "CodingBody", cred: testerPW, status: 200,
			body: map[string]any{"username": "tester", "description": "CI", "scopes": []string{"project:depot", "project:depot"},
				"ipWhitelist": []string{"10.0.0.0/8", "2001:db8::1", "192.168.1.7"}},
			check: func(t *testing.T, tok *tokens.Token) {
				if tok.Description != "CI" || strings.Join(tok.Scopes, ",") != "project:depot" || tok.Audience != "default" {
					t.Fatalf("token = %+v", tok)
				}
				if strings.Join(tok.IPWhitelist, ",") != "10.0.0.0/8,2001:db8::1,192.168.1.7" {
					t.Fatalf("ipWhitelist = %v", tok.IPWhitelist)
				}
				if !tok.ExpireTime.IsZero() {
					t.Fatalf("expireTime = %v; want none", tok.ExpireTime)
				}
			}},
		{name: "AdminForOtherUser", cred: adminPW, status: 200, body: map[string]any{"username": "tester"},
			check: func(t *testing.T, tok *tokens.Token) {
				if tok.Username != "tester" || tok.Issuer != "admin" {
					t.Fatalf("username/issuer = %s/%s", tok.Username, tok.Issuer)
				}
			}},
		{name: "TokenCallerWithoutScopesGetsOwn", cred: bearer(manage), status: 200, body: map[string]any{"username": "tester"},
			check: func(t *testing.T, tok *tokens.Token) {
				if strings.Join(tok.Scopes, ",") != "user:token,project:depot" {
					t.Fatalf("scopes = %v; want the caller's", tok.Scopes)
				}
			}},
		{name: "TokenCallerNarrower", cred: bearer(manage), status: 200, body: map[string]any{"username": "tester", "scopes": []string{"project:depot"}}},
		{name: "ShortLivedCallerWithinLife", cred: bearer(shortLived), status: 200,
			body: map[string]any{"username": "tester", "scopes": []string{"user:token"}, "expireTime": ms(now.Add(30 * time.Minute))}},
		{name: "ErrNoContentType", cred: testerPW, body: `{"username":"tester"}`, ctype: "text/plain", status: 415, errMsg: "Content-Type"},
		{name: "ErrTooLarge", cred: testerPW, body: `{"username":"tester","description":"` + strings.Repeat("x", 70000) + `"}`, status: 413, errMsg: "larger"},
		{name: "ErrMalformedJSON", cred: testerPW, body: `{"username":`, status: 400, errMsg: "JSON"},
		{name: "ErrWrongType", cred: testerPW, body: `{"username":"tester","notBefore":"soon"}`, status: 400, errMsg: "notBefore"},
		{name: "ErrNoUsername", cred: testerPW, body: map[string]any{}, status: 400, errMsg: "username"},
		{name: "ErrUnknownUser", cred: adminPW, body: map[string]any{"username": "ghost"}, status: 400, errMsg: "username"},
		{name: "ErrUnknownScope", cred: testerPW, body: map[string]any{"username": "tester", "scopes": []string{"repo"}}, status: 400, errMsg: "project:depot, user, user:email"},
		{name: "ErrBadWhitelist", cred: testerPW, body: map[string]any{"username": "tester", "ipWhitelist": []string{"10.0.0.0/33"}}, status: 400, errMsg: "ipWhitelist"},
		{name: "ErrBadWhitelistHost", cred: testerPW, body: map[string]any{"username": "tester", "ipWhitelist": []string{"example.com"}}, status: 400, errMsg: "ipWhitelist"},
		{name: "ErrExpireBeforeNotBefore", cred: testerPW, body: map[string]any{"username": "tester", "notBefore": ms(now.Add(2 * time.Hour)), "expireTime": ms(now.Add(time.Hour))}, status: 400, errMsg: "expireTime"},
		{name: "ErrExpired", cred: testerPW, body: map[string]any{"username": "tester", "notBefore": ms(now.Add(-2 * time.Hour)), "expireTime": ms(now.Add(-time.Hour))}, status: 400, errMsg: "expireTime"},
		{name: "ErrSecondsNotMillis", cred: testerPW, body: map[string]any{"username": "tester", "expireTime": now.Add(time.Hour).Unix()}, status: 400, errMsg: "13 digits"},
		{name: "ErrControlChars", cred: testerPW, body: map[string]any{"username": "tester", "description": "a\x00b"}, status: 400, errMsg: "description"},
		// Audiences and descriptions are counted in bytes, by one rule
		// that the store applies too.
		{name: "LongestAudience", cred: testerPW, status: 200, body: map[string]any{"username": "tester", "audience": strings.Repeat("a", 255)},
			check: func(t *testing.T, tok *tokens.Token) {
				if len(tok.Audience) != 255 {
					t.Fatalf("audience has %d bytes; want 255", len(tok.Audience))
				}
			}},
		{name: "ErrAudienceTooLong", cred: testerPW, body: map[string]any{"username": "tester", "audience": strings.Repeat("a", 256)}, status: 400, errMsg: "audience: longer than 255 bytes"},
		{name: "ErrAudienceTooLongInBytes", cred: testerPW, body: map[string]any{"username": "tester", "audience": strings.Repeat("é", 128)}, status: 400, errMsg: "audience: longer than 255 bytes"},
		{name: "LongestDescriptionInBytes", cred: testerPW, status: 200, body: map[string]any{"username": "tester", "description": strings.Repeat("é", 500)}},
		{name: "ErrDescriptionTooLongInBytes", cred: testerPW, body: map[string]any{"username": "tester", "description": strings.Repeat("é", 501)}, status: 400, errMsg: "description: longer than 1000 bytes"},
		{name: "ErrOtherUserNotAdmin", cred: testerPW, body: map[string]any{"username": "other"}, status: 403, errMsg: "admin"},
		{name: "ErrAnonymous", body: map[string]any{"username": "tester"}, status: 401, errMsg: "authentication"},
		{name: "ErrTokenWithoutUserToken", cred: bearer(noManage), body: map[string]any{"username": "tester"}, status: 403, errMsg: "user:token"},
		{name: "ErrTokenEscalatesScope", cred: bearer(manage), body: map[string]any{"username": "tester", "scopes": []string{"user"}}, status: 403, errMsg: `"user"`},
		{name: "ErrTokenOutlivesCaller", cred: bearer(shortLived), body: map[string]any{"username": "tester", "scopes": []string{"user:token"}}, status: 403, errMsg: "expireTime"},
		{name: "ErrTokenOutlivesCallerLater", cred: bearer(shortLived), body: map[string]any{"username": "tester", "scopes": []string{"user:token"}, "expireTime": ms(now.Add(2 * time.Hour))}, status: 403, errMsg: "expireTime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			if tc.ctype != "" {
				r = f.do("POST", tokensPath, tc.cred, tc.body, tc.ctype)
			} else {
				r = f.do("POST", tokensPath, tc.cred, tc.body)
			}
			if tc.status != 200 {
				wantError(t, r, tc.status, tc.errMsg)
				return
			}
			if r.status != 200 {
				t.Fatalf("status = %d (%s)", r.status, r.body)
			}
			m := r.json(t)
			id, _ := m["id"].(string)
			secret, _ := m["token"].(string)
			if len(id) != 36 || !strings.HasPrefix(secret, "dpt_") || len(m) != 2 {
				t.Fatalf("body = %s; want {id, token}", r.body)
			}
			tok, err := f.store.Token(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			// The new secret authenticates its owner right away.
			if got, _, err := f.store.LookupToken(context.Background(), secret); err != nil || got.ID != id {
				t.Fatalf("LookupToken(new secret) = %v, %v", got, err)
			}
			if tc.check != nil {
				tc.check(t, tok)
			}
		})
	}
}

func TestListTokens(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 3; i++ {
		f.mint("tester", []string{auth.ScopeDepot}, func(tk *tokens.Token) { tk.Audience = fmt.Sprintf("aud%d", i) })
	}
	f.mint("other", []string{auth.ScopeDepot})
	_, testerManage := f.mint("tester", []string{auth.ScopeUserToken})

	list := func(t *testing.T, c cred, query string) (total int, names []string, raw string) {
		t.Helper()
		r := f.do("GET", tokensPath+query, c, nil)
		if r.status != 200 {
			t.Fatalf("GET %s = %d %s", query, r.status, r.body)
		}
		m := r.json(t)
		for _, k := range []string{"total", "pageNo", "pageSize", "tokens"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("response lacks %q: %s", k, r.body)
			}
		}
		for _, tk := range m["tokens"].([]any) {
			tm := tk.(map[string]any)
			names = append(names, tm["username"].(string)+"/"+tm["audience"].(string))
		}
		return int(m["total"].(float64)), names, string(r.body)
	}

	t.Run("AdminSeesAll", func(t *testing.T) {
		total, names, _ := list(t, adminPW, "")
		if total != 5 || len(names) != 5 {
			t.Fatalf("total = %d, names = %v", total, names)
		}
	})
	t.Run("UserSeesOwn", func(t *testing.T) {
		total, names, _ := list(t, bearer(testerManage), "")
		if total != 4 {
			t.Fatalf("total = %d (%v); want 4", total, names)
		}
		for _, n := range names {
			if !strings.HasPrefix(n, "tester/") {
				t.Fatalf("tester sees %s", n)
			}
		}
	})
	t.Run("NaturalOrderOldestFirst", func(t *testing.T) {
		_, names, _ := list(t, testerPW, "")
		if strings.Join(names, ",") != "tester/aud0,tester/aud1,tester/aud2,tester/default" {
			t.Fatalf("order = %v", names)
		}
	})
	t.Run("SortAudienceDefaultDesc", func(t *testing.T) {
		_, names, _ := list(t, testerPW, "?sort=audience")
		if strings.Join(names, ",") != "tester/default,tester/aud2,tester/aud1,tester/aud0" {
			t.Fatalf("order = %v", names)
		}
	})
	t.Run("SortAudienceAscPaged", func(t *testing.T) {
		total, names, _ := list(t, testerPW, "?sort=audience&order=asc&pageNo=2&pageSize=2")
		if total != 4 || strings.Join(names, ",") != "tester/aud2,tester/default" {
			t.Fatalf("total %d page = %v", total, names)
		}
	})
	t.Run("PageBeyondEnd", func(t *testing.T) {
		total, names, raw := list(t, testerPW, "?pageNo=9")
		if total != 4 || len(names) != 0 || !strings.Contains(raw, `"tokens":[]`) {
			t.Fatalf("total %d names %v raw %s", total, names, raw)
		}
	})
	t.Run("Prefix", func(t *testing.T) {
		total, names, _ := list(t, adminPW, "?prefix=oth")
		if total != 1 || names[0] != "other/default" {
			t.Fatalf("total %d names %v", total, names)
		}
	})
	t.Run("NeverUsedFields", func(t *testing.T) {
		_, _, raw := list(t, adminPW, "?prefix=oth")
		for _, want := range []string{`"lastAccessIP":null`, `"lastAccessTime":-1`, `"expireTime":-1`, `"status":"enabled"`, `"ipWhitelist":[]`} {
			if !strings.Contains(raw, want) {
				t.Fatalf("list %s lacks %s", raw, want)
			}
		}
		if strings.Contains(raw, "dpt_") || strings.Contains(strings.ToLower(raw), "hash") {
			t.Fatalf("list leaks a secret or hash: %s", raw)
		}
	})
	t.Run("LastAccessRecorded", func(t *testing.T) {
		deadline := time.Now().Add(2 * time.Second)
		for {
			_, _, raw := list(t, bearer(testerManage), "?sort=lastAccessTime&pageSize=1")
			if strings.Contains(raw, `"lastAccessIP":"127.0.0.1"`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("token use not visible within 2 s: %s", raw)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	for _, tc := range []struct{ name, query, errMsg string }{
		{"ErrSortKey", "?sort=id", "sort"},
		{"ErrOrder", "?order=up", "order"},
		{"ErrPageSizeTooBig", "?pageSize=1001", "pageSize"},
		{"ErrPageSizeZero", "?pageSize=0", "pageSize"},
		{"ErrPageNo", "?pageNo=abc", "pageNo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, f.do("GET", tokensPath+tc.query, adminPW, nil), 400, tc.errMsg)
		})
	}
	for _, key := range []string{"username", "audience", "issuedAt", "expireTime", "lastAccessTime"} {
		for _, order := range []string{"asc", "desc"} {
			t.Run("Sort_"+key+"_"+order, func(t *testing.T) {
				total, _, _ := list(t, adminPW, "?sort="+key+"&order="+order)
				if total != 5 {
					t.Fatalf("total = %d", total)
				}
			})
		}
	}
}

func TestTokenLifecycle(t *testing.T) {
	f := newFixture(t)
	id, secret := f.mint("tester", []string{auth.ScopeUser})
	otherID, _ := f.mint("other", []string{auth.ScopeUser})
	_, manageUserless := f.mint("tester", []string{auth.ScopeUserToken})
	item := tokensPath + "/" + id
	me := func(c cred) int { return f.do("GET", "/api/current_user", c, nil).status }

	t.Run("Get", func(t *testing.T) {
		r := f.do("GET", item, testerPW, nil)
		if r.status != 200 || r.json(t)["id"] != id {
			t.Fatalf("GET = %d %s", r.status, r.body)
		}
	})
	t.Run("Disable", func(t *testing.T) {
		r := f.do("PUT", item+"/status", testerPW, map[string]string{"status": "disabled"})
		if r.status != 200 || r.json(t)["status"] != "disabled" {
			t.Fatalf("PUT status = %d %s", r.status, r.body)
		}
		if got := me(bearer(secret)); got != 401 {
			t.Fatalf("disabled token: current_user = %d; want 401", got)
		}
	})
	t.Run("Enable", func(t *testing.T) {
		if r := f.do("PUT", item+"/status", testerPW, map[string]string{"status": "enabled"}); r.status != 200 {
			t.Fatalf("PUT status = %d %s", r.status, r.body)
		}
		if got := me(bearer(secret)); got != 200 {
			t.Fatalf("enabled token: current_user = %d; want 200", got)
		}
	})
	t.Run("ErrStatusValue", func(t *testing.T) {
		wantError(t, f.do("PUT", item+"/status", testerPW, map[string]string{"status": "off"}), 400, "status")
	})
	t.Run("ErrStatusOtherUsersToken", func(t *testing.T) {
		wantError(t, f.do("PUT", tokensPath+"/"+otherID+"/status", testerPW, map[string]string{"status": "disabled"}), 404, "not found")
	})
	t.Run("AdminStatusOtherUsersToken", func(t *testing.T) {
		if r := f.do("PUT", tokensPath+"/"+otherID+"/status", adminPW, map[string]string{"status": "enabled"}); r.status != 200 {
			t.Fatalf("admin PUT status = %d %s", r.status, r.body)
		}
	})
	t.Run("ErrStatusUnknownID", func(t *testing.T) {
		wantError(t, f.do("PUT", tokensPath+"/nope/status", testerPW, map[string]string{"status": "enabled"}), 404, "not found")
	})
	t.Run("Update", func(t *testing.T) {
		r := f.do("PUT", item, testerPW, map[string]any{"description": "laptop", "scopes": []string{"user", "user:email"}, "ipWhitelist": []string{"127.0.0.1"}})
		m := r.json(t)
		if r.status != 200 || m["description"] != "laptop" || len(m["scopes"].([]any)) != 2 || m["ipWhitelist"].([]any)[0] != "127.0.0.1" {
			t.Fatalf("PUT = %d %s", r.status, r.body)
		}
		if got := me(bearer(secret)); got != 200 {
			t.Fatalf("after update: current_user = %d", got)
		}
	})
	t.Run("UpdateWhitelistLocksOut", func(t *testing.T) {
		if r := f.do("PUT", item, testerPW, map[string]any{"ipWhitelist": []string{"10.1.2.3"}}); r.status != 200 {
			t.Fatalf("PUT = %d %s", r.status, r.body)
		}
		if got := me(bearer(secret)); got != 401 {
			t.Fatalf("outside whitelist: current_user = %d; want 401", got)
		}
		f.do("PUT", item, testerPW, map[string]any{"ipWhitelist": []string{}})
	})
	t.Run("ErrUpdateBadScope", func(t *testing.T) {
		wantError(t, f.do("PUT", item, testerPW, map[string]any{"scopes": []string{"admin"}}), 400, "scopes")
	})
	t.Run("ErrUpdateEscalation", func(t *testing.T) {
		wantError(t, f.do("PUT", item, bearer(manageUserless), map[string]any{"scopes": []string{"user", "user:token"}}), 403, `"user"`)
	})
	t.Run("ErrUpdateNoContentType", func(t *testing.T) {
		wantError(t, f.do("PUT", item, testerPW, `{"description":"x"}`, "application/x-www-form-urlencoded"), 415, "Content-Type")
	})
	t.Run("ErrRegenerateStronger", func(t *testing.T) {
		wantError(t, f.do("POST", item+"/regenerate", bearer(manageUserless), nil), 403, "lacks")
	})
	t.Run("Regenerate", func(t *testing.T) {
		r := f.do("POST", item+"/regenerate", testerPW, nil)
		m := r.json(t)
		fresh, _ := m["token"].(string)
		if r.status != 200 || m["id"] != id || fresh == secret || !strings.HasPrefix(fresh, "dpt_") {
			t.Fatalf("regenerate = %d %s", r.status, r.body)
		}
		if got := me(bearer(secret)); got != 401 {
			t.Fatalf("old secret: current_user = %d; want 401", got)
		}
		if got := me(bearer(fresh)); got != 200 {
			t.Fatalf("new secret: current_user = %d; want 200", got)
		}
	})
	t.Run("ErrDeleteOtherUsersToken", func(t *testing.T) {
		wantError(t, f.do("DELETE", tokensPath+"/"+otherID+"/", testerPW, nil), 404, "not found")
	})
	t.Run("DeleteWithTrailingSlash", func(t *testing.T) {
		if r := f.do("DELETE", item+"/", testerPW, nil); r.status != 200 {
			t.Fatalf("DELETE = %d %s", r.status, r.body)
		}
		wantError(t, f.do("DELETE", item+"/", testerPW, nil), 404, "not found")
	})
	t.Run("DeleteWithoutSlash", func(t *testing.T) {
		id2, _ := f.mint("tester", nil)
		if r := f.do("DELETE", tokensPath+"/"+id2, testerPW, nil); r.status != 200 {
			t.Fatalf("DELETE = %d %s", r.status, r.body)
		}
	})
}

func TestDeleteAllTokens(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 3; i++ {
		f.mint("tester", nil)
		f.mint("other", nil)
	}
	t.Run("ErrOtherUserNotAdmin", func(t *testing.T) {
		wantError(t, f.do("DELETE", tokensPath+"?username=other", testerPW, nil), 403, "admin")
	})
	t.Run("Own", func(t *testing.T) {
		r := f.do("DELETE", tokensPath, testerPW, nil)
		if r.status != 200 || r.json(t)["deleted"] != 3.0 {
			t.Fatalf("DELETE all = %d %s", r.status, r.body)
		}
	})
	t.Run("AdminOtherUser", func(t *testing.T) {
		r := f.do("DELETE", tokensPath+"?username=other", adminPW, nil)
		if r.status != 200 || r.json(t)["deleted"] != 3.0 {
			t.Fatalf("DELETE all = %d %s", r.status, r.body)
		}
		total, _, _ := f.store.ListTokens(context.Background(), tokens.ListOptions{PageNo: 1, PageSize: 10})
		if total != 0 {
			t.Fatalf("%d tokens left", total)
		}
	})
	t.Run("ErrUnknownUser", func(t *testing.T) {
		wantError(t, f.do("DELETE", tokensPath+"?username=ghost", adminPW, nil), 404, "ghost")
	})
}

func TestMethodsOnUnknownRoutes(t *testing.T) {
	f := newFixture(t)
	if r := f.do(http.MethodPatch, tokensPath, testerPW, nil); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("PATCH tokens = %d; want 405", r.status)
	}
}
