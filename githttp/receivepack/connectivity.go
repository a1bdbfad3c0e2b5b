package receivepack

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/indexpack"
	"github.com/depot/depot/repos/git/object"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
)

// checker decides whether a new ref value is complete: every object
// reachable from it is in the received pack or in the repository.
//
// depot keeps every push in quarantine until it is checked, so an object
// in the repository has its whole closure there. A pack whose every
// linked object is in the pack or in the repository therefore completes
// every tip it holds, which one pass over the set of linked ids shows.
// Only when some linked object is missing does the checker walk from
// each tip, reading the quarantined pack, to refuse just the refs whose
// history is incomplete. git's own check (rev-list --not --all) stops at
// objects reachable from refs instead, which differs only for objects
// that gc left half-pruned.
type checker struct {
	pack *packIndex // nil when no pack came with the push
	repo *odb.DB
	// done holds objects whose closure a previous walk found complete.
	done map[plumbing.Hash]bool

	checked  bool // whether complete was computed
	complete bool
	qpack    *packfile.Pack // the quarantined pack, opened for a walk

	// cache, when not nil, keeps objects read from the quarantined pack
	// by offset, so that walking many trees that are deltas on each
	// other resolves each link of their chains once (see cacheObjects).
	cache      map[int64]cachedObject
	cacheBytes int
}

type cachedObject struct {
	typ  plumbing.ObjectType
	data []byte
}

// Bounds of the checker's object cache: objects up to cacheObjectMax
// bytes are kept, cacheBytesMax bytes in all, and the cache starts again
// empty when full.
const (
	cacheBytesMax  = 32 << 20
	cacheObjectMax = 1 << 20
)

// cacheObjects makes the reads from the quarantined pack that follow
// keep what they resolve, for walks that read every new tree.
func (c *checker) cacheObjects() {
	if c.cache == nil {
		c.cache = map[int64]cachedObject{}
	}
}

func newChecker(pack *packIndex, repo *odb.DB) *checker {
	return &checker{pack: pack, repo: repo, done: map[plumbing.Hash]bool{}}
}

// close releases the quarantined pack if a walk opened it.
func (c *checker) close() {
	if c.qpack != nil {
		c.qpack.Close()
	}
}

// typeOf returns the type of h from the pack or the repository, with an
// error wrapping odb.ErrNotFound when neither has it.
func (c *checker) typeOf(h plumbing.Hash) (plumbing.ObjectType, error) {
	if c.pack != nil {
		if t, ok := c.pack.types[h]; ok {
			return t, nil
		}
	}
	return c.repo.Type(h)
}

// missing returns an object reachable from tip that exists nowhere, or
// the zero hash when the closure of tip is complete.
func (c *checker) missing(tip plumbing.Hash) (plumbing.Hash, error) {
	if c.pack == nil {
		if c.repo.Has(tip) {
			return plumbing.ZeroHash, nil
		}
		return tip, nil
	}
	if !c.checked {
		c.checked, c.complete = true, c.allLinkedExist()
	}
	if c.complete {
		if _, ok := c.pack.types[tip]; ok || c.repo.Has(tip) {
			return plumbing.ZeroHash, nil
		}
		return tip, nil
	}
	return c.walk(tip)
}

// allLinkedExist reports whether every object the pack links to is in
// the pack or in the repository.
func (c *checker) allLinkedExist() bool {
	for h := range c.pack.linked {
		if _, ok := c.pack.types[h]; !ok && !c.repo.Has(h) {
			return false
		}
	}
	return true
}

// walk follows the links of pack objects from tip, reading them from the
// quarantined pack, and stops at objects the repository has.
func (c *checker) walk(tip plumbing.Hash) (plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	stack := []plumbing.Hash{tip}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] || c.done[h] {
			continue
		}
		seen[h] = true
		typ, inPack := c.pack.types[h]
		if !inPack {
			if !c.repo.Has(h) {
				return h, nil
			}
			continue
		}
		if typ == plumbing.BlobObject {
			continue
		}
		links, err := c.readLinks(h, typ)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		stack = append(stack, links...)
	}
	for h := range seen {
		c.done[h] = true
	}
	return plumbing.ZeroHash, nil
}

// readLinks reads a commit, tree or tag from the quarantined pack and
// returns what it links to.
func (c *checker) readLinks(h plumbing.Hash, typ plumbing.ObjectType) ([]plumbing.Hash, error) {
	data, err := c.read(h)
	if err != nil {
		return nil, err
	}
	return object.AppendLinks(nil, typ, data)
}

// read returns the content of h, an object of the quarantined pack.
func (c *checker) read(h plumbing.Hash) ([]byte, error) {
	if err := c.openPack(); err != nil {
		return nil, err
	}
	pos, ok := c.qpack.Index.Find(h)
	if !ok {
		return nil, fmt.Errorf("receivepack: %s is not in the received pack's index", h)
	}
	_, data, err := c.readAt(c.qpack.Index.Offset(pos), 0)
	if err != nil {
		return nil, fmt.Errorf("receivepack: reading %s from the received pack: %w", h, err)
	}
	return data, nil
}

// openPack opens the quarantined pack for reading, once.
func (c *checker) openPack() error {
	if c.qpack == nil {
		p, err := packfile.Open(c.pack.path)
		if err != nil {
			return fmt.Errorf("receivepack: opening the received pack: %w", err)
		}
		c.qpack = p
	}
	return nil
}

// readAt returns the object at off in the quarantined pack, resolving its
// delta chain, whose bases may be in the pack or, for the bases a thin
// pack was completed with, in the repository.
func (c *checker) readAt(off int64, depth int) (plumbing.ObjectType, []byte, error) {
	if depth > maxDeltaDepth {
		return 0, nil, fmt.Errorf("delta chain too deep at %d", off)
	}
	if o, ok := c.cache[off]; ok {
		return o.typ, o.data, nil
	}
	typ, data, err := c.resolveAt(off, depth)
	if err == nil && c.cache != nil && len(data) <= cacheObjectMax {
		if c.cacheBytes+len(data) > cacheBytesMax {
			clear(c.cache)
			c.cacheBytes = 0
		}
		c.cache[off] = cachedObject{typ, data}
		c.cacheBytes += len(data)
	}
	return typ, data, err
}

// resolveAt reads the object at off and applies its delta chain.
func (c *checker) resolveAt(off int64, depth int) (plumbing.ObjectType, []byte, error) {
	e, err := c.qpack.Entry(off)
	if err != nil {
		return 0, nil, err
	}
	data, err := c.qpack.Inflate(e)
	if err != nil {
		return 0, nil, err
	}
	var typ plumbing.ObjectType
	var base []byte
	switch e.Type {
	case plumbing.OFSDeltaObject:
		typ, base, err = c.readAt(e.BaseOffset, depth+1)
	case plumbing.REFDeltaObject:
		if pos, ok := c.qpack.Index.Find(e.BaseHash); ok {
			typ, base, err = c.readAt(c.qpack.Index.Offset(pos), depth+1)
		} else {
			typ, base, err = c.repo.Read(e.BaseHash)
		}
	default:
		return e.Type, data, nil
	}
	if err != nil {
		return 0, nil, err
	}
	data, err = packfile.ApplyDelta(base, data)
	return typ, data, err
}

// maxDeltaDepth matches the indexer's: the pack was refused past it.
const maxDeltaDepth = indexpack.MaxDeltaDepth

// reasonMissing is git's own reason for a ref whose history is incomplete.
const reasonMissing = "missing necessary objects"
