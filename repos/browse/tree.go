package browse

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

// Kind is what a tree entry is, as a page shows it.
type Kind uint8

// The kinds of tree entry, from the entry's mode.
const (
	KindDir Kind = iota + 1
	KindFile
	KindExec
	KindSymlink
	KindSubmodule
)

// String returns the kind's name as pages show it: "dir", "file",
// "executable", "symlink" or "submodule".
func (k Kind) String() string {
	switch k {
	case KindDir:
		return "dir"
	case KindFile:
		return "file"
	case KindExec:
		return "executable"
	case KindSymlink:
		return "symlink"
	case KindSubmodule:
		return "submodule"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// kindOf reads a mode as git's canon_mode does: anything that is neither
// a tree nor a blob is a gitlink.
func kindOf(m object.Mode) Kind {
	switch {
	case m.IsTree():
		return KindDir
	case m&0o170000 == 0o120000:
		return KindSymlink
	case m.IsBlob() && m&0o100 != 0:
		return KindExec
	case m.IsBlob():
		return KindFile
	}
	return KindSubmodule
}

// Entry is one entry of a tree listing.
type Entry struct {
	Name string
	Kind Kind
	Mode object.Mode
	// ID is the entry's object: a tree, a blob, or for a submodule a
	// commit of another repository.
	ID plumbing.Hash
	// Size is a blob's size in bytes (a symlink's is its target's
	// length), from the object's header; -1 for directories and
	// submodules.
	Size int64
}

// Tree lists the directory at path ("" for the root) in commit: its
// directories first, then everything else, each group by name in byte
// order. Sizes come from object headers, so no blob is inflated.
//
// It returns ErrNotFound when the path does not exist and ErrNotTree
// when it names something else than a directory.
func (r *Repo) Tree(commit plumbing.Hash, path string) ([]Entry, error) {
	mode, id, err := r.lookup(commit, path)
	if err != nil {
		return nil, err
	}
	if !mode.IsTree() {
		return nil, fmt.Errorf("browse: tree %s:%s: %w", ShortID(commit), path, ErrNotTree)
	}
	if list, ok := listings.get(id); ok {
		return slices.Clone(list), nil
	}
	t, err := r.db.Tree(id)
	if err != nil {
		return nil, objectErr("tree "+id.String(), err)
	}
	var list []Entry
	it := t.Iter()
	for it.Next() {
		e := it.Entry()
		ent := Entry{Name: string(e.Name), Kind: kindOf(e.Mode), Mode: e.Mode, ID: e.ID, Size: -1}
		if e.Mode.IsBlob() {
			_, size, err := r.db.Header(e.ID)
			if err != nil {
				return nil, objectErr("blob "+e.ID.String(), err)
			}
			ent.Size = size
		}
		list = append(list, ent)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("browse: tree %s: %w", id, err)
	}
	sort.Slice(list, func(i, j int) bool {
		if di, dj := list[i].Kind == KindDir, list[j].Kind == KindDir; di != dj {
			return di
		}
		return list[i].Name < list[j].Name
	})
	listings.add(id, list)
	return slices.Clone(list), nil
}

// listings caches tree listings by tree id, up to about 8 MiB: a listing
// reads one object header per blob for its size, a pread each, and the
// root of a busy repository is listed on every visit.
var listings = newLRU[plumbing.Hash, []Entry](8<<20, func(l []Entry) int {
	n := 0
	for _, e := range l {
		n += 64 + len(e.Name)
	}
	return n
})

// lookup returns the mode and object of path in commit; the root is a
// tree. A path through a file or a submodule does not exist.
func (r *Repo) lookup(commit plumbing.Hash, path string) (object.Mode, plumbing.Hash, error) {
	info, err := r.db.CommitInfo(commit)
	if err != nil {
		return 0, plumbing.ZeroHash, objectErr("commit "+commit.String(), err)
	}
	return r.lookupIn(info.Tree, path)
}

// lookupIn is lookup from the tree root.
func (r *Repo) lookupIn(root plumbing.Hash, path string) (object.Mode, plumbing.Hash, error) {
	mode, id := object.ModeTree, root
	for rest := path; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, "/")
		if !mode.IsTree() {
			return 0, plumbing.ZeroHash, fmt.Errorf("browse: path %s: %w", path, ErrNotFound)
		}
		t, err := r.db.Tree(id)
		if err != nil {
			return 0, plumbing.ZeroHash, objectErr("tree "+id.String(), err)
		}
		e, ok, err := find(t, name)
		if err != nil {
			return 0, plumbing.ZeroHash, fmt.Errorf("browse: tree %s: %w", id, err)
		}
		if !ok {
			return 0, plumbing.ZeroHash, fmt.Errorf("browse: path %s: %w", path, ErrNotFound)
		}
		mode, id = e.Mode, e.ID
	}
	return mode, id, nil
}

// find returns the entry called name in t.
func find(t object.Tree, name string) (object.TreeEntry, bool, error) {
	it := t.Iter()
	for it.Next() {
		if e := it.Entry(); string(e.Name) == name {
			return e, true, nil
		}
	}
	return object.TreeEntry{}, false, it.Err()
}
