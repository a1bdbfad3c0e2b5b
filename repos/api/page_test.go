package api_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/repostest"
)

// TestListsArePaged: every list answers {"total","pageNo","pageSize",…}
// and honours pageNo and pageSize as the token list does.
func TestListsArePaged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := f.dir.CreateWithRecord(ctx, f.store, "test", fmt.Sprintf("r%d", i), repos.CreateOptions{}, &repos.Info{Visibility: repos.Private}); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := f.dir.Open("test", "r0")
	if err != nil {
		t.Fatal(err)
	}
	repostest.Import(t, repo.Path) // branches main, topic; tags v1, v2
	const r0 = "/api/v1/repos/test/r0"
	f.run(t, []call{
		{"ReposFirstPage", "GET", "/api/v1/projects/test/repos?pageSize=2", as("viewer"), nil, 200, `{"total":5,"pageNo":1,"pageSize":2,"repos":[{"owner":"test","name":"r0"`},
		{"ReposSecondPage", "GET", "/api/v1/projects/test/repos?pageSize=2&pageNo=2", as("viewer"), nil, 200, `"pageNo":2,"pageSize":2,"repos":[{"owner":"test","name":"r2"`},
		{"ReposPastTheEnd", "GET", "/api/v1/projects/test/repos?pageSize=2&pageNo=9", as("viewer"), nil, 200, `{"total":5,"pageNo":9,"pageSize":2,"repos":[]}`},
		{"ReposDefaultPageSize", "GET", "/api/v1/projects/test/repos", as("viewer"), nil, 200, `"pageSize":10,`},
		{"ErrReposPageSize", "GET", "/api/v1/projects/test/repos?pageSize=1001", as("viewer"), nil, 400, "pageSize: must be a whole number from 1 to 1000"},
		{"ErrReposPageNo", "GET", "/api/v1/projects/test/repos?pageNo=0", as("viewer"), nil, 400, "pageNo"},
		{"UserReposEmpty", "GET", "/api/v1/user/repos", as("dev"), nil, 200, `{"total":0,"pageNo":1,"pageSize":10,"repos":[]}`},
		{"Projects", "GET", "/api/v1/projects?pageSize=1", as("viewer"), nil, 200, `{"total":1,"pageNo":1,"pageSize":1,"projects":[{"name":"test"`},
		{"Members", "GET", "/api/v1/projects/test/members?pageSize=2&pageNo=2", as("viewer"), nil, 200, `{"total":4,"pageNo":2,"pageSize":2,"members":[{"username":"dev"`},
		{"Branches", "GET", r0 + "/branches?pageSize=1&pageNo=2", as("viewer"), nil, 200, `{"total":2,"pageNo":2,"pageSize":1,"branches":[{"name":"topic"`},
		{"Tags", "GET", r0 + "/tags?pageSize=1", as("viewer"), nil, 200, `{"total":2,"pageNo":1,"pageSize":1,"tags":[{"name":"v1"`},
		{"ErrBranchesPageSize", "GET", r0 + "/branches?pageSize=x", as("viewer"), nil, 400, "pageSize"},
	})
}

// TestRepoStatsFollowChanges: the size and emptiness a listing shows are
// kept, and forgotten when a branch change makes them wrong.
func TestRepoStatsFollowChanges(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	repo, err := f.dir.CreateWithRecord(ctx, f.store, "test", "stats", repos.CreateOptions{}, &repos.Info{Visibility: repos.Private})
	if err != nil {
		t.Fatal(err)
	}
	const r = "/api/v1/repos/test/stats"
	f.run(t, []call{{"EmptyAtFirst", "GET", r, as("viewer"), nil, 200, `"empty":true`}})
	// History arrives behind the API's back, as a push through git does:
	// the kept answer stands until something says it changed.
	fx := repostest.Import(t, repo.Path)
	f.run(t, []call{{"KeptUntilForgotten", "GET", r, as("viewer"), nil, 200, `"empty":true`}})
	if err := f.store.ForgetRepoStats(ctx, "test", "stats"); err != nil {
		t.Fatal(err)
	}
	f.run(t, []call{{"RecomputedAfterForget", "GET", r, as("viewer"), nil, 200, `"empty":false`}})

	// A branch change through the API forgets them itself.
	f.run(t, []call{
		{"DeleteTopic", "DELETE", r + "/branches/topic", as("dev"), nil, 200, `"deleted":1`},
		{"SetDefaultToOther", "PATCH", r, as("tester"), map[string]string{"defaultBranch": "other"}, 200, `"defaultBranch":"other"`},
		{"DeleteMain", "DELETE", r + "/branches/main", as("dev"), nil, 200, `"deleted":1`},
		{"EmptyAgain", "GET", r, as("viewer"), nil, 200, `"empty":true`},
		{"CreateBranch", "POST", r + "/branches", as("dev"), map[string]string{"name": "back", "from": fx.ID(t, "one")}, 201, `"name":"back"`},
		{"NotEmpty", "GET", r, as("viewer"), nil, 200, `"empty":false`},
	})

	// Stats computed before a change are not kept after it.
	st, gen, ok, err := f.store.RepoStats(ctx, "test", "stats")
	if err != nil || !ok {
		t.Fatalf("RepoStats = %v, %v, %v", st, ok, err)
	}
	if err := f.store.ForgetRepoStats(ctx, "test", "stats"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SaveRepoStats(ctx, "test", "stats", gen, repos.Stats{Size: 1, Empty: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := f.store.RepoStats(ctx, "test", "stats"); err != nil || ok {
		t.Fatalf("stats saved from before a change were kept: ok %v, err %v", ok, err)
	}
}

// TestNamesFollowTheDirectory: the kept listing of an owner sees a
// repository placed by hand, one still being copied once it is complete,
// and one removed.
func TestNamesFollowTheDirectory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.dir.CreateWithRecord(ctx, f.store, "test", "a", repos.CreateOptions{}, &repos.Info{Visibility: repos.Private}); err != nil {
		t.Fatal(err)
	}
	owner := filepath.Join(f.dir.Root(), "test")
	age := 10 * time.Second
	names := func() []string {
		t.Helper()
		// Listings are kept only once the directory is older than its
		// timestamps' granularity: make it so, a different age each time
		// as a change would.
		age += time.Second
		if err := os.Chtimes(owner, time.Now().Add(-age), time.Now().Add(-age)); err != nil {
			t.Fatal(err)
		}
		n, err := f.dir.Names("test")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := fmt.Sprint(names()); got != "[a]" {
		t.Fatalf("Names = %s; want [a]", got)
	}
	// A copy in progress: the directory exists, the repository not yet.
	half := filepath.Join(f.dir.Root(), "test", "b.git")
	if err := os.MkdirAll(filepath.Join(half, "objects"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(names()); got != "[a]" {
		t.Fatalf("Names with b half copied = %s; want [a]", got)
	}
	// Kept now: completing b touches b.git, not the owner's directory.
	if n, err := f.dir.Names("test"); err != nil || fmt.Sprint(n) != "[a]" {
		t.Fatalf("kept Names = %v, %v; want [a]", n, err)
	}
	keep := func() []string {
		t.Helper()
		n, err := f.dir.Names("test")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, d := range []string{"refs"} {
		if err := os.MkdirAll(filepath.Join(half, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(half, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(keep()); got != "[a b]" {
		t.Fatalf("Names with b complete = %s; want [a b]", got)
	}
	if err := os.RemoveAll(filepath.Join(f.dir.Root(), "test", "a.git")); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(names()); got != "[b]" {
		t.Fatalf("Names with a removed = %s; want [b]", got)
	}
}
