package uploadpack

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/depot/depot/repos/git/odb"
	"github.com/go-git/go-git/v5/plumbing"
)

// repo reads one bare repository: its refs, commits and trees.
type repo struct {
	dir      string
	db       *odb.DB
	release  func()
	commits  map[plumbing.Hash]*commitInfo
	refCache *refSet
}

// commitInfo is the part of a commit the walks need.
type commitInfo struct {
	tree    plumbing.Hash
	parents []plumbing.Hash
	time    int64 // committer time, seconds since the epoch
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
		return nil, fmt.Errorf("uploadpack: %s is not a bare repository", dir)
	}
	return &repo{dir: dir, db: db, release: release, commits: make(map[plumbing.Hash]*commitInfo)}, nil
}

func (r *repo) close() { r.release() }

// has reports whether the object exists.
func (r *repo) has(h plumbing.Hash) bool { return r.db.Has(h) }

// objectType returns the type of h, or an error wrapping odb.ErrNotFound.
func (r *repo) objectType(h plumbing.Hash) (plumbing.ObjectType, error) { return r.db.Type(h) }

// size returns the size of object h.
func (r *repo) size(h plumbing.Hash) (int64, error) {
	_, n, err := r.db.Header(h)
	return n, err
}

// read returns the type and content of a small object (commit, tree, tag).
// The content is shared with the object cache and must not be modified.
func (r *repo) read(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	t, b, err := r.db.Read(h)
	if err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("read %s: %w", h, err)
	}
	return t, b, nil
}

// commit returns the parsed commit h, cached for the exchange.
func (r *repo) commit(h plumbing.Hash) (*commitInfo, error) {
	if c, ok := r.commits[h]; ok {
		return c, nil
	}
	// The commit-graph, where the repository has one, answers without
	// inflating and parsing the commit.
	if gc, ok, err := r.db.CommitGraph().Lookup(h); ok && err == nil {
		c := &commitInfo{tree: gc.Tree, parents: gc.Parents, time: gc.Time}
		r.commits[h] = c
		return c, nil
	}
	t, b, err := r.read(h)
	if err != nil {
		return nil, err
	}
	if t != plumbing.CommitObject {
		return nil, fmt.Errorf("%s is a %s, not a commit", h, t)
	}
	c, err := parseCommit(b)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", h, err)
	}
	r.commits[h] = c
	return c, nil
}

// parseCommit reads the header of a commit object (gitformat-commit): tree,
// parents and the committer time.
func parseCommit(b []byte) (*commitInfo, error) {
	c := &commitInfo{}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) == 0 {
			break
		}
		key, val, _ := bytes.Cut(line, []byte(" "))
		switch string(key) {
		case "tree":
			h, ok := parseOID(val)
			if !ok {
				return nil, errors.New("bad tree line")
			}
			c.tree = h
		case "parent":
			h, ok := parseOID(val)
			if !ok {
				return nil, errors.New("bad parent line")
			}
			c.parents = append(c.parents, h)
		case "committer":
			// "Name <email> 1700000000 +0100"
			if i := bytes.LastIndexByte(val, '>'); i >= 0 {
				f := strings.Fields(string(val[i+1:]))
				if len(f) > 0 {
					c.time, _ = strconv.ParseInt(f[0], 10, 64)
				}
			}
		}
	}
	if c.tree.IsZero() {
		return nil, errors.New("no tree")
	}
	return c, nil
}

// treeEntry is one entry of a tree object; names are not needed here.
type treeEntry struct {
	hash plumbing.Hash
	mode uint32
}

const (
	modeTree    = 0o040000
	modeGitlink = 0o160000
)

// tree returns the entries of tree h (gitformat: "mode SP name NUL hash").
func (r *repo) tree(h plumbing.Hash) ([]treeEntry, error) {
	t, b, err := r.read(h)
	if err != nil {
		return nil, err
	}
	if t != plumbing.TreeObject {
		return nil, fmt.Errorf("%s is a %s, not a tree", h, t)
	}
	var entries []treeEntry
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		nul := bytes.IndexByte(b, 0)
		if sp < 0 || nul < sp || len(b) < nul+21 {
			return nil, fmt.Errorf("tree %s: malformed entry", h)
		}
		mode, err := strconv.ParseUint(string(b[:sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("tree %s: bad mode", h)
		}
		var e treeEntry
		e.mode = uint32(mode)
		copy(e.hash[:], b[nul+1:nul+21])
		entries = append(entries, e)
		b = b[nul+21:]
	}
	return entries, nil
}

// peel follows annotated tags from h. It returns the first non-tag object,
// the chain of tag objects passed through, and the final object's type.
func (r *repo) peel(h plumbing.Hash) (plumbing.Hash, []plumbing.Hash, plumbing.ObjectType, error) {
	var chain []plumbing.Hash
	for range 64 { // tags of tags deeper than this are not worth following
		t, err := r.objectType(h)
		if err != nil {
			return h, chain, plumbing.InvalidObject, err
		}
		if t != plumbing.TagObject {
			return h, chain, t, nil
		}
		_, b, err := r.read(h)
		if err != nil {
			return h, chain, plumbing.InvalidObject, err
		}
		target, ok := tagTarget(b)
		if !ok {
			return h, chain, plumbing.InvalidObject, fmt.Errorf("tag %s: no object line", h)
		}
		chain = append(chain, h)
		h = target
	}
	return h, chain, plumbing.InvalidObject, fmt.Errorf("tag %s: chain too long", h)
}

func tagTarget(b []byte) (plumbing.Hash, bool) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	val, ok := bytes.CutPrefix(line, []byte("object "))
	if !ok {
		return plumbing.ZeroHash, false
	}
	return parseOID(val)
}

// parseOID parses 40 lowercase or uppercase hex digits.
func parseOID(b []byte) (plumbing.Hash, bool) {
	var h plumbing.Hash
	if len(b) != 40 {
		return h, false
	}
	for i := 0; i < 20; i++ {
		hi, ok1 := unhex(b[2*i])
		lo, ok2 := unhex(b[2*i+1])
		if !ok1 || !ok2 {
			return h, false
		}
		h[i] = hi<<4 | lo
	}
	return h, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
