package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"golang.org/x/crypto/bcrypt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/api"
	"github.com/depot/depot/repos/repotest"
	"github.com/depot/depot/tokens"
	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
)

const pw = "password-1"

// fixture: project "test" owned by tester, with a viewer, a developer and
// an admin; "outsider" belongs to nothing; "root" is a site admin.
type fixture struct {
	t     *testing.T
	store *tokens.Store
	dir   *repos.Dir
	srv   *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	tmp := t.TempDir()
	store, err := tokens.Open(ctx, filepath.Join(tmp, "depot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	store.SetPasswordCost(bcrypt.MinCost)
	for _, u := range []string{"tester", "viewer", "dev", "padmin", "outsider"} {
		if err := store.CreateUser(ctx, &tokens.User{GlobalKey: u}, pw); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.CreateUser(ctx, &tokens.User{GlobalKey: "root", Admin: true}, pw); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateProject(ctx, &repos.Project{Name: "test"}, "tester"); err != nil {
		t.Fatal(err)
	}
	for user, role := range map[string]repos.Role{"viewer": repos.RoleViewer, "dev": repos.RoleDeveloper, "padmin": repos.RoleAdmin} {
		if err := store.SetMember(ctx, "test", user, role); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := repos.OpenDir(filepath.Join(tmp, "repos"))
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	r := mux.NewRouter()
	r.Use(auth.NewAuthenticator(tokens.Verifier{Store: store}, nil).Middleware(auth.Options{Passwords: true}, log))
	api.New(store, dir, repos.NewPolicy(store), log).Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &fixture{t: t, store: store, dir: dir, srv: srv}
}

func as(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

func (f *fixture) token(user string, scopes ...string) string {
	f.t.Helper()
	secret, err := f.store.CreateToken(context.Background(), &tokens.Token{Username: user, Scopes: scopes})
	if err != nil {
		f.t.Fatal(err)
	}
	return "Bearer " + secret
}

type reply struct {
	status int
	body   string
}

func (f *fixture) do(method, path, authz string, body any) reply {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, string(b)}
}

// call is one request and what must come back: the status and a piece of
// the body.
type call struct {
	name, method, path, authz string
	body                      any
	status                    int
	want                      string
}

func (f *fixture) run(t *testing.T, calls []call) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(c.method, c.path, c.authz, c.body)
			if r.status != c.status || !strings.Contains(r.body, c.want) {
				t.Fatalf("%s %s as %q = %d %s; want %d containing %q", c.method, c.path, c.authz, r.status, r.body, c.status, c.want)
			}
			if r.status >= 400 && (!strings.Contains(r.body, `"code":`) || !strings.Contains(r.body, `"msg":`)) {
				t.Fatalf("error body %s is not {code, msg}", r.body)
			}
		})
	}
}

func TestProjects(t *testing.T) {
	f := newFixture(t)
	noMembersScope := f.token("tester", auth.ScopeProject)
	noProjectScope := f.token("tester", auth.ScopeDepot)
	f.run(t, []call{
		{"ListMember", "GET", "/api/v1/projects", as("viewer"), nil, 200, `"name":"test"`},
		{"ListRole", "GET", "/api/v1/projects", as("dev"), nil, 200, `"role":"developer"`},
		{"ListOutsiderEmpty", "GET", "/api/v1/projects", as("outsider"), nil, 200, `[]`},
		{"ListSiteAdminAll", "GET", "/api/v1/projects", as("root"), nil, 200, `"name":"test"`},
		{"ErrListAnonymous", "GET", "/api/v1/projects", "", nil, 401, "authentication"},
		{"ErrListTokenScope", "GET", "/api/v1/projects", noProjectScope, nil, 403, `lacks the \"project\" scope`},
		{"Create", "POST", "/api/v1/projects", as("outsider"), map[string]string{"name": "team", "displayName": "The Team"}, 201, `"role":"owner"`},
		{"ErrCreateDuplicate", "POST", "/api/v1/projects", as("tester"), map[string]string{"name": "TEAM"}, 409, "taken"},
		{"ErrCreateUserName", "POST", "/api/v1/projects", as("tester"), map[string]string{"name": "dev"}, 409, "taken"},
		{"ErrCreateBadName", "POST", "/api/v1/projects", as("tester"), map[string]string{"name": "../x"}, 400, "name"},
		{"ErrCreateNoName", "POST", "/api/v1/projects", as("tester"), map[string]string{}, 400, "name"},
		{"ErrCreateScope", "POST", "/api/v1/projects", noMembersScope, map[string]string{"name": "x1"}, 403, "project:members"},
		{"ErrCreateNotJSON", "POST", "/api/v1/projects", as("tester"), nil, 415, "Content-Type"},
		{"Get", "GET", "/api/v1/projects/test", as("viewer"), nil, 200, `"displayName":"test"`},
		{"ErrGetOutsider", "GET", "/api/v1/projects/test", as("outsider"), nil, 404, "not found"},
		{"ErrGetUnknown", "GET", "/api/v1/projects/nope", as("tester"), nil, 404, "not found"},
		{"Members", "GET", "/api/v1/projects/test/members", as("viewer"), nil, 200, `{"username":"tester","role":"owner"`},
		{"ErrMembersOutsider", "GET", "/api/v1/projects/test/members", as("outsider"), nil, 404, "not found"},
	})
}

