package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/api"
	"github.com/depot/depot/repos/projects"
	"github.com/depot/depot/repos/repostest"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/sqlite"
	"github.com/depot/depot/tokens/sqlite/dbtest"
)

const pw = "password-1"

// fixture: project "test" owned by tester, with a viewer, a developer and
// an admin; "outsider" belongs to nothing; "root" is a site admin.
type fixture struct {
	t     *testing.T
	users *tokens.Store       // users and tokens
	store *projects.Store     // projects, members, repository records
	ns    *repostest.Recorder // what the policy asks of the store
	dir   *repos.Dir
	srv   *httptest.Server
}

// The project store is what the API needs of the database.
var _ api.Store = (*projects.Store)(nil)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	tmp := t.TempDir()
	db, err := sqlite.Open(ctx, dbtest.Location(t)) // a copy of a migrated database
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	users, err := tokens.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { users.Close() })
	users.SetPasswordCost(bcrypt.MinCost)
	store := projects.New(db)
	for _, u := range []string{"tester", "viewer", "dev", "padmin", "outsider"} {
		if err := users.CreateUser(ctx, &tokens.User{GlobalKey: u}, pw); err != nil {
			t.Fatal(err)
		}
	}
	if err := users.CreateUser(ctx, &tokens.User{GlobalKey: "root", Admin: true}, pw); err != nil {
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
	r.Use(auth.NewAuthenticator(tokens.Verifier{Store: users}, nil).Middleware(auth.Options{Passwords: true}, log))
	ns := repostest.NewRecorder(store)
	api.New(store, dir, repos.NewPolicy(ns, dir), log).Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &fixture{t: t, users: users, store: store, ns: ns, dir: dir, srv: srv}
}

