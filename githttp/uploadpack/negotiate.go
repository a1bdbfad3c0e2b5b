package uploadpack

import (
	"context"

	"github.com/go-git/go-git/v5/plumbing"
)

// negotiator tracks what the client has told us it has during one request,
// as git's upload-pack does with THEY_HAVE flags.
type negotiator struct {
	ctx      context.Context
	r        *repo
	wants    []plumbing.Hash // commits the wants peel to; other wants need no base
	theyHave map[plumbing.Hash]bool
	common   []plumbing.Hash // distinct haves we have, in order
	oldest   int64           // commit time of the oldest common commit

	readyAt int // len(common) when ready was last computed, -1 before
	ready   bool
}

func newNegotiator(ctx context.Context, r *repo, wants []plumbing.Hash) *negotiator {
	n := &negotiator{ctx: ctx, r: r, theyHave: map[plumbing.Hash]bool{}, readyAt: -1}
	for _, w := range wants {
		if obj, typ, _, err := r.db.Peel(w); err == nil && typ == plumbing.CommitObject {
			n.wants = append(n.wants, obj)
		}
	}
	return n
}

// have records one have line and reports whether we have the object and
// whether it was new to the common set.
func (n *negotiator) have(h plumbing.Hash) (ok, added bool) {
	if !n.r.has(h) {
		return false, false
	}
	if c, err := n.r.commit(h); err == nil {
		if n.theyHave[h] {
			return true, false
		}
		n.theyHave[h] = true
		if len(n.common) == 0 || c.Time < n.oldest {
			n.oldest = c.Time
		}
		for _, p := range c.Parents {
			n.theyHave[p] = true
		}
	}
	n.common = append(n.common, h)
	return true, true
}

// okToGiveUp reports whether every wanted commit reaches a commit the client
// has, so that a pack can be cut (git's ok_to_give_up). Commits older than
// the oldest common one are not walked.
func (n *negotiator) okToGiveUp() (bool, error) {
	if len(n.common) == 0 {
		return false, nil
	}
	if n.readyAt == len(n.common) {
		return n.ready, nil
	}
	n.readyAt = len(n.common)
	n.ready = false
	dead := map[plumbing.Hash]bool{} // explored without finding a have
	for _, w := range n.wants {
		ok, err := n.reaches(w, dead)
		if err != nil || !ok {
			return false, err
		}
	}
	n.ready = true
	return true, nil
}

// reaches reports whether a commit the client has is reachable from w.
func (n *negotiator) reaches(w plumbing.Hash, dead map[plumbing.Hash]bool) (bool, error) {
	visited := map[plumbing.Hash]bool{w: true}
	stack := []plumbing.Hash{w}
	for i := 0; len(stack) > 0; i++ {
		if i&1023 == 0 {
			if err := n.ctx.Err(); err != nil {
				return false, err
			}
		}
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.theyHave[h] {
			return true, nil
		}
		if dead[h] {
			continue
		}
		c, err := n.r.commit(h)
		if err != nil {
			return false, err
		}
		if c.Time < n.oldest {
			continue
		}
		for _, p := range c.Parents {
			if !visited[p] {
				visited[p] = true
				stack = append(stack, p)
			}
		}
	}
	for h := range visited {
		dead[h] = true
	}
	return false, nil
}
