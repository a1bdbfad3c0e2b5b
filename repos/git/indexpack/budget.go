package indexpack

import "sync"

// Budget is a number of bytes that indexers share: the delta bases and
// cached delta data they hold in memory are taken from it, and whatever
// does not fit is spilled to disk or read again from the pack. One budget
// for the whole process bounds the memory of every push at once, however
// many run and whatever their packs hold.
type Budget struct {
	mu   sync.Mutex
	free int64
}

// NewBudget returns a budget of n bytes.
func NewBudget(n int64) *Budget { return &Budget{free: n} }

// DefaultBudget is the budget of indexers that are given none: 96 MiB, the
// delta base cache git's index-pack keeps by default (core.deltaBaseCacheLimit).
var DefaultBudget = NewBudget(96 << 20)

// take reserves n bytes if they are free and reports whether it did.
func (b *Budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

// give returns n bytes taken before.
func (b *Budget) give(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
}

// Free returns the bytes not taken, for tests and metrics.
func (b *Budget) Free() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.free
}