func as(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

func (f *fixture) token(user string, scopes ...string) string {
	f.t.Helper()
	secret, err := f.users.CreateToken(context.Background(), &tokens.Token{Username: user, Scopes: scopes})
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
		{"AnswerAsStored", "PUT", m + "OUTSIDER", as("root"), map[string]string{"role": "developer"}, 200, `{"username":"outsider","role":"developer","created_at":1`},
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
		// "@" passes gitref.CheckBranchName but not the repository's own
		// check; the answer still names the field (docs/api.md, "Errors").
		{"ErrDefaultBranchAt", "POST", "/api/v1/projects/test/repos", as("tester"), map[string]string{"name": "y", "defaultBranch": "@"}, 400, `"msg":"defaultBranch: \"@\" is not a valid branch name"`},
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
// (package repostest): two branches, a lightweight and an annotated tag, a
// merge.
func TestBranchesTagsCommits(t *testing.T) {
	f := newFixture(t)
	repo, err := f.dir.Create("test", "testRepo", repos.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fx := repostest.Import(t, repo.Path)
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
		{"CommitsPage1", "GET", r + "/commits?pageSize=2", as("viewer"), nil, 200, `{"total":5,"pageNo":1,"pageSize":2,"hasMore":true`},
		{"CommitsNewestFirst", "GET", r + "/commits?pageSize=1", as("viewer"), nil, 200, `"message":"merge topic"`},
		{"CommitsMergeParents", "GET", r + "/commits?pageSize=1", as("viewer"), nil, 200, `"parents":["` + three + `","` + topic + `"]`},
		{"CommitsByDateAcrossBranches", "GET", r + "/commits?pageSize=2&pageNo=2", as("viewer"), nil, 200, `"message":"topic work"`},
		{"CommitsLastPage", "GET", r + "/commits?pageSize=2&pageNo=3", as("viewer"), nil, 200, `"hasMore":false,"commits":[{"id":"` + fx.ID(t, "one") + `","message":"one"`},
		{"CommitsAtTag", "GET", r + "/commits?ref=v1&pageSize=1", as("viewer"), nil, 200, `"message":"two"`},
		{"CommitsTotalAtTag", "GET", r + "/commits?ref=v1&pageSize=1", as("viewer"), nil, 200, `"total":2,`},
		{"CommitsPageSizeMax", "GET", r + "/commits?pageSize=1000", as("viewer"), nil, 200, `"total":5,"pageNo":1,"pageSize":1000,"hasMore":false`},
		{"CommitsAtCommit", "GET", r + "/commits?ref=" + three + "&pageSize=1", as("viewer"), nil, 200, `"message":"three"`},
		{"CommitsAuthor", "GET", r + "/commits?pageSize=1", as("viewer"), nil, 200, `"author":{"name":"A","email":"a@example.com","time":1700000400000}`},
		{"ErrCommitsRef", "GET", r + "/commits?ref=nope", as("viewer"), nil, 404, "not found"},
		{"ErrCommitsPageSize", "GET", r + "/commits?pageSize=1001", as("viewer"), nil, 400, "pageSize"},
	})
	// The branch API and git agree.
	out, err := exec.Command("git", "--git-dir", repo.Path, "fsck", "--full", "--strict").CombinedOutput()
	if err != nil {
		t.Fatalf("fsck: %v %s", err, out)
	}
}

// TestProjectTextRefusesControlCharacters: a project's description and
// display name are single-line text, as a token's description is; CR, LF
// and NUL would break logs and pages that show them.
func TestProjectTextRefusesControlCharacters(t *testing.T) {
	f := newFixture(t)
	const p = "/api/v1/projects"
	f.run(t, []call{
		{"ErrDescriptionLF", "POST", p, as("tester"), map[string]string{"name": "lf", "description": "one\ntwo"}, 400, "description"},
		{"ErrDescriptionCR", "POST", p, as("tester"), map[string]string{"name": "cr", "description": "one\rtwo"}, 400, "description"},
		{"ErrDescriptionNUL", "POST", p, as("tester"), map[string]string{"name": "nul", "description": "one\x00two"}, 400, "description"},
		{"ErrDisplayNameLF", "POST", p, as("tester"), map[string]string{"name": "dlf", "displayName": "Team\nX"}, 400, "displayName"},
		{"ErrDisplayNameCR", "POST", p, as("tester"), map[string]string{"name": "dcr", "displayName": "Team\rX"}, 400, "displayName"},
		{"ErrDisplayNameNUL", "POST", p, as("tester"), map[string]string{"name": "dnul", "displayName": "Team\x00X"}, 400, "displayName"},
		{"TabIsText", "POST", p, as("tester"), map[string]string{"name": "tab", "displayName": "Team\tX", "description": "a\tb"}, 201, `"name":"tab"`},
		{"ErrNothingCreated", "GET", p + "/lf", as("tester"), nil, 404, "not found"},
	})
}

// TestRepoDescriptionRefusesControlCharacters: a repository's description
// is free text like a project's, on create and on edit, and a refused
// edit changes nothing.
func TestRepoDescriptionRefusesControlCharacters(t *testing.T) {
	f := newFixture(t)
	const u, r = "/api/v1/user/repos", "/api/v1/repos/tester/notes"
	f.run(t, []call{
		{"ErrCreateLF", "POST", u, as("tester"), map[string]string{"name": "lf", "description": "one\ntwo"}, 400, "description"},
		{"ErrCreateNUL", "POST", u, as("tester"), map[string]string{"name": "nul", "description": "one\x00two"}, 400, "description"},
		{"ErrNothingCreated", "GET", "/api/v1/repos/tester/lf", as("tester"), nil, 404, "not found"},
		{"Create", "POST", u, as("tester"), map[string]string{"name": "notes", "description": "kept"}, 201, `"description":"kept"`},
		{"ErrEditCR", "PATCH", r, as("tester"), map[string]string{"description": "one\rtwo", "visibility": "public"}, 400, "description"},
		{"ErrEditTooLong", "PATCH", r, as("tester"), map[string]string{"description": strings.Repeat("x", 1001)}, 400, "description"},
		{"Unchanged", "GET", r, as("tester"), nil, 200, `"description":"kept","visibility":"private"`},
		{"TabIsText", "PATCH", r, as("tester"), map[string]string{"description": "a\tb"}, 200, `"description":"a\tb"`},
	})
}

// TestReservedNamespaces: names the server routes at the top level cannot
// be taken by a project, in any case.
func TestReservedNamespaces(t *testing.T) {
	f := newFixture(t)
	var calls []call
	for _, name := range []string{"api", "API", "login", "logout", "settings", "static", "avatars", "Avatars", "metrics", "healthz", "readyz"} {
		calls = append(calls, call{"Err" + name, "POST", "/api/v1/projects", as("tester"), map[string]string{"name": name}, 400, "name"})
	}
	f.run(t, calls)
}

// TestHiddenAndMissingDoTheSameWork: a private repository that the
// caller may not see answers 404 like a missing one, and must take as
// long, or the time of the answer tells which names exist. Rather than
// time the answers, which would flake, it checks that both ask the store
// the same questions in the same order and answer the same.
func TestHiddenAndMissingDoTheSameWork(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/api/v1/user/repos", "/api/v1/projects/test/repos"} {
		if r := f.do("POST", p, as("tester"), map[string]string{"name": "secret"}); r.status != 201 {
			t.Fatalf("POST %s = %d %s", p, r.status, r.body)
		}
	}
	outsider := f.token("outsider", auth.ScopeProject, auth.ScopeDepot)
	for _, tc := range []struct {
		name, method, hidden, missing, authz string
	}{
		{"UserRepoOutsider", "GET", "/api/v1/repos/tester/secret", "/api/v1/repos/tester/missing", outsider},
		{"UserRepoAnonymous", "GET", "/api/v1/repos/tester/secret", "/api/v1/repos/tester/missing", ""},
		{"ProjectRepoOutsider", "GET", "/api/v1/repos/test/secret", "/api/v1/repos/test/missing", outsider},
		{"ProjectRepoPassword", "GET", "/api/v1/repos/test/secret", "/api/v1/repos/test/missing", as("outsider")},
		{"ProjectRepoAnonymous", "GET", "/api/v1/repos/test/secret", "/api/v1/repos/test/missing", ""},
		{"OwnerCaseOutsider", "GET", "/api/v1/repos/TEST/secret", "/api/v1/repos/TEST/missing", outsider},
		{"UnknownOwner", "GET", "/api/v1/repos/test/secret", "/api/v1/repos/nobody/secret", outsider},
		{"BranchesOutsider", "GET", "/api/v1/repos/test/secret/branches", "/api/v1/repos/test/missing/branches", outsider},
		{"DeleteOutsider", "DELETE", "/api/v1/repos/tester/secret", "/api/v1/repos/tester/missing", outsider},
		{"ProjectOutsider", "GET", "/api/v1/projects/test", "/api/v1/projects/missing", outsider},
		{"ProjectMembersOutsider", "GET", "/api/v1/projects/test/members", "/api/v1/projects/missing/members", as("outsider")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.ns.Reset()
			hidden := f.do(tc.method, tc.hidden, tc.authz, nil)
			hiddenCalls := f.ns.Calls()
			f.ns.Reset()
			missing := f.do(tc.method, tc.missing, tc.authz, nil)
			missingCalls := f.ns.Calls()
			if hidden.status != 404 || missing.status != 404 {
				t.Fatalf("%s = %d, %s = %d; want 404 for both", tc.hidden, hidden.status, tc.missing, missing.status)
			}
			if !slices.Equal(hiddenCalls, missingCalls) {
				t.Errorf("%s asks the store %v\n%s asks %v\nwant the same questions", tc.hidden, hiddenCalls, tc.missing, missingCalls)
			}
			if len(hiddenCalls) == 0 {
				t.Errorf("no questions recorded; is the recorder wired in?")
			}
			if strings.Count(hidden.body, `"code"`) != 1 || len(hidden.body)-len(tc.hidden) != len(missing.body)-len(tc.missing) {
				t.Errorf("bodies differ in shape: %s / %s", hidden.body, missing.body)
			}
		})
	}
}

