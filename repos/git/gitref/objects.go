package gitref

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/depot/depot/repos/git/object"
	"github.com/depot/depot/repos/git/odb"
	"github.com/go-git/go-git/v5/plumbing"
)

// objects is the object store of one repository for one call: the
// process-wide odb store that fetches and pushes use, so that an API call
// on a large repository decodes no pack index of its own, and what the
// call learnt of the refs.
type objects struct {
	dir     string // db.RepoDir()
	db      *odb.DB
	release func()  // nil when the caller owns db
	tips    *tipSet // read by tipSet when first needed
}

// openObjects opens the objects of the bare repository dir. The caller
// must close it.
func openObjects(dir string) (*objects, error) {
	if fi, err := os.Stat(filepath.Join(dir, "objects")); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a git repository", dir)
	}
	db, release, err := odb.Acquire(dir)
	if err != nil {
		return nil, err
	}
	o := newObjects(db)
	o.release = release
	return o, nil
}

// newObjects reads the objects of db, which the caller keeps open.
func newObjects(db *odb.DB) *objects { return &objects{dir: db.RepoDir(), db: db} }

func (o *objects) close() {
	if o.release != nil {
		o.release()
	}
}

// has reports whether the object h is in the repository.
func (o *objects) has(h plumbing.Hash) bool { return o.db.Has(h) }

// commit reads and parses the commit h.
func (o *objects) commit(h plumbing.Hash) (*object.Commit, error) {
	c, err := o.db.Commit(h)
	if err != nil {
		return nil, objectErr(h, err)
	}
	return c, nil
}

// peel follows tags from h to the first object that is not a tag and
// returns it and its type.
func (o *objects) peel(h plumbing.Hash) (plumbing.Hash, plumbing.ObjectType, error) {
	p, typ, _, err := o.db.Peel(h)
	if err != nil {
		return plumbing.ZeroHash, plumbing.InvalidObject, objectErr(h, err)
	}
	return p, typ, nil
}

// peelCommit peels h to a commit; anything else is ErrInvalid.
func (o *objects) peelCommit(h plumbing.Hash) (plumbing.Hash, error) {
	c, typ, err := o.peel(h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if typ != plumbing.CommitObject {
		return plumbing.ZeroHash, refused("%s is a %s, not a commit", c, typ)
	}
	return c, nil
}

// objectErr maps odb's errors about h to this package's.
func objectErr(h plumbing.Hash, err error) error {
	switch {
	case errors.Is(err, odb.ErrNotFound):
		return fmt.Errorf("object %s: %w", h, ErrNotFound)
	case errors.Is(err, odb.ErrWrongType):
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return fmt.Errorf("object %s: %w", h, err)
}

// Resolve returns the commit that rev names, as git rev-parse
// "rev^{commit}" would, for the subset of gitrevisions(7) the API needs:
// "" or "HEAD"; a full ref ("refs/heads/main"); a short ref, tried as
// refs/<rev>, refs/tags/<rev>, refs/heads/<rev> and refs/remotes/<rev> in
// git's order; and a full object id or a unique abbreviation of at least
// 7 hex digits. Annotated tags are peeled.
//
// Unlike git, an object id names only what a ref reaches: a commit that
// some ref reaches, or an annotated tag that a ref points at. A commit
// left behind by a force push or a deleted branch is ErrNotFound, as a
// missing one is, and counts for no ambiguity (see reachable).
//
// It returns ErrNotFound when rev names nothing (HEAD of an empty
// repository included) and ErrInvalid when it names an object that does
// not peel to a commit, or an abbreviation that is ambiguous.
func Resolve(dir, rev string) (plumbing.Hash, error) {
	o, err := openObjects(dir)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: resolve %q: %w", rev, err)
	}
	defer o.close()
	h, err := o.resolve(rev)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: resolve %q: %w", rev, err)
	}
	return h, nil
}

func (o *objects) resolve(rev string) (plumbing.Hash, error) {
	if rev == "" || rev == "HEAD" {
		target, err := HeadTarget(o.dir)
		if err != nil {
			return plumbing.ZeroHash, ErrNotFound
		}
		h, ok, err := readRef(o.dir, target)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if !ok {
			return plumbing.ZeroHash, fmt.Errorf("HEAD names %s, which has no commits: %w", target, ErrNotFound)
		}
		return o.peelCommit(h)
	}
	// A full object id wins over a ref of the same name, as in git.
	if h, ok := object.ParseHex(rev); ok && o.has(h) {
		c, err := o.resolveID(h)
		if !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	var names []string
	if strings.HasPrefix(rev, "refs/") {
		names = append(names, rev)
	}
	names = append(names, "refs/"+rev, "refs/tags/"+rev, "refs/heads/"+rev, "refs/remotes/"+rev)
	for _, name := range names {
		if CheckRefName(name) != nil {
			continue
		}
		h, ok, err := readRef(o.dir, name)
		if errors.Is(err, ErrSymref) {
			continue
		}
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if ok {
			return o.peelCommit(h)
		}
	}
	if len(rev) >= minAbbrev && len(rev) < object.HexSize && object.IsHex(rev) {
		return o.resolveAbbrev(strings.ToLower(rev))
	}
	return plumbing.ZeroHash, ErrNotFound
}

// resolveAbbrev finds the one commit whose id starts with prefix, counting
// tags that peel to a commit as git's commit-ish disambiguation does, and
// only objects that resolveID accepts: what no ref reaches is neither a
// match nor a rival.
func (o *objects) resolveAbbrev(prefix string) (plumbing.Hash, error) {
	hashes, err := o.db.WithPrefix(prefix)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%w: %q", ErrInvalid, prefix)
	}
	var found plumbing.Hash
	n := 0
	for _, h := range hashes {
		c, err := o.resolveID(h)
		if err != nil {
			continue
		}
		if n == 0 || c != found {
			n++
			found = c
		}
	}
	switch n {
	case 0:
		return plumbing.ZeroHash, ErrNotFound
	case 1:
		return found, nil
	}
	return plumbing.ZeroHash, refused("short object id %s is ambiguous", prefix)
}
