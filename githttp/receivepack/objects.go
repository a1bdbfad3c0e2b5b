package receivepack

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/repos/git/odb"
	"github.com/go-git/go-git/v5/plumbing"
)

// repoObjects reads the objects already in the repository: the bases of a
// thin pack and the boundary of the connectivity check. It is the same
// shared object store upload-pack reads, so a push to a large repository
// opens nothing that a fetch has not opened already.
type repoObjects struct {
	db      *odb.DB
	release func()
}

func openRepoObjects(dir string) (*repoObjects, error) {
	db, release, err := odb.Acquire(dir)
	if err != nil {
		return nil, fmt.Errorf("receivepack: open objects: %w", err)
	}
	return &repoObjects{db: db, release: release}, nil
}

func (ro *repoObjects) close() { ro.release() }

// has reports whether the repository holds h.
func (ro *repoObjects) has(h plumbing.Hash) bool { return ro.db.Has(h) }

// typeOf returns the type of h; an error wrapping odb.ErrNotFound when
// absent.
func (ro *repoObjects) typeOf(h plumbing.Hash) (plumbing.ObjectType, error) {
	return ro.db.Type(h)
}

// read returns the type and content of h, refusing objects larger than
// max bytes; an error wrapping odb.ErrNotFound when absent.
func (ro *repoObjects) read(h plumbing.Hash, max int64) (plumbing.ObjectType, []byte, error) {
	_, size, err := ro.db.Header(h)
	if err != nil {
		return plumbing.InvalidObject, nil, err
	}
	if size > max {
		return plumbing.InvalidObject, nil, badPack("delta base %s is larger than %d bytes", h, max)
	}
	return ro.db.Read(h)
}

// parseLinks returns the objects a commit, tree or tag names: the edges
// the connectivity check follows. Gitlinks (submodule commits, tree mode
// 160000) are not edges: their commits live in another repository.
func parseLinks(typ plumbing.ObjectType, b []byte) ([]plumbing.Hash, error) {
	switch typ {
	case plumbing.CommitObject:
		return parseHeaderLinks(b, "tree ", "parent ")
	case plumbing.TagObject:
		return parseHeaderLinks(b, "object ", "")
	case plumbing.TreeObject:
		return parseTree(b)
	}
	return nil, nil
}

// parseHeaderLinks reads the leading header lines of a commit or tag: the
// first must start with first, the following ones with more (if set).
func parseHeaderLinks(b []byte, first, more string) ([]plumbing.Hash, error) {
	var links []plumbing.Hash
	prefix := first
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		v, ok := bytes.CutPrefix(line, []byte(prefix))
		if !ok {
			break
		}
		h, valid := gitref.ParseHash(string(v))
		if !valid {
			return nil, fmt.Errorf("malformed %q line", prefix[:len(prefix)-1])
		}
		links = append(links, h)
		b = rest
		if prefix = more; prefix == "" {
			break
		}
	}
	if len(links) == 0 {
		return nil, fmt.Errorf("missing %q line", first[:len(first)-1])
	}
	return links, nil
}

// parseTree reads tree entries: "<octal mode> <name>\0<20-byte id>".
func parseTree(b []byte) ([]plumbing.Hash, error) {
	var links []plumbing.Hash
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		nul := bytes.IndexByte(b, 0)
		if sp <= 0 || nul < sp || len(b) < nul+1+hashSize {
			return nil, fmt.Errorf("malformed tree entry")
		}
		mode, err := strconv.ParseUint(string(b[:sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("malformed tree entry mode")
		}
		var h plumbing.Hash
		copy(h[:], b[nul+1:])
		if mode != 0o160000 {
			links = append(links, h)
		}
		b = b[nul+1+hashSize:]
	}
	return links, nil
}