// TestRepositoryNamesIgnoreCase: repository names are compared
// case-insensitively, as GitHub and Gitea do, though the directory on
// disk keeps the case the repository was created with. A case variant of
// an existing name is a conflict, never a second repository sharing the
// first one's record; any case reaches the one repository.
func TestRepositoryNamesIgnoreCase(t *testing.T) {
	f := newFixture(t)
	const r = "/api/v1/repos/tester/"
	f.run(t, []call{
		{"CreatePrivate", "POST", "/api/v1/user/repos", as("tester"), map[string]string{"name": "cs", "description": "lower"}, 201, `"name":"cs"`},
		{"ErrCreateCaseVariant", "POST", "/api/v1/user/repos", as("tester"), map[string]string{"name": "CS", "visibility": "public", "description": "upper"}, 409, "exists"},
		{"ErrStillPrivate", "GET", r + "cs", "", nil, 404, "not found"},
		{"ErrVariantNotPublic", "GET", r + "CS", "", nil, 404, "not found"},
		{"GetAnyCase", "GET", r + "CS", as("tester"), nil, 200, `"fullName":"tester/cs"`},
		{"DescriptionKept", "GET", r + "cs", as("tester"), nil, 200, `"description":"lower"`},
		{"PatchAnyCase", "PATCH", r + "cS", as("tester"), map[string]string{"description": "patched"}, 200, `"name":"cs"`},
		{"PatchReachedTheOne", "GET", r + "cs", as("tester"), nil, 200, `"description":"patched"`},
		{"CreateProjectRepo", "POST", "/api/v1/projects/test/repos", as("tester"), map[string]string{"name": "testRepo"}, 201, `"name":"testRepo"`},
		{"ErrProjectCaseVariant", "POST", "/api/v1/projects/test/repos", as("tester"), map[string]string{"name": "TESTREPO"}, 409, "exists"},
		{"DeleteAnyCase", "DELETE", r + "CS", as("tester"), nil, 200, `"deleted":1`},
		{"ErrGone", "GET", r + "cs", as("tester"), nil, 404, "not found"},
	})
	for _, name := range []string{"cs.git", "CS.git"} {
		if _, err := os.Stat(filepath.Join(f.dir.Root(), "tester", name)); !os.IsNotExist(err) {
			t.Errorf("after the delete, %s on disk: %v", name, err)
		}
	}
	if info, err := f.store.RepoInfo(context.Background(), "tester", "cs"); err != nil || !info.CreatedAt.IsZero() {
		t.Errorf("after the delete, the record of tester/cs = %+v, %v; want none", info, err)
	}
	f.run(t, []call{
		{"RecreateInOtherCase", "POST", "/api/v1/user/repos", as("tester"), map[string]string{"name": "Cs", "visibility": "public"}, 201, `"name":"Cs"`},
		{"RecreatedIsPublic", "GET", r + "cs", "", nil, 200, `"fullName":"tester/Cs"`},
	})
}

