package receivepack

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/indexpack"
	"github.com/depot/depot/repos/git/object"
	"github.com/depot/depot/repos/git/odb"
)

// badPack is a fault of the pack the client sent; its message is the
// "unpack <reason>" the client sees. Any other error during unpacking is
// internal and is reported as such without details.
func badPack(format string, args ...any) error {
	return &indexpack.Error{Msg: fmt.Sprintf(format, args...)}
}

// packIndex is the outcome of indexing: the objects of the received pack
// and every object its commits, trees and tags link to.
//
// The links themselves are not kept: pushing a whole repository brings
// tens of millions of tree entries (68 million for half of git/git), but
// only as many distinct ids as there are objects. The connectivity check
// needs no more than that set when every linked object exists, which is
// every push a git client makes; when one is missing it reads the pack
// again to say which refs it breaks.
type packIndex struct {
	checksum plumbing.Hash
	path     string // the quarantined pack
	types    map[plumbing.Hash]plumbing.ObjectType
	linked   map[plumbing.Hash]struct{}
	thin     int // bases appended from the repository
}

// indexPack indexes the received pack in f, writing its .idx to idx: git
// index-pack --fix-thin, in bounded memory and on all cores (see package
// indexpack). blobs, when not nil, returns a scanner for each goroutine of
// the indexer, which reads the new blobs as they are hashed.
func indexPack(ctx context.Context, f *os.File, idx io.Writer, db *odb.DB, blobs func() indexpack.BlobScanner, opt Options) (*packIndex, error) {
	pi := &packIndex{path: f.Name()}
	var (
		mu   sync.Mutex
		sets []*linkSet
	)
	res, err := indexpack.Index(ctx, f, idx, indexpack.Options{
		MaxObjectBytes: opt.MaxObjectBytes,
		Budget:         opt.Budget,
		Blobs:          blobs,
		Base: func(h plumbing.Hash, max int64) (plumbing.ObjectType, []byte, bool, error) {
			typ, data, err := readBase(db, h, max)
			if errors.Is(err, odb.ErrNotFound) {
				return 0, nil, false, nil
			}
			return typ, data, err == nil, err
		},
		// Each goroutine of the indexer gathers links in its own set;
		// they are merged once it is done.
		Object: func() indexpack.ObjectFunc {
			ls := &linkSet{ids: map[plumbing.Hash]struct{}{}}
			mu.Lock()
			sets = append(sets, ls)
			mu.Unlock()
			return ls.add
		},
	})
	if err != nil {
		return nil, err
	}
	pi.linked = mergeLinks(sets)
	pi.checksum, pi.thin = res.Checksum, res.Thin
	pi.types = make(map[plumbing.Hash]plumbing.ObjectType, len(res.Objects))
	for _, o := range res.Objects {
		pi.types[o.Hash] = o.Type
	}
	return pi, nil
}

// linkSet gathers the ids that one goroutine's objects link to. Trees
// of one directory, version after version, name mostly the same ids: a
// small table of the ids added last turns most of a push's tens of
// millions of links away before they reach the map.
type linkSet struct {
	ids    map[plumbing.Hash]struct{}
	recent [1 << 14]plumbing.Hash // by the low bits of an id's first bytes
	links  []plumbing.Hash        // scratch, reused for every object
}

// add notes the links of the object h (an indexpack.ObjectFunc).
func (ls *linkSet) add(h plumbing.Hash, typ plumbing.ObjectType, data []byte) error {
	var err error
	if ls.links, err = object.AppendLinks(ls.links[:0], typ, data); err != nil {
		return badPack("%s %s: %v", typ, h, err)
	}
	for _, l := range ls.links {
		slot := &ls.recent[int(binary.LittleEndian.Uint16(l[:2]))&(len(ls.recent)-1)]
		if *slot == l {
			continue
		}
		*slot = l
		ls.ids[l] = struct{}{}
	}
	return nil
}

// mergeLinks returns the union of the sets, in the largest one.
func mergeLinks(sets []*linkSet) map[plumbing.Hash]struct{} {
	if len(sets) == 0 {
		return map[plumbing.Hash]struct{}{}
	}
	slices.SortFunc(sets, func(a, b *linkSet) int { return len(b.ids) - len(a.ids) })
	all := sets[0].ids
	for _, ls := range sets[1:] {
		for l := range ls.ids {
			all[l] = struct{}{}
		}
	}
	return all
}
