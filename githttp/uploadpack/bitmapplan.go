package uploadpack

import (
	"context"
	"errors"
	"fmt"

	"github.com/depot/depot/repos/git/bitmap"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// errNoBitmap means the bitmap cannot answer: it is corrupt. The caller
// walks the graph instead.
var errNoBitmap = errors.New("not answerable from the bitmap")

// planBitmap computes the plan of a fetch from the repository's pack
// bitmap (gitformat-bitmap): the objects reachable from the wants, minus
// those reachable from the haves, the way git's pack-objects
// --use-bitmap-index does. It reports false when the request needs the
// walk: no bitmap, shallow requests, filters other than blob:none, or wants
// that are not commits or tags. Objects outside the bitmapped pack (pushed
// since) are walked down to it.
func planBitmap(ctx context.Context, r *repo, in planInput) (*packPlan, bool, error) {
	if len(in.cut) > 0 || len(in.extraEdges) > 0 {
		return nil, false, nil
	}
	if f := in.filter; f != nil && !f.blobNone {
		return nil, false, nil
	}
	pk, bm := r.db.Bitmap()
	if bm == nil {
		return nil, false, nil
	}
	x := &reacher{ctx: ctx, r: r, pack: pk, bm: bm}
	want := newReachSet(bm.Len())
	// Wants may also be trees and blobs, as tags of them (git.git's
	// v2.6.11-tree) and wants by id are: a clone of every ref must not
	// fall back to walking all history for one of them.
	var roots, trees []plumbing.Hash
	wantedBlobs := map[plumbing.Hash]bool{}
	for _, w := range in.wants {
		obj, typ, chain, err := r.db.Peel(w)
		if err != nil {
			return nil, false, err
		}
		for _, t := range chain {
			x.add(want, t, plumbing.TagObject)
		}
		switch typ {
		case plumbing.CommitObject:
			roots = append(roots, obj)
		case plumbing.TreeObject:
			trees = append(trees, obj)
		case plumbing.BlobObject:
			wantedBlobs[obj] = true
		default:
			return nil, false, nil
		}
	}
	err := x.reach(want, roots)
	if errors.Is(err, errNoBitmap) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	// After the commits, whose bitmaps may already hold these trees.
	for _, t := range trees {
		if err := x.addTree(want, t); err != nil {
			return nil, false, err
		}
	}

	p := &packPlan{pack: pk, has: map[plumbing.Hash]bool{}}
	if len(in.haves) > 0 {
		has := newReachSet(bm.Len())
		for _, h := range in.haves {
			obj, typ, _, err := r.db.Peel(h)
			if err != nil || typ != plumbing.CommitObject {
				continue
			}
			if err := x.reach(has, []plumbing.Hash{obj}); errors.Is(err, errNoBitmap) {
				return nil, false, nil
			} else if err != nil {
				return nil, false, err
			}
		}
		want.bits.AndNot(has.bits)
		for h := range has.extra {
			p.has[h] = true
		}
		p.hasSet, p.hasPack = has.bits, pk.Index.PackSum
	}
	if in.filter != nil {
		blobs, err := bm.Type(plumbing.BlobObject)
		if err != nil {
			return nil, false, nil
		}
		want.bits.AndNot(blobs)
	}
	// A blob asked for by name is sent whatever the filter, as the walk
	// sends it (and git does).
	for b := range wantedBlobs {
		x.add(want, b, plumbing.BlobObject)
	}
	p.set = want.bits
	for _, o := range want.order {
		if !p.has[o.hash] && (in.filter == nil || o.typ != plumbing.BlobObject || wantedBlobs[o.hash]) {
			p.objects = append(p.objects, o)
		}
	}
	if in.includeTag {
		if err := p.includeTags(r, in.refs); err != nil {
			return nil, false, err
		}
	}
	// A set of the whole pack and nothing else is sent as the stored
	// file by packwrite itself.
	p.setPack, p.setCount = pk.Index.PackSum, p.set.Count()
	return p, true, nil
}

// reachSet is a set of objects: bits over the bitmapped pack, and the
// objects outside it (pushed since the pack was written) by id.
type reachSet struct {
	bits  bitmap.Set
	extra map[plumbing.Hash]plumbing.ObjectType
	order []packObject // extra, in the order met
}

func newReachSet(n int) *reachSet {
	return &reachSet{bits: bitmap.NewSet(n), extra: map[plumbing.Hash]plumbing.ObjectType{}}
}

// addExtra adds h, outside the pack, and reports whether it was new.
func (rs *reachSet) addExtra(h plumbing.Hash, t plumbing.ObjectType) bool {
	if _, ok := rs.extra[h]; ok {
		return false
	}
	rs.extra[h] = t
	rs.order = append(rs.order, packObject{h, t})
	return true
}

// reacher adds the objects reachable from commits to a set: commits with a
// stored bitmap contribute it whole; the others, and objects outside the
// pack, are walked, their parents followed and their trees read down to
// objects already in the set.
type reacher struct {
	ctx  context.Context
	r    *repo
	pack *packfile.Pack
	bm   *bitmap.Bitmap
}

// rank returns h's bit in the bitmap, or false when h is not in the pack.
func (x *reacher) rank(h plumbing.Hash) (int, bool) {
	pos, ok := x.pack.Index.Find(h)
	if !ok {
		return 0, false
	}
	return x.pack.Rank(pos), true
}

// reach adds to s everything reachable from the commits roots.
func (x *reacher) reach(s *reachSet, roots []plumbing.Hash) error {
	stack := append([]plumbing.Hash(nil), roots...)
	var trees []plumbing.Hash
	for n := 0; len(stack) > 0; n++ {
		if n&255 == 0 {
			if err := x.ctx.Err(); err != nil {
				return err
			}
		}
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pos, ok := x.pack.Index.Find(h)
		if ok {
			rank := x.pack.Rank(pos)
			if s.bits.Has(rank) {
				continue
			}
			if x.bm.Has(pos) {
				if err := x.bm.OrCommit(s.bits, pos); err != nil {
					return fmt.Errorf("%w: %v", errNoBitmap, err)
				}
				continue
			}
			s.bits.Add(rank)
		} else if !s.addExtra(h, plumbing.CommitObject) {
			continue
		}
		c, err := x.r.commit(h)
		if err != nil {
			return err
		}
		trees = append(trees, c.Tree)
		stack = append(stack, c.Parents...)
	}
	// Trees last: bitmaps met later in the walk may already cover them.
	for _, t := range trees {
		if err := x.addTree(s, t); err != nil {
			return err
		}
	}
	return nil
}

// add puts h in s and reports whether it was new.
func (x *reacher) add(s *reachSet, h plumbing.Hash, t plumbing.ObjectType) bool {
	rank, ok := x.rank(h)
	if !ok {
		return s.addExtra(h, t)
	}
	if s.bits.Has(rank) {
		return false
	}
	s.bits.Add(rank)
	return true
}

// addTree adds tree root and what it holds, skipping subtrees already in s.
func (x *reacher) addTree(s *reachSet, root plumbing.Hash) error {
	stack := []plumbing.Hash{root}
	for n := 0; len(stack) > 0; n++ {
		if n&255 == 0 {
			if err := x.ctx.Err(); err != nil {
				return err
			}
		}
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !x.add(s, h, plumbing.TreeObject) {
			continue
		}
		tree, err := x.r.db.Tree(h)
		if err != nil {
			return err
		}
		if stack, err = tree.Children(stack, func(b plumbing.Hash) { x.add(s, b, plumbing.BlobObject) }); err != nil {
			return fmt.Errorf("tree %s: %w", h, err)
		}
	}
	return nil
}
