package gc

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// objectSet is a set of object ids with their insertion order.
type objectSet struct {
	seen map[plumbing.Hash]struct{}
	list []plumbing.Hash
}

func (s *objectSet) add(h plumbing.Hash) bool {
	if _, ok := s.seen[h]; ok {
		return false
	}
	s.seen[h] = struct{}{}
	s.list = append(s.list, h)
	return true
}

// walk lists every object reachable from tips. A missing reachable object
// fails the walk: a broken repository is left as it is.
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
		switch typ {
		case plumbing.CommitObject:
			stack, err = commitLinks(data, stack)
		case plumbing.TagObject:
			stack, err = tagLinks(data, stack)
		case plumbing.TreeObject:
			stack, err = treeLinks(data, stack, set)
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

func hexID(b []byte) (plumbing.Hash, bool) {
	var h plumbing.Hash
	if len(b) != 40 {
		return h, false
	}
	if _, err := hex.Decode(h[:], b); err != nil {
		return h, false
	}
	return h, true
}

// commitLinks pushes a commit's tree and parents (gitformat-commit).
func commitLinks(b []byte, stack []plumbing.Hash) ([]plumbing.Hash, error) {
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		b = rest
		if len(line) == 0 {
			break
		}
		key, val, _ := bytes.Cut(line, []byte(" "))
		if string(key) != "tree" && string(key) != "parent" {
			continue
		}
		h, ok := hexID(val)
		if !ok {
			return nil, fmt.Errorf("bad %s line", key)
		}
		stack = append(stack, h)
	}
	return stack, nil
}

// tagLinks pushes a tag's object.
func tagLinks(b []byte, stack []plumbing.Hash) ([]plumbing.Hash, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	val, ok := bytes.CutPrefix(line, []byte("object "))
	h, hok := hexID(val)
	if !ok || !hok {
		return nil, fmt.Errorf("no object line")
	}
	return append(stack, h), nil
}

// treeLinks pushes subtrees and adds blobs directly; gitlinks name commits
// of other repositories and are skipped.
func treeLinks(b []byte, stack []plumbing.Hash, set *objectSet) ([]plumbing.Hash, error) {
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		nul := bytes.IndexByte(b, 0)
		if sp < 0 || nul < sp || len(b) < nul+21 {
			return nil, fmt.Errorf("malformed tree entry")
		}
		mode, err := strconv.ParseUint(string(b[:sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("bad tree mode")
		}
		var h plumbing.Hash
		copy(h[:], b[nul+1:nul+21])
		b = b[nul+21:]
		switch mode {
		case 0o040000:
			stack = append(stack, h)
		case 0o160000:
		default:
			set.add(h)
		}
	}
	return stack, nil
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
