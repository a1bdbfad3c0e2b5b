// Package api serves depot's project and repository API: projects and
// their members, repositories in user and project namespaces, and their
// branches, tags and commits (docs/api.md, "Projects and members",
// "Repositories"). Every permission question goes to repos.Policy.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/repos"
)

// Store is what the handlers keep in the database beside the git data:
// projects, their members and repository records. repos/projects
// implements it; every error wraps one of repos' sentinels, or is a
// *input.ValidationError for bad input, or is the store failing.
type Store interface {
	// CreateRepoInfo and DeleteRepoInfo record and forget a repository,
	// for repos.Dir's CreateWithRecord and DeleteWithRecord.
	repos.Records

	// CreateProject adds p with owner as its first member, role owner,
	// and sets p.CreatedAt. It returns a *input.ValidationError naming
	// "name", "displayName" or "description" for bad input, an error
	// wrapping repos.ErrExists when a user or project holds the name, and
	// one wrapping repos.ErrNotFound when owner is not a user.
	CreateProject(ctx context.Context, p *repos.Project, owner string) error
	// Project returns the project name, compared case-insensitively, or
	// an error wrapping repos.ErrNotFound.
	Project(ctx context.Context, name string) (*repos.Project, error)
	// ListProjects returns the projects member belongs to, or all when
	// member is "", by name.
	ListProjects(ctx context.Context, member string) ([]*repos.Project, error)
	// Members returns the members of project, strongest role first, or an
	// error wrapping repos.ErrNotFound for an unknown project.
	Members(ctx context.Context, project string) ([]repos.Member, error)
	// SetMember gives user the role in project. It returns an error
	// wrapping repos.ErrNotFound for an unknown project or user, and one
	// wrapping repos.ErrLastOwner when it would demote the last owner.
	SetMember(ctx context.Context, project, user string, role repos.Role) error
	// RemoveMember removes user from project. It returns an error
	// wrapping repos.ErrNotFound for an unknown project, user or
	// membership, and one wrapping repos.ErrLastOwner for the last owner.
	RemoveMember(ctx context.Context, project, user string) error
	// RepoInfo returns the record of owner/name (repos.Namespaces).
	RepoInfo(ctx context.Context, owner, name string) (*repos.Info, error)
	// SaveRepoInfo changes the description and visibility of owner/name,
	// recording it if it has none; bad input is a *input.ValidationError.
	SaveRepoInfo(ctx context.Context, owner, name string, info *repos.Info) error
	// PublicRepos returns the names of owner's repositories recorded as
	// public.
	PublicRepos(ctx context.Context, owner string) ([]string, error)
	// RepoPage returns the records and kept stats of the repositories
	// names of owner, in one go.
	RepoPage(ctx context.Context, owner string, names []string) (*repos.Page, error)
	// RepoStats returns the stats kept for owner/name; ok is false when
	// none are, and gen names the state read. SaveRepoStats keeps stats
	// computed after RepoStats answered gen, unless ForgetRepoStats,
	// which whatever changes a repository's refs or packs calls, came
	// in between.
	RepoStats(ctx context.Context, owner, name string) (st repos.Stats, gen int64, ok bool, err error)
	SaveRepoStats(ctx context.Context, owner, name string, gen int64, st repos.Stats) error
	ForgetRepoStats(ctx context.Context, owner, name string) error
}

// Auditor records security events; *audit.Store implements it. Record
// fails only when the database does.
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

// Server holds what the handlers need.
type Server struct {
	store  Store
	dir    *repos.Dir
	policy *repos.Policy
	log    logrus.FieldLogger
	// Audit, when set, records the changes to projects, members and
	// repositories in the audit log.
	Audit Auditor
}

// New returns a Server.
func New(store Store, dir *repos.Dir, policy *repos.Policy, log logrus.FieldLogger) *Server {
	return &Server{store: store, dir: dir, policy: policy, log: log}
}

// Register adds the routes to r, which must run the authentication
// middleware.
func (s *Server) Register(r *mux.Router) {
	const p = "/api/v1/projects/{project}"
	routes := []struct {
		method, path string
		h            func(http.ResponseWriter, *http.Request) error
	}{
		{"GET", "/api/v1/projects", s.listProjects},
		{"POST", "/api/v1/projects", s.createProject},
		{"GET", p, s.getProject},
		{"GET", p + "/members", s.listMembers},
		{"PUT", p + "/members/{user}", s.setMember},
		{"DELETE", p + "/members/{user}", s.removeMember},
		{"GET", p + "/repos", s.listProjectRepos},
		{"POST", p + "/repos", s.createProjectRepo},
		{"GET", "/api/v1/user/repos", s.listUserRepos},
		{"POST", "/api/v1/user/repos", s.createUserRepo},
		{"GET", "/api/v1/repos/{owner}/{repo}", s.getRepo},
		{"PATCH", "/api/v1/repos/{owner}/{repo}", s.patchRepo},
		{"DELETE", "/api/v1/repos/{owner}/{repo}", s.deleteRepo},
	}
	routes = append(routes, s.gitRoutes()...)
	for _, rt := range routes {
		r.HandleFunc(rt.path, s.handle(rt.h)).Methods(rt.method)
	}
}

