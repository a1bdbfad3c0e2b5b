package repos

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/depot/depot/auth"
)

// Action is what a caller wants to do with a repository.
type Action int

// The actions a permission check distinguishes.
const (
	Read   Action = iota // clone, fetch, read over the API
	Write                // push, create and delete branches
	Manage               // change settings, delete the repository, create repositories in a project
)

func (a Action) String() string {
	switch a {
	case Write:
		return "write"
	case Manage:
		return "manage"
	}
	return "read"
}

// The refusals of Policy.Open besides ErrNotFound, which stands for a
// repository the caller may not learn of as much as for a missing one.
// Each comes in a *DeniedError.
var (
	// ErrForbidden: the caller may read the repository, or knows it is
	// public, but may not perform the action.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated: an anonymous caller may not perform the action
	// on a public repository; credentials might allow it.
	ErrUnauthenticated = errors.New("authentication required")
)

// DeniedError is Policy.Open's refusal of a repository that the caller
// may know exists. It names the repository as registered and the action,
// for the surface to put in its answer, and wraps the reason: ErrForbidden
// or ErrUnauthenticated.
type DeniedError struct {
	Repo   *Repo
	Action Action
	Err    error
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("repos: %s %s: %v", e.Action, e.Repo.FullName(), e.Err)
}

// Unwrap returns the reason, ErrForbidden or ErrUnauthenticated.
func (e *DeniedError) Unwrap() error { return e.Err }

// Namespaces answers what the permission function needs to know about
// owners, projects and repositories; repos/projects implements it. Its
// errors other than those named here are the store failing.
type Namespaces interface {
	// ProjectRole returns user's role in project, RoleNone for a
	// non-member; isProject is false when no project has that name (it is
	// then a user's namespace, or nothing).
	ProjectRole(ctx context.Context, project, user string) (role Role, isProject bool, err error)
	// RepoInfo returns the record of owner/name, names compared
	// case-insensitively, with the name the repository was created with;
	// without a record (a repository placed by hand, or none) an Info
	// without a Name, Private, and no error.
	RepoInfo(ctx context.Context, owner, name string) (*Info, error)
	// Namespace returns what holds the namespace name ("user" or
	// "project") and the name as registered; an error wrapping
	// ErrNotFound when nothing does.
	Namespace(ctx context.Context, name string) (kind, canonical string, err error)
}

// Policy is the one permission function that every surface asks: Open for
// a repository, OwnerRole for a namespace.
type Policy struct {
	ns  Namespaces
	dir *Dir
}

// NewPolicy returns the Policy over ns for the repositories in dir.
func NewPolicy(ns Namespaces, dir *Dir) *Policy { return &Policy{ns: ns, dir: dir} }

