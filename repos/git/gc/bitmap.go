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

// notWritten marks, in ranks, an object the pack did not get.
const notWritten = ^uint32(0)

// ranks returns the pack-order rank of each object of s, by index, given
// the entries of the pack written from s.list in the order written.
func (s *objectSet) ranks(written []packfile.IndexEntry) []uint32 {
	r := make([]uint32, len(s.list))
	for i := range r {
		r[i] = notWritten
	}
	for j, e := range written {
		if i, ok := s.index(e.Hash); ok {
			r[i] = uint32(j)
		}
	}
	return r
}

// writeBitmap writes base+".bitmap" for the pack at base, written from
// set.list (whose pack-order ranks are ranks), which holds every object
// reachable from tips (gitformat-bitmap requires that closure). It reads
// nothing but the new pack's index: types and links are the walk's.
func writeBitmap(ctx context.Context, set *objectSet, ranks []uint32, base string, tips []plumbing.Hash) error {
	p, err := packfile.Open(base + ".pack")
	if err != nil {
		return err
	}
	defer p.Close()
	if n := p.Index.Count(); n != len(set.list) || len(ranks) != n {
		return fmt.Errorf("new pack holds %d objects; the walk found %d", n, len(set.list))
	}
	b := &bitmapBuilder{ctx: ctx, set: set, ranks: ranks, n: len(set.list), done: map[int32]bitmap.Set{}}
	types, err := b.types()
	if err != nil {
		return err
	}
	var entries []bitmap.WriteEntry
	for _, c := range b.selectCommits(tips) {
		s, err := b.reach(c)
		if err != nil {
			return err
		}
		b.done[c] = s
		pos, ok := p.Index.Find(set.list[c])
		if !ok {
			return fmt.Errorf("commit %s is not in the new pack", set.list[c])
		}
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

// bitmapBuilder computes bitmaps over the walk's graph: objects are
// numbered by their index in the walk, bits by their rank in the pack.
type bitmapBuilder struct {
	ctx   context.Context
	set   *objectSet
	ranks []uint32
	n     int
	done  map[int32]bitmap.Set // selected commits computed so far
}

// types returns the type bitmaps of the pack.
func (b *bitmapBuilder) types() ([4]bitmap.Set, error) {
	var ts [4]bitmap.Set
	for i := range ts {
		ts[i] = bitmap.NewSet(b.n)
	}
	for i, t := range b.set.types {
		k := slices.Index([]plumbing.ObjectType{plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject}, t)
		if k < 0 {
			return ts, fmt.Errorf("object %s of the new pack is a %s", b.set.list[i], t)
		}
		if b.ranks[i] == notWritten {
			return ts, fmt.Errorf("reachable object %s is not in the new pack", b.set.list[i])
		}
		ts[k].Add(int(b.ranks[i]))
	}
	return ts, nil
}

// selectCommits picks the commits to bitmap, oldest first: the newest ref
// tips, and every bitmapEvery-th commit the walk found, by date.
func (b *bitmapBuilder) selectCommits(tips []plumbing.Hash) []int32 {
	s := b.set
	time := make(map[int32]int64, len(s.commits))
	for k, i := range s.commitAt {
		time[i] = s.commits[k].Time
	}
	var heads []int32
	seen := map[int32]bool{}
	for _, h := range tips {
		// The walk read every tip; one that does not peel to a commit
		// (a tag of a tree, or tags too deep) gets no bitmap.
		i, _ := s.index(h)
		for range maxPeel {
			if s.types[i] != plumbing.TagObject || len(s.links(i)) == 0 {
				break
			}
			i = s.links(i)[0]
		}
		if s.types[i] == plumbing.CommitObject && !seen[i] {
			seen[i] = true
			heads = append(heads, i)
		}
	}
	byTime := func(a, c int32) int {
		return cmp.Or(cmp.Compare(time[a], time[c]), bytes.Compare(s.list[a][:], s.list[c][:]))
	}
	slices.SortFunc(heads, byTime)
	chosen := map[int32]bool{}
	for _, h := range heads[max(0, len(heads)-maxTipBitmaps):] {
		chosen[h] = true
	}
	all := slices.Clone(s.commitAt)
	slices.SortFunc(all, byTime)
	for i := bitmapEvery - 1; i < len(all); i += bitmapEvery {
		chosen[all[i]] = true
	}
	var sel []int32
	for _, i := range all {
		if chosen[i] {
			sel = append(sel, i)
		}
	}
	return sel
}

// maxPeel bounds the tags followed from a tip to its commit, as git's
// peel does.
const maxPeel = 64

// reach returns the objects reachable from commit c, reusing the bitmaps
// of the commits selected before it: the commits first, so that a
// selected ancestor's bitmap covers its trees before they are walked.
func (b *bitmapBuilder) reach(c int32) (bitmap.Set, error) {
	s := bitmap.NewSet(b.n)
	stack := []int32{c}
	var trees []int32
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		r := int(b.ranks[i])
		if s.Has(r) {
			continue
		}
		if d, ok := b.done[i]; ok {
			s.Or(d)
			continue
		}
		s.Add(r)
		links := b.set.links(i) // the tree, then the parents
		if len(links) == 0 {
			return nil, fmt.Errorf("commit %s: no tree", b.set.list[i])
		}
		trees = append(trees, links[0])
		stack = append(stack, links[1:]...)
	}
	for n, t := range trees {
		if n&255 == 0 {
			if err := b.ctx.Err(); err != nil {
				return nil, err
			}
		}
		b.addTree(s, t, stack[:0])
	}
	return s, nil
}

// addTree adds tree root and everything under it to s, with stack as
// scratch.
func (b *bitmapBuilder) addTree(s bitmap.Set, root int32, stack []int32) {
	if r := int(b.ranks[root]); s.Has(r) {
		return
	} else {
		s.Add(r)
	}
	stack = append(stack, root)
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, k := range b.set.links(i) {
			r := int(b.ranks[k])
			if s.Has(r) {
				continue
			}
			s.Add(r)
			if b.set.types[k] == plumbing.TreeObject {
				stack = append(stack, k)
			}
		}
	}
}
