package gc

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/depot/depot/repos/git/commitgraph"
	"github.com/depot/depot/repos/git/object"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// objectSet is a set of object ids in the order walk found them. For the
// reachable objects it also holds what walk learned of each, by index in
// list, so that the bitmap is built without reading anything again: its
// type, and the objects it links to.
type objectSet struct {
	seen  idTable // index in list
	list  []plumbing.Hash
	types []plumbing.ObjectType // InvalidObject until known
	// The links of object i are edges[from[i]>>chunkBits][from[i]&chunkMask:][:n[i]]:
	// a commit's tree then its parents (none past a shallow commit), a
	// tag's object, a tree's entries but gitlinks; a blob has none. The
	// links of every tree add up to hundreds of millions in a large
	// repository: they are kept in chunks that are filled, never copied.
	from  []uint32
	n     []uint32
	edges [][]int32
	// commits are the commits walk found, for the commit-graph, and
	// commitAt their indexes in list.
	commits  []commitgraph.Entry
	commitAt []int32
}

func newObjectSet() *objectSet { return &objectSet{} }

// add adds h, of type t when known, and returns its index and whether it
// is new.
func (s *objectSet) add(h plumbing.Hash, t plumbing.ObjectType) (int32, bool) {
	slot, i, ok := s.seen.find(s.list, h)
	if ok {
		return i, false
	}
	i = int32(len(s.list))
	s.list = append(s.list, h)
	s.types = append(s.types, t)
	s.seen.put(s.list, slot, h, i)
	return i, true
}

// index returns the index of h in s.list.
func (s *objectSet) index(h plumbing.Hash) (int32, bool) {
	_, i, ok := s.seen.find(s.list, h)
	return i, ok
}

// idTable indexes a list of object ids by open addressing: each slot
// keeps part of its id as a tag, so that a probe rarely looks at the list.
// A walk looks up every entry of every tree, where a map's hashing and
// probing cost a third of the walk. Ids are placed by their first eight
// bytes times a random odd seed, so that ids pushed with a common prefix
// do not pile up in one run of slots.
type idTable struct {
	slots []uint64 // tag<<32 | index+1; 0 is empty
	n     int
	shift uint // 64 - log2(len(slots))
	seed  uint64
}

// idKey returns the slot-placing bits and the tag of h.
func idKey(h plumbing.Hash) (uint64, uint64) {
	return binary.LittleEndian.Uint64(h[:8]), uint64(binary.LittleEndian.Uint32(h[8:12]))
}

// find returns h's index in list, or the slot where it goes.
func (t *idTable) find(list []plumbing.Hash, h plumbing.Hash) (slot int, i int32, ok bool) {
	if len(t.slots) == 0 {
		return -1, 0, false
	}
	k, tag := idKey(h)
	mask := uint64(len(t.slots) - 1)
	for pos := k * t.seed >> t.shift; ; pos = (pos + 1) & mask {
		v := t.slots[pos]
		if v == 0 {
			return int(pos), 0, false
		}
		if v>>32 == tag && list[uint32(v)-1] == h {
			return int(pos), int32(uint32(v) - 1), true
		}
	}
}

// put records that h is list[i], in slot, which find returned for it.
func (t *idTable) put(list []plumbing.Hash, slot int, h plumbing.Hash, i int32) {
	if slot < 0 || (t.n+1)*2 > len(t.slots) {
		t.grow(list)
		slot, _, _ = t.find(list, h)
	}
	_, tag := idKey(h)
	t.slots[slot] = tag<<32 | uint64(i+1)
	t.n++
}

// grow doubles the table and places the ids of list in it again, but the
// last, which put places.
func (t *idTable) grow(list []plumbing.Hash) {
	if t.seed == 0 {
		t.seed = rand.Uint64() | 1
	}
	t.slots = make([]uint64, max(1024, 2*len(t.slots)))
	t.shift = uint(64 - bits.TrailingZeros(uint(len(t.slots))))
	mask := uint64(len(t.slots) - 1)
	for i, h := range list[:len(list)-1] {
		k, tag := idKey(h)
		pos := k * t.seed >> t.shift
		for t.slots[pos] != 0 {
			pos = (pos + 1) & mask
		}
		t.slots[pos] = tag<<32 | uint64(i+1)
	}
}

const (
	chunkBits = 22
	chunkMask = 1<<chunkBits - 1
)

// links returns the indexes of the objects i links to.
func (s *objectSet) links(i int32) []int32 {
	f := s.from[i]
	c := s.edges[f>>chunkBits]
	return c[f&chunkMask:][:s.n[i]]
}

// startLinks starts the links of object i, of which there are at most
// most: they go in the last chunk, or a new one when they would not fit.
func (s *objectSet) startLinks(i int32, most int) {
	for len(s.from) < len(s.list) {
		s.from = append(s.from, 0)
		s.n = append(s.n, 0)
	}
	last := len(s.edges) - 1
	if last < 0 || len(s.edges[last])+most > cap(s.edges[last]) {
		s.edges = append(s.edges, make([]int32, 0, max(1<<chunkBits, most)))
		last++
	}
	s.from[i] = uint32(last)<<chunkBits | uint32(len(s.edges[last]))
}

