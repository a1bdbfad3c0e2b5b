package repos

import (
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
