package gitref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/odb"
)

// RestoreRef sets the full ref name back to to, an object a reflog entry
// names, whether the ref still exists or was deleted: the undo of a force
// push or a branch deletion. It reads the ref's value and sets it with
// compare and swap against that value, so an update that lands meanwhile
// makes it fail with ErrStale rather than be overwritten. The restore is
// logged with by, and the value it replaced is returned (zero when the
// ref did not exist).
//
// It returns a *NameError for a bad name, ErrNotFound when the object is
// no longer in the repository (gc pruned it), a *RefusedError when a
// branch would point at something other than a commit, ErrSymref for a
// symbolic ref, and the errors of Tx.Update.
func RestoreRef(dir, name string, to plumbing.Hash, by Actor) (plumbing.Hash, error) {
	if err := CheckRefName(name); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: restore: %w", err)
	}
	o, err := openObjects(dir)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: restore %s: %w", name, err)
	}
	defer o.close()
	typ, err := o.db.Type(to)
	if errors.Is(err, odb.ErrNotFound) {
		return plumbing.ZeroHash, fmt.Errorf("gitref: restore %s: object %s is gone from the repository: %w", name, to, ErrNotFound)
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: restore %s: %w", name, objectErr(to, err))
	}
	if strings.HasPrefix(name, headsPrefix) && typ != plumbing.CommitObject {
		return plumbing.ZeroHash, fmt.Errorf("gitref: restore: %w", refused("%s is a %s; a branch may only point at a commit", to, typ))
	}
	tx := Begin(dir)
	defer tx.Close()
	cur, _, err := readRef(dir, name)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: restore %s: %w", name, err)
	}
	if cur == to {
		return cur, nil
	}
	tx.Log(by, "restore-ref: back to "+to.String())
	if err := tx.Update(name, cur, to); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: restore: %w", err)
	}
	if err := tx.Commit()[name]; err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: restore: %w", err)
	}
	return cur, nil
}
