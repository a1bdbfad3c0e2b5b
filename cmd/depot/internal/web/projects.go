package web

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gorilla/mux"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/repos"
)

// The namespace and project pages: a user's or a project's page, a
// project's members (managed by its owners and admins, by the rules of
// repos.CheckMemberChange), and the forms that create a repository or a
// project. Who sees what is repos.Policy's decision, as for git and the
// API: a project is seen by its members only, and a user's page lists
// the repositories the visitor may read.

// repoRow is a repository as a namespace page lists it.
type repoRow struct {
	*repos.Repo
	Info *repos.Info
}

// memberRow is a member as the project page lists them, with what the
// visitor may do to them.
type memberRow struct {
	repos.Member
	Self      bool
	CanChange bool // the visitor may give them another role
	CanRemove bool
}

type namespaceData struct {
	Kind        string // "user" or "project"
	Name        string
	DisplayName string
	Description string
	Role        repos.Role // the visitor's
	Manage      bool       // the visitor manages members and repositories
	Members     []memberRow
	Repos       []repoRow
	Roles       []string // the roles the visitor may grant
	Base        string
}

// notFound is the answer for anything a visitor may not learn exists.
var notFound = apierr.Errorf(apierr.NotFound, "not found")

func (s *Server) namespace(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["owner"]
	if !input.ValidNamespace(name) {
		return notFound
	}
	kind, canon, err := s.projects.Namespace(r.Context(), name)
	if errors.Is(err, repos.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	if canon != name {
		http.Redirect(w, r, "/"+canon, http.StatusMovedPermanently)
		return nil
	}
	id := auth.FromContext(r.Context())
	role, err := s.policy.OwnerRole(r.Context(), id, canon)
	if err != nil {
		return err
	}
	d := &namespaceData{Kind: kind, Name: canon, Role: role, Base: cloneBase(r)}
	if kind == "project" {
		if role < repos.RoleViewer {
			return notFound // non-members do not see a project, as in the API
		}
		if err := s.fillProject(r, d, id); err != nil {
			return err
		}
	} else {
		u, err := s.store.UserByName(r.Context(), canon)
		if err != nil {
			return err
		}
		d.DisplayName = u.Name
		d.Manage = role >= repos.RoleOwner
	}
	list, err := s.dir.List(canon)
	if err != nil {
		return err
	}
	sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].Name) < strings.ToLower(list[j].Name) })
	for _, repo := range list {
		// Policy.Open decides, for each repository, as git would.
		if _, err := s.policy.Open(r.Context(), id, repo.Owner, repo.Name, repos.Read); err != nil {
			if errors.Is(err, repos.ErrNotFound) {
				continue
			}
			return err
		}
		info, err := s.projects.RepoInfo(r.Context(), repo.Owner, repo.Name)
		if err != nil {
			return err
		}
		d.Repos = append(d.Repos, repoRow{Repo: repo, Info: info})
	}
	p := newPage(r, "", "", d)
	p.Title = canon
	if v := visitorOf(r); v.signedIn() {
		s.takeNotice(r, p)
	}
	return s.render(w, http.StatusOK, "namespace", p)
}

func (s *Server) fillProject(r *http.Request, d *namespaceData, id *auth.Identity) error {
	proj, err := s.projects.Project(r.Context(), d.Name)
	if err != nil {
		return err
	}
	d.DisplayName, d.Description = proj.DisplayName, proj.Description
	d.Manage = d.Role >= repos.RoleAdmin
	members, err := s.projects.Members(r.Context(), d.Name)
	if err != nil {
		return err
	}
	for _, m := range members {
		self := strings.EqualFold(m.User, id.User)
		row := memberRow{Member: m, Self: self}
		row.CanRemove = repos.CheckMemberChange(d.Name, d.Role, m.Role, repos.RoleNone, self) == nil
		row.CanChange = repos.CheckMemberChange(d.Name, d.Role, m.Role, repos.RoleViewer, self) == nil
		d.Members = append(d.Members, row)
	}
	for _, role := range []repos.Role{repos.RoleViewer, repos.RoleDeveloper, repos.RoleAdmin, repos.RoleOwner} {
		if repos.CheckMemberChange(d.Name, d.Role, repos.RoleNone, role, false) == nil {
			d.Roles = append(d.Roles, role.String())
		}
	}
	return nil
}

