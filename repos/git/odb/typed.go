package odb

import (
	"errors"
	"fmt"

	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

// ErrWrongType is returned, wrapped, when an object is not of the type a
// typed read asked for.
var ErrWrongType = errors.New("odb: wrong object type")

// maxPeel bounds the tags Peel follows: tags of tags are rare, and a
// hostile chain must end somewhere.
const maxPeel = 64

// The typed reads return an error wrapping ErrNotFound when the
// repository lacks the object, ErrWrongType when it has another type,
// and object.ErrMalformed when its content does not parse.

// Commit returns the commit h, parsed in full.
func (db *DB) Commit(h plumbing.Hash) (*object.Commit, error) {
	b, err := db.readAs(h, plumbing.CommitObject)
	if err != nil {
		return nil, err
	}
	c, err := object.ParseCommit(b)
	if err != nil {
		return nil, fmt.Errorf("odb: commit %s: %w", h, err)
	}
	if db.shallow[h] {
		c.Parents = nil
	}
	return c, nil
}

// CommitInfo returns the tree, parents and committer time of commit h:
// from the commit-graph when it holds h, without inflating the commit,
// and otherwise from the commit. Commit and CommitInfo give a shallow
// commit of the repository no parents.
func (db *DB) CommitInfo(h plumbing.Hash) (object.CommitInfo, error) {
	// A graph that fails to answer is as good as none.
	if c, ok, err := db.CommitGraph().Lookup(h); ok && err == nil {
		return object.CommitInfo{Tree: c.Tree, Parents: c.Parents, Time: c.Time}, nil
	}
	b, err := db.readAs(h, plumbing.CommitObject)
	if err != nil {
		return object.CommitInfo{}, err
	}
	var c object.CommitInfo
	if err := object.ParseCommitInfo(b, &c); err != nil {
		return object.CommitInfo{}, fmt.Errorf("odb: commit %s: %w", h, err)
	}
	if db.shallow[h] {
		c.Parents = nil
	}
	return c, nil
}

// Tree returns the tree h, whose entries its Iter reads. The content is
// shared with the cache and must not be modified.
func (db *DB) Tree(h plumbing.Hash) (object.Tree, error) {
	b, err := db.readAs(h, plumbing.TreeObject)
	return object.Tree(b), err
}

// Tag returns the annotated tag h, parsed.
func (db *DB) Tag(h plumbing.Hash) (*object.Tag, error) {
	b, err := db.readAs(h, plumbing.TagObject)
	if err != nil {
		return nil, err
	}
	t, err := object.ParseTag(b)
	if err != nil {
		return nil, fmt.Errorf("odb: tag %s: %w", h, err)
	}
	return t, nil
}

// Peel follows annotated tags from h to the first object that is not a
// tag, as git's peel does, and returns it, its type (read from the store,
// not from the tag), and the tags passed through, outermost first (nil
// when h is not a tag). A chain of more than 64 tags is an error.
func (db *DB) Peel(h plumbing.Hash) (plumbing.Hash, plumbing.ObjectType, []plumbing.Hash, error) {
	var chain []plumbing.Hash
	for {
		t, err := db.Type(h)
		if err != nil {
			return h, plumbing.InvalidObject, chain, fmt.Errorf("odb: peel %s: %w", h, err)
		}
		if t != plumbing.TagObject {
			return h, t, chain, nil
		}
		if len(chain) == maxPeel {
			return h, plumbing.InvalidObject, chain, fmt.Errorf("odb: tag %s: more than %d tags deep", chain[0], maxPeel)
		}
		_, b, err := db.Read(h)
		if err != nil {
			return h, plumbing.InvalidObject, chain, err
		}
		target, _, err := object.TagTarget(b)
		if err != nil {
			return h, plumbing.InvalidObject, chain, fmt.Errorf("odb: tag %s: %w", h, err)
		}
		chain = append(chain, h)
		h = target
	}
}

// readAs returns the content of h, which must be of type want.
func (db *DB) readAs(h plumbing.Hash, want plumbing.ObjectType) ([]byte, error) {
	t, b, err := db.Read(h)
	if err != nil {
		return nil, err
	}
	if t != want {
		return nil, fmt.Errorf("%w: %s is a %s, not a %s", ErrWrongType, h, t, want)
	}
	return b, nil
}
