package repos_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/projects"
	"github.com/depot/depot/repos/repostest"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/sqlite"
	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// openStores opens a database in a temporary directory with the token
// store, for users, and the project store on it.
func openStores(t *testing.T) (*tokens.Store, *projects.Store) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.OpenAt(ctx, dbtest.Location(t))
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

// TestPolicyOpen: the one permission call answers each kind of caller
// with the repository or with why not, in a form each surface renders.
func TestPolicyOpen(t *testing.T) {
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
	d, err := repos.OpenDir(filepath.Join(t.TempDir(), "repos"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		owner, name string
		vis         repos.Visibility
	}{{"dev", "x", repos.Private}, {"viewer", "x", repos.Private}, {"team", "x", repos.Private}, {"team", "Open", repos.Public}} {
		if _, err := d.CreateWithRecord(ctx, store, r.owner, r.name, repos.CreateOptions{}, &repos.Info{Visibility: r.vis}); err != nil {
			t.Fatal(err)
		}
	}
	p := repos.NewPolicy(store, d)
	user := func(name string) *auth.Identity { return &auth.Identity{User: name, Method: auth.MethodToken} }
	anon := &auth.Identity{}
	siteAdmin := &auth.Identity{User: "root", Admin: true, Method: auth.MethodPassword}
	var (
		forbidden = repos.ErrForbidden
		hidden    = repos.ErrNotFound
		anonymous = repos.ErrUnauthenticated
	)
	for _, tc := range []struct {
		name        string
		id          *auth.Identity
		owner, repo string
		act         repos.Action
		want        error  // nil: allowed
		full        string // the repository as registered, when allowed or denied
	}{
		{"OwnNamespaceWrite", user("dev"), "dev", "x", repos.Write, nil, "dev/x"},
		{"OwnNamespaceCaseInsensitive", user("dev"), "DEV", "X", repos.Manage, nil, "dev/x"},
		{"OtherUsersPrivate", user("dev"), "viewer", "x", repos.Read, hidden, ""},
		{"SiteAdminAnything", siteAdmin, "viewer", "x", repos.Manage, nil, "viewer/x"},
		{"ViewerReads", user("viewer"), "team", "x", repos.Read, nil, "team/x"},
		{"ViewerWriteForbidden", user("viewer"), "team", "x", repos.Write, forbidden, "team/x"},
		{"DeveloperWrites", user("dev"), "team", "x", repos.Write, nil, "team/x"},
		{"DeveloperManageForbidden", user("dev"), "team", "x", repos.Manage, forbidden, "team/x"},
		{"ProjectAdminManages", user("admin"), "team", "x", repos.Manage, nil, "team/x"},
		{"ProjectOwnerManages", user("owner"), "team", "x", repos.Manage, nil, "team/x"},
		{"OutsiderPrivateHidden", user("outsider"), "team", "x", repos.Read, hidden, ""},
		{"OutsiderPublicReads", user("outsider"), "team", "open", repos.Read, nil, "team/Open"},
		{"OutsiderPublicWriteForbidden", user("outsider"), "TEAM", "OPEN", repos.Write, forbidden, "team/Open"},
		{"AnonymousPrivateHidden", anon, "team", "x", repos.Read, hidden, ""},
		{"AnonymousPublicReads", anon, "team", "open", repos.Read, nil, "team/Open"},
		{"AnonymousPublicWriteUnauthenticated", anon, "team", "open", repos.Write, anonymous, "team/Open"},
		{"MissingRepoHidden", user("dev"), "team", "nope", repos.Read, hidden, ""},
		{"MissingRepoOfOwnNamespaceHidden", user("dev"), "dev", "nope", repos.Write, hidden, ""},
		{"UnknownNamespaceHidden", user("dev"), "ghost", "x", repos.Read, hidden, ""},
		{"SiteAdminMissingHidden", siteAdmin, "ghost", "x", repos.Read, hidden, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, err := p.Open(ctx, tc.id, tc.owner, tc.repo, tc.act)
			if tc.want == nil {
				if err != nil || repo.FullName() != tc.full {
					t.Fatalf("Open(%s, %s/%s, %s) = %v, %v; want %s", tc.id.User, tc.owner, tc.repo, tc.act, repo, err, tc.full)
				}
				return
			}
			if repo != nil || !errors.Is(err, tc.want) {
				t.Fatalf("Open(%s, %s/%s, %s) = %v, %v; want %v", tc.id.User, tc.owner, tc.repo, tc.act, repo, err, tc.want)
			}
			var denied *repos.DeniedError
			if isDenied := errors.As(err, &denied); isDenied != (tc.full != "") {
				t.Fatalf("Open(%s, %s/%s) = %#v; want a *DeniedError: %v", tc.owner, tc.repo, tc.act, err, tc.full != "")
			}
			if denied != nil && (denied.Repo.FullName() != tc.full || denied.Action != tc.act) {
				t.Errorf("DeniedError names %s, %s; want %s, %s", denied.Repo.FullName(), denied.Action, tc.full, tc.act)
			}
		})
	}
	t.Run("ErrMalformedNameBeforeAnyLookup", func(t *testing.T) {
		rec := repostest.NewRecorder(store)
		p := repos.NewPolicy(rec, d)
		for _, name := range [][2]string{{"-x", "y"}, {"team", ".x"}, {"team", "a..b"}, {"team", "x.git"}} {
			_, err := p.Open(ctx, user("dev"), name[0], name[1], repos.Read)
			var ve *input.ValidationError
			if !errors.As(err, &ve) || (ve.Field != "owner" && ve.Field != "name") {
				t.Errorf("Open(%s/%s) = %v; want a ValidationError naming owner or name", name[0], name[1], err)
			}
		}
		if calls := rec.Calls(); len(calls) != 0 {
			t.Errorf("malformed names asked the store %v; want nothing", calls)
		}
	})
}
