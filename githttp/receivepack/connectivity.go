package receivepack

import (
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/odb"
)

// checker decides whether a new ref value is complete: every object
// reachable from it is in the received pack or in the repository.
//
// The walk follows the links of objects in the pack and stops at objects
// the repository already has. depot keeps every push in quarantine until
// it is checked, so an object in the repository has its whole closure
// there; git's own check (rev-list --not --all) stops at objects
// reachable from refs instead, which differs only for objects that gc
// left half-pruned.
type checker struct {
	pack *packIndex // nil when no pack came with the push
	repo *odb.DB
	// done holds objects whose closure a previous walk found complete.
	done map[plumbing.Hash]bool
}

// typeOf returns the type of h from the pack or the repository, with an
// error wrapping odb.ErrNotFound when neither has it.
func (c *checker) typeOf(h plumbing.Hash) (plumbing.ObjectType, error) {
	if c.pack != nil {
		if t, ok := c.pack.types[h]; ok {
			return t, nil
		}
	}
	return c.repo.Type(h)
}

// missing returns an object reachable from tip that exists nowhere, or
// the zero hash when the closure of tip is complete.
func (c *checker) missing(tip plumbing.Hash) (plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	stack := []plumbing.Hash{tip}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] || c.done[h] {
			continue
		}
		seen[h] = true
		if c.pack != nil {
			if _, ok := c.pack.types[h]; ok {
				stack = append(stack, c.pack.links(h)...)
				continue
			}
		}
		if !c.repo.Has(h) {
			return h, nil
		}
	}
	for h := range seen {
		c.done[h] = true
	}
	return plumbing.ZeroHash, nil
}

// reasonMissing is git's own reason for a ref whose history is incomplete.
const reasonMissing = "missing necessary objects"
