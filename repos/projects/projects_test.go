package projects_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/projects"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/sqlite"
	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// newStore opens a database with the users tester, dev and outsider, and
// returns the project store on it.
func newStore(t *testing.T) *projects.Store {
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
	for _, u := range []string{"tester", "dev", "outsider"} {
		if err := users.CreateUser(ctx, &tokens.User{GlobalKey: u}, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	return projects.New(db)
}

// field returns the field that err's *input.ValidationError names, or "".
func field(err error) string {
	var ve *input.ValidationError
	if errors.As(err, &ve) && errors.Is(err, input.ErrInvalid) {
		return ve.Field
	}
	return ""
}

func TestCreateProject(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.CreateProject(ctx, &repos.Project{Name: "Team"}, "tester"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		p       repos.Project
		owner   string
		want    error  // a sentinel, or nil for bad input
		field   string // named by the *input.ValidationError
		message string // its Error(), when it matters
	}{
		{name: "ErrTaken", p: repos.Project{Name: "team"}, owner: "tester", want: repos.ErrExists},
		{name: "ErrTakenByUser", p: repos.Project{Name: "DEV"}, owner: "tester", want: repos.ErrExists},
		{name: "ErrNoOwner", p: repos.Project{Name: "solo"}, owner: "ghost", want: repos.ErrNotFound},
		{name: "ErrName", p: repos.Project{Name: "../x"}, owner: "tester", field: "name",
			message: `name: owner "../x" must be 1-39 letters, digits, '_', '.' or '-', starting with a letter or digit`},
		{name: "ErrReserved", p: repos.Project{Name: "Static"}, owner: "tester", field: "name",
			message: `name: "Static" is reserved for the server's own pages`},
		{name: "ErrDisplayName", p: repos.Project{Name: "dn", DisplayName: "a\nb"}, owner: "tester", field: "displayName"},
		{name: "ErrDescription", p: repos.Project{Name: "ds", Description: strings.Repeat("é", 501)}, owner: "tester", field: "description"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			err := s.CreateProject(ctx, &p, tc.owner)
			switch {
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("CreateProject(%+v) = %v; want %v", tc.p, err, tc.want)
			case tc.want == nil && field(err) != tc.field:
				t.Fatalf("CreateProject(%+v) = %v; want a ValidationError naming %s", tc.p, err, tc.field)
			}
			var ve *input.ValidationError
			if tc.message != "" && (!errors.As(err, &ve) || ve.Error() != tc.message) {
				t.Errorf("CreateProject(%+v) = %v; want %q", tc.p, err, tc.message)
			}
			if _, err := s.Project(ctx, tc.p.Name); tc.want != repos.ErrExists && !errors.Is(err, repos.ErrNotFound) {
				t.Errorf("after a refused create, Project(%s) = %v; want ErrNotFound", tc.p.Name, err)
			}
		})
	}
	p, err := s.Project(ctx, "TEAM")
	if err != nil || p.Name != "Team" || p.DisplayName != "Team" || p.CreatedAt.IsZero() {
		t.Errorf("Project(TEAM) = %+v, %v; want Team, displayed as its name", p, err)
	}
	if kind, name, err := s.Namespace(ctx, "team"); err != nil || kind != "project" || name != "Team" {
		t.Errorf("Namespace(team) = %s %s %v; want project Team", kind, name, err)
	}
	if kind, name, err := s.Namespace(ctx, "TESTER"); err != nil || kind != "user" || name != "tester" {
		t.Errorf("Namespace(TESTER) = %s %s %v; want user tester", kind, name, err)
	}
	if _, _, err := s.Namespace(ctx, "nobody"); !errors.Is(err, repos.ErrNotFound) {
		t.Errorf("Namespace(nobody) = %v; want ErrNotFound", err)
	}
}

func TestMembers(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.CreateProject(ctx, &repos.Project{Name: "team"}, "tester"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMember(ctx, "team", "dev", repos.RoleDeveloper); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"ErrUnknownProject", s.SetMember(ctx, "nope", "dev", repos.RoleViewer), repos.ErrNotFound},
		{"ErrUnknownUser", s.SetMember(ctx, "team", "ghost", repos.RoleViewer), repos.ErrNotFound},
		{"ErrBadRole", s.SetMember(ctx, "team", "dev", repos.RoleNone), input.ErrInvalid},
		{"ErrDemoteLastOwner", s.SetMember(ctx, "team", "tester", repos.RoleAdmin), repos.ErrLastOwner},
		{"ErrRemoveLastOwner", s.RemoveMember(ctx, "team", "tester"), repos.ErrLastOwner},
		{"ErrRemoveNonMember", s.RemoveMember(ctx, "team", "outsider"), repos.ErrNotFound},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v; want %v", tc.name, tc.err, tc.want)
		}
	}
	members, err := s.Members(ctx, "TEAM")
	if err != nil || len(members) != 2 || members[0].User != "tester" || members[0].Role != repos.RoleOwner || members[1].User != "dev" {
		t.Errorf("Members(TEAM) = %+v, %v; want the owner tester, then dev", members, err)
	}
	if _, err := s.Members(ctx, "nope"); !errors.Is(err, repos.ErrNotFound) {
		t.Errorf("Members(nope) = %v; want ErrNotFound", err)
	}
	for _, tc := range []struct {
		user      string
		role      repos.Role
		isProject bool
	}{{"dev", repos.RoleDeveloper, true}, {"outsider", repos.RoleNone, true}} {
		if role, isProject, err := s.ProjectRole(ctx, "team", tc.user); err != nil || role != tc.role || isProject != tc.isProject {
			t.Errorf("ProjectRole(team, %s) = %v %v %v; want %v %v", tc.user, role, isProject, err, tc.role, tc.isProject)
		}
	}
	if role, isProject, err := s.ProjectRole(ctx, "tester", "tester"); err != nil || role != repos.RoleNone || isProject {
		t.Errorf("ProjectRole(tester, tester) = %v %v %v; want no project", role, isProject, err)
	}
	list, err := s.ListProjects(ctx, "dev")
	if err != nil || len(list) != 1 || list[0].Name != "team" {
		t.Errorf("ListProjects(dev) = %v, %v; want team", list, err)
	}
	if list, err := s.ListProjects(ctx, "outsider"); err != nil || len(list) != 0 {
		t.Errorf("ListProjects(outsider) = %v, %v; want none", list, err)
	}
	if err := s.RemoveMember(ctx, "team", "dev"); err != nil {
		t.Errorf("RemoveMember(team, dev) = %v", err)
	}
}

