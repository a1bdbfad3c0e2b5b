package gc

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/depot/depot/repos/git/bitmap"
	"github.com/depot/depot/repos/git/object"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// bitmapEvery spaces the bitmapped commits of old history: one commit in
// this many, by date, besides the ref tips, so that a fetch of any commit
// walks at most about this many commits before it meets a bitmap.
const bitmapEvery = 500

// maxTipBitmaps bounds the ref tips given a bitmap, newest first; older
// tips are reached through the spaced commits.
const maxTipBitmaps = 100

// writeBitmap writes base+".bitmap" for the pack at base, which holds every
// object reachable from tips (gitformat-bitmap requires that closure).
func writeBitmap(ctx context.Context, db *odb.DB, base string, tips []plumbing.Hash) error {
	p, err := packfile.Open(base + ".pack")
	if err != nil {
		return err
	}
	defer p.Close()
	b := &bitmapBuilder{ctx: ctx, db: db, p: p, n: p.Index.Count(), done: map[plumbing.Hash]bitmap.Set{}, info: map[plumbing.Hash]*object.CommitInfo{}}
	types, err := b.types()
	if err != nil {
		return err
	}
	sel, err := b.selectCommits(tips)
	if err != nil {
		return err
	}
	var entries []bitmap.WriteEntry
	for _, c := range sel {
		s, err := b.reach(c)
		if err != nil {
			return err
		}
		b.done[c] = s
		pos, _ := p.Index.Find(c)
		entries = append(entries, bitmap.WriteEntry{Pos: pos, Bits: s})
	}
	tmp, err := os.CreateTemp(filepath.Dir(base), "tmp_bitmap_")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := bitmap.Write(tmp, p.Index.PackSum, b.n, types, entries); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o444); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), base+".bitmap")
}

type bitmapBuilder struct {
	ctx  context.Context
	db   *odb.DB
	p    *packfile.Pack
	n    int
	done map[plumbing.Hash]bitmap.Set // selected commits computed so far
	info map[plumbing.Hash]*object.CommitInfo
}

// types returns the type bitmaps of the pack.
func (b *bitmapBuilder) types() ([4]bitmap.Set, error) {
	var ts [4]bitmap.Set
	for i := range ts {
		ts[i] = bitmap.NewSet(b.n)
	}
	for pos := range b.n {
		t, err := b.db.TypeAt(b.p, b.p.Index.Offset(pos))
		if err != nil {
			return ts, err
		}
		i := slices.Index([]plumbing.ObjectType{plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject}, t)
		if i < 0 {
			return ts, fmt.Errorf("object %d of the new pack is a %s", pos, t)
		}
		ts[i].Add(b.p.Rank(pos))
	}
	return ts, nil
}

// commit returns the tree, parents and time of commit h.
func (b *bitmapBuilder) commit(h plumbing.Hash) (*object.CommitInfo, error) {
	if c := b.info[h]; c != nil {
		return c, nil
	}
	c, err := b.db.CommitInfo(h)
	if err != nil {
		return nil, err
	}
	b.info[h] = &c
	return &c, nil
}

// selectCommits picks the commits to bitmap, oldest first: the newest ref
// tips, and every bitmapEvery-th commit of the history by date.
func (b *bitmapBuilder) selectCommits(tips []plumbing.Hash) ([]plumbing.Hash, error) {
	var heads []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	for _, h := range tips {
		// The walk read every tip; one that does not peel to a commit
		// (a tag of a tree, or tags too deep) gets no bitmap.
		c, typ, _, err := b.db.Peel(h)
		if err == nil && typ == plumbing.CommitObject && !seen[c] {
			seen[c] = true
			heads = append(heads, c)
		}
	}
	// Every commit, to space the bitmaps over history.
	all := slices.Clone(heads)
	visited := map[plumbing.Hash]bool{}
	for _, h := range all {
		visited[h] = true
	}
	for i := 0; i < len(all); i++ {
		if i&1023 == 0 {
			if err := b.ctx.Err(); err != nil {
				return nil, err
			}
		}
		c, err := b.commit(all[i])
		if err != nil {
			return nil, err
		}
		for _, p := range c.Parents {
			if !visited[p] {
				visited[p] = true
				all = append(all, p)
			}
		}
	}
	byTime := func(a, c plumbing.Hash) int {
		return cmp.Or(cmp.Compare(b.info[a].Time, b.info[c].Time), bytes.Compare(a[:], c[:]))
	}
	slices.SortFunc(heads, byTime)
	chosen := map[plumbing.Hash]bool{}
	for _, h := range heads[max(0, len(heads)-maxTipBitmaps):] {
		chosen[h] = true
	}
	slices.SortFunc(all, byTime)
	for i := bitmapEvery - 1; i < len(all); i += bitmapEvery {
		chosen[all[i]] = true
	}
	var sel []plumbing.Hash
	for _, h := range all {
		if chosen[h] {
			sel = append(sel, h)
		}
	}
	return sel, nil
}

// rank returns h's bit in the new pack.
func (b *bitmapBuilder) rank(h plumbing.Hash) (int, error) {
	pos, ok := b.p.Index.Find(h)
	if !ok {
		return 0, fmt.Errorf("reachable object %s is not in the new pack", h)
	}
	return b.p.Rank(pos), nil
}

// reach returns the objects reachable from commit c, reusing the bitmaps
// of the commits selected before it.
func (b *bitmapBuilder) reach(c plumbing.Hash) (bitmap.Set, error) {
	s := bitmap.NewSet(b.n)
	stack := []plumbing.Hash{c}
	var trees []plumbing.Hash
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		r, err := b.rank(h)
		if err != nil {
			return nil, err
		}
		if s.Has(r) {
			continue
		}
		if d, ok := b.done[h]; ok {
			s.Or(d)
			continue
		}
		ci, err := b.commit(h)
		if err != nil {
			return nil, err
		}
		s.Add(r)
		trees = append(trees, ci.Tree)
		stack = append(stack, ci.Parents...)
	}
	for n, t := range trees {
		if n&255 == 0 {
			if err := b.ctx.Err(); err != nil {
				return nil, err
			}
		}
		if err := b.addTree(s, t); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (b *bitmapBuilder) addTree(s bitmap.Set, root plumbing.Hash) error {
	stack := []plumbing.Hash{root}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		r, err := b.rank(h)
		if err != nil {
			return err
		}
		if s.Has(r) {
			continue
		}
		s.Add(r)
		tree, err := b.db.Tree(h)
		if err != nil {
			return err
		}
		var rankErr error
		stack, err = tree.Children(stack, func(blob plumbing.Hash) {
			r, err := b.rank(blob)
			if err != nil {
				rankErr = cmp.Or(rankErr, err)
				return
			}
			s.Add(r)
		})
		if err != nil {
			return fmt.Errorf("tree %s: %w", h, err)
		}
		if rankErr != nil {
			return rankErr
		}
	}
	return nil
}
