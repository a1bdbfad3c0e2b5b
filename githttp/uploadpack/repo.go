package uploadpack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// repo reads one bare repository: its refs, commits and trees.
type repo struct {
	st      *filesystem.Storage
	commits map[plumbing.Hash]*commitInfo
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
	if fi, err := os.Stat(filepath.Join(dir, "objects")); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("uploadpack: %s is not a bare repository", dir)
	}
	st := filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRUDefault(),
		filesystem.Options{KeepDescriptors: true})
	return &repo{st: st, commits: make(map[plumbing.Hash]*commitInfo)}, nil
}

func (r *repo) close() { _ = r.st.Close() }

// has reports whether the object exists.
func (r *repo) has(h plumbing.Hash) bool {
	return r.st.HasEncodedObject(h) == nil
}

// objectType returns the type of h, or plumbing.ErrObjectNotFound.
func (r *repo) objectType(h plumbing.Hash) (plumbing.ObjectType, error) {
	o, err := r.st.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return plumbing.InvalidObject, err
	}
	return o.Type(), nil
}

// read returns the type and content of a small object (commit, tree, tag).
func (r *repo) read(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	o, err := r.st.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("read %s: %w", h, err)
	}
	rd, err := o.Reader()
	if err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("read %s: %w", h, err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("read %s: %w", h, err)
	}
	return o.Type(), b, nil
}

// commit returns the parsed commit h, cached for the exchange.
func (r *repo) commit(h plumbing.Hash) (*commitInfo, error) {
	if c, ok := r.commits[h]; ok {
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

// refs lists the repository's refs with annotated tags peeled. Symbolic refs
// other than HEAD are advertised with the value they resolve to.
func (r *repo) refs() (*refSet, error) {
	it, err := r.st.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("list refs: %w", err)
	}
	defer it.Close()
	rs := &refSet{}
	seen := map[string]bool{}
	err = it.ForEach(func(rf *plumbing.Reference) error {
		name := rf.Name().String()
		if name == "HEAD" || !strings.HasPrefix(name, "refs/") || seen[name] {
			return nil
		}
		seen[name] = true
		h := rf.Hash()
		if rf.Type() == plumbing.SymbolicReference {
			res, err := r.resolve(rf.Target())
			if err != nil {
				return nil // dangling symref: not advertised
			}
			h = res
		}
		if !r.has(h) {
			return nil // a ref to a missing object is broken; do not offer it
		}
		rs.refs = append(rs.refs, ref{name: name, hash: h})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list refs: %w", err)
	}
	sort.Slice(rs.refs, func(i, j int) bool { return rs.refs[i].name < rs.refs[j].name })
	for i := range rs.refs {
		if err := r.peelRef(&rs.refs[i]); err != nil {
			return nil, err
		}
	}

	head, err := r.st.Reference(plumbing.HEAD)
	if err != nil {
		return rs, nil // no HEAD: advertise refs only
	}
	rs.head.name = "HEAD"
	if head.Type() == plumbing.SymbolicReference {
		rs.headTarget = head.Target().String()
	}
	if h, err := r.resolve(plumbing.HEAD); err == nil && r.has(h) {
		rs.head.hash = h
		rs.headOK = true
		if err := r.peelRef(&rs.head); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

func (r *repo) peelRef(rf *ref) error {
	t, err := r.objectType(rf.hash)
	if err != nil {
		return fmt.Errorf("ref %s: %w", rf.name, err)
	}
	if t == plumbing.TagObject {
		p, _, _, err := r.peel(rf.hash)
		if err != nil {
			return fmt.Errorf("ref %s: %w", rf.name, err)
		}
		rf.peeled = p
	}
	return nil
}

// resolve follows symbolic refs from name to a hash.
func (r *repo) resolve(name plumbing.ReferenceName) (plumbing.Hash, error) {
	for range 10 {
		rf, err := r.st.Reference(name)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if rf.Type() == plumbing.HashReference {
			return rf.Hash(), nil
		}
		name = rf.Target()
	}
	return plumbing.ZeroHash, errors.New("symbolic ref loop")
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