func TestRepoRecords(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if info, err := s.RepoInfo(ctx, "tester", "none"); err != nil || info.Name != "" || info.Visibility != repos.Private || !info.CreatedAt.IsZero() {
		t.Errorf("RepoInfo(no record) = %+v, %v; want a private one without a name", info, err)
	}
	info := &repos.Info{Description: "d", Visibility: repos.Public}
	if err := s.CreateRepoInfo(ctx, "tester", "Notes", info); err != nil || info.Name != "Notes" || info.CreatedAt.IsZero() {
		t.Fatalf("CreateRepoInfo = %v, %+v", err, info)
	}
	if err := s.CreateRepoInfo(ctx, "TESTER", "notes", &repos.Info{Visibility: repos.Private}); !errors.Is(err, repos.ErrExists) {
		t.Errorf("CreateRepoInfo(case variant) = %v; want ErrExists", err)
	}
	for _, bad := range []*repos.Info{{Visibility: "secret"}, {Visibility: repos.Private, Description: "a\x00b"}} {
		if err := s.CreateRepoInfo(ctx, "tester", "bad", bad); !errors.Is(err, input.ErrInvalid) {
			t.Errorf("CreateRepoInfo(%+v) = %v; want ErrInvalid", bad, err)
		}
		if err := s.SaveRepoInfo(ctx, "tester", "notes", bad); !errors.Is(err, input.ErrInvalid) {
			t.Errorf("SaveRepoInfo(%+v) = %v; want ErrInvalid", bad, err)
		}
	}
	if err := s.SaveRepoInfo(ctx, "tester", "NOTES", &repos.Info{Description: "e", Visibility: repos.Private}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RepoInfo(ctx, "Tester", "notes")
	if err != nil || got.Name != "Notes" || got.Description != "e" || got.Visibility != repos.Private || !got.CreatedAt.Equal(info.CreatedAt) {
		t.Errorf("RepoInfo after SaveRepoInfo = %+v, %v; want Notes, e, private, created at %v", got, err, info.CreatedAt)
	}
	if err := s.DeleteRepoInfo(ctx, "tester", "NOTES"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRepoInfo(ctx, "tester", "notes"); err != nil {
		t.Errorf("DeleteRepoInfo(no record) = %v; want nil", err)
	}
	if got, err := s.RepoInfo(ctx, "tester", "notes"); err != nil || got.Name != "" {
		t.Errorf("RepoInfo after delete = %+v, %v; want no record", got, err)
	}
}
