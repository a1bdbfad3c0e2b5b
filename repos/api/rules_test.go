package api_test

import (
	"context"
	"os"
	"os/exec"
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

// TestTokenRulesBranchAPI: the branch endpoints apply a token's rules as a
// push would, so that the API is no way around them.
func TestTokenRulesBranchAPI(t *testing.T) {
	f := newFixture(t)
	if r := f.do("POST", "/api/v1/user/repos", as("tester"), map[string]string{"name": "site"}); r.status != 201 {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	mint := func(rules *auth.Rules) string {
		secret, err := f.users.CreateToken(context.Background(), &tokens.Token{
			Username: "tester", Scopes: []string{auth.ScopeDepot}, Rules: rules})
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + secret
	}
	ci := mint(&auth.Rules{Refs: []string{"refs/heads/ci/*"}})
	ciDelete := mint(&auth.Rules{Refs: []string{"refs/heads/ci/*"}, AllowDelete: true})
	fetchOnly := mint(&auth.Rules{Operations: []string{auth.OpFetch}})
	const b = "/api/v1/repos/tester/site/branches"
	// The repository needs a commit to branch from: main, made with git.
	repo, err := f.dir.Open("tester", "site")
	if err != nil {
		t.Fatal(err)
	}
	wt := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"commit", "-q", "--allow-empty", "-m", "x"}, {"push", "-q", repo.Path, "main"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = wt
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+wt, "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@e")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	f.run(t, []call{
		{"CreateAllowedRef", "POST", b, ci, map[string]string{"name": "ci/a", "from": "main"}, 201, `"name":"ci/a"`},
		{"ErrCreateOutsideRefs", "POST", b, ci, map[string]string{"name": "feature", "from": "main"}, 403, "token may push only refs/heads/ci/*"},
		{"ErrCreateFetchOnly", "POST", b, fetchOnly, map[string]string{"name": "ci/b", "from": "main"}, 403, "the token's rules do not allow push"},
		{"ErrDeleteWithoutAllowDelete", "DELETE", b + "/ci/a", ci, nil, 403, "token may not delete refs"},
		{"DeleteAllowed", "DELETE", b + "/ci/a", ciDelete, nil, 200, `"deleted":1`},
	})
}
