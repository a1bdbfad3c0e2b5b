package uploadpack

import (
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/gitref"
)

// refs lists the repository's refs with annotated tags peeled, from one
// gitref.Snapshot, which never misses a ref that gc's ref packing moves
// meanwhile. Symbolic refs other than HEAD are advertised with the value
// they resolve to; refs to missing objects and hidden refs (HEAD too, if
// the rules say so) are left out. The snapshot is sorted, and so is the
// list.
func (r *repo) refs() (*refSet, error) {
	if r.refCache != nil {
		return r.refCache, nil
	}
	snap, err := r.snapshot()
	if err != nil {
		return nil, err
	}
	rs, err := r.refSetOf(snap, [][]gitref.Ref{snap.Refs()})
	if err != nil {
		return nil, err
	}
	r.refCache = rs
	return rs, nil
}

// snapshot reads the refs once per exchange.
func (r *repo) snapshot() (*gitref.Snapshot, error) {
	if r.snap == nil {
		snap, err := gitref.ReadSnapshot(r.db.RepoDir())
		if err != nil {
			return nil, err
		}
		r.snap = snap
	}
	return r.snap, nil
}

// refSetOf makes the refSet of spans, runs of the sorted refs of snap in
// order, and of HEAD. Only the refs of spans cost an object lookup.
func (r *repo) refSetOf(snap *gitref.Snapshot, spans [][]gitref.Ref) (*refSet, error) {
	n := 0
	for _, sp := range spans {
		n += len(sp)
	}
	rs := &refSet{refs: make([]ref, 0, n)}
	for sr := range spanRefs(spans) {
		if r.hidden.Hidden(sr.Name) {
			continue
		}
		rr := sr.StoredRef
		if rr.Target != "" {
			t, ok := snap.Resolve(rr.Target)
			if !ok {
				continue // dangling symref: not advertised
			}
			rr = t
		}
		if !r.has(rr.Hash) {
			continue // a ref to a missing object is broken; do not offer it
		}
		rf := ref{name: sr.Name, hash: rr.Hash}
		if rr.PeelKnown {
			rf.peeled = rr.Peeled
		} else if err := r.peelRef(&rf); err != nil {
			return nil, err
		}
		rs.refs = append(rs.refs, rf)
	}

	head, ok := snap.Head()
	if !ok || r.hidden.Hidden("HEAD") {
		return rs, nil // no HEAD: advertise refs only
	}
	rs.head.name = "HEAD"
	rs.headTarget = head.Target
	if head.Target != "" {
		head, ok = snap.Resolve(head.Target)
	}
	if ok && r.has(head.Hash) {
		rs.head.hash = head.Hash
		rs.headOK = true
		if err := r.peelRef(&rs.head); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// spanRefs yields the refs of spans in order.
func spanRefs(spans [][]gitref.Ref) func(func(*gitref.Ref) bool) {
	return func(yield func(*gitref.Ref) bool) {
		for _, sp := range spans {
			for i := range sp {
				if !yield(&sp[i]) {
					return
				}
			}
		}
	}
}

// withPrefixes returns the refs of snap whose names start with one of
// prefixes, in name order and each once, as runs of snap's refs found by
// binary search: an ls-refs for one branch costs a lookup, not a pass
// over every ref.
func withPrefixes(snap *gitref.Snapshot, prefixes []string) [][]gitref.Ref {
	all := snap.Refs()
	type span struct{ lo, hi int }
	var spans []span
	for _, p := range prefixes {
		m := snap.Prefix(p)
		if len(m) == 0 {
			continue
		}
		// m is a subslice of all: its place is where its first name is.
		lo, _ := slices.BinarySearchFunc(all, m[0].Name, func(r gitref.Ref, name string) int {
			return strings.Compare(r.Name, name)
		})
		spans = append(spans, span{lo, lo + len(m)})
	}
	slices.SortFunc(spans, func(a, b span) int { return a.lo - b.lo })
	var out [][]gitref.Ref
	end := 0
	for _, sp := range spans {
		if sp.hi > end {
			out = append(out, all[max(sp.lo, end):sp.hi])
			end = sp.hi
		}
	}
	return out
}

// find returns the ref named name, HEAD included, by binary search.
func (rs *refSet) find(name string) (ref, bool) {
	if name == "HEAD" {
		return rs.head, rs.headOK
	}
	i, ok := slices.BinarySearchFunc(rs.refs, name, func(rf ref, name string) int {
		return strings.Compare(rf.name, name)
	})
	if !ok {
		return ref{}, false
	}
	return rs.refs[i], true
}

func (r *repo) peelRef(rf *ref) error {
	t, err := r.objectType(rf.hash)
	if err != nil {
		return err
	}
	if t == plumbing.TagObject {
		p, _, _, err := r.db.Peel(rf.hash)
		if err != nil {
			return err
		}
		rf.peeled = p
	}
	return nil
}
