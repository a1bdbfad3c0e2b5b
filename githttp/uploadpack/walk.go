package uploadpack

import (
	"container/heap"
	"context"

	"github.com/go-git/go-git/v5/plumbing"
)

// commitQueue orders commits newest first, ties in insertion order.
type commitQueue []queued

type queued struct {
	hash plumbing.Hash
	time int64
	seq  int
}

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	if q[i].time != q[j].time {
		return q[i].time > q[j].time
	}
	return q[i].seq < q[j].seq
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *commitQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// Flags of commitWalk.
const (
	wSeen = 1 << iota
	wUninteresting
	wPopped
)

// walkSlop is how many uninteresting commits older than every result the walk
// still looks at before it stops, to absorb clock skew (git's SLOP).
const walkSlop = 5

// commitWalk lists commits reachable from positive tips but not from negative
// ones, newest first, the way "git rev-list pos --not neg" does: it stops
// once only uninteresting commits are left, so a fetch that is nearly up to
// date does not walk the whole history.
type commitWalk struct {
	ctx   context.Context
	r     *repo
	cut   map[plumbing.Hash]bool // shallow commits: their parents are not followed
	since int64                  // commits older than this become uninteresting (0: off)

	flags       map[plumbing.Hash]uint8
	q           commitQueue
	seq         int
	interesting int // interesting commits in q
	out         []plumbing.Hash
}

func newCommitWalk(ctx context.Context, r *repo, cut map[plumbing.Hash]bool) *commitWalk {
	return &commitWalk{ctx: ctx, r: r, cut: cut, flags: make(map[plumbing.Hash]uint8)}
}

// push queues commit h. Negative tips that are missing or not commits are
// ignored: the client may name objects this repository does not have.
func (w *commitWalk) push(h plumbing.Hash, uninteresting bool) error {
	if f, ok := w.flags[h]; ok {
		if uninteresting && f&wUninteresting == 0 {
			w.markUninteresting(h)
		}
		return nil
	}
	c, err := w.r.commit(h)
	if err != nil {
		if uninteresting {
			return nil
		}
		return err
	}
	f := uint8(wSeen)
	if uninteresting {
		f |= wUninteresting
	} else {
		w.interesting++
	}
	w.flags[h] = f
	w.seq++
	heap.Push(&w.q, queued{hash: h, time: c.Time, seq: w.seq})
	return nil
}

// markUninteresting marks h and, for commits already walked, their ancestors.
func (w *commitWalk) markUninteresting(h plumbing.Hash) {
	stack := []plumbing.Hash{h}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		f, ok := w.flags[h]
		if !ok || f&wUninteresting != 0 {
			continue
		}
		w.flags[h] = f | wUninteresting
		if f&wPopped == 0 {
			w.interesting-- // still queued; it propagates when popped
			continue
		}
		if w.cut[h] {
			continue
		}
		if c, ok := w.r.commits[h]; ok {
			stack = append(stack, c.Parents...)
		}
	}
}

// run walks until only uninteresting commits are left and returns the
// interesting ones, newest first.
func (w *commitWalk) run() ([]plumbing.Hash, error) {
	slop := walkSlop
	oldest := int64(0)
	for n := 0; w.q.Len() > 0; n++ {
		if n&1023 == 0 {
			if err := w.ctx.Err(); err != nil {
				return nil, err
			}
		}
		if w.interesting == 0 {
			if len(w.out) == 0 {
				break
			}
			if w.q[0].time < oldest {
				if slop--; slop <= 0 {
					break
				}
			} else {
				slop = walkSlop
			}
		}
		it := heap.Pop(&w.q).(queued)
		f := w.flags[it.hash]
		c := w.r.commits[it.hash]
		if f&wUninteresting == 0 {
			w.interesting--
			if w.since != 0 && c.Time < w.since {
				f |= wUninteresting
			}
		}
		w.flags[it.hash] = f | wPopped
		if f&wUninteresting == 0 {
			w.out = append(w.out, it.hash)
			if len(w.out) == 1 || c.Time < oldest {
				oldest = c.Time
			}
		}
		if w.cut[it.hash] {
			continue
		}
		for _, p := range c.Parents {
			if err := w.push(p, f&wUninteresting != 0); err != nil {
				return nil, err
			}
		}
	}
	res := w.out[:0:0]
	for _, h := range w.out {
		if w.flags[h]&wUninteresting == 0 {
			res = append(res, h)
		}
	}
	return res, nil
}

// edges returns the uninteresting parents of the commits in out: the commits
// the client has that border what it is sent.
func (w *commitWalk) edges(out []plumbing.Hash) []plumbing.Hash {
	var edges []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	for _, h := range out {
		if w.cut[h] {
			continue
		}
		for _, p := range w.r.commits[h].Parents {
			if w.flags[p]&wUninteresting != 0 && !seen[p] {
				seen[p] = true
				edges = append(edges, p)
			}
		}
	}
	return edges
}