func TestMembers(t *testing.T) {
	f := newFixture(t)
	const m = "/api/v1/projects/test/members/"
	f.run(t, []call{
		{"AdminAddsDeveloper", "PUT", m + "outsider", as("padmin"), map[string]string{"role": "developer"}, 200, `"role":"developer"`},
		{"AdminChangesRole", "PUT", m + "outsider", as("padmin"), map[string]string{"role": "viewer"}, 200, `"role":"viewer"`},
		{"ErrAdminGrantsOwner", "PUT", m + "dev", as("padmin"), map[string]string{"role": "owner"}, 403, "owner"},
		{"ErrAdminDemotesOwner", "PUT", m + "tester", as("padmin"), map[string]string{"role": "viewer"}, 403, "owner"},
		{"ErrDeveloperManages", "PUT", m + "outsider", as("dev"), map[string]string{"role": "viewer"}, 403, "admin"},
		{"ErrUnknownCaller", "PUT", m + "dev", as("nobody"), map[string]string{"role": "viewer"}, 401, ""},
		{"ErrBadRole", "PUT", m + "dev", as("tester"), map[string]string{"role": "boss"}, 400, "role"},
		{"ErrUnknownUser", "PUT", m + "ghost", as("tester"), map[string]string{"role": "viewer"}, 404, "ghost"},
		{"ErrDemoteLastOwner", "PUT", m + "tester", as("tester"), map[string]string{"role": "admin"}, 409, "owner"},
		{"ErrRemoveLastOwner", "DELETE", m + "tester", as("tester"), nil, 409, "owner"},
		{"ErrDeveloperRemoves", "DELETE", m + "viewer", as("dev"), nil, 403, "admin"},
		{"MemberLeaves", "DELETE", m + "viewer", as("viewer"), nil, 200, `"deleted":1`},
		{"ErrLeftMemberSeesNothing", "GET", "/api/v1/projects/test", as("viewer"), nil, 404, "not found"},
		{"ErrRemoveNonMember", "DELETE", m + "viewer", as("tester"), nil, 404, "not a member"},
		{"SecondOwner", "PUT", m + "dev", as("tester"), map[string]string{"role": "owner"}, 200, `"role":"owner"`},
		{"OwnerMayNowLeave", "DELETE", m + "tester", as("tester"), nil, 200, `"deleted":1`},
		{"SiteAdminManages", "PUT", m + "tester", as("root"), map[string]string{"role": "viewer"}, 200, `"role":"viewer"`},
	})
}

