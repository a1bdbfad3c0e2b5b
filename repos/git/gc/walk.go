package gc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/depot/depot/repos/git/commitgraph"
	"github.com/depot/depot/repos/git/object"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// objectSet is a set of object ids with their insertion order.
type objectSet struct {
	seen map[plumbing.Hash]struct{}
	list []plumbing.Hash
	// commits are the commits walk found, for the commit-graph.
	commits []commitgraph.Entry
}

func (s *objectSet) add(h plumbing.Hash) bool {
	if _, ok := s.seen[h]; ok {
		return false
	}
	s.seen[h] = struct{}{}
	s.list = append(s.list, h)
	return true
}

// walk lists every object reachable from tips, in the repository or in
// the object directories it borrows from, stopping at the parents of the
// repository's own shallow commits. A missing reachable object fails the
// walk: a broken repository is left as it is.
func walk(ctx context.Context, db *odb.DB, tips []plumbing.Hash) (*objectSet, error) {
	set := &objectSet{seen: map[plumbing.Hash]struct{}{}}
	stack := append([]plumbing.Hash(nil), tips...)
	for n := 0; len(stack) > 0; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !set.add(h) {
			continue
		}
		typ, data, err := readLinked(db, h)
		if err != nil {
			return nil, err
		}
		switch {
		case typ == plumbing.TreeObject:
			// Blobs link nothing: they are added without a read.
			stack, err = object.Tree(data).Children(stack, func(b plumbing.Hash) { set.add(b) })
		case typ == plumbing.CommitObject:
			var ci object.CommitInfo
			if err := object.ParseCommitInfo(data, &ci); err != nil {
				return nil, fmt.Errorf("object %s: %w", h, err)
			}
			set.commits = append(set.commits, commitgraph.Entry{ID: h, Tree: ci.Tree, Parents: ci.Parents, Time: ci.Time})
			if db.IsShallow(h) {
				// The repository is a shallow clone: the parents of its
				// shallow commits were never here.
				stack = append(stack, ci.Tree)
			} else {
				stack, err = object.AppendLinks(stack, typ, data)
			}
		default:
			stack, err = object.AppendLinks(stack, typ, data)
		}
		if err != nil {
			return nil, fmt.Errorf("object %s: %w", h, err)
		}
	}
	return set, nil
}

// readLinked reads h's content unless it is a blob, which links nothing.
func readLinked(db *odb.DB, h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	if loc, ok := db.Locate(h); ok {
		t, err := db.TypeAt(loc.Pack, loc.Offset)
		if err != nil || t == plumbing.BlobObject {
			return t, nil, err
		}
		return db.ReadAt(loc.Pack, loc.Offset)
	}
	return db.Read(h)
}

// recentUnreachable lists the objects of the old packs and the loose ones
// that are not reachable but younger than Grace, by file time.
func recentUnreachable(db *odb.DB, old []*packfile.Pack, loose []plumbing.Hash, reachable *objectSet, start time.Time) ([]plumbing.Hash, error) {
	cutoff := start.Add(-Grace)
	set := &objectSet{seen: map[plumbing.Hash]struct{}{}}
	for _, p := range old {
		fi, err := os.Stat(p.Path)
		if err != nil || fi.ModTime().Before(cutoff) {
			continue
		}
		for i := 0; i < p.Index.Count(); i++ {
			if h := p.Index.Name(i); !inSet(reachable, h) {
				set.add(h)
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
		set.add(h)
	}
	return set.list, nil
}

func inSet(s *objectSet, h plumbing.Hash) bool {
	_, ok := s.seen[h]
	return ok
}