// Open returns the repository owner/name when id may perform act on it:
// the one way every surface opens a repository that a caller names, git
// and the API alike. Names are matched case-insensitively (Canonical) and
// the repository comes back as registered.
//
//   - Site admins may do everything.
//   - In a user's namespace, its owner may do everything.
//   - In a project, viewers read, developers also write, admins and
//     owners also manage.
//   - Anyone, anonymous included, reads a public repository; nobody
//     writes anonymously.
//   - Whoever may not read a private repository does not see it.
//   - A token whose rules (auth.Rules) name no pattern that matches the
//     repository does not see it, whatever its user may do.
//
// Otherwise the error says why, and each surface answers it in its own
// shape:
//
//   - a *input.ValidationError for a malformed owner or name, found
//     before any lookup;
//   - an error wrapping ErrNotFound when the repository does not exist
//     or id may not read it, which id may not tell apart;
//   - a *DeniedError wrapping ErrUnauthenticated when id is anonymous and
//     may read the repository (it is public) but not perform act;
//   - a *DeniedError wrapping ErrForbidden when id may read the
//     repository but not perform act;
//   - any other error: the store or the disk failing, which refuses.
//
// A repository that does not exist is refused only after the very lookups
// that an existing one costs: the store is asked the same questions in the
// same order either way, so that the time of a refusal does not tell a
// private repository from a missing one.
func (p *Policy) Open(ctx context.Context, id *auth.Identity, owner, name string, act Action) (*Repo, error) {
	if err := ValidateOwner(owner); err != nil {
		return nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	owner, name, info, err := p.Canonical(ctx, owner, name)
	if err != nil {
		return nil, err
	}
	repo, openErr := p.dir.Open(owner, name)
	denied, err := p.decide(ctx, id, owner, info.Visibility, act)
	switch {
	case err != nil:
		return nil, err
	case openErr != nil: // ErrNotFound for a missing one, after the same work
		return nil, openErr
	case !id.Rules.AllowsRepo(owner, name):
		// A token's rules hide what they do not name, admins' tokens too.
		return nil, fmt.Errorf("repos: open %s/%s: %w", owner, name, ErrNotFound)
	case errors.Is(denied, ErrNotFound):
		return nil, fmt.Errorf("repos: open %s/%s: %w", owner, name, ErrNotFound)
	case denied != nil:
		return nil, &DeniedError{Repo: repo, Action: act, Err: denied}
	}
	return repo, nil
}

// decide applies Open's rules to a repository of owner with visibility
// vis: denied is nil when id may perform act, else ErrNotFound (id may not
// read it), ErrUnauthenticated or ErrForbidden. err is the store failing.
func (p *Policy) decide(ctx context.Context, id *auth.Identity, owner string, vis Visibility, act Action) (denied, err error) {
	if id.Admin {
		return nil, nil
	}
	role := RoleNone
	if !id.Anonymous() {
		if role, err = p.OwnerRole(ctx, id, owner); err != nil {
			return nil, err
		}
	}
	need := map[Action]Role{Read: RoleViewer, Write: RoleDeveloper, Manage: RoleAdmin}[act]
	switch {
	case role >= need, act == Read && vis == Public:
		return nil, nil
	case role < RoleViewer && vis != Public:
		return ErrNotFound, nil
	case id.Anonymous():
		return ErrUnauthenticated, nil
	}
	return ErrForbidden, nil
}

// Canonical returns owner/name as they were registered, so that every
// surface finds /Tester/Hello in tester's repository hello: the owner as
// its user or project holds it, and the name as the repository was
// created with, from its record. A name without a record (a repository
// placed by hand, or none) comes back as given. info is the record.
func (p *Policy) Canonical(ctx context.Context, owner, name string) (string, string, *Info, error) {
	owner = p.CanonicalOwner(ctx, owner)
	info, err := p.ns.RepoInfo(ctx, owner, name)
	if err != nil {
		return "", "", nil, fmt.Errorf("repos: record of %s/%s: %w", owner, name, err)
	}
	if info.Name != "" {
		name = info.Name
	}
	return owner, name, info, nil
}

// CanonicalOwner returns owner as its user or project registered it, so
// that every surface finds /Tester/x in tester's namespace; a name that no
// one holds comes back unchanged.
func (p *Policy) CanonicalOwner(ctx context.Context, owner string) string {
	if _, canon, err := p.ns.Namespace(ctx, owner); err == nil {
		return canon
	}
	return owner
}

// OwnerRole returns the caller's role in the namespace owner: RoleOwner in
// its own namespace and for site admins, its membership in a project, and
// RoleNone otherwise. An error is the store failing.
func (p *Policy) OwnerRole(ctx context.Context, id *auth.Identity, owner string) (Role, error) {
	switch {
	case id.Anonymous():
		return RoleNone, nil
	case id.Admin, strings.EqualFold(id.User, owner):
		return RoleOwner, nil
	}
	role, _, err := p.ns.ProjectRole(ctx, owner, id.User)
	if err != nil {
		return RoleNone, fmt.Errorf("repos: role of %s in %s: %w", id.User, owner, err)
	}
	return role, nil
}
