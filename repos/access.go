package repos

import (
	"context"
	"strings"

	"github.com/depot/depot/auth"
)

// Action is what a caller wants to do with a repository.
type Action int

// The actions a permission check distinguishes.
const (
	Read  Action = iota // clone, fetch, read over the API
	Write               // push
)

func (a Action) String() string {
	if a == Write {
		return "write"
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

// Policy is the one permission function that every surface asks.
type Policy struct{}

// Decide says whether id may perform act on r. Site admins may do
// everything; in a user's namespace its owner may do everything; every
// other caller does not see the repository.
func (Policy) Decide(_ context.Context, id *auth.Identity, r *Repo, act Action) Decision {
	switch {
	case id.Anonymous():
		return Hidden
	case id.Admin, strings.EqualFold(id.User, r.Owner):
		return Allowed
	}
	return Hidden
}
