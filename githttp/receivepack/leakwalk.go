package receivepack

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/object"
)

// locator finds where the blobs holding live tokens entered the pushed
// history: which path of which commit. It walks only what the push
// brought, as the connectivity check does: an object the repository
// already had cannot lead to a blob it did not have, since a
// repository holds the whole closure of its objects. It runs only for a
// push that holds a live token, reading the commits and trees it needs
// from the quarantined pack, each once.
type locator struct {
	c     *checker
	cmds  []*command
	blobs map[plumbing.Hash]bool // the blobs holding a live token
	// trees holds, for each tree of the pack read so far, the blobs of
	// blobs under it with their paths, in tree order.
	trees map[plumbing.Hash][]hit
	// commits holds, for each commit of the pack walked so far, the first
	// place reachable from it where a blob was introduced, or nil.
	commits map[plumbing.Hash]*place
	// roots holds the tree of each commit of the pack walked so far.
	roots map[plumbing.Hash]plumbing.Hash
	// intro holds the first place found for each blob.
	intro map[plumbing.Hash]place
}

type hit struct {
	path string
	blob plumbing.Hash
}

func newLocator(c *checker, cmds []*command, leaks []leak) *locator {
	c.cacheObjects()
	l := &locator{
		c:       c,
		cmds:    cmds,
		roots:   map[plumbing.Hash]plumbing.Hash{},
		blobs:   map[plumbing.Hash]bool{},
		trees:   map[plumbing.Hash][]hit{},
		commits: map[plumbing.Hash]*place{},
		intro:   map[plumbing.Hash]place{},
	}
	for _, lk := range leaks {
		for _, b := range lk.blobs {
			l.blobs[b] = true
		}
	}
	return l
}

// blob returns where b entered the history of the commands, or a place
// with just the blob when no command reaches it.
func (l *locator) blob(b plumbing.Hash) (place, error) {
	if p, ok := l.intro[b]; ok {
		return p, nil
	}
	for _, cmd := range l.cmds {
		if cmd.isDelete() {
			continue
		}
		if _, err := l.ref(cmd.new); err != nil {
			return place{blob: b}, err
		}
		if p, ok := l.intro[b]; ok {
			return p, nil
		}
	}
	return place{blob: b}, nil
}

// ref returns the first place where a token entered the history of tip,
// or nil when none did.
func (l *locator) ref(tip plumbing.Hash) (*place, error) {
	for {
		typ, ok := l.c.pack.types[tip]
		if !ok {
			return nil, nil
		}
		switch typ {
		case plumbing.CommitObject:
			return l.commit(tip)
		case plumbing.TreeObject:
			hits, err := l.tree(tip)
			if err != nil || len(hits) == 0 {
				return nil, err
			}
			p := place{blob: hits[0].blob, path: hits[0].path}
			l.note(p)
			return &p, nil
		case plumbing.BlobObject:
			if !l.blobs[tip] {
				return nil, nil
			}
			p := place{blob: tip}
			l.note(p)
			return &p, nil
		case plumbing.TagObject:
			data, err := l.c.read(tip)
			if err != nil {
				return nil, err
			}
			if tip, _, err = object.TagTarget(data); err != nil {
				return nil, err
			}
		default:
			return nil, nil
		}
	}
}

func (l *locator) note(p place) {
	if _, ok := l.intro[p.blob]; !ok {
		l.intro[p.blob] = p
	}
}

// commit returns the first place where a token entered the history of
// tip, a commit of the pack, walking the pack's commits from it in
// post-order without recursion: a commit's answer is the first blob its
// own tree introduces (one that no parent's tree holds), else its
// parents' answer in order.
func (l *locator) commit(tip plumbing.Hash) (*place, error) {
	type frame struct {
		h    plumbing.Hash
		info *object.CommitInfo // set once the commit is read
	}
	stack := []frame{{h: tip}}
	for len(stack) > 0 {
		top := len(stack) - 1
		f := stack[top]
		if _, done := l.commits[f.h]; done {
			stack = stack[:top]
			continue
		}
		if f.info == nil {
			if l.c.pack.types[f.h] != plumbing.CommitObject {
				l.commits[f.h] = nil // the repository's: no new blob under it
				stack = stack[:top]
				continue
			}
			data, err := l.c.read(f.h)
			if err != nil {
				return nil, err
			}
			info := &object.CommitInfo{}
			if err := object.ParseCommitInfo(data, info); err != nil {
				return nil, fmt.Errorf("receivepack: commit %s: %w", f.h, err)
			}
			stack[top].info = info
			l.roots[f.h] = info.Tree
			for i := len(info.Parents) - 1; i >= 0; i-- {
				if _, done := l.commits[info.Parents[i]]; !done {
					stack = append(stack, frame{h: info.Parents[i]})
				}
			}
			continue
		}
		stack = stack[:top]
		res, err := l.introduced(f.h, f.info)
		if err != nil {
			return nil, err
		}
		for _, p := range f.info.Parents {
			if res == nil {
				res = l.commits[p]
			}
		}
		l.commits[f.h] = res
	}
	return l.commits[tip], nil
}

// introduced returns the first blob that commit h's tree holds and none
// of its parents' trees do, where it is.
func (l *locator) introduced(h plumbing.Hash, info *object.CommitInfo) (*place, error) {
	hits, err := l.tree(info.Tree)
	if err != nil || len(hits) == 0 {
		return nil, err
	}
	inParents := map[plumbing.Hash]bool{}
	for _, p := range info.Parents {
		// Every parent of the pack was walked first (post-order); one
		// that is not in roots is the repository's.
		root, ok := l.roots[p]
		if !ok {
			continue
		}
		ph, err := l.tree(root)
		if err != nil {
			return nil, err
		}
		for _, x := range ph {
			inParents[x.blob] = true
		}
	}
	var first *place
	for _, x := range hits {
		if inParents[x.blob] {
			continue
		}
		p := place{blob: x.blob, path: x.path, commit: h}
		l.note(p)
		if first == nil {
			first = &p
		}
	}
	return first, nil
}

// tree returns the blobs holding tokens under h with their paths, in
// tree order; nothing for a tree the repository already had.
func (l *locator) tree(h plumbing.Hash) ([]hit, error) {
	if hits, ok := l.trees[h]; ok {
		return hits, nil
	}
	if l.c.pack.types[h] != plumbing.TreeObject {
		return nil, nil
	}
	data, err := l.c.read(h)
	if err != nil {
		return nil, err
	}
	var hits []hit
	it := object.Tree(data).Iter()
	for it.Next() {
		e := it.Entry()
		switch {
		case e.Mode.IsTree():
			sub, err := l.tree(e.ID)
			if err != nil {
				return nil, err
			}
			for _, x := range sub {
				hits = append(hits, hit{path: string(e.Name) + "/" + x.path, blob: x.blob})
			}
		case e.Mode.IsBlob() && l.blobs[e.ID]:
			hits = append(hits, hit{path: string(e.Name), blob: e.ID})
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("receivepack: tree %s: %w", h, err)
	}
	l.trees[h] = hits
	return hits, nil
}
