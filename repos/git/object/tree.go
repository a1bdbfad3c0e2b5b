package object

import (
	"bytes"

	"github.com/go-git/go-git/v5/plumbing"
)

// Mode is the file mode of a tree entry, as written in the tree: 040000
// (git writes "40000") for a subtree, 100644 and 100755 for files, 120000
// for a symbolic link, 160000 for a gitlink (a submodule's commit).
type Mode uint32

// The modes git writes.
const (
	ModeTree    Mode = 0o040000
	ModeBlob    Mode = 0o100644
	ModeExec    Mode = 0o100755
	ModeSymlink Mode = 0o120000
	ModeGitlink Mode = 0o160000
)

const modeType = 0o170000 // S_IFMT

// IsTree reports whether the entry is a subtree (S_ISDIR).
func (m Mode) IsTree() bool { return m&modeType == 0o040000 }

// IsBlob reports whether the entry is a blob: a file, executable or not,
// or a symbolic link.
func (m Mode) IsBlob() bool {
	t := m & modeType
	return t == 0o100000 || t == 0o120000
}

// IsGitlink reports whether the entry names a commit of another
// repository. As git's canon_mode does, every mode that is neither a tree
// nor a blob counts as one, so that walks never follow it.
func (m Mode) IsGitlink() bool { return !m.IsTree() && !m.IsBlob() }

// Type returns the type of the object the entry names.
func (m Mode) Type() plumbing.ObjectType {
	switch {
	case m.IsTree():
		return plumbing.TreeObject
	case m.IsBlob():
		return plumbing.BlobObject
	}
	return plumbing.CommitObject
}

// Tree is the content of a tree object: entries "<octal mode> SP <name>
// NUL <20-byte id>", one after the other.
type Tree []byte

// Iter returns an iterator over the entries of t.
func (t Tree) Iter() TreeIter { return TreeIter{rest: t} }

// Children is one step of a walk of everything under a tree: it appends
// the subtrees of t to trees, in the tree's order, hands each blob to
// blob, and leaves gitlinks out (their commits live in another
// repository). It returns the grown trees, and an error wrapping
// ErrMalformed after the entries it could read.
func (t Tree) Children(trees []plumbing.Hash, blob func(id plumbing.Hash)) ([]plumbing.Hash, error) {
	it := t.Iter()
	for it.Next() {
		switch e := it.Entry(); {
		case e.Mode.IsTree():
			trees = append(trees, e.ID)
		case e.Mode.IsBlob():
			blob(e.ID)
		}
	}
	return trees, it.Err()
}

// TreeEntry is one entry of a tree.
type TreeEntry struct {
	Mode Mode
	// Name is a sub-slice of the tree's content: it is valid as long as
	// the content is, and must not be modified.
	Name []byte
	ID   plumbing.Hash
}

// TreeIter reads the entries of a tree in order without allocating:
//
//	it := tree.Iter()
//	for it.Next() {
//		e := it.Entry()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
type TreeIter struct {
	rest  []byte
	off   int // offset of rest in the tree, for error messages
	entry TreeEntry
	err   error
}

// Next moves to the next entry and reports whether there is one. It
// returns false at the end of the tree and at the first malformed entry;
// Err tells them apart.
func (it *TreeIter) Next() bool {
	b := it.rest
	if len(b) == 0 || it.err != nil {
		return false
	}
	// Mode: octal digits up to the space (get_mode); git refuses an
	// empty one.
	var mode uint32
	sp := 0
	for ; sp < len(b) && b[sp] != ' '; sp++ {
		c := b[sp]
		if c < '0' || c > '7' || mode >= 1<<29 {
			return it.fail("bad mode")
		}
		mode = mode<<3 | uint32(c-'0')
	}
	if sp == 0 || sp == len(b) {
		return it.fail("bad mode")
	}
	nul := bytes.IndexByte(b[sp+1:], 0)
	if nul < 0 {
		return it.fail("name not terminated")
	}
	nul += sp + 1
	if nul == sp+1 {
		return it.fail("empty name")
	}
	end := nul + 1 + RawSize
	if len(b) < end {
		return it.fail("truncated object id")
	}
	it.entry.Mode = Mode(mode)
	it.entry.Name = b[sp+1 : nul : nul]
	copy(it.entry.ID[:], b[nul+1:end])
	it.rest = b[end:]
	it.off += end
	return true
}

func (it *TreeIter) fail(what string) bool {
	it.err = malformed("tree", "entry at offset %d: %s", it.off, what)
	it.rest = nil
	return false
}

// Entry returns the entry Next moved to.
func (it *TreeIter) Entry() TreeEntry { return it.entry }

// Err returns the error that stopped the iteration, wrapping
// ErrMalformed, or nil when it reached the end of the tree.
func (it *TreeIter) Err() error { return it.err }
