package repos_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/projects"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/sqlite"
)

// openStores opens a database in a temporary directory with the token
// store, for users, and the project store on it.
func openStores(t *testing.T) (*tokens.Store, *projects.Store) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "depot.db"))
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
	return users, projects.New(db)
}

func TestPolicyDecide(t *testing.T) {
	ctx := context.Background()
	users, store := openStores(t)
	for _, u := range []string{"owner", "admin", "dev", "viewer", "outsider"} {
		if err := users.CreateUser(ctx, &tokens.User{GlobalKey: u}, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.CreateProject(ctx, &repos.Project{Name: "team"}, "owner"); err != nil {
		t.Fatal(err)
	}
	for u, r := range map[string]repos.Role{"admin": repos.RoleAdmin, "dev": repos.RoleDeveloper, "viewer": repos.RoleViewer} {
		if err := store.SetMember(ctx, "team", u, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.SaveRepoInfo(ctx, "team", "open", &repos.Info{Visibility: repos.Public}); err != nil {
		t.Fatal(err)
	}
	p := repos.NewPolicy(store)
	user := func(name string) *auth.Identity { return &auth.Identity{User: name, Method: auth.MethodToken} }
	anon := &auth.Identity{}
	siteAdmin := &auth.Identity{User: "root", Admin: true, Method: auth.MethodPassword}
	const (
		A = repos.Allowed
		F = repos.Forbidden
		H = repos.Hidden
	)
	for _, tc := range []struct {
		name        string
		id          *auth.Identity
		owner, repo string
		act         repos.Action
		want        repos.Decision
	}{
		{"OwnNamespaceWrite", user("dev"), "dev", "x", repos.Write, A},
		{"OwnNamespaceCaseInsensitive", user("dev"), "DEV", "x", repos.Manage, A},
		{"OtherUsersPrivate", user("dev"), "viewer", "x", repos.Read, H},
		{"SiteAdminAnything", siteAdmin, "viewer", "x", repos.Manage, A},
		{"ViewerReads", user("viewer"), "team", "x", repos.Read, A},
		{"ViewerWriteForbidden", user("viewer"), "team", "x", repos.Write, F},
		{"DeveloperWrites", user("dev"), "team", "x", repos.Write, A},
		{"DeveloperManageForbidden", user("dev"), "team", "x", repos.Manage, F},
		{"ProjectAdminManages", user("admin"), "team", "x", repos.Manage, A},
		{"ProjectOwnerManages", user("owner"), "team", "x", repos.Manage, A},
		{"OutsiderPrivateHidden", user("outsider"), "team", "x", repos.Read, H},
		{"OutsiderPublicReads", user("outsider"), "team", "open", repos.Read, A},
		{"OutsiderPublicWriteForbidden", user("outsider"), "team", "open", repos.Write, F},
		{"AnonymousPrivateHidden", anon, "team", "x", repos.Read, H},
		{"AnonymousPublicReads", anon, "team", "open", repos.Read, A},
		{"AnonymousPublicWriteForbidden", anon, "team", "open", repos.Write, F},
		{"UnknownNamespaceHidden", user("dev"), "ghost", "x", repos.Read, H},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Decide(ctx, tc.id, tc.owner, tc.repo, tc.act)
			if err != nil || got != tc.want {
				t.Fatalf("Decide(%s, %s/%s, %s) = %v, %v; want %v", tc.id.User, tc.owner, tc.repo, tc.act, got, err, tc.want)
			}
		})
	}
}

// TestCreateWithRecordIgnoresCase: a repository name taken in any case,
// recorded or placed by hand, is refused, and a refused create leaves no
// record behind; a record is never replaced.
func TestCreateWithRecordIgnoresCase(t *testing.T) {
	ctx := context.Background()
	_, store := openStores(t)
	d, err := repos.OpenDir(filepath.Join(t.TempDir(), "repos"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateWithRecord(ctx, store, "tester", "cs", repos.CreateOptions{}, &repos.Info{Visibility: repos.Private, Description: "first"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create("tester", "Hand", repos.CreateOptions{}); err != nil { // placed by hand: no record
		t.Fatal(err)
	}
	for _, name := range []string{"cs", "CS", "hand", "HAND"} {
		_, err := d.CreateWithRecord(ctx, store, "tester", name, repos.CreateOptions{}, &repos.Info{Visibility: repos.Public})
		if !errors.Is(err, repos.ErrExists) {
			t.Errorf("CreateWithRecord(tester/%s) = %v; want ErrExists", name, err)
		}
	}
	if info, err := store.RepoInfo(ctx, "tester", "cs"); err != nil || info.Name != "cs" || info.Visibility != repos.Private || info.Description != "first" {
		t.Errorf("record of tester/cs = %+v, %v; want the first one, untouched", info, err)
	}
	if info, err := store.RepoInfo(ctx, "tester", "hand"); err != nil || info.Name != "" {
		t.Errorf("record of tester/hand = %+v, %v; want none left by the refused creates", info, err)
	}
	list, err := d.List("tester")
	if err != nil || len(list) != 2 {
		t.Errorf("List(tester) = %v, %v; want cs and Hand only", list, err)
	}
	p := repos.NewPolicy(store)
	for _, tc := range []struct{ owner, name, want string }{
		{"TESTER", "CS", "cs"},     // recorded: the name it was created with
		{"tester", "Hand", "Hand"}, // placed by hand: as given
		{"tester", "hand", "hand"},
	} {
		if _, name, _, err := p.Canonical(ctx, tc.owner, tc.name); err != nil || name != tc.want {
			t.Errorf("Canonical(%s/%s) = %q, %v; want %q", tc.owner, tc.name, name, err, tc.want)
		}
	}
}
