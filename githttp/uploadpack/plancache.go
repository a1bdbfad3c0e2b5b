package uploadpack

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// planCacheBytes bounds the memory of cached pack plans. A plan costs some
// 21 bytes per object, so the default holds a few plans of a million
// objects each.
const planCacheBytes = 64 << 20

// plans is the process-wide cache of pack plans: identical fetches of
// identical ref states, such as a fleet of CI machines cloning the same
// commit, compute the object list once. Objects never change under their
// ids, so a plan stays valid for as long as the refs (part of the key) do.
var plans = newPlanCache(planCacheBytes)

type planCache struct {
	mu     sync.Mutex
	budget int
	used   int
	ll     *list.List // of *flight, most recent first, finished only
	byKey  map[[32]byte]*flight
}

// flight is one plan, being computed until done is closed.
type flight struct {
	key  [32]byte
	done chan struct{}
	plan *packPlan
	err  error
	size int
	el   *list.Element
}

func newPlanCache(budget int) *planCache {
	return &planCache{budget: budget, ll: list.New(), byKey: map[[32]byte]*flight{}}
}

// get returns the plan for key, calling compute at most once for concurrent
// callers with the same key. A caller whose leader failed computes again
// itself, so that one cancelled client does not fail the others.
func (c *planCache) get(ctx context.Context, key [32]byte, compute func() (*packPlan, error)) (*packPlan, error) {
	for {
		c.mu.Lock()
		f, ok := c.byKey[key]
		if ok {
			if f.el != nil {
				c.ll.MoveToFront(f.el)
			}
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.err == nil {
				return f.plan, nil
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			continue
		}
		f = &flight{key: key, done: make(chan struct{})}
		c.byKey[key] = f
		c.mu.Unlock()

		f.plan, f.err = compute()
		c.mu.Lock()
		if f.err == nil {
			f.size = f.plan.cost()
		}
		if f.err != nil || f.size > c.budget/4 {
			delete(c.byKey, key)
		} else {
			f.el = c.ll.PushFront(f)
			c.used += f.size
			for c.used > c.budget {
				old := c.ll.Remove(c.ll.Back()).(*flight)
				delete(c.byKey, old.key)
				c.used -= old.size
			}
		}
		c.mu.Unlock()
		close(f.done)
		return f.plan, f.err
	}
}

// cost estimates the memory a cached plan holds.
func (p *packPlan) cost() int {
	return 64 + len(p.objects)*21 + len(p.has)*64 + (len(p.set)+len(p.hasSet))*8
}

// planKey digests everything a plan depends on: the repository, its refs
// (include-tag reads them; a changed ref state is a new key) and the
// request's plan inputs.
func planKey(dir string, bitmapPack plumbing.Hash, rs *refSet, in planInput) [32]byte {
	h := sha256.New()
	var n [8]byte
	str := func(s string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	hashes := func(tag string, hs []plumbing.Hash) {
		str(tag)
		binary.LittleEndian.PutUint64(n[:], uint64(len(hs)))
		h.Write(n[:])
		for _, x := range hs {
			h.Write(x[:])
		}
	}
	str(dir)
	h.Write(bitmapPack[:])
	for _, rf := range rs.refs {
		str(rf.name)
		h.Write(rf.hash[:])
		h.Write(rf.peeled[:])
	}
	str(rs.headTarget)
	h.Write(rs.head.hash[:])
	hashes("wants", in.wants)
	hashes("haves", in.haves)
	hashes("edges", in.extraEdges)
	cut := make([]plumbing.Hash, 0, len(in.cut))
	for c := range in.cut {
		cut = append(cut, c)
	}
	slices.SortFunc(cut, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	hashes("cut", cut)
	// The repository's own shallow commits end the walk too; an operator
	// deepening the repository changes the plan without touching refs.
	hashes("repo-shallow", in.repoShallow)
	if f := in.filter; f != nil {
		binary.LittleEndian.PutUint64(n[:], uint64(f.blobLimit))
		h.Write(n[:])
		binary.LittleEndian.PutUint64(n[:], uint64(f.treeDepth))
		h.Write(n[:])
		if f.blobNone {
			str("blob:none")
		}
		str("filter")
	}
	if in.includeTag {
		str("include-tag")
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// PlanCacheStats returns how many pack plans the process-wide cache holds
// and the bytes they are estimated to take (at most 64 MiB), for the
// server's metrics.
func PlanCacheStats() (entries, bytes int) {
	plans.mu.Lock()
	defer plans.mu.Unlock()
	return plans.ll.Len(), plans.used
}
