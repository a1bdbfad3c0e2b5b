package uploadpack

import (
	"context"
	"fmt"
	"strings"

	"github.com/depot/depot/repos/git/bitmap"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/depot/depot/repos/git/packwrite"
	"github.com/go-git/go-git/v5/plumbing"
)

// packObject is one object chosen for the pack.
type packObject struct {
	hash plumbing.Hash
	typ  plumbing.ObjectType
}

// maxEdgeHaves bounds how many of the client's have commits beyond the walk's
// edges lend their trees to the set of objects the client is known to have.
const maxEdgeHaves = 64

// packPlan is what a fetch sends: the objects, in pack order, and the trees
// and blobs the client is known to have (thin-pack delta bases).
type packPlan struct {
	objects []packObject
	added   map[plumbing.Hash]bool
	has     map[plumbing.Hash]bool
	// wholePack, for a plan computed by walking, is the checksum of a pack
	// holding exactly objects, whose stored bytes are then the whole
	// answer; zero when none does.
	wholePack plumbing.Hash

	// A plan computed from a pack bitmap holds the objects of the
	// bitmapped pack as bits over it (set, numbered by setPack, the pack's
	// checksum); objects lists only those outside it. The client's objects
	// are hasSet, over the same pack.
	set      bitmap.Set
	setPack  plumbing.Hash
	setCount int
	hasSet   bitmap.Set
	hasPack  plumbing.Hash // checksum of the pack hasSet numbers
	// pack is the bitmapped pack, used only while the plan is computed.
	pack      *packfile.Pack
	objectSet map[plumbing.Hash]bool // of objects, built on first use
}

// count returns how many objects the pack holds.
func (p *packPlan) count() int { return p.setCount + len(p.objects) }

// contains reports whether h is in the plan.
func (p *packPlan) contains(h plumbing.Hash) bool {
	if p.set != nil {
		if pos, ok := p.pack.Index.Find(h); ok {
			return p.set.Has(p.pack.Rank(pos))
		}
		if p.objectSet == nil {
			p.objectSet = make(map[plumbing.Hash]bool, len(p.objects))
			for _, o := range p.objects {
				p.objectSet[o.hash] = true
			}
		}
		return p.objectSet[h]
	}
	return p.added[h]
}

// add puts h, of type t, in the plan.
func (p *packPlan) add(h plumbing.Hash, t plumbing.ObjectType) {
	if p.set != nil {
		if pos, ok := p.pack.Index.Find(h); ok {
			p.set.Add(p.pack.Rank(pos))
		} else if !p.contains(h) {
			p.objects = append(p.objects, packObject{h, t})
			p.objectSet[h] = true
		}
		return
	}
	p.added[h] = true
	p.objects = append(p.objects, packObject{h, t})
}

// clientHas returns whether the client is known to have an object, for a
// thin pack. A plan may outlive the store it was computed with (plans are
// cached), so its bitmap is matched to db's packs by checksum.
func (p *packPlan) clientHas(db *odb.DB) func(plumbing.Hash) bool {
	var pk *packfile.Pack
	if p.hasSet != nil {
		pk = packBySum(db, p.hasPack)
	}
	return func(h plumbing.Hash) bool {
		if p.has[h] {
			return true
		}
		if pk != nil {
			if pos, ok := pk.Index.Find(h); ok {
				return p.hasSet.Has(pk.Rank(pos))
			}
		}
		return false
	}
}

// packBySum returns db's pack with checksum sum, or nil.
func packBySum(db *odb.DB, sum plumbing.Hash) *packfile.Pack {
	for _, q := range db.Packs() {
		if q.Index.PackSum == sum {
			return q
		}
	}
	return nil
}

// planInput gathers what decides the pack's content.
type planInput struct {
	wants      []plumbing.Hash // validated wants plus parents of unshallowed commits
	haves      []plumbing.Hash // common haves
	extraEdges []plumbing.Hash // unshallowed commits: the client has them
	cut        map[plumbing.Hash]bool
	// repoShallow is the repository's own shallow commits, sorted: the
	// store reads them as parentless.
	repoShallow []plumbing.Hash
	filter      *filterSpec
	includeTag  bool
	refs        *refSet
}

