package repos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/input"
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

// Decision is the answer of a permission check.
type Decision int

// The possible decisions. Hidden means the caller may not even learn that
// the repository exists: surfaces answer it as not found.
const (
	Hidden Decision = iota
	Forbidden
	Allowed
)

// Role is a member's role in a project, weakest first.
type Role int

// The roles of docs/api.md ("Projects and members"). RoleNone is a non-member.
const (
	RoleNone Role = iota
	RoleViewer
	RoleDeveloper
	RoleAdmin
	RoleOwner
)

var roleNames = [...]string{RoleNone: "", RoleViewer: "viewer", RoleDeveloper: "developer", RoleAdmin: "admin", RoleOwner: "owner"}

func (r Role) String() string { return roleNames[r] }

// ParseRole reads a role name. It returns a *input.ValidationError naming
// "role" for anything but owner, admin, developer or viewer.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if n != "" && n == s {
			return Role(r), nil
		}
	}
	return RoleNone, input.Invalid("role", "must be owner, admin, developer or viewer")
}

// Visibility says who may read a repository.
type Visibility string

// The visibilities of docs/api.md; repositories are private by default.
const (
	Private Visibility = "private"
	Public  Visibility = "public"
)

// Namespaces answers what the permission function needs to know about
// owners, projects and repositories; the store implements it.
type Namespaces interface {
	// ProjectRole returns user's role in project, RoleNone for a
	// non-member; isProject is false when no project has that name (it is
	// then a user's namespace, or nothing).
	ProjectRole(ctx context.Context, project, user string) (role Role, isProject bool, err error)
	// RepoInfo returns the record of owner/name, names compared
	// case-insensitively, with the name the repository was created with;
	// without a record (a repository placed by hand, or none) an Info
	// without a Name, Private.
	RepoInfo(ctx context.Context, owner, name string) (*Info, error)
	// Namespace returns what holds the namespace name ("user" or
	// "project") and the name as registered; an error when nothing does.
	Namespace(ctx context.Context, name string) (kind, canonical string, err error)
}

// Policy is the one permission function that every surface asks.
type Policy struct {
	ns Namespaces
}

// NewPolicy returns the Policy over ns.
func NewPolicy(ns Namespaces) *Policy { return &Policy{ns: ns} }

// Decide says whether id may perform act on the repository owner/name.
//
//   - Site admins may do everything.
//   - In a user's namespace, its owner may do everything.
//   - In a project, viewers read, developers also write, admins and
//     owners also manage.
//   - Anyone, anonymous included, reads a public repository; nobody
//     writes anonymously.
//   - Whoever may not read a private repository does not see it.
//
// A failing store denies access and returns its error.
func (p *Policy) Decide(ctx context.Context, id *auth.Identity, owner, name string, act Action) (Decision, error) {
	if id.Admin {
		return Allowed, nil
	}
	info, err := p.ns.RepoInfo(ctx, owner, name)
	if err != nil {
		return Hidden, fmt.Errorf("repos: visibility of %s/%s: %w", owner, name, err)
	}
	return p.decide(ctx, id, owner, info.Visibility, act)
}

// decide is Decide once the repository's visibility is known.
func (p *Policy) decide(ctx context.Context, id *auth.Identity, owner string, vis Visibility, act Action) (Decision, error) {
	if id.Admin {
		return Allowed, nil
	}
	role := RoleNone
	if !id.Anonymous() {
		var err error
		if role, err = p.OwnerRole(ctx, id, owner); err != nil {
			return Hidden, err
		}
	}
	need := map[Action]Role{Read: RoleViewer, Write: RoleDeveloper, Manage: RoleAdmin}[act]
	switch {
	case role >= need, act == Read && vis == Public:
		return Allowed, nil
	case role >= RoleViewer || vis == Public:
		return Forbidden, nil
	}
	return Hidden, nil
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

// Open finds the repository owner/name for id to perform act on and says
// whether it may: the one way every surface opens a repository that a
// caller names. Names are matched case-insensitively (Canonical).
//
// A repository that does not exist comes back nil and Hidden, but only
// after the very lookups that an existing one costs: the store is asked
// the same questions in the same order either way, so that the time of a
// refusal does not tell a private repository from a missing one. A
// malformed name is a *input.ValidationError (ValidateOwner, ValidateName),
// found before any lookup.
func (p *Policy) Open(ctx context.Context, d *Dir, id *auth.Identity, owner, name string, act Action) (*Repo, Decision, error) {
	if err := ValidateOwner(owner); err != nil {
		return nil, Hidden, err
	}
	if err := ValidateName(name); err != nil {
		return nil, Hidden, err
	}
	owner, name, info, err := p.Canonical(ctx, owner, name)
	if err != nil {
		return nil, Hidden, err
	}
	repo, openErr := d.Open(owner, name)
	decision, err := p.decide(ctx, id, owner, info.Visibility, act)
	switch {
	case err != nil:
		return nil, Hidden, err
	case errors.Is(openErr, ErrNotFound):
		return nil, Hidden, nil
	case openErr != nil:
		return nil, Hidden, openErr
	}
	return repo, decision, nil
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
// RoleNone otherwise.
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

// Project is a team namespace.
type Project struct {
	Name        string
	DisplayName string
	Description string
	CreatedAt   time.Time
}

// Member is a user's membership of a project.
type Member struct {
	User  string
	Role  Role
	Since time.Time
}

// Info is what depot keeps about a repository beside its git data.
type Info struct {
	Name        string // as created; "" when the store has no record
	Description string
	Visibility  Visibility
	CreatedAt   time.Time // zero for a repository placed by hand
}
