package uploadpack

import (
	"fmt"

	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/repos/git/hiderefs"
	"github.com/depot/depot/repos/git/object"
	"github.com/depot/depot/repos/git/odb"
	"github.com/go-git/go-git/v5/plumbing"
)

// repo reads one bare repository for one exchange: its refs, and its
// commits through a cache of what the walks need of them.
type repo struct {
	db       *odb.DB
	release  func()
	commits  map[plumbing.Hash]*object.CommitInfo
	snap     *gitref.Snapshot
	refCache *refSet
	hidden   hiderefs.Rules // refs kept from the client
}

// ref is one advertised reference. peeled is the object an annotated tag
// finally points to, or the zero hash.
type ref struct {
	name   string
	hash   plumbing.Hash
	peeled plumbing.Hash
}

// refSet is the repository's refs, sorted by name, with HEAD apart.
type refSet struct {
	refs []ref
	// head is HEAD's value; headTarget is the ref HEAD points to. headOK is
	// false when HEAD is missing or unborn.
	head       ref
	headTarget string
	headOK     bool
}

func openRepo(dir string) (*repo, error) {
	db, release, err := odb.Acquire(dir)
	if err != nil {
		// The cause (not a repository, an unsafe alternate) is for the log.
		return nil, fmt.Errorf("uploadpack: open %s: %w", dir, err)
	}
	return &repo{db: db, release: release, commits: make(map[plumbing.Hash]*object.CommitInfo)}, nil
}

func (r *repo) close() { r.release() }

// isShallow reports whether the repository is itself a shallow clone.
func (r *repo) isShallow() bool { return len(r.db.Shallow()) > 0 }

// has reports whether the object exists.
func (r *repo) has(h plumbing.Hash) bool { return r.db.Has(h) }

// objectType returns the type of h, or an error wrapping odb.ErrNotFound.
func (r *repo) objectType(h plumbing.Hash) (plumbing.ObjectType, error) { return r.db.Type(h) }

// size returns the size of object h.
func (r *repo) size(h plumbing.Hash) (int64, error) {
	_, n, err := r.db.Header(h)
	return n, err
}

// commit returns the tree, parents and time of commit h, cached for the
// exchange.
func (r *repo) commit(h plumbing.Hash) (*object.CommitInfo, error) {
	if c, ok := r.commits[h]; ok {
		return c, nil
	}
	c, err := r.db.CommitInfo(h)
	if err != nil {
		return nil, err
	}
	r.commits[h] = &c
	return &c, nil
}
