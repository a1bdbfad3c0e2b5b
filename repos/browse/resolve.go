package browse

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

const (
	headsPrefix = "refs/heads/"
	tagsPrefix  = "refs/tags/"
)

// Refs is what one read of a repository's refs gives the pages: the
// values Resolve looks names up in, and the branch and tag switcher's
// names.
type Refs struct {
	// Default is the branch HEAD names, "" when HEAD is detached or
	// missing. The branch need not exist yet (an empty repository).
	Default string

	values         map[string]gitref.StoredRef // full name → value
	branches, tags []string                    // sorted on first use
}

// Refs reads the branches and tags once per Repo: packed-refs and the
// loose refs, without reading any object. Symbolic refs are left out.
func (r *Repo) Refs() (*Refs, error) {
	if r.refs != nil {
		return r.refs, nil
	}
	// ReadStored rather than ListRefs: one map of the refs, not two.
	values, err := gitref.ReadStored(r.dir)
	if err != nil {
		return nil, fmt.Errorf("browse: refs: %w", err)
	}
	refs := &Refs{values: values}
	refs.Default, _ = gitref.DefaultBranch(r.dir)
	r.refs = refs
	return refs, nil
}

// Branches returns the short names of the branches ("main",
// "feature/x"), sorted. The slice is shared: do not modify it.
func (rs *Refs) Branches() []string {
	rs.names()
	return rs.branches
}

// Tags returns the short names of the tags ("v1.0"), sorted. The slice
// is shared: do not modify it.
func (rs *Refs) Tags() []string {
	rs.names()
	return rs.tags
}

// names sorts the names once: pages that only resolve a ref (a file, a
// download, a commit) never need them.
func (rs *Refs) names() {
	if rs.branches != nil || rs.tags != nil {
		return
	}
	rs.branches, rs.tags = []string{}, []string{}
	for name, v := range rs.values {
		if v.Target != "" {
			continue
		}
		if short, ok := strings.CutPrefix(name, headsPrefix); ok {
			rs.branches = append(rs.branches, short)
		} else if short, ok := strings.CutPrefix(name, tagsPrefix); ok {
			rs.tags = append(rs.tags, short)
		}
	}
	sort.Strings(rs.branches)
	sort.Strings(rs.tags)
}

// RefKind says what a URL's ref named.
type RefKind uint8

// The kinds of ref a URL may name.
const (
	RefBranch RefKind = iota + 1
	RefTag
	RefCommit
)

// String returns "branch", "tag" or "commit".
func (k RefKind) String() string {
	switch k {
	case RefBranch:
		return "branch"
	case RefTag:
		return "tag"
	case RefCommit:
		return "commit"
	}
	return fmt.Sprintf("RefKind(%d)", uint8(k))
}

// Location is what a URL's REF/PATH names.
type Location struct {
	// Ref is the ref as links should repeat it: a branch's or tag's short
	// name, or the commit's full id.
	Ref  string
	Kind RefKind
	// Commit is the commit the ref names, tags peeled.
	Commit plumbing.Hash
	// Path is the path inside the commit's tree without leading or
	// trailing slashes, "" for the root.
	Path string
}

// Resolve splits refPath, the REF/PATH part of a /tree/, /blob/, /raw/ or
// /commits/ URL, into the ref and the path. Branch and tag names may
// contain slashes, so the longest leading run of segments that names a
// branch or a tag is the ref (a tag before a branch of the same name, in
// git's order) and the rest is the path. Failing that, the first segment
// may be a commit id, full or abbreviated to at least 7 hex digits, that
// some ref reaches (gitref.Resolve). "" names the default branch.
//
// It returns ErrNotFound when no ref matches, when the ref does not
// peel to a commit, and for a path with empty, "." or ".." segments. The
// path itself is not looked up: Tree and Blob do that.
func (r *Repo) Resolve(refPath string) (Location, error) {
	refs, err := r.Refs()
	if err != nil {
		return Location{}, err
	}
	refPath = strings.Trim(refPath, "/")
	if refPath == "" {
		if refs.Default == "" {
			return Location{}, fmt.Errorf("browse: resolve default branch: %w", ErrNotFound)
		}
		refPath = refs.Default
	}
	segs := strings.Split(refPath, "/")
	for i := len(segs); i >= 1; i-- {
		name := strings.Join(segs[:i], "/")
		for _, c := range [...]struct {
			prefix string
			kind   RefKind
		}{{tagsPrefix, RefTag}, {headsPrefix, RefBranch}} {
			v, ok := refs.values[c.prefix+name]
			if !ok || v.Target != "" {
				continue
			}
			commit, err := r.peelCommit(v.Hash)
			if err != nil {
				return Location{}, fmt.Errorf("browse: resolve %s: %w", name, err)
			}
			return r.location(name, c.kind, commit, segs[i:])
		}
	}
	if id := segs[0]; len(id) >= 7 && len(id) <= object.HexSize && object.IsHex(id) {
		commit, err := gitref.Resolve(r.dir, id)
		if errors.Is(err, gitref.ErrNotFound) || errors.Is(err, gitref.ErrInvalid) {
			return Location{}, fmt.Errorf("browse: resolve %s: %w: %w", id, ErrNotFound, err)
		}
		if err != nil {
			return Location{}, fmt.Errorf("browse: resolve %s: %w", id, err)
		}
		return r.location(commit.String(), RefCommit, commit, segs[1:])
	}
	return Location{}, fmt.Errorf("browse: resolve %q: %w", refPath, ErrNotFound)
}

func (r *Repo) location(ref string, kind RefKind, commit plumbing.Hash, path []string) (Location, error) {
	for _, s := range path {
		if s == "" || s == "." || s == ".." {
			return Location{}, fmt.Errorf("browse: path %q: %w", strings.Join(path, "/"), ErrNotFound)
		}
	}
	return Location{Ref: ref, Kind: kind, Commit: commit, Path: strings.Join(path, "/")}, nil
}

// peelCommit follows annotated tags from h to a commit.
func (r *Repo) peelCommit(h plumbing.Hash) (plumbing.Hash, error) {
	c, typ, _, err := r.db.Peel(h)
	if err != nil {
		return plumbing.ZeroHash, objectErr("peel "+h.String(), err)
	}
	if typ != plumbing.CommitObject {
		return plumbing.ZeroHash, fmt.Errorf("%s is a %s, not a commit: %w", h, typ, ErrNotFound)
	}
	return c, nil
}
