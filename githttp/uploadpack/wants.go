package uploadpack

import (
	"container/heap"
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

// unreachableWant returns the first want that is neither a ref tip (or a
// peeled tip) nor reachable from one, or ok when every want may be served
// (allow-tip-sha1-in-want and allow-reachable-sha1-in-want semantics).
//
// Tips cost nothing. Other wants, such as the blobs a partial clone fetches
// lazily, are searched for from the tips newest commit first, trees
// included, stopping as soon as all are found.
func unreachableWant(ctx context.Context, r *repo, rs *refSet, wants []plumbing.Hash) (plumbing.Hash, bool, error) {
	tips := map[plumbing.Hash]bool{}
	add := func(rf ref) {
		tips[rf.hash] = true
		if !rf.peeled.IsZero() {
			tips[rf.peeled] = true
		}
	}
	for _, rf := range rs.refs {
		add(rf)
	}
	if rs.headOK {
		add(rs.head)
	}
	pending := map[plumbing.Hash]bool{}
	needTrees := false
	for _, w := range wants {
		if tips[w] || pending[w] {
			continue
		}
		t, err := r.objectType(w)
		if err != nil {
			return w, false, nil
		}
		pending[w] = true
		if t != plumbing.CommitObject {
			needTrees = true
		}
	}
	if len(pending) == 0 {
		return plumbing.ZeroHash, true, nil
	}

	var q commitQueue
	seen := map[plumbing.Hash]bool{}
	seenTree := map[plumbing.Hash]bool{}
	push := func(h plumbing.Hash) {
		if seen[h] {
			return
		}
		seen[h] = true
		c, err := r.commit(h)
		if err != nil {
			return
		}
		heap.Push(&q, queued{hash: h, time: c.Time, seq: len(seen)})
	}
	for tip := range tips {
		obj, typ, chain, err := r.db.Peel(tip)
		if err != nil {
			continue
		}
		for _, t := range chain {
			delete(pending, t)
		}
		switch typ {
		case plumbing.CommitObject:
			push(obj)
		case plumbing.TreeObject, plumbing.BlobObject:
			if err := findInTree(ctx, r, obj, typ, pending, seenTree); err != nil {
				return plumbing.ZeroHash, false, err
			}
		}
	}
	for n := 0; len(pending) > 0 && q.Len() > 0; n++ {
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return plumbing.ZeroHash, false, err
			}
		}
		h := heap.Pop(&q).(queued).hash
		delete(pending, h)
		c := r.commits[h]
		if needTrees {
			if err := findInTree(ctx, r, c.Tree, plumbing.TreeObject, pending, seenTree); err != nil {
				return plumbing.ZeroHash, false, err
			}
		}
		for _, p := range c.Parents {
			push(p)
		}
	}
	for _, w := range wants {
		if pending[w] {
			return w, false, nil
		}
	}
	return plumbing.ZeroHash, true, nil
}

// findInTree removes from pending every object under tree root.
func findInTree(ctx context.Context, r *repo, root plumbing.Hash, typ plumbing.ObjectType, pending, seen map[plumbing.Hash]bool) error {
	delete(pending, root)
	if typ != plumbing.TreeObject {
		return nil
	}
	stack := []plumbing.Hash{root}
	for n := 0; len(stack) > 0 && len(pending) > 0; n++ {
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] {
			continue
		}
		seen[h] = true
		delete(pending, h)
		tree, err := r.db.Tree(h)
		if err != nil {
			return err
		}
		if stack, err = tree.Children(stack, func(b plumbing.Hash) { delete(pending, b) }); err != nil {
			return fmt.Errorf("tree %s: %w", h, err)
		}
	}
	return nil
}
