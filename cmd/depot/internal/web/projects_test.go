package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/depot/depot/repos"
	"github.com/depot/depot/tokens"
)

// TestProjectPages: a project made with the form, its members managed on
// its page by the rules of repos.CheckMemberChange, repositories made in
// it, and pages that show only what the visitor may see.
func TestProjectPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.CreateUser(ctx, &tokens.User{GlobalKey: "third"}, "third-password"); err != nil {
		t.Fatal(err)
	}
	owner, other, third := f.browser(t), f.browser(t), f.browser(t)
	csrf, ocsrf := owner.signIn("tester"), other.signIn("other")
	third.signIn("third")

	// The project form: a reserved name is refused next to the field.
	code, _, body := owner.do("POST", "/new/project", url.Values{"csrf": {csrf}, "name": {"login"}, "displayName": {"Team"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `id="name-error"`) || !strings.Contains(body, `value="Team"`) {
		t.Fatalf("reserved project name = %d; want 400 with the error by the field and the form kept:\n%s", code, body)
	}
	if code, loc, _ := owner.do("POST", "/new/project", url.Values{"csrf": {csrf}, "name": {"team"}, "displayName": {"The Team"}}); code != http.StatusSeeOther || loc != "/team" {
		t.Fatalf("create project = %d → %q; want 303 → /team", code, loc)
	}
	if code, _, body := owner.get("/team"); code != 200 || !strings.Contains(body, "The Team") || !strings.Contains(body, `data-user="tester"`) {
		t.Fatalf("project page = %d; want the project with tester as a member:\n%s", code, body)
	}
	// Non-members do not see it, signed in or not.
	if code, _, _ := third.get("/team"); code != http.StatusNotFound {
		t.Errorf("non-member GET /team = %d; want 404", code)
	}
	if code, _, _ := f.browser(t).get("/team"); code != http.StatusNotFound {
		t.Errorf("anonymous GET /team = %d; want 404", code)
	}

	// The owner adds other as a developer.
	if code, loc, _ := owner.do("POST", "/settings/projects/team/members", url.Values{"csrf": {csrf}, "user": {"other"}, "role": {"developer"}}); code != http.StatusSeeOther || loc != "/team" {
		t.Fatalf("add member = %d → %q", code, loc)
	}
	role := func(user string) repos.Role {
		t.Helper()
		members, err := f.projectStore.Members(ctx, "team")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if m.User == user {
				return m.Role
			}
		}
		return repos.RoleNone
	}
	if role("other") != repos.RoleDeveloper {
		t.Fatalf("other's role = %s; want developer", role("other"))
	}
	// A developer manages nobody: the page says why, nothing changes.
	other.do("POST", "/settings/projects/team/members", url.Values{"csrf": {ocsrf}, "user": {"third"}, "role": {"viewer"}})
	if _, _, body := other.get("/team"); role("third") != repos.RoleNone || !strings.Contains(body, "Nothing changed: this needs the admin role") {
		t.Fatalf("developer adding a member: third is %s; want no member and the reason shown:\n%s", role("third"), body)
	}
	// Nor may a developer create repositories in the project.
	if code, _, body := other.do("POST", "/new", url.Values{"csrf": {ocsrf}, "owner": {"team"}, "name": {"app"}}); code != http.StatusBadRequest || !strings.Contains(body, "Choose yourself or a project you administer.") {
		t.Fatalf("developer creating team/app = %d; want 400 naming the owner field", code)
	}
	// The owner does, public; and a bad name is refused by its field.
	if code, _, body := owner.do("POST", "/new", url.Values{"csrf": {csrf}, "owner": {"team"}, "name": {"bad name"}}); code != http.StatusBadRequest || !strings.Contains(body, `id="name-error"`) {
		t.Fatalf("bad repository name = %d; want 400 with the error by the field", code)
	}
	if code, loc, _ := owner.do("POST", "/new", url.Values{"csrf": {csrf}, "owner": {"team"}, "name": {"app"}, "visibility": {"public"}, "description": {"the app"}}); code != http.StatusSeeOther || loc != "/team" {
		t.Fatalf("create team/app = %d → %q", code, loc)
	}
	if code, _, _ := owner.do("POST", "/new", url.Values{"csrf": {csrf}, "owner": {"team"}, "name": {"APP"}}); code != http.StatusBadRequest {
		t.Fatalf("case variant of team/app = %d; want 400", code)
	}
	if _, _, body := other.get("/team"); !strings.Contains(body, `team/<a href="/team/app"><strong>app</strong></a>`) || !strings.Contains(body, "/team/app.git") {
		t.Fatalf("project page lacks team/app for a member:\n%s", body)
	}

	// A user's page lists what the visitor may read: private ones only to
	// the owner.
	if _, _, body := owner.get("/tester"); !strings.Contains(body, `tester/<a href="/tester/hello"><strong>hello</strong></a>`) {
		t.Fatalf("tester's own page lacks tester/hello:\n%s", body)
	}
	if code, _, body := third.get("/tester"); code != 200 || strings.Contains(body, "hello") {
		t.Fatalf("third on tester's page = %d; want 200 without the private tester/hello:\n%s", code, body)
	}
	if code, loc, _ := third.get("/TESTER"); code != http.StatusMovedPermanently || loc != "/tester" {
		t.Errorf("GET /TESTER = %d → %q; want a redirect to /tester", code, loc)
	}
	if code, _, _ := third.get("/nobody"); code != http.StatusNotFound {
		t.Errorf("GET /nobody = %d; want 404", code)
	}

	// Removing asks first, then removes; a member may leave on their own.
	if code, _, body := owner.do("POST", "/settings/projects/team/members/other/delete", url.Values{"csrf": {csrf}}); code != 200 || !strings.Contains(body, "Remove other from team?") || role("other") != repos.RoleDeveloper {
		t.Fatalf("unconfirmed removal = %d; want the question and other kept", code)
	}
	if code, _, _ := other.do("POST", "/settings/projects/team/members/other/delete", url.Values{"csrf": {ocsrf}, "confirmed": {"1"}}); code != http.StatusSeeOther || role("other") != repos.RoleNone {
		t.Fatalf("leaving = %d, role %s; want 303 and no membership", code, role("other"))
	}
	// The last owner stays.
	owner.do("POST", "/settings/projects/team/members/tester/delete", url.Values{"csrf": {csrf}, "confirmed": {"1"}})
	if role("tester") != repos.RoleOwner {
		t.Fatalf("the last owner left: role %s", role("tester"))
	}
}