// projectRole loads the project of the path and the visitor's role in it;
// a project the visitor is not a member of is not found.
func (s *Server) projectRole(r *http.Request) (*repos.Project, repos.Role, error) {
	proj, err := s.projects.Project(r.Context(), mux.Vars(r)["project"])
	if errors.Is(err, repos.ErrNotFound) {
		return nil, 0, notFound
	}
	if err != nil {
		return nil, 0, err
	}
	role, err := s.policy.OwnerRole(r.Context(), auth.FromContext(r.Context()), proj.Name)
	if err != nil {
		return nil, 0, err
	}
	if role < repos.RoleViewer {
		return nil, 0, notFound
	}
	return proj, role, nil
}

// currentRole returns user's role in project, RoleNone for a non-member.
func (s *Server) currentRole(r *http.Request, project, user string) (repos.Role, error) {
	members, err := s.projects.Members(r.Context(), project)
	if err != nil {
		return repos.RoleNone, err
	}
	for _, m := range members {
		if strings.EqualFold(m.User, user) {
			return m.Role, nil
		}
	}
	return repos.RoleNone, nil
}

// refuse sends the visitor back to the project page with why nothing
// changed.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, project, msg string) error {
	v := visitorOf(r)
	s.flashes.put(v.sess.ID, flash{Notice: "project.refused", Arg: msg, Bad: true, at: s.now()})
	http.Redirect(w, r, "/"+project, http.StatusSeeOther)
	return nil
}

// setMember adds a member or changes a role.
func (s *Server) setMember(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	proj, mine, err := s.projectRole(r)
	if err != nil {
		return err
	}
	user := strings.TrimSpace(r.PostFormValue("user"))
	next, err := repos.ParseRole(r.PostFormValue("role"))
	if err != nil || user == "" {
		return s.refuse(w, r, proj.Name, v.lang.t("project.badMember"))
	}
	old, err := s.currentRole(r, proj.Name, user)
	if err != nil {
		return err
	}
	if err := repos.CheckMemberChange(proj.Name, mine, old, next, strings.EqualFold(user, v.user.GlobalKey)); err != nil {
		return s.refuse(w, r, proj.Name, err.Error())
	}
	err = s.projects.SetMember(r.Context(), proj.Name, user, next)
	switch {
	case errors.Is(err, repos.ErrNotFound):
		return s.refuse(w, r, proj.Name, v.lang.t("project.noUser", user))
	case errors.Is(err, repos.ErrLastOwner):
		return s.refuse(w, r, proj.Name, v.lang.t("project.lastOwner"))
	case err != nil:
		return err
	}
	switch {
	case old == repos.RoleNone:
		s.record(r, audit.MemberAdd, proj.Name, user, "role "+next.String())
	case old != next:
		s.record(r, audit.MemberRole, proj.Name, user, "role "+old.String()+" -> "+next.String())
	}
	s.flashes.put(v.sess.ID, flash{Notice: "project.memberSet", Arg: user + " · " + next.String(), at: s.now()})
	http.Redirect(w, r, "/"+proj.Name, http.StatusSeeOther)
	return nil
}

// removeMember removes a member, or lets the visitor leave.
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	proj, mine, err := s.projectRole(r)
	if err != nil {
		return err
	}
	user := mux.Vars(r)["user"]
	self := strings.EqualFold(user, v.user.GlobalKey)
	old, err := s.currentRole(r, proj.Name, user)
	if err != nil {
		return err
	}
	if old == repos.RoleNone {
		return notFound
	}
	if err := repos.CheckMemberChange(proj.Name, mine, old, repos.RoleNone, self); err != nil {
		return s.refuse(w, r, proj.Name, err.Error())
	}
	if ok, err := s.confirm(w, r, v.lang.t("project.removeQ", user, proj.Name), "project.remove", "/"+proj.Name); !ok {
		return err
	}
	err = s.projects.RemoveMember(r.Context(), proj.Name, user)
	switch {
	case errors.Is(err, repos.ErrLastOwner):
		return s.refuse(w, r, proj.Name, v.lang.t("project.lastOwner"))
	case errors.Is(err, repos.ErrNotFound):
		return notFound
	case err != nil:
		return err
	}
	s.record(r, audit.MemberRemove, proj.Name, user, "role "+old.String())
	if self {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	s.flashes.put(v.sess.ID, flash{Notice: "project.memberRemoved", Arg: user, at: s.now()})
	http.Redirect(w, r, "/"+proj.Name, http.StatusSeeOther)
	return nil
}

// simpleForm is the new repository and new project forms: the fields as
// typed, and a message next to each field that is wrong.
type simpleForm struct {
	Fields map[string]string
	Errors map[string]string
	Owners []string // the namespaces where the visitor may create a repository
}

