package repos

import (
	"fmt"
	"time"

	"github.com/depot/depot/auth/input"
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

// Stats is what a listing shows of a repository that is costly to read
// from its git data, kept by the store until something changes it.
type Stats struct {
	Size  int64 // bytes its objects take on disk
	Empty bool  // no branch yet
}

// KeptStats are the Stats a store keeps for one repository: Gen names the
// state they were read in, and Valid is false when none are kept (never
// computed, or forgotten since).
type KeptStats struct {
	Stats
	Gen   int64
	Valid bool
}

// Page is what a listing shows of some repositories of one owner beside
// their git data: their records and kept stats, keyed by the repository's
// name in lower case, absent where there are none.
type Page struct {
	Infos map[string]*Info
	Stats map[string]KeptStats
}

// MemberRuleError is CheckMemberChange's refusal; its text says which rule
// refused, and it matches ErrForbidden.
type MemberRuleError struct{ Msg string }

func (e *MemberRuleError) Error() string { return e.Msg }

// Unwrap returns ErrForbidden.
func (e *MemberRuleError) Unwrap() error { return ErrForbidden }

// CheckMemberChange returns nil when a caller whose role in project is
// mine may change a member's role from old to next (RoleNone: remove the
// member), self saying that the member is the caller, and a
// *MemberRuleError otherwise. The rules of docs/api.md: anyone may leave;
// admins manage members; only owners grant, change or remove the owner
// role. That a project keeps one owner is the store's rule
// (ErrLastOwner). The API and the project pages both ask it.
func CheckMemberChange(project string, mine, old, next Role, self bool) error {
	switch {
	case next == RoleNone && self:
		return nil
	case mine < RoleAdmin:
		return &MemberRuleError{fmt.Sprintf("this needs the %s role in project %s; you are %s", RoleAdmin, project, mine)}
	case next == RoleNone && old == RoleOwner && mine < RoleOwner:
		return &MemberRuleError{fmt.Sprintf("only an owner of %s may remove an owner", project)}
	case next != RoleNone && mine < RoleOwner && (next == RoleOwner || old == RoleOwner):
		return &MemberRuleError{fmt.Sprintf("only an owner of %s may grant or change the owner role", project)}
	}
	return nil
}
