package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/repos"
	"github.com/gorilla/mux"
)

type projectView struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	CreatedAt   int64  `json:"created_at"`
	Role        string `json:"role,omitempty"` // the caller's
}

func viewProject(p *repos.Project, role repos.Role) projectView {
	return projectView{Name: p.Name, DisplayName: p.DisplayName, Description: p.Description,
		CreatedAt: p.CreatedAt.UnixMilli(), Role: role.String()}
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	id, err := caller(r, auth.ScopeProject)
	if err != nil {
		return err
	}
	pg, err := readPaging(r)
	if err != nil {
		return err
	}
	member := id.User
	if id.Admin {
		member = ""
	}
	list, err := s.store.ListProjects(r.Context(), member)
	if err != nil {
		return err
	}
	page := pageOf(list, pg)
	out := make([]projectView, 0, len(page))
	for _, p := range page {
		role, err := s.policy.OwnerRole(r.Context(), id, p.Name)
		if err != nil {
			return err
		}
		out = append(out, viewProject(p, role))
	}
	writePage(w, "projects", pg, len(list), out)
	return nil
}

type projectRequest struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	id, err := caller(r, auth.ScopeProjectMembers)
	if err != nil {
		return err
	}
	var req projectRequest
	if err := apierr.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return apierr.Errorf(apierr.Invalid, "name: required")
	}
	p := &repos.Project{Name: req.Name, DisplayName: req.DisplayName, Description: req.Description}
	if err := s.store.CreateProject(r.Context(), p, id.User); err != nil {
		if e := storeError(err, ""); apierr.KindOf(e) == apierr.Conflict {
			return apierr.Errorf(apierr.Conflict, "name: %q is taken by a user or project", req.Name)
		}
		return storeError(err, "user not found")
	}
	s.record(r, audit.ProjectCreate, p.Name, id.User, "")
	apierr.WriteJSON(w, http.StatusCreated, viewProject(p, repos.RoleOwner))
	return nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	p, _, role, err := s.projectAccess(r, auth.ScopeProject, repos.RoleViewer)
	if err != nil {
		return err
	}
	apierr.WriteJSON(w, http.StatusOK, viewProject(p, role))
	return nil
}

type memberView struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	Since    int64  `json:"created_at"`
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	p, _, _, err := s.projectAccess(r, auth.ScopeProject, repos.RoleViewer)
	if err != nil {
		return err
	}
	pg, err := readPaging(r)
	if err != nil {
		return err
	}
	members, err := s.store.Members(r.Context(), p.Name)
	if err != nil {
		return storeError(err, "project not found")
	}
	page := pageOf(members, pg)
	out := make([]memberView, len(page))
	for i, m := range page {
		out[i] = viewMember(m)
	}
	writePage(w, "members", pg, len(members), out)
	return nil
}

func viewMember(m repos.Member) memberView {
	return memberView{Username: m.User, Role: m.Role.String(), Since: m.Since.UnixMilli()}
}

type roleRequest struct {
	Role string `json:"role"`
}

// currentRole returns user's role in project, RoleNone for non-members.
func (s *Server) currentRole(r *http.Request, project, user string) (repos.Role, error) {
	members, err := s.store.Members(r.Context(), project)
	if err != nil {
		return repos.RoleNone, storeError(err, "project not found")
	}
	for _, m := range members {
		if strings.EqualFold(m.User, user) {
			return m.Role, nil
		}
	}
	return repos.RoleNone, nil
}

// setMember adds a member or changes a role. Admins manage members below
// owner; only owners (and site admins) grant or take the owner role.
func (s *Server) setMember(w http.ResponseWriter, r *http.Request) error {
	p, id, myRole, err := s.projectAccess(r, auth.ScopeProjectMembers, repos.RoleAdmin)
	if err != nil {
		return err
	}
	var req roleRequest
	if err := apierr.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	role, err := repos.ParseRole(req.Role)
	if err != nil {
		return apierr.Errorf(apierr.Invalid, "role: must be owner, admin, developer or viewer")
	}
	user := mux.Vars(r)["user"]
	old, err := s.currentRole(r, p.Name, user)
	if err != nil {
		return err
	}
	if err := repos.CheckMemberChange(p.Name, myRole, old, role, strings.EqualFold(id.User, user)); err != nil {
		return apierr.Wrap(apierr.Forbidden, err, err.Error())
	}
	if err := s.store.SetMember(r.Context(), p.Name, user, role); err != nil {
		return storeError(err, "user "+user+" not found")
	}
	switch {
	case old == repos.RoleNone:
		s.record(r, audit.MemberAdd, p.Name, user, "role "+role.String())
	case old != role:
		s.record(r, audit.MemberRole, p.Name, user, "role "+old.String()+" -> "+role.String())
	}
	// Answer with the record as stored: the user's own spelling of the
	// name and the time they joined, which a role change keeps.
	members, err := s.store.Members(r.Context(), p.Name)
	if err != nil {
		return err
	}
	for _, m := range members {
		if strings.EqualFold(m.User, user) {
			apierr.WriteJSON(w, http.StatusOK, viewMember(m))
			return nil
		}
	}
	return fmt.Errorf("api: member %s of %s vanished after it was set", user, p.Name)
}

// removeMember removes a member; a member may always leave.
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	user := mux.Vars(r)["user"]
	id := auth.FromContext(r.Context())
	need := repos.RoleAdmin
	if strings.EqualFold(id.User, user) {
		need = repos.RoleViewer
	}
	p, _, myRole, err := s.projectAccess(r, auth.ScopeProjectMembers, need)
	if err != nil {
		return err
	}
	old, err := s.currentRole(r, p.Name, user)
	if err != nil {
		return err
	}
	if old == repos.RoleNone {
		return apierr.Errorf(apierr.NotFound, "%s is not a member of %s", user, p.Name)
	}
	if err := repos.CheckMemberChange(p.Name, myRole, old, repos.RoleNone, strings.EqualFold(id.User, user)); err != nil {
		return apierr.Wrap(apierr.Forbidden, err, err.Error())
	}
	if err := s.store.RemoveMember(r.Context(), p.Name, user); err != nil {
		return storeError(err, user+" is not a member of "+p.Name)
	}
	s.record(r, audit.MemberRemove, p.Name, user, "role "+old.String())
	apierr.WriteJSON(w, http.StatusOK, map[string]int{"deleted": 1})
	return nil
}
