package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/tokens"
)

// TestTokenRulesHideRepositories: a repository outside a token's rules is
// 404 to that token on every repository endpoint, public ones included,
// and missing from its listings; the token's user still sees it.
func TestTokenRulesHideRepositories(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ path, user, name, visibility string }{
		{"/api/v1/user/repos", "tester", "site", "private"},
		{"/api/v1/user/repos", "tester", "other", "private"},
		{"/api/v1/projects/test/repos", "tester", "ci-a", "private"},
		{"/api/v1/projects/test/repos", "tester", "web", "private"},
		{"/api/v1/user/repos", "outsider", "open", "public"},
	} {
		body := map[string]string{"name": c.name, "visibility": c.visibility}
		if r := f.do("POST", c.path, as(c.user), body); r.status != 201 {
			t.Fatalf("create %s/%s = %d %s", c.user, c.name, r.status, r.body)
		}
	}
	secret, err := f.users.CreateToken(context.Background(), &tokens.Token{
		Username: "tester", Scopes: []string{auth.ScopeProject, auth.ScopeDepot},
		Rules: &auth.Rules{Repos: []string{"Tester/site", "test/ci-*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ruled := "Bearer " + secret
	f.run(t, []call{
		{"Allowed", "GET", "/api/v1/repos/tester/site", ruled, nil, 200, `"fullName":"tester/site"`},
		{"AllowedByGlob", "GET", "/api/v1/repos/test/ci-a", ruled, nil, 200, `"fullName":"test/ci-a"`},
		{"ErrOutside", "GET", "/api/v1/repos/tester/other", ruled, nil, 404, "not found"},
		{"ErrOutsideProject", "GET", "/api/v1/repos/test/web", ruled, nil, 404, "not found"},
		{"ErrOutsidePublic", "GET", "/api/v1/repos/outsider/open", ruled, nil, 404, "not found"},
		{"ErrOutsideBranches", "GET", "/api/v1/repos/tester/other/branches", ruled, nil, 404, "not found"},
		{"ErrOutsideDelete", "DELETE", "/api/v1/repos/tester/other", ruled, nil, 404, "not found"},
		{"UserStillSees", "GET", "/api/v1/repos/tester/other", as("tester"), nil, 200, `"fullName":"tester/other"`},
	})
	for _, tc := range []struct {
		path, want, hidden string
	}{
		{"/api/v1/user/repos", `"name":"site"`, `"name":"other"`},
		{"/api/v1/projects/test/repos", `"name":"ci-a"`, `"name":"web"`},
	} {
		r := f.do("GET", tc.path, ruled, nil)
		if r.status != 200 || !strings.Contains(r.body, tc.want) || strings.Contains(r.body, tc.hidden) || !strings.Contains(r.body, `"total":1`) {
			t.Errorf("GET %s = %d %s; want only %s, total 1", tc.path, r.status, r.body, tc.want)
		}
	}
}
