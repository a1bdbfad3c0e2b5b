package gitref

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// bulkCreate is the number of new refs from which a transaction writes
// them into packed-refs rather than as loose files. Below it, a loose ref
// (a lock file renamed into place, and its reflog) costs less than
// rewriting a packed-refs of tens of thousands of refs; above it, the
// file creations dominate: 5,000 new branches are 10,000 new files on
// the loose path and one file on the packed one.
const bulkCreate = 100

// packedLockTimeout is how long a bulk transaction waits for
// packed-refs.lock, as git's core.packedRefsTimeout (1 s by default): a
// git pack-refs holds it for the time of one rewrite.
const packedLockTimeout = time.Second

// bulkCreations returns the creations of the transaction that go into
// packed-refs when there are at least bulkCreate of them, and nil
// otherwise. The branch HEAD names stays on the loose path, so that HEAD's
// reflog records it as git's does.
func (tx *Tx) bulkCreations() map[*update]bool {
	head, _ := HeadTarget(tx.dir)
	bulk := map[*update]bool{}
	for _, u := range tx.ups {
		if u.lock != nil && u.old.IsZero() && !u.new.IsZero() && u.name != head {
			bulk[u] = true
		}
	}
	if len(bulk) < bulkCreate {
		return nil
	}
	return bulk
}

// commitBulk writes the creations in bulk into packed-refs in one sorted
// merge and one write, as git clone writes the refs it fetches, and then
// gives up their lock files: each ref's lock was held from Update on, so
// no other writer created the ref meanwhile, and packed-refs.lock keeps
// pack-refs out while the file is replaced. Annotated tags get their
// peeled line, so the file keeps the fully-peeled trait.
//
// These refs get no reflog entry for their creation, as a bare git
// repository records none for any ref: their log starts with their first
// update or deletion, which records the value it replaces, so restoring
// a deleted one works as for any other ref. Either every creation in
// bulk lands or none does.
func (tx *Tx) commitBulk(bulk map[*update]bool, fail func(*update, error)) {
	if len(bulk) == 0 {
		return
	}
	var ups []*update
	for _, u := range tx.ups {
		if bulk[u] && u.lock != nil {
			ups = append(ups, u)
		}
	}
	err := tx.writeBulk(ups)
	dirs := map[string]string{}
	for _, u := range ups {
		u.lock.release()
		u.lock = nil
		if err != nil {
			fail(u, err)
		}
		dirs[filepath.Dir(u.name)] = u.name
	}
	// The lock files made the directories of the new names; with the refs
	// packed they are empty, and git would not leave them either.
	for _, name := range dirs {
		removeEmptyDirs(tx.dir, name)
	}
}

// writeBulk adds the refs of ups to packed-refs under its lock.
func (tx *Tx) writeBulk(ups []*update) error {
	o, err := openObjects(tx.dir)
	if err != nil {
		return fmt.Errorf("packing new refs: %w", err)
	}
	defer o.close()
	pl, err := createLockWait(refPath(tx.dir, "packed-refs"), packedLockTimeout)
	if err != nil {
		return fmt.Errorf("packing new refs: packed-refs: %w", err)
	}
	// packed-refs cannot change while its lock is held: this read is the
	// one the new file is merged from.
	packed, err := loadPacked(tx.dir)
	if err != nil {
		pl.release()
		return fmt.Errorf("packing new refs: %w", err)
	}
	// The new refs' objects are in place (the caller ensures it): one
	// that cannot be peeled would get no "^" line under the fully-peeled
	// trait, and readers would take an annotated tag for a plain ref.
	created := make([]Ref, len(ups))
	for i, u := range ups {
		p, _, err := o.peel(u.new)
		if err != nil {
			pl.release()
			return fmt.Errorf("packing new refs: %s: %w", u.name, err)
		}
		if p == u.new {
			p = plumbing.ZeroHash
		}
		created[i] = Ref{Name: u.name, StoredRef: StoredRef{Hash: u.new, Peeled: p, PeelKnown: true}}
	}
	refs := mergeRefs(packed.refs, created)
	// Refs packed before without their peeled value settled (a file of
	// another writer, without the fully-peeled trait) are peeled here, as
	// pack-refs does; one whose object is missing keeps no "^" line.
	peel := func(h plumbing.Hash) (plumbing.Hash, bool) {
		p, _, err := o.peel(h)
		return p, err == nil && p != h
	}
	if err := pl.commit(formatPacked(refs, peel)); err != nil {
		return fmt.Errorf("packing new refs: write packed-refs: %w", err)
	}
	if err := syncDir(tx.dir); err != nil {
		return fmt.Errorf("packing new refs: %w", err)
	}
	return nil
}

// formatPacked returns the packed-refs file of refs, sorted, with
// packedHeader's traits: every ref that peels to something else has its
// "^" line, taken from the ref itself when its record settles it (an
// object never changes under its id) and from peel otherwise.
func formatPacked(refs []Ref, peel peeler) []byte {
	out := make([]byte, 0, len(packedHeader)+len(refs)*(2*len(plumbing.ZeroHash)+40))
	out = append(out, packedHeader...)
	for _, r := range refs {
		out = append(out, r.Hash.String()+" "+r.Name+"\n"...)
		p, ok := r.Peeled, !r.Peeled.IsZero()
		if !r.PeelKnown {
			p, ok = peel(r.Hash)
		}
		if ok && p != r.Hash {
			out = append(out, "^"+p.String()+"\n"...)
		}
	}
	return out
}