// link appends k to the links of the object started last.
func (s *objectSet) link(k int32) {
	last := len(s.edges) - 1
	s.edges[last] = append(s.edges[last], k)
}

// endLinks ends the links of object i.
func (s *objectSet) endLinks(i int32) {
	s.n[i] = uint32(len(s.edges[len(s.edges)-1])) - s.from[i]&chunkMask
}

// walk lists every object reachable from tips, in the repository or in
// the object directories it borrows from, stopping at the parents of the
// repository's own shallow commits, and records each one's type and links.
// A missing reachable object fails the walk: a broken repository is left
// as it is. Blobs, named by trees as such, are not read.
func walk(ctx context.Context, db *odb.DB, tips []plumbing.Hash) (*objectSet, error) {
	set := newObjectSet()
	var stack []int32
	for _, h := range tips {
		if i, ok := set.add(h, plumbing.InvalidObject); ok {
			stack = append(stack, i)
		}
	}
	// link adds h as a link of the object being read, and stacks it for
	// reading when it is new and may link to others.
	link := func(h plumbing.Hash, t plumbing.ObjectType) {
		i, ok := set.add(h, t)
		set.link(i)
		if ok && t != plumbing.BlobObject {
			stack = append(stack, i)
		}
	}
	var ci object.CommitInfo
	for n := 0; len(stack) > 0; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		h := set.list[i]
		typ, data, err := readLinked(db, h, set.types[i])
		if err != nil {
			return nil, err
		}
		set.types[i] = typ
		// A tree entry that links takes at least 28 bytes ("40000 a\0"
		// and the id); a commit has a 48-byte line per parent after its
		// tree's; a tag names one object.
		set.startLinks(i, len(data)/28+1)
		switch typ {
		case plumbing.TreeObject:
			it := object.Tree(data).Iter()
			for it.Next() {
				switch e := it.Entry(); {
				case e.Mode.IsTree():
					link(e.ID, plumbing.TreeObject)
				case e.Mode.IsBlob():
					link(e.ID, plumbing.BlobObject)
				}
			}
			err = it.Err()
		case plumbing.CommitObject:
			if err := object.ParseCommitInfo(data, &ci); err != nil {
				return nil, fmt.Errorf("object %s: %w", h, err)
			}
			parents := slices.Clone(ci.Parents)
			set.commits = append(set.commits, commitgraph.Entry{ID: h, Tree: ci.Tree, Parents: parents, Time: ci.Time})
			set.commitAt = append(set.commitAt, i)
			link(ci.Tree, plumbing.TreeObject)
			// A shallow clone's shallow commits have parents that were
			// never here.
			if !db.IsShallow(h) {
				for _, p := range parents {
					link(p, plumbing.CommitObject)
				}
			}
		case plumbing.TagObject:
			var target plumbing.Hash
			if target, _, err = object.TagTarget(data); err == nil {
				// The tag's type line is the tagger's word: the target
				// is read for its own.
				link(target, plumbing.InvalidObject)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("object %s: %w", h, err)
		}
		set.endLinks(i)
	}
	// Blobs are never read, so never given links.
	for len(set.from) < len(set.list) {
		set.from = append(set.from, 0)
		set.n = append(set.n, 0)
	}
	return set, nil
}

// readLinked reads h's content unless it is a blob, which links nothing.
// An object found through a tree or a commit is read as the type it was
// named with (known), any other is looked up first.
func readLinked(db *odb.DB, h plumbing.Hash, known plumbing.ObjectType) (plumbing.ObjectType, []byte, error) {
	if known == plumbing.InvalidObject {
		t, err := db.Type(h)
		if err != nil || t == plumbing.BlobObject {
			return t, nil, err
		}
	}
	t, data, err := db.Read(h)
	if err == nil && known != plumbing.InvalidObject && t != known {
		err = fmt.Errorf("odb: %s is a %s, named as a %s", h, t, known)
	}
	return t, data, err
}

// recentUnreachable lists the objects of the old packs and the loose ones
// that are not reachable but younger than Grace, by file time.
func recentUnreachable(db *odb.DB, old []*packfile.Pack, loose []plumbing.Hash, reachable *objectSet, start time.Time) ([]plumbing.Hash, error) {
	cutoff := start.Add(-Grace)
	set := newObjectSet()
	for _, p := range old {
		fi, err := os.Stat(p.Path)
		if err != nil || fi.ModTime().Before(cutoff) {
			continue
		}
		for i := 0; i < p.Index.Count(); i++ {
			if h := p.Index.Name(i); !inSet(reachable, h) {
				set.add(h, plumbing.InvalidObject)
			}
		}
	}
	for _, h := range loose {
		if inSet(reachable, h) {
			continue
		}
		s := h.String()
		fi, err := os.Stat(filepath.Join(db.Dir(), s[:2], s[2:]))
		if err != nil || fi.ModTime().Before(cutoff) {
			continue
		}
		if _, _, err := db.Header(h); err != nil {
			continue // a corrupt loose object is not worth keeping
		}
		set.add(h, plumbing.InvalidObject)
	}
	return set.list, nil
}

func inSet(s *objectSet, h plumbing.Hash) bool {
	_, ok := s.index(h)
	return ok
}