// repoOwners returns the visitor's own namespace and the projects where
// they may create repositories (admin and up).
func (s *Server) repoOwners(r *http.Request) ([]string, error) {
	v := visitorOf(r)
	owners := []string{v.user.GlobalKey}
	projects, err := s.projects.ListProjects(r.Context(), v.user.GlobalKey)
	if err != nil {
		return nil, err
	}
	id := auth.FromContext(r.Context())
	for _, p := range projects {
		role, err := s.policy.OwnerRole(r.Context(), id, p.Name)
		if err != nil {
			return nil, err
		}
		if role >= repos.RoleAdmin {
			owners = append(owners, p.Name)
		}
	}
	return owners, nil
}

func (s *Server) newRepoForm(w http.ResponseWriter, r *http.Request) error {
	owners, err := s.repoOwners(r)
	if err != nil {
		return err
	}
	f := &simpleForm{Fields: map[string]string{"owner": r.URL.Query().Get("owner"), "visibility": "private"}, Owners: owners}
	return s.render(w, http.StatusOK, "repo_form", newPage(r, "repo.newTitle", "repos", f))
}

func (s *Server) createRepo(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	owners, err := s.repoOwners(r)
	if err != nil {
		return err
	}
	f := &simpleForm{Fields: map[string]string{}, Errors: map[string]string{}, Owners: owners}
	for _, k := range []string{"owner", "name", "description", "visibility"} {
		f.Fields[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	p := newPage(r, "repo.newTitle", "repos", f)
	owner := ""
	for _, o := range owners {
		if strings.EqualFold(o, f.Fields["owner"]) {
			owner = o
		}
	}
	if owner == "" {
		f.Errors["owner"] = v.lang.t("repo.badOwner")
	}
	if f.Fields["name"] == "" {
		f.Errors["name"] = v.lang.t("repo.nameRequired")
	} else if err := repos.ValidateName(f.Fields["name"]); err != nil {
		f.Errors["name"] = v.lang.t("repo.badName")
	}
	if input.CheckDescription("description", f.Fields["description"]) != nil {
		f.Errors["description"] = v.lang.t("err.descriptionLong")
	}
	vis := repos.Private
	if f.Fields["visibility"] == "public" {
		vis = repos.Public
	}
	if len(f.Errors) == 0 {
		repo, err := s.dir.CreateWithRecord(r.Context(), s.projects, owner, f.Fields["name"], repos.CreateOptions{},
			&repos.Info{Description: f.Fields["description"], Visibility: vis})
		var ve *input.ValidationError
		switch {
		case errors.Is(err, repos.ErrExists):
			f.Errors["name"] = v.lang.t("repo.exists")
		case errors.As(err, &ve):
			f.Errors[ve.Field] = ve.Msg
		case err != nil:
			return fmt.Errorf("create repository %s/%s: %w", owner, f.Fields["name"], err)
		default:
			s.record(r, audit.RepoCreate, repo.FullName(), repo.Owner, string(vis))
		}
	}
	if len(f.Errors) > 0 {
		p.Notice, p.Bad = p.T("err.form"), true
		return s.render(w, http.StatusBadRequest, "repo_form", p)
	}
	s.flashes.put(v.sess.ID, flash{Notice: "repo.created", Arg: owner + "/" + f.Fields["name"], at: s.now()})
	http.Redirect(w, r, "/"+owner, http.StatusSeeOther)
	return nil
}

func (s *Server) newProjectForm(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, http.StatusOK, "project_form", newPage(r, "project.newTitle", "repos", &simpleForm{Fields: map[string]string{}}))
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	f := &simpleForm{Fields: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"name", "displayName", "description"} {
		f.Fields[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	p := newPage(r, "project.newTitle", "repos", f)
	proj := &repos.Project{Name: f.Fields["name"], DisplayName: f.Fields["displayName"], Description: f.Fields["description"]}
	if proj.Name == "" {
		f.Errors["name"] = v.lang.t("repo.nameRequired")
	} else {
		err := s.projects.CreateProject(r.Context(), proj, v.user.GlobalKey)
		var ve *input.ValidationError
		switch {
		case errors.Is(err, repos.ErrExists):
			f.Errors["name"] = v.lang.t("project.exists")
		case errors.As(err, &ve):
			f.Errors[ve.Field] = ve.Msg
		case err != nil:
			return fmt.Errorf("create project %s: %w", proj.Name, err)
		default:
			s.record(r, audit.ProjectCreate, proj.Name, v.user.GlobalKey, "")
		}
	}
	if len(f.Errors) > 0 {
		p.Notice, p.Bad = p.T("err.form"), true
		return s.render(w, http.StatusBadRequest, "project_form", p)
	}
	s.flashes.put(v.sess.ID, flash{Notice: "project.created", Arg: proj.Name, at: s.now()})
	http.Redirect(w, r, "/"+proj.Name, http.StatusSeeOther)
	return nil
}
