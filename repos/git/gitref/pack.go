package gitref

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/depot/depot/repos/git/odb"
	"github.com/go-git/go-git/v5/plumbing"
)

// packedHeader is the first line of the packed-refs PackRefs writes:
// every ref that peels to something else has its "^" line, and the
// lines are sorted (the traits git's own pack-refs declares).
const packedHeader = "# pack-refs with: peeled fully-peeled sorted \n"

// peeler returns what an annotated tag h finally points to, and false for
// any other object.
type peeler func(h plumbing.Hash) (plumbing.Hash, bool)

// PackRefs moves the loose refs of the repository of db into
// packed-refs, as git pack-refs --all --prune does: reading thousands of
// small files on every ref advertisement is what makes a repository with
// many branches slow, and one sorted file is read in a single pass.
// Annotated tags get the "^" line of their peeled value, read through db.
//
// packed-refs is rewritten under its lock and the repository's mutex;
// each loose file is then removed under its own lock, and only while it
// still holds the value that was packed, so that a ref another process
// moved meanwhile keeps its new (loose, shadowing) value. It returns how
// many loose refs it removed.
func PackRefs(db *odb.DB) (int, error) {
	o := newObjects(db)
	return packRefs(o.dir, func(h plumbing.Hash) (plumbing.Hash, bool) {
		p, _, err := o.peel(h)
		return p, err == nil && p != h
	})
}

// packRefs is PackRefs with the peeling given, so that tests can act
// between reading the refs and pruning them.
func packRefs(dir string, peel peeler) (int, error) {
	mu := repoMutex(dir)
	mu.Lock()
	defer mu.Unlock()
	pl, err := createLock(refPath(dir, "packed-refs"))
	if err != nil {
		return 0, fmt.Errorf("gitref: pack refs: %w", err)
	}
	// Loose refs first, as every reader does; packed-refs cannot change
	// while its lock is held.
	all, err := readLooseRefs(dir)
	if err != nil {
		pl.release()
		return 0, fmt.Errorf("gitref: pack refs: %w", err)
	}
	// Symbolic refs stay loose, as git pack-refs leaves them.
	loose := slices.DeleteFunc(all, func(r Ref) bool { return r.Target != "" })
	if len(loose) == 0 {
		pl.release()
		return 0, nil
	}
	packed, err := loadPacked(dir)
	if err != nil {
		pl.release()
		return 0, fmt.Errorf("gitref: pack refs: %w", err)
	}
	old := Snapshot{refs: packed.refs}
	refs := mergeRefs(packed.refs, loose)
	// A loose ref that holds the value packed before with its peeled
	// value known needs no object read: objects never change under their
	// ids. (mergeRefs made refs a new slice: the parse is not touched.)
	for i, r := range refs {
		if r.PeelKnown {
			continue
		}
		if was, found := old.Get(r.Name); found && was.Hash == r.Hash && was.PeelKnown {
			refs[i].Peeled, refs[i].PeelKnown = was.Peeled, true
		}
	}
	out := formatPacked(refs, peel)
	if err := pl.commit(out); err != nil {
		return 0, fmt.Errorf("gitref: pack refs: write packed-refs: %w", err)
	}
	// The new packed-refs is durable before any loose ref goes: a power
	// loss must not keep the removals and lose the file that replaces
	// them.
	if err := syncDir(dir); err != nil {
		return 0, fmt.Errorf("gitref: pack refs: %w", err)
	}
	pruned := 0
	for _, r := range loose {
		ok, err := pruneLoose(dir, r.Name, r.Hash)
		if err != nil {
			return pruned, fmt.Errorf("gitref: pack refs: %w", err)
		}
		if ok {
			pruned++
		}
	}
	return pruned, nil
}

// pruneLoose removes the loose ref name if it still holds h. A ref that
// is locked or changed is left as it is: its loose value shadows the
// packed one.
func pruneLoose(dir, name string, h plumbing.Hash) (bool, error) {
	l, err := createLock(refPath(dir, name))
	if errors.Is(err, ErrLocked) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	cur, ok, err := readLoose(dir, name)
	if err != nil || !ok || cur != h {
		l.release()
		return false, nil
	}
	err = os.Remove(refPath(dir, name))
	l.release()
	if err != nil {
		return false, fmt.Errorf("remove %s: %w", name, err)
	}
	removeEmptyDirs(dir, name)
	return true, nil
}
