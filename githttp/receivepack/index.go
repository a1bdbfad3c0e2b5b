package receivepack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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
// and the links of its commits, trees and tags, which the connectivity
// check walks without reading the pack again.
//
// The links of a push of a whole repository run to millions of ids, so
// they are kept in one flat slice with a map of spans into it: nothing
// that holds a pointer, nothing for the garbage collector to scan.
type packIndex struct {
	checksum plumbing.Hash
	types    map[plumbing.Hash]plumbing.ObjectType
	spans    map[plumbing.Hash]linkSpan
	arena    []plumbing.Hash
	thin     int // bases appended from the repository
}

// linkSpan locates an object's links in packIndex.arena.
type linkSpan struct{ start, n uint32 }

// links returns the objects h links to.
func (pi *packIndex) links(h plumbing.Hash) []plumbing.Hash {
	sp := pi.spans[h]
	return pi.arena[sp.start : sp.start+sp.n]
}

// indexPack indexes the received pack in f, writing its .idx to idx: git
// index-pack --fix-thin, in bounded memory (see package indexpack).
func indexPack(ctx context.Context, f *os.File, idx io.Writer, db *odb.DB, opt Options) (*packIndex, error) {
	pi := &packIndex{spans: map[plumbing.Hash]linkSpan{}}
	res, err := indexpack.Index(ctx, f, idx, indexpack.Options{
		MaxObjectBytes: opt.MaxObjectBytes,
		Budget:         opt.Budget,
		Base: func(h plumbing.Hash, max int64) (plumbing.ObjectType, []byte, bool, error) {
			typ, data, err := readBase(db, h, max)
			if errors.Is(err, odb.ErrNotFound) {
				return 0, nil, false, nil
			}
			return typ, data, err == nil, err
		},
		Object: func(h plumbing.Hash, typ plumbing.ObjectType, data []byte) error {
			// The links go straight into the arena.
			start := len(pi.arena)
			arena, err := object.AppendLinks(pi.arena, typ, data)
			if err != nil {
				return badPack("%s %s: %v", typ, h, err)
			}
			pi.arena = arena
			pi.spans[h] = linkSpan{start: uint32(start), n: uint32(len(arena) - start)}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	pi.checksum, pi.thin = res.Checksum, res.Thin
	pi.types = make(map[plumbing.Hash]plumbing.ObjectType, len(res.Objects))
	for _, o := range res.Objects {
		pi.types[o.Hash] = o.Type
	}
	return pi, nil
}
