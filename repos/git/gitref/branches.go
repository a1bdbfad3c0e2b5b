package gitref

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Branch is one ref under refs/heads/.
type Branch struct {
	// Name is the short name, "main" for refs/heads/main.
	Name string
	// Commit is the id of the commit the branch points at.
	Commit string
	// Default reports whether HEAD points at this branch.
	Default bool
}

const headsPrefix = "refs/heads/"

// DefaultBranch returns the short name of the branch HEAD points at
// ("main"), even when that branch has no commits yet. It returns
// ErrNotFound when HEAD is missing, detached or points outside refs/heads/.
func DefaultBranch(dir string) (string, error) {
	target, err := HeadTarget(dir)
	if err != nil {
		return "", err
	}
	name, ok := strings.CutPrefix(target, headsPrefix)
	if !ok {
		return "", fmt.Errorf("gitref: default branch: HEAD names %s: %w", target, ErrNotFound)
	}
	return name, nil
}

// SetDefaultBranch points HEAD at the branch with the short name branch,
// rewriting HEAD through HEAD.lock. The branch need not exist yet. An
// invalid name is a *NameError (ErrInvalid). HEAD's reflog records the
// move by by when HEAD comes to name another commit.
func SetDefaultBranch(dir, branch string, by Actor) error {
	if err := CheckBranchName(branch); err != nil {
		return fmt.Errorf("gitref: set default branch: %w", err)
	}
	tx := Begin(dir)
	defer tx.Close()
	if err := logHEADMove(dir, headsPrefix+branch, by); err != nil {
		return fmt.Errorf("gitref: set default branch: %w", err)
	}
	return tx.SetHEAD(headsPrefix + branch)
}

// Branches returns the branches of the repository, loose and packed,
// sorted by name, from one Snapshot.
func Branches(dir string) ([]Branch, error) {
	list, _, err := BranchPage(dir, 0, math.MaxInt)
	return list, err
}

// BranchPage returns at most limit branches, sorted by name, from the
// offset-th on, and how many branches there are: one pass over the
// snapshot's sorted branch refs that builds only the page, so that a page
// of a repository with 50,000 branches costs no more than reading them.
func BranchPage(dir string, offset, limit int) ([]Branch, int, error) {
	s, err := readSnapshot(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("gitref: branches: %w", err)
	}
	head, _ := s.Head()
	var out []Branch
	n := 0
	for _, r := range s.Prefix(headsPrefix) {
		if r.Target != "" {
			continue // a symbolic ref is no branch of its own
		}
		if n >= offset && len(out) < limit {
			out = append(out, Branch{Name: r.Name[len(headsPrefix):], Commit: r.Hash.String(), Default: r.Name == head.Target})
		}
		n++
	}
	if out == nil {
		out = []Branch{}
	}
	return out, n, nil
}

// CreateBranch creates the branch name at the commit from names (anything
// Resolve accepts; "" is the default branch's tip). It returns a
// *NameError for a bad name, ErrNotFound when from names nothing,
// ErrInvalid when it does not name a commit, and ErrExists when the branch
// exists or clashes with one (ErrConflict). The reflog records by.
func CreateBranch(dir, name, from string, by Actor) (Branch, error) {
	if err := CheckBranchName(name); err != nil {
		return Branch{}, fmt.Errorf("gitref: create branch: %w", err)
	}
	id, err := Resolve(dir, from)
	if err != nil {
		return Branch{}, fmt.Errorf("gitref: create branch %s: %w", name, err)
	}
	ref := headsPrefix + name
	tx := Begin(dir)
	defer tx.Close()
	if from == "" {
		from = "HEAD"
	}
	tx.Log(by, "branch: Created from "+from)
	if err := tx.Update(ref, plumbing.ZeroHash, id); err != nil {
		if errors.Is(err, ErrExists) && !errors.Is(err, ErrConflict) {
			return Branch{}, fmt.Errorf("gitref: create branch %s: %w", name, ErrExists)
		}
		return Branch{}, err
	}
	if err := tx.Commit()[ref]; err != nil {
		return Branch{}, err
	}
	head, _ := HeadTarget(dir)
	return Branch{Name: name, Commit: id.String(), Default: head == ref}, nil
}

// DeleteBranch deletes the branch name, loose and packed. It returns
// ErrNotFound when there is no such branch, ErrInvalid for the default
// branch (which HEAD names) or a bad name, and ErrStale when a push moved
// the branch while it was being deleted. The branch's reflog is kept, with
// an entry recording the deletion by by, so that it can be restored.
func DeleteBranch(dir, name string, by Actor) error {
	if err := CheckBranchName(name); err != nil {
		return fmt.Errorf("gitref: delete branch: %w", err)
	}
	ref := headsPrefix + name
	tx := Begin(dir)
	defer tx.Close()
	cur, ok, err := readRef(dir, ref)
	if err != nil {
		return fmt.Errorf("gitref: delete branch %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("gitref: delete branch %s: %w", name, ErrNotFound)
	}
	if head, _ := HeadTarget(dir); head == ref {
		return fmt.Errorf("gitref: delete branch: %w", refused("%s is the default branch; make another branch the default first", name))
	}
	tx.Log(by, "branch: deleted")
	if err := tx.Update(ref, cur, plumbing.ZeroHash); err != nil {
		return err
	}
	return tx.Commit()[ref]
}
