// Package browse is the data and safe-HTML layer of the repository
// browser: it resolves a URL's REF/PATH, lists trees, reads and highlights
// files, renders READMEs, pages history and diffs commits, reading objects
// only through depot's object layer (repos/git/odb, repos/git/gitref).
// HTML it returns is typed template.HTML only where this package built or
// sanitised every byte of it.
package browse

import (
	"errors"
	"fmt"

	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/repos/git/odb"
	"github.com/go-git/go-git/v5/plumbing"
)

// Errors returned by this package, wrapped with what was asked. Test for
// them with errors.Is.
var (
	// ErrNotFound: the ref, commit, path or object does not exist, or is
	// not reachable from a ref.
	ErrNotFound = errors.New("browse: not found")
	// ErrNotTree: the path names a file where a directory was asked for.
	ErrNotTree = errors.New("browse: not a directory")
	// ErrNotBlob: the path names a directory or a submodule where a file
	// was asked for.
	ErrNotBlob = errors.New("browse: not a file")
	// ErrInvalid: an argument out of range, such as a page size.
	ErrInvalid = errors.New("browse: invalid argument")
)

// Repo is one repository opened for one request: the shared object store
// and what the request has read of its refs. It is not safe for
// concurrent use; open one per request and Close it.
type Repo struct {
	dir     string
	db      *odb.DB
	release func()
	refs    *Refs // read on first need
}

// Open opens the bare repository at dir through the process-wide object
// store cache (odb.Acquire), so that a page view reopens no pack.
func Open(dir string) (*Repo, error) {
	db, release, err := odb.Acquire(dir)
	if err != nil {
		return nil, fmt.Errorf("browse: open %s: %w", dir, err)
	}
	return &Repo{dir: dir, db: db, release: release}, nil
}

// Close releases the object store.
func (r *Repo) Close() {
	if r.release != nil {
		r.release()
		r.release = nil
	}
}

// objectErr maps the object layer's errors to this package's.
func objectErr(what string, err error) error {
	if errors.Is(err, odb.ErrNotFound) || errors.Is(err, gitref.ErrNotFound) {
		return fmt.Errorf("browse: %s: %w: %w", what, ErrNotFound, err)
	}
	return fmt.Errorf("browse: %s: %w", what, err)
}

// ShortID is the abbreviation of id that pages show: seven hex digits,
// git's default core.abbrev.
func ShortID(id plumbing.Hash) string { return id.String()[:7] }
