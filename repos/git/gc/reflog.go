package gc

import (
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/repos/git/odb"
)

// DefaultReflogExpire is how long reflog entries keep their objects, as
// git's gc.reflogExpire (90 days).
const DefaultReflogExpire = 90 * 24 * time.Hour

// reflogRoots expires the reflog entries older than expire before start
// (none when expire is zero) and returns the objects the remaining ones
// name, for the walk to keep with everything they reach. An object
// already gone, named by an entry from before depot kept reflogs (or a
// log copied in by hand), is left out rather than failing the repack.
func reflogRoots(db *odb.DB, repoDir string, start time.Time, expire time.Duration) ([]plumbing.Hash, error) {
	if expire > 0 {
		if _, err := gitref.ExpireReflogs(repoDir, start.Add(-expire)); err != nil {
			return nil, fmt.Errorf("expire reflogs: %w", err)
		}
	}
	named, err := gitref.ReflogObjects(repoDir)
	if err != nil {
		return nil, err
	}
	roots := named[:0]
	for _, h := range named {
		if db.Has(h) {
			roots = append(roots, h)
		}
	}
	return roots, nil
}