func TestRepositories(t *testing.T) {
	f := newFixture(t)
	anon := ""
	noDepot := f.token("tester", auth.ScopeProject)
	const r = "/api/v1/repos/test/testRepo"
	f.run(t, []call{
		{"ErrDeveloperCreates", "POST", "/api/v1/projects/test/repos", as("dev"), map[string]string{"name": "x"}, 403, "admin"},
		{"ErrCreateScope", "POST", "/api/v1/projects/test/repos", noDepot, map[string]string{"name": "x"}, 403, "project:depot"},
		{"AdminCreates", "POST", "/api/v1/projects/test/repos", as("padmin"), map[string]string{"name": "testRepo", "description": "the seed's"}, 201, `"cloneUrl":"http://`},
		{"ErrDuplicate", "POST", "/api/v1/projects/test/repos", as("tester"), map[string]string{"name": "testRepo"}, 409, "exists"},
		{"ErrBadName", "POST", "/api/v1/projects/test/repos", as("tester"), map[string]string{"name": "a/b"}, 400, "name"},
		{"ErrBadVisibility", "POST", "/api/v1/projects/test/repos", as("tester"), map[string]string{"name": "y", "visibility": "secret"}, 400, "visibility"},
		{"ErrBadDefaultBranch", "POST", "/api/v1/projects/test/repos", as("tester"), map[string]string{"name": "y", "defaultBranch": "a..b"}, 400, "defaultBranch"},
		{"PublicCreate", "POST", "/api/v1/user/repos", as("outsider"), map[string]string{"name": "open", "visibility": "public", "defaultBranch": "trunk"}, 201, `"defaultBranch":"trunk"`},
		{"Get", "GET", r, as("viewer"), nil, 200, `"visibility":"private"`},
		{"GetEmpty", "GET", r, as("viewer"), nil, 200, `"empty":true`},
		{"GetCaseInsensitiveOwner", "GET", "/api/v1/repos/TEST/testRepo", as("viewer"), nil, 200, `"fullName":"test/testRepo"`},
		{"ErrGetOutsider", "GET", r, as("outsider"), nil, 404, "not found"},
		{"ErrGetAnonymousPrivate", "GET", r, anon, nil, 404, "not found"},
		{"GetAnonymousPublic", "GET", "/api/v1/repos/outsider/open", anon, nil, 200, `"visibility":"public"`},
		{"ErrGetUnknown", "GET", "/api/v1/repos/test/nope", as("tester"), nil, 404, "not found"},
		{"ProjectRepos", "GET", "/api/v1/projects/test/repos", as("viewer"), nil, 200, `"name":"testRepo"`},
		{"UserRepos", "GET", "/api/v1/user/repos", as("outsider"), nil, 200, `"name":"open"`},
		{"ErrDeveloperPatches", "PATCH", r, as("dev"), map[string]string{"visibility": "public"}, 403, "manage"},
		{"ErrPatchVisibility", "PATCH", r, as("padmin"), map[string]string{"visibility": "open"}, 400, "visibility"},
		{"Patch", "PATCH", r, as("padmin"), map[string]string{"visibility": "public", "description": "now public"}, 200, `"description":"now public"`},
		{"AnonymousReadsNowPublic", "GET", r, anon, nil, 200, `"visibility":"public"`},
		{"ErrAnonymousPatches", "PATCH", r, anon, map[string]string{"visibility": "private"}, 401, ""},
		{"ErrOutsiderPatchesPublic", "PATCH", r, as("outsider"), map[string]string{"visibility": "private"}, 403, "manage"},
		{"ErrDeveloperDeletes", "DELETE", r, as("dev"), nil, 403, "manage"},
		{"Delete", "DELETE", "/api/v1/repos/outsider/open", as("outsider"), nil, 200, `"deleted":1`},
		{"ErrGoneAfterDelete", "GET", "/api/v1/repos/outsider/open", as("outsider"), nil, 404, "not found"},
	})
}

