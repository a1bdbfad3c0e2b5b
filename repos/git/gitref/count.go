package gitref

import (
	"errors"
	"fmt"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// CountCommits returns how many commits the history that starts at ref
// holds, as `git rev-list --count REF` counts them: what Commits pages
// through, for the total of a paged answer. ref is what Commits takes;
// "" on an empty repository counts 0.
//
// The history under a commit never changes, so counts are remembered by
// repository and start commit (countCache): a client paging through a
// history walks it once. The walk reads parents from the commit-graph
// when the repository has one (gc writes it), else from the commits.
func CountCommits(dir, ref string) (int, error) {
	o, err := openObjects(dir)
	if err != nil {
		return 0, fmt.Errorf("gitref: count %q: %w", ref, err)
	}
	defer o.close()
	start, err := o.resolve(ref)
	if ref == "" && errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("gitref: count %q: %w", ref, err)
	}
	key := countKey{dir, start}
	if n, ok := counts.get(key); ok {
		return n, nil
	}
	n, err := o.countReachable(start)
	if err != nil {
		return 0, fmt.Errorf("gitref: count %q: %w", ref, err)
	}
	counts.put(key, n)
	return n, nil
}

// countReachable counts the commits reachable from start, start included.
// Commits the commit-graph holds (gc writes it) are walked by their
// positions in it, marked in a bitmap, one small read each for their
// parents; the others (pushed since, or all of them without a graph) are
// read whole.
func (o *objects) countReachable(start plumbing.Hash) (int, error) {
	graph := o.db.CommitGraph()
	var marked []uint64 // graph positions seen
	if graph != nil {
		marked = make([]uint64, (graph.Len()+63)/64)
	}
	n := 0
	var inGraph []uint32 // to walk, by position
	seen := map[plumbing.Hash]struct{}{}
	var outside []plumbing.Hash // to walk, read whole
	visit := func(h plumbing.Hash) {
		if pos, ok := graph.Position(h); ok {
			if marked[pos/64]&(1<<(pos%64)) == 0 {
				marked[pos/64] |= 1 << (pos % 64)
				n++
				inGraph = append(inGraph, pos)
			}
			return
		}
		if _, ok := seen[h]; !ok {
			seen[h] = struct{}{}
			n++
			outside = append(outside, h)
		}
	}
	visit(start)
	for len(outside) > 0 {
		h := outside[len(outside)-1]
		outside = outside[:len(outside)-1]
		c, err := o.commit(h)
		if err != nil {
			return 0, err
		}
		for _, p := range c.Parents {
			visit(p)
		}
	}
	var parents []uint32
	for len(inGraph) > 0 {
		pos := inGraph[len(inGraph)-1]
		inGraph = inGraph[:len(inGraph)-1]
		var err error
		if parents, err = graph.ParentPositions(pos, parents[:0]); err != nil {
			return 0, err
		}
		for _, p := range parents {
			if marked[p/64]&(1<<(p%64)) == 0 {
				marked[p/64] |= 1 << (p % 64)
				n++
				inGraph = append(inGraph, p)
			}
		}
	}
	return n, nil
}

type countKey struct {
	dir   string
	start plumbing.Hash
}

// countCache remembers counts by repository and start commit: a count is
// a few bytes, and a start commit's count never changes. Full, it starts
// over, as the token lookup cache does; hot histories count again once.
type countCache struct {
	mu sync.Mutex
	m  map[countKey]int
}

const countCacheMax = 4096

var counts = &countCache{m: map[countKey]int{}}

func (c *countCache) get(k countKey) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[k]
	return n, ok
}

func (c *countCache) put(k countKey, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= countCacheMax {
		clear(c.m)
	}
	c.m[k] = n
}