func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			apierr.Write(w, r, s.log, err)
		}
	}
}

// record writes an event of action by the caller of r to the audit log.
// The change is made already, so a failure to record it is logged, not
// answered.
func (s *Server) record(r *http.Request, action, target, subject, detail string) {
	if s.Audit == nil {
		return
	}
	e := audit.FromRequest(r, auth.FromContext(r.Context()), action)
	e.Target, e.Subject, e.Detail = target, subject, detail
	if err := s.Audit.Record(r.Context(), e); err != nil {
		s.log.WithError(err).WithField("request_id", apierr.RequestID(r.Context())).Error("audit")
	}
}

// storeError maps the store's and the repository directory's sentinels
// to API errors. Bad input, an *input.ValidationError, needs no mapping:
// apierr.Write answers it 400.
func storeError(err error, notFound string) error {
	switch {
	case errors.Is(err, repos.ErrLastOwner):
		return apierr.Wrap(apierr.Conflict, err, "a project keeps at least one owner")
	case errors.Is(err, repos.ErrNotFound):
		return apierr.Wrap(apierr.NotFound, err, notFound)
	case errors.Is(err, repos.ErrExists):
		return apierr.Wrap(apierr.Conflict, err, "already exists")
	}
	return err
}

// caller returns the identity when it is authenticated and, for tokens,
// holds scope.
func caller(r *http.Request, scope string) (*auth.Identity, error) {
	id := auth.FromContext(r.Context())
	return id, id.Require(scope)
}

// projectAccess returns the project named in the path when the caller's
// role in it is at least need. Non-members do not see a project.
func (s *Server) projectAccess(r *http.Request, scope string, need repos.Role) (*repos.Project, *auth.Identity, repos.Role, error) {
	id, err := caller(r, scope)
	if err != nil {
		return nil, nil, 0, err
	}
	name := mux.Vars(r)["project"]
	p, err := s.store.Project(r.Context(), name)
	missing := errors.Is(err, repos.ErrNotFound)
	if err != nil && !missing {
		return nil, nil, 0, storeError(err, "project "+name+" not found")
	}
	// A missing project asks the same questions as one the caller is not
	// a member of, so that the time of the 404 does not tell them apart.
	canonical := name
	if !missing {
		canonical = p.Name
	}
	role, err := s.policy.OwnerRole(r.Context(), id, canonical)
	if err != nil {
		return nil, nil, 0, err
	}
	switch {
	case missing || role < repos.RoleViewer:
		return nil, nil, 0, apierr.Errorf(apierr.NotFound, "project %s not found", name)
	case role < need:
		return nil, nil, 0, apierr.Errorf(apierr.Forbidden, "this needs the %s role in project %s; you are %s", need, p.Name, role)
	}
	return p, id, role, nil
}

// repoAccess returns the repository named in the path when the caller may
// perform act on it. Tokens need scope; anonymous callers may read public
// repositories. Whoever may not read a private repository gets 404.
func (s *Server) repoAccess(r *http.Request, scope string, act repos.Action) (*repos.Repo, *auth.Identity, error) {
	id := auth.FromContext(r.Context())
	if !id.Anonymous() || act != repos.Read {
		if err := id.Require(scope); err != nil {
			return nil, nil, err
		}
	}
	vars := mux.Vars(r)
	owner, name := vars["owner"], strings.TrimSuffix(vars["repo"], ".git")
	repo, err := s.policy.Open(r.Context(), id, owner, name, act)
	if err != nil {
		return nil, nil, accessError(err, owner, name)
	}
	return repo, id, nil
}

// accessError answers a refusal of repos.Policy.Open in the API's shape,
// owner/name being the repository as the path names it: 400 for a
// malformed name, 404 for a repository that is missing or that the caller
// may not see, 401 for an anonymous caller that credentials might let
// through, and 403 naming the action for one the caller sees but may not
// act on. Anything else is the store failing: a 500.
func accessError(err error, owner, name string) error {
	var ve *input.ValidationError
	var de *repos.DeniedError
	switch {
	case errors.As(err, &ve):
		return apierr.Wrap(apierr.Invalid, err, "invalid repository name: "+ve.Msg)
	case errors.Is(err, repos.ErrNotFound):
		return apierr.Wrap(apierr.NotFound, err, fmt.Sprintf("repository %s/%s not found", owner, name))
	case errors.Is(err, repos.ErrUnauthenticated):
		return auth.ErrCredentialsRequired
	case errors.As(err, &de):
		return apierr.Wrap(apierr.Forbidden, err, fmt.Sprintf("you may not %s %s", de.Action, de.Repo.FullName()))
	}
	return err
}