// TestBranchesTagsCommits reads and changes the shared fixture history
// (package repotest): two branches, a lightweight and an annotated tag, a
// merge.
func TestBranchesTagsCommits(t *testing.T) {
	f := newFixture(t)
	repo, err := f.dir.Create("test", "testRepo", repos.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fx := repotest.Import(t, repo.Path)
	merge, three, topic := fx.ID(t, "merge topic"), fx.ID(t, "three"), fx.ID(t, "topic work")
	const r = "/api/v1/repos/test/testRepo"
	f.run(t, []call{
		{"Branches", "GET", r + "/branches", as("viewer"), nil, 200, `{"name":"main","commit":"` + merge + `","default":true}`},
		{"BranchesSideBranch", "GET", r + "/branches", as("viewer"), nil, 200, `{"name":"topic","commit":"` + topic + `","default":false}`},
		{"ErrBranchesOutsider", "GET", r + "/branches", as("outsider"), nil, 404, "not found"},
		{"ErrViewerCreatesBranch", "POST", r + "/branches", as("viewer"), map[string]string{"name": "feature"}, 403, "write"},
		{"CreateBranch", "POST", r + "/branches", as("dev"), map[string]string{"name": "feature", "from": "v1"}, 201, `"commit":"` + fx.ID(t, "two") + `"`},
		{"CreateBranchFromCommit", "POST", r + "/branches", as("dev"), map[string]string{"name": "at-three", "from": three}, 201, `"commit":"` + three + `"`},
		{"CreateNestedBranch", "POST", r + "/branches", as("dev"), map[string]string{"name": "team/x"}, 201, `"commit":"` + merge + `"`},
		{"ErrBranchExists", "POST", r + "/branches", as("dev"), map[string]string{"name": "topic"}, 409, "exists"},
		{"ErrBranchName", "POST", r + "/branches", as("dev"), map[string]string{"name": "bad..name"}, 400, "name"},
		{"ErrBranchFrom", "POST", r + "/branches", as("dev"), map[string]string{"name": "z", "from": "nope"}, 400, "from"},
		{"DeleteNestedBranch", "DELETE", r + "/branches/team/x", as("dev"), nil, 200, `"deleted":1`},
		{"DeleteBranch", "DELETE", r + "/branches/feature", as("dev"), nil, 200, `"deleted":1`},
		{"ErrDeleteAgain", "DELETE", r + "/branches/feature", as("dev"), nil, 404, "not found"},
		{"ErrDeleteDefault", "DELETE", r + "/branches/main", as("dev"), nil, 400, "default"},
		{"Tags", "GET", r + "/tags", as("viewer"), nil, 200, `{"name":"v1","commit":"` + fx.ID(t, "two") + `","object":"` + fx.ID(t, "two") + `","annotated":false}`},
		{"AnnotatedTag", "GET", r + "/tags", as("viewer"), nil, 200, `"name":"v2","commit":"` + merge + `"`},
		{"AnnotatedTagMessage", "GET", r + "/tags", as("viewer"), nil, 200, `"annotated":true,"message":"release two"`},
		{"CommitsPage1", "GET", r + "/commits?pageSize=2", as("viewer"), nil, 200, `"hasMore":true`},
		{"CommitsNewestFirst", "GET", r + "/commits?pageSize=1", as("viewer"), nil, 200, `"message":"merge topic"`},
		{"CommitsMergeParents", "GET", r + "/commits?pageSize=1", as("viewer"), nil, 200, `"parents":["` + three + `","` + topic + `"]`},
		{"CommitsByDateAcrossBranches", "GET", r + "/commits?pageSize=2&pageNo=2", as("viewer"), nil, 200, `"message":"topic work"`},
		{"CommitsLastPage", "GET", r + "/commits?pageSize=2&pageNo=3", as("viewer"), nil, 200, `"hasMore":false,"commits":[{"id":"` + fx.ID(t, "one") + `","message":"one"`},
		{"CommitsAtTag", "GET", r + "/commits?ref=v1&pageSize=1", as("viewer"), nil, 200, `"message":"two"`},
		{"CommitsAtCommit", "GET", r + "/commits?ref=" + three + "&pageSize=1", as("viewer"), nil, 200, `"message":"three"`},
		{"CommitsAuthor", "GET", r + "/commits?pageSize=1", as("viewer"), nil, 200, `"author":{"name":"A","email":"a@example.com","time":1700000400000}`},
		{"ErrCommitsRef", "GET", r + "/commits?ref=nope", as("viewer"), nil, 404, "not found"},
		{"ErrCommitsPageSize", "GET", r + "/commits?pageSize=500", as("viewer"), nil, 400, "pageSize"},
	})
	// The branch API and git agree.
	out, err := exec.Command("git", "--git-dir", repo.Path, "fsck", "--full", "--strict").CombinedOutput()
	if err != nil {
		t.Fatalf("fsck: %v %s", err, out)
	}
}
