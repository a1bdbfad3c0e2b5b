package browse

import (
	"container/list"
	"sync"
)

// lru is a process-wide cache of values derived from objects, which
// never change: a key names its answer for ever, and only memory bounds
// the cache. It is safe for concurrent use.
type lru[K comparable, V any] struct {
	mu    sync.Mutex
	max   int // bytes
	size  int
	cost  func(V) int
	byKey map[K]*list.Element
	order *list.List // of *lruEntry[K, V], most recent first
}

type lruEntry[K comparable, V any] struct {
	key  K
	val  V
	cost int
}

func newLRU[K comparable, V any](max int, cost func(V) int) *lru[K, V] {
	return &lru[K, V]{max: max, cost: cost, byKey: map[K]*list.Element{}, order: list.New()}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry[K, V]).val, true
}

func (c *lru[K, V]) add(k K, v V) {
	n := c.cost(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok || n > c.max/4 {
		return // one value never takes most of the cache
	}
	c.byKey[k] = c.order.PushFront(&lruEntry[K, V]{k, v, n})
	c.size += n
	for c.size > c.max {
		old := c.order.Remove(c.order.Back()).(*lruEntry[K, V])
		delete(c.byKey, old.key)
		c.size -= old.cost
	}
}
