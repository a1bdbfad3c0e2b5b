package gitref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/object"
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
// It returns a *NameError for a bad name, ErrNotFound when the object or
// anything it reaches is no longer in the repository (gc pruned it), a *RefusedError when a
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
	if missing, err := o.missingFrom(to); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: restore %s: %w", name, err)
	} else if !missing.IsZero() {
		return plumbing.ZeroHash, fmt.Errorf("gitref: restore %s: object %s, which %s reaches, is gone from the repository: %w", name, missing, to, ErrNotFound)
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

// missingFrom walks everything from reaches and returns the first object
// the repository lacks, or zero. gc keeps the whole history of what a
// live reflog entry names, but an object of an expired entry may linger
// while part of its history is gone; a ref to it would break every clone.
func (o *objects) missingFrom(from plumbing.Hash) (plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	stack := []plumbing.Hash{from}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] {
			continue
		}
		seen[h] = true
		typ, err := o.db.Type(h)
		if errors.Is(err, odb.ErrNotFound) {
			return h, nil
		}
		if err != nil {
			return plumbing.ZeroHash, objectErr(h, err)
		}
		if typ == plumbing.BlobObject {
			continue // links nothing: no need to read it
		}
		_, data, err := o.db.Read(h)
		if err != nil {
			return plumbing.ZeroHash, objectErr(h, err)
		}
		if stack, err = object.AppendLinks(stack, typ, data); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("object %s: %w", h, err)
		}
	}
	return plumbing.ZeroHash, nil
}