// TestUnreachableCommitsAreNotFound: a reader must not recover commits
// that a force push or a deleted branch left behind by trying short
// prefixes of their ids. Ids resolve only when a ref reaches the commit,
// abbreviations need 7 hex digits, and an unreachable commit answers as a
// missing one does.
func TestUnreachableCommitsAreNotFound(t *testing.T) {
	f := newFixture(t)
	repo, err := f.dir.Create("test", "testRepo", repos.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	repostest.Import(t, repo.Path)
	rev := func(r string) string {
		out, err := exec.Command("git", "--git-dir", repo.Path, "rev-parse", r).Output()
		if err != nil {
			t.Fatalf("rev-parse %s: %v", r, err)
		}
		return strings.TrimSpace(string(out))
	}
	// Move main back one commit, as a force push does: the merge is left
	// behind, its object still in the repository, and so is v2, its tag.
	gone, kept := rev("main"), rev("main~1")
	if out, err := exec.Command("git", "--git-dir", repo.Path, "update-ref", "refs/heads/main", kept).CombinedOutput(); err != nil {
		t.Fatalf("update-ref: %v %s", err, out)
	}
	if out, err := exec.Command("git", "--git-dir", repo.Path, "tag", "-d", "v2").CombinedOutput(); err != nil {
		t.Fatalf("tag -d: %v %s", err, out)
	}
	const r = "/api/v1/repos/test/testRepo"
	f.run(t, []call{
		{"ErrCommitsAbbrev4", "GET", r + "/commits?ref=" + gone[:4], as("viewer"), nil, 404, "not found"},
		{"ErrCommitsAbbrev7", "GET", r + "/commits?ref=" + gone[:7], as("viewer"), nil, 404, "not found"},
		{"ErrCommitsFull", "GET", r + "/commits?ref=" + gone, as("viewer"), nil, 404, "not found"},
		{"ErrCommitsMissing", "GET", r + "/commits?ref=" + strings.Repeat("0", 7), as("viewer"), nil, 404, "not found"},
		{"ErrBranchFromAbbrev6", "POST", r + "/branches", as("dev"), map[string]string{"name": "x", "from": gone[:6]}, 400, "from: no such"},
		{"ErrBranchFromAbbrev8", "POST", r + "/branches", as("dev"), map[string]string{"name": "x", "from": gone[:8]}, 400, "from: no such"},
		{"ErrBranchFromFull", "POST", r + "/branches", as("dev"), map[string]string{"name": "x", "from": gone}, 400, "from: no such"},
		{"ErrReachableAbbrev4", "GET", r + "/commits?ref=" + kept[:4], as("viewer"), nil, 404, "not found"},
		{"CommitsReachableAbbrev7", "GET", r + "/commits?ref=" + kept[:7] + "&pageSize=1", as("viewer"), nil, 200, `"message":"three"`},
		{"CommitsReachableFull", "GET", r + "/commits?ref=" + kept + "&pageSize=1", as("viewer"), nil, 200, `"message":"three"`},
		{"BranchFromReachableAbbrev7", "POST", r + "/branches", as("dev"), map[string]string{"name": "y", "from": rev("main~1")[:7]}, 201, `"name":"y"`},
	})
}

// TestReflogRecordsAPIUpdates: branches created and deleted over the API
// are in the reflog with who did it, which only the repository's admins
// read.
func TestReflogRecordsAPIUpdates(t *testing.T) {
	f := newFixture(t)
	repo, err := f.dir.Create("test", "testRepo", repos.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fx := repostest.Import(t, repo.Path)
	two := fx.ID(t, "two")
	tok := &tokens.Token{Username: "dev", Scopes: []string{auth.ScopeDepot}}
	secret, err := f.users.CreateToken(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	const r = "/api/v1/repos/test/testRepo"
	zero := strings.Repeat("0", 40)
	f.run(t, []call{
		{"CreateBranch", "POST", r + "/branches", "Bearer " + secret, map[string]string{"name": "feature", "from": "v1"}, 201, `"name":"feature"`},
		{"DeleteBranch", "DELETE", r + "/branches/feature", as("dev"), nil, 200, `"deleted":1`},
		{"Deletion", "GET", r + "/reflog?ref=feature", as("padmin"), nil, 200,
			`{"total":2,"pageNo":1,"pageSize":20,"entries":[{"ref":"refs/heads/feature","old":"` + two + `","new":"` + zero + `","user":"dev","tokenId":"","ip":"127.0.0.1",`},
		{"Creation", "GET", r + "/reflog?ref=refs/heads/feature&pageNo=2&pageSize=1", as("tester"), nil, 200,
			`{"ref":"refs/heads/feature","old":"` + zero + `","new":"` + two + `","user":"dev","tokenId":"` + tok.ID + `","ip":"127.0.0.1",`},
		{"CreationMessage", "GET", r + "/reflog?pageNo=2&pageSize=1", as("root"), nil, 200, `"message":"branch: Created from v1"}]}`},
		{"ErrDeveloper", "GET", r + "/reflog", as("dev"), nil, 403, "manage"},
		{"ErrViewer", "GET", r + "/reflog", as("viewer"), nil, 403, "manage"},
		{"ErrOutsider", "GET", r + "/reflog", as("outsider"), nil, 404, "not found"},
		{"ErrAnonymous", "GET", r + "/reflog", "", nil, 401, ""},
		{"ErrTokenScope", "GET", r + "/reflog", f.token("tester", auth.ScopeProject), nil, 403, "project:depot"},
		{"ErrPageSize", "GET", r + "/reflog?pageSize=1001", as("tester"), nil, 400, "pageSize"},
	})
}
