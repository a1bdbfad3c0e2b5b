package receivepack

import (
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/odb"
)

// readBase returns the type and content of h, the base of a thin pack's
// delta, refusing objects larger than max bytes; an error wrapping
// odb.ErrNotFound when the repository lacks it. The repository's store is
// the one upload-pack reads, so a push to a large repository opens
// nothing that a fetch has not opened already.
func readBase(db *odb.DB, h plumbing.Hash, max int64) (plumbing.ObjectType, []byte, error) {
	_, size, err := db.Header(h)
	if err != nil {
		return plumbing.InvalidObject, nil, err
	}
	if size > max {
		return plumbing.InvalidObject, nil, badPack("delta base %s is larger than %d bytes", h, max)
	}
	return db.Read(h)
}