// planPack lists the objects reachable from the wants and not from the
// haves, commits first (newest first), then tags, then trees and blobs in
// traversal order, like git pack-objects' "recency order".
func planPack(ctx context.Context, r *repo, in planInput) (*packPlan, error) {
	if p, ok, err := planBitmap(ctx, r, in); ok || err != nil {
		return p, err
	}
	return planWalk(ctx, r, in)
}

// planWalk is planPack by walking commits and trees.
func planWalk(ctx context.Context, r *repo, in planInput) (*packPlan, error) {
	p := &packPlan{added: map[plumbing.Hash]bool{}, has: map[plumbing.Hash]bool{}}
	var tags []packObject
	var posCommits, userTrees, userBlobs []plumbing.Hash
	for _, w := range in.wants {
		obj, typ, chain, err := r.db.Peel(w)
		if err != nil {
			return nil, err
		}
		for _, t := range chain {
			if !p.added[t] {
				p.added[t] = true
				tags = append(tags, packObject{t, plumbing.TagObject})
			}
		}
		switch typ {
		case plumbing.CommitObject:
			posCommits = append(posCommits, obj)
		case plumbing.TreeObject:
			userTrees = append(userTrees, obj)
		case plumbing.BlobObject:
			userBlobs = append(userBlobs, obj)
		}
	}

	walk := newCommitWalk(ctx, r, in.cut)
	for _, h := range posCommits {
		if err := walk.push(h, false); err != nil {
			return nil, err
		}
	}
	var haveCommits []plumbing.Hash
	for _, h := range append(append([]plumbing.Hash(nil), in.haves...), in.extraEdges...) {
		obj, typ, _, err := r.db.Peel(h)
		if err != nil || typ != plumbing.CommitObject {
			continue
		}
		haveCommits = append(haveCommits, obj)
		if err := walk.push(obj, true); err != nil {
			return nil, err
		}
	}
	commits, err := walk.run()
	if err != nil {
		return nil, err
	}

	edges := walk.edges(commits)
	edges = append(edges, in.extraEdges...)
	edges = append(edges, haveCommits[:min(len(haveCommits), maxEdgeHaves)]...)
	for _, e := range edges {
		c, err := r.commit(e)
		if err != nil {
			continue
		}
		if err := p.markHas(ctx, r, c.Tree); err != nil {
			return nil, err
		}
	}

	for _, h := range commits {
		if !p.added[h] {
			p.added[h] = true
			p.objects = append(p.objects, packObject{h, plumbing.CommitObject})
		}
	}
	p.objects = append(p.objects, tags...)
	t := &treeAdder{ctx: ctx, r: r, p: p, filter: in.filter, depth: map[plumbing.Hash]int{}}
	for _, h := range commits {
		if err := t.add(r.commits[h].Tree); err != nil {
			return nil, err
		}
	}
	// A wanted tree is added by the walk of it, with what it holds;
	// marking it added first would make that walk stop at once.
	for _, h := range userTrees {
		if err := t.add(h); err != nil {
			return nil, err
		}
	}
	for _, h := range userBlobs {
		if !p.added[h] {
			p.added[h] = true
			p.objects = append(p.objects, packObject{h, plumbing.BlobObject})
		}
	}
	if in.includeTag {
		if err := p.includeTags(r, in.refs); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// markHas records tree h and everything under it as present on the client.
func (p *packPlan) markHas(ctx context.Context, r *repo, h plumbing.Hash) error {
	stack := []plumbing.Hash{h}
	for n := 0; len(stack) > 0; n++ {
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if p.has[h] {
			continue
		}
		tree, err := r.db.Tree(h)
		if err != nil {
			return err
		}
		p.has[h] = true
		if stack, err = tree.Children(stack, func(b plumbing.Hash) { p.has[b] = true }); err != nil {
			return fmt.Errorf("tree %s: %w", h, err)
		}
	}
	return nil
}

// treeAdder adds trees and blobs under root trees to the plan, skipping what
// the client has and what the filter omits.
type treeAdder struct {
	ctx    context.Context
	r      *repo
	p      *packPlan
	filter *filterSpec
	depth  map[plumbing.Hash]int // tree:<depth> filter: shallowest depth each tree was walked at
	n      int
	// trees and blobs are the entries of the tree being read, kept
	// between trees so that reading one allocates nothing.
	trees, blobs []plumbing.Hash
}

func (t *treeAdder) add(root plumbing.Hash) error {
	type item struct {
		hash  plumbing.Hash
		depth int
	}
	stack := []item{{root, 0}}
	for len(stack) > 0 {
		if t.n++; t.n&255 == 0 {
			if err := t.ctx.Err(); err != nil {
				return err
			}
		}
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t.p.has[it.hash] || t.filter.omitTree(it.depth) {
			continue
		}
		if t.filter != nil && t.filter.treeDepth >= 0 {
			// A tree first met deep down may show up again higher, where
			// more of it is wanted; walk it again then.
			if d, ok := t.depth[it.hash]; ok && d <= it.depth {
				continue
			}
			t.depth[it.hash] = it.depth
		} else if t.p.added[it.hash] {
			continue
		}
		if !t.p.added[it.hash] {
			t.p.added[it.hash] = true
			t.p.objects = append(t.p.objects, packObject{it.hash, plumbing.TreeObject})
		}
		tree, err := t.r.db.Tree(it.hash)
		if err != nil {
			return err
		}
		// Subtrees go on the stack last first, so that they are walked
		// in the tree's order; blobs are added last first too.
		t.blobs = t.blobs[:0]
		if t.trees, err = tree.Children(t.trees[:0], func(b plumbing.Hash) { t.blobs = append(t.blobs, b) }); err != nil {
			return fmt.Errorf("tree %s: %w", it.hash, err)
		}
		for i := len(t.trees) - 1; i >= 0; i-- {
			stack = append(stack, item{t.trees[i], it.depth + 1})
		}
		for i := len(t.blobs) - 1; i >= 0; i-- {
			if err := t.addBlob(t.blobs[i], it.depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *treeAdder) addBlob(h plumbing.Hash, depth int) error {
	if t.p.has[h] || t.p.added[h] {
		return nil
	}
	omit, err := t.filter.omitBlob(depth, func() (int64, error) {
		return t.r.size(h)
	})
	if err != nil {
		return fmt.Errorf("size of %s: %w", h, err)
	}
	if omit {
		return nil
	}
	t.p.added[h] = true
	t.p.objects = append(t.p.objects, packObject{h, plumbing.BlobObject})
	return nil
}

// includeTags adds the annotated tags under refs/tags whose peeled object is
// in the pack (gitprotocol-capabilities "include-tag").
func (p *packPlan) includeTags(r *repo, rs *refSet) error {
	for _, rf := range rs.refs {
		if rf.peeled.IsZero() || !strings.HasPrefix(rf.name, "refs/tags/") || p.contains(rf.hash) {
			continue
		}
		if !p.contains(rf.peeled) {
			continue
		}
		_, _, chain, err := r.db.Peel(rf.hash)
		if err != nil {
			return err
		}
		for _, t := range chain {
			if !p.contains(t) {
				p.add(t, plumbing.TagObject)
			}
		}
	}
	return nil
}

// wholePackOf returns the checksum of a pack that holds exactly objs.
func wholePackOf(db *odb.DB, objs []packObject) plumbing.Hash {
	ids := make([]plumbing.Hash, len(objs))
	for i, o := range objs {
		ids[i] = o.hash
	}
	return packwrite.WholePackOf(db, ids)
}
