package uploadpack

import (
	"sort"

	"github.com/depot/depot/repos/git/gitref"
	"github.com/go-git/go-git/v5/plumbing"
)

// refs lists the repository's refs with annotated tags peeled. Symbolic refs
// other than HEAD are advertised with the value they resolve to; refs to
// missing objects and hidden refs (HEAD too, if the rules say so) are left
// out.
func (r *repo) refs() (*refSet, error) {
	if r.refCache != nil {
		return r.refCache, nil
	}
	raw, err := gitref.ReadStored(r.db.RepoDir())
	if err != nil {
		return nil, err
	}
	rs := &refSet{}
	for name, rr := range raw {
		if r.hidden.Hidden(name) {
			continue
		}
		h := rr.Hash
		if rr.Target != "" {
			t, ok := resolveRaw(raw, rr.Target)
			if !ok {
				continue // dangling symref: not advertised
			}
			h, rr = t.Hash, t
		}
		if !r.has(h) {
			continue // a ref to a missing object is broken; do not offer it
		}
		rf := ref{name: name, hash: h}
		if rr.PeelKnown {
			rf.peeled = rr.Peeled
		} else if err := r.peelRef(&rf); err != nil {
			return nil, err
		}
		rs.refs = append(rs.refs, rf)
	}
	sort.Slice(rs.refs, func(i, j int) bool { return rs.refs[i].name < rs.refs[j].name })

	head, ok, err := gitref.ReadHead(r.db.RepoDir())
	if err != nil {
		return nil, err
	}
	if !ok || r.hidden.Hidden("HEAD") {
		r.refCache = rs
		return rs, nil // no HEAD: advertise refs only
	}
	rs.head.name = "HEAD"
	rs.headTarget = head.Target
	if head.Target != "" {
		head, ok = resolveRaw(raw, head.Target)
	}
	if ok && r.has(head.Hash) {
		rs.head.hash = head.Hash
		rs.headOK = true
		if err := r.peelRef(&rs.head); err != nil {
			return nil, err
		}
	}
	r.refCache = rs
	return rs, nil
}

// resolveRaw follows symbolic refs from name to a hash.
func resolveRaw(raw map[string]gitref.StoredRef, name string) (gitref.StoredRef, bool) {
	for range 10 {
		rr, ok := raw[name]
		if !ok {
			return gitref.StoredRef{}, false
		}
		if rr.Target == "" {
			return rr, true
		}
		name = rr.Target
	}
	return gitref.StoredRef{}, false
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
