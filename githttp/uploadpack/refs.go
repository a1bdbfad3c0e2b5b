package uploadpack

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// rawRef is a ref as stored: a hash or, for a symbolic ref, its target.
// peeled is known from packed-refs when peelKnown is set.
type rawRef struct {
	hash      plumbing.Hash
	target    string
	peeled    plumbing.Hash
	peelKnown bool
}

// readRefs reads packed-refs once and the loose refs under refs/, loose
// ones taking precedence (gitrepository-layout "packed-refs").
func readRefs(dir string) (map[string]rawRef, error) {
	refs := map[string]rawRef{}
	if err := readPackedRefs(dir, refs); err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "refs")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(path, ".lock") {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return nil
		}
		rr, ok := readLooseRef(path)
		if ok {
			refs[filepath.ToSlash(rel)] = rr
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return refs, nil
}

func readLooseRef(path string) (rawRef, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return rawRef{}, false
	}
	b = bytes.TrimSpace(b)
	if t, ok := bytes.CutPrefix(b, []byte("ref:")); ok {
		return rawRef{target: string(bytes.TrimSpace(t))}, true
	}
	h, ok := parseOID(b)
	return rawRef{hash: h}, ok
}

// readPackedRefs adds the refs of packed-refs. With the "fully-peeled"
// trait every ref without a "^" line is known not to be an annotated tag;
// with "peeled" that holds for refs/tags/ only.
func readPackedRefs(dir string, refs map[string]rawRef) error {
	b, err := os.ReadFile(filepath.Join(dir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var fully, peeledTags bool
	last := ""
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		switch {
		case len(line) == 0:
		case line[0] == '#':
			if traits, ok := bytes.CutPrefix(line, []byte("# pack-refs with:")); ok {
				for _, t := range bytes.Fields(traits) {
					fully = fully || string(t) == "fully-peeled"
					peeledTags = peeledTags || string(t) == "peeled"
				}
			}
		case line[0] == '^':
			if h, ok := parseOID(line[1:]); ok && last != "" {
				rr := refs[last]
				rr.peeled, rr.peelKnown = h, true
				refs[last] = rr
			}
		default:
			hs, name, ok := bytes.Cut(line, []byte(" "))
			h, hok := parseOID(hs)
			if !ok || !hok {
				last = ""
				continue
			}
			last = string(name)
			known := fully || (peeledTags && strings.HasPrefix(last, "refs/tags/"))
			refs[last] = rawRef{hash: h, peelKnown: known}
		}
	}
	return nil
}

// refs lists the repository's refs with annotated tags peeled. Symbolic refs
// other than HEAD are advertised with the value they resolve to; refs to
// missing objects are left out.
func (r *repo) refs() (*refSet, error) {
	if r.refCache != nil {
		return r.refCache, nil
	}
	raw, err := readRefs(r.dir)
	if err != nil {
		return nil, err
	}
	rs := &refSet{}
	for name, rr := range raw {
		h := rr.hash
		if rr.target != "" {
			t, ok := resolveRaw(raw, rr.target)
			if !ok {
				continue // dangling symref: not advertised
			}
			h, rr = t.hash, t
		}
		if !r.has(h) {
			continue // a ref to a missing object is broken; do not offer it
		}
		rf := ref{name: name, hash: h}
		if rr.peelKnown {
			rf.peeled = rr.peeled
		} else if err := r.peelRef(&rf); err != nil {
			return nil, err
		}
		rs.refs = append(rs.refs, rf)
	}
	sort.Slice(rs.refs, func(i, j int) bool { return rs.refs[i].name < rs.refs[j].name })

	head, ok := readLooseRef(filepath.Join(r.dir, "HEAD"))
	if !ok {
		r.refCache = rs
		return rs, nil // no HEAD: advertise refs only
	}
	rs.head.name = "HEAD"
	rs.headTarget = head.target
	if head.target != "" {
		head, ok = resolveRaw(raw, head.target)
	}
	if ok && r.has(head.hash) {
		rs.head.hash = head.hash
		rs.headOK = true
		if err := r.peelRef(&rs.head); err != nil {
			return nil, err
		}
	}
	r.refCache = rs
	return rs, nil
}

// resolveRaw follows symbolic refs from name to a hash.
func resolveRaw(raw map[string]rawRef, name string) (rawRef, bool) {
	for range 10 {
		rr, ok := raw[name]
		if !ok {
			return rawRef{}, false
		}
		if rr.target == "" {
			return rr, true
		}
		name = rr.target
	}
	return rawRef{}, false
}

func (r *repo) peelRef(rf *ref) error {
	t, err := r.objectType(rf.hash)
	if err != nil {
		return err
	}
	if t == plumbing.TagObject {
		p, _, _, err := r.peel(rf.hash)
		if err != nil {
			return err
		}
		rf.peeled = p
	}
	return nil
}
