package repos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/depot/depot/repos/git/gc"
)

// RemoveLeftovers removes what a crash left in the directory of
// repositories: repositories half made by Create (".NAME.tmp-*") or half
// removed by DeleteWithRecord (".deleted-NAME-*") beside each owner's
// repositories, and in every repository the quarantined pushes, temporary
// packs and lock files of gc.RemoveLeftovers. It returns the paths it
// removed. It must run while nothing writes the repositories: depot serve
// calls it before it listens, when no other node runs (Join).
func (d *Dir) RemoveLeftovers() ([]string, error) {
	return d.RemoveLeftoversWith(gc.LeftoverOptions{})
}

// RemoveLeftoversWith is RemoveLeftovers with gc's options: with a MinAge,
// what was written or touched within it stays, for other nodes sharing
// the repositories may be writing it.
func (d *Dir) RemoveLeftoversWith(opt gc.LeftoverOptions) ([]string, error) {
	now := time.Now()
	owners, err := os.ReadDir(d.root)
	if err != nil {
		return nil, fmt.Errorf("repos: leftovers: %w", err)
	}
	var removed []string
	var errs []error
	for _, o := range owners {
		if !o.IsDir() || ValidateOwner(o.Name()) != nil {
			continue
		}
		dir := filepath.Join(d.root, o.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			name := e.Name()
			p := filepath.Join(dir, name)
			switch {
			case !e.IsDir():
			case strings.HasPrefix(name, ".") && (strings.Contains(name, ".tmp-") || strings.HasPrefix(name, ".deleted-")):
				if opt.MinAge > 0 && now.Sub(gc.Newest(p)) < opt.MinAge {
					continue
				}
				if err := os.RemoveAll(p); err != nil {
					errs = append(errs, err)
					continue
				}
				removed = append(removed, p)
			case strings.HasSuffix(name, ".git"):
				gone, err := gc.RemoveLeftoversWith(p, opt)
				removed = append(removed, gone...)
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("repos: leftovers: %w", err)
	}
	return removed, nil
}
