package receivepack

import (
	"container/heap"
	"errors"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/object"
	"github.com/depot/depot/repos/git/odb"
)

// descends reports whether a ref may move from old to tip without a
// force: tip is old, or both are commits and old is an ancestor of tip.
// Anything else (a tag moved, a ref that held a blob) would need a force
// too, as it does for the git client. The new commits may still be in
// the quarantined pack. The walk goes newest commit first and, when the
// repository's commit-graph knows old's generation, stops below commits
// that cannot reach it, which is how a fast-forward costs about the
// commits it adds. Without generations it stops once every commit left is
// a day older than old (dateSlop): a history whose committer dates go back
// that far and forth again is taken for a force push, which refuses
// rather than allows.
func (c *checker) descends(tip, old plumbing.Hash) (bool, error) {
	if tip == old {
		return true, nil
	}
	for _, h := range []plumbing.Hash{tip, old} {
		typ, err := c.typeOf(h)
		if errors.Is(err, odb.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if typ != plumbing.CommitObject {
			return false, nil
		}
	}
	var oldGen uint32 // 0: unknown, or saturated and of no use
	if g, ok, err := c.repo.CommitGraph().Lookup(old); ok && err == nil && g.Generation < generationMax {
		oldGen = g.Generation
	}
	oldNode, err := c.commitNode(old)
	if err != nil {
		return false, err
	}
	cutoff := oldNode.time - dateSlop
	q := &ancestryQueue{}
	seen := map[plumbing.Hash]bool{}
	push := func(h plumbing.Hash) error {
		if seen[h] {
			return nil
		}
		seen[h] = true
		n, err := c.commitNode(h)
		if errors.Is(err, odb.ErrNotFound) {
			return nil // a shallow history ends here
		}
		if err != nil {
			return err
		}
		heap.Push(q, n)
		return nil
	}
	if err := push(tip); err != nil {
		return false, err
	}
	for q.Len() > 0 {
		n := heap.Pop(q).(ancestryNode)
		if n.hash == old {
			return true, nil
		}
		if oldGen == 0 && n.time < cutoff {
			return false, nil // every commit left is older still
		}
		if oldGen > 0 && n.gen > 0 && n.gen <= oldGen {
			continue // of the same level or below: cannot reach old
		}
		for _, p := range n.parents {
			if err := push(p); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

// dateSlop is how much older than the old value of a ref a commit may be
// and still lead to it, for walks without generation numbers.
const dateSlop = 24 * 60 * 60

// generationMax is where commit-graph generations saturate
// (gitformat-commit-graph: GENERATION_NUMBER_V1_MAX).
const generationMax = 0x3FFFFFFF

// ancestryNode is one commit of the walk of descends.
type ancestryNode struct {
	hash    plumbing.Hash
	time    int64
	gen     uint32 // commit-graph generation; 0 when unknown
	parents []plumbing.Hash
}

// commitNode reads the commit h from the quarantined pack, else from the
// repository's commit-graph, else from its objects; an error wrapping
// odb.ErrNotFound when none has it.
func (c *checker) commitNode(h plumbing.Hash) (ancestryNode, error) {
	if c.pack != nil {
		if typ, ok := c.pack.types[h]; ok {
			if typ != plumbing.CommitObject {
				return ancestryNode{}, odb.ErrNotFound
			}
			if err := c.openPack(); err != nil {
				return ancestryNode{}, err
			}
			pos, ok := c.qpack.Index.Find(h)
			if !ok {
				return ancestryNode{}, odb.ErrNotFound
			}
			_, data, err := c.readAt(c.qpack.Index.Offset(pos), 0)
			if err != nil {
				return ancestryNode{}, err
			}
			var ci object.CommitInfo
			if err := object.ParseCommitInfo(data, &ci); err != nil {
				return ancestryNode{}, err
			}
			return ancestryNode{hash: h, time: ci.Time, parents: ci.Parents}, nil
		}
	}
	if g, ok, err := c.repo.CommitGraph().Lookup(h); ok && err == nil {
		return ancestryNode{hash: h, time: g.Time, gen: g.Generation, parents: g.Parents}, nil
	}
	ci, err := c.repo.CommitInfo(h)
	if err != nil {
		return ancestryNode{}, err
	}
	return ancestryNode{hash: h, time: ci.Time, parents: ci.Parents}, nil
}

// ancestryQueue is a heap of commits, newest committer date first.
type ancestryQueue []ancestryNode

func (q ancestryQueue) Len() int           { return len(q) }
func (q ancestryQueue) Less(i, j int) bool { return q[i].time > q[j].time }
func (q ancestryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *ancestryQueue) Push(x any)        { *q = append(*q, x.(ancestryNode)) }
func (q *ancestryQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
