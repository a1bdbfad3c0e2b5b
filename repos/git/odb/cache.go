package odb

import (
	"container/list"
	"sync"

	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// bases is the process-wide cache of inflated delta bases: one budget for
// every open repository, so that memory does not grow with how many are
// served at once, and an idle repository's bases stay until others need
// the room.
var bases = newLRU(DefaultCacheBytes)

// lru caches inflated delta bases by pack entry within a byte budget, as
// git's delta_base_cache does.
type lru struct {
	mu     sync.Mutex
	budget int
	used   int
	ll     *list.List
	items  map[cacheKey]*list.Element
}

type cacheKey struct {
	p   *packfile.Pack
	off int64
}

type cacheItem struct {
	key  cacheKey
	typ  plumbing.ObjectType
	data []byte
}

func newLRU(budget int) *lru {
	return &lru{budget: budget, ll: list.New(), items: map[cacheKey]*list.Element{}}
}

func (c *lru) get(p *packfile.Pack, off int64) (plumbing.ObjectType, []byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[cacheKey{p, off}]
	if !ok {
		return plumbing.InvalidObject, nil, false
	}
	c.ll.MoveToFront(el)
	it := el.Value.(*cacheItem)
	return it.typ, it.data, true
}

// drop removes the bases of the packs ps, which are being closed.
func (c *lru) drop(ps []*packfile.Pack) {
	if len(ps) == 0 {
		return
	}
	closing := make(map[*packfile.Pack]bool, len(ps))
	for _, p := range ps {
		closing[p] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.ll.Front(); el != nil; {
		next := el.Next()
		if it := el.Value.(*cacheItem); closing[it.key.p] {
			c.ll.Remove(el)
			delete(c.items, it.key)
			c.used -= len(it.data)
		}
		el = next
	}
}

func (c *lru) add(p *packfile.Pack, off int64, typ plumbing.ObjectType, data []byte) {
	if len(data) > c.budget/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey{p, off}
	if _, ok := c.items[k]; ok {
		return
	}
	c.items[k] = c.ll.PushFront(&cacheItem{k, typ, data})
	c.used += len(data)
	for c.used > c.budget {
		el := c.ll.Back()
		it := el.Value.(*cacheItem)
		c.ll.Remove(el)
		delete(c.items, it.key)
		c.used -= len(it.data)
	}
}

// CacheStats describe the process-wide caches of this package, for the
// server's metrics.
type CacheStats struct {
	// OpenRepos is how many repositories' object stores are held open
	// between requests, in use or idle (at most MaxShared idle ones).
	OpenRepos int
	// BaseBytes and BaseEntries are the inflated delta bases cached
	// (within DefaultCacheBytes).
	BaseBytes, BaseEntries int
}

// Stats returns the sizes of the process-wide caches now.
func Stats() CacheStats {
	var s CacheStats
	shared.mu.Lock()
	s.OpenRepos = len(shared.byPath)
	shared.mu.Unlock()
	bases.mu.Lock()
	s.BaseBytes, s.BaseEntries = bases.used, len(bases.items)
	bases.mu.Unlock()
	return s
}
