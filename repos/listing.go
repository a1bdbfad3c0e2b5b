package repos

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// names is the listing of one owner's directory as Names last read it,
// and what identified the directory then.
type names struct {
	mod  time.Time
	ino  uint64
	list []string
	// unready are entries NAME.git that were not repositories yet, such
	// as one being copied into place: they are looked at again on every
	// call, since filling a directory does not touch its parent.
	unready []string
}

// nameCache keeps each owner's listing until its directory changes, so
// that a page of an owner's 10,000 repositories costs one stat, not 10,000
// checks that each entry is a repository.
type nameCache struct {
	mu sync.Mutex
	m  map[string]*names
}

// Names returns the names of owner's repositories on disk, sorted: every
// entry NAME.git of DATA/repos/OWNER that Open would open. The answer is
// kept until the owner's directory changes (a repository created, removed
// or renamed in it changes its modification time), so that a listing
// costs one stat while nothing changes. An owner without a directory has
// no repositories.
func (d *Dir) Names(owner string) ([]string, error) {
	if err := ValidateOwner(owner); err != nil {
		return nil, err
	}
	dir := filepath.Join(d.root, owner)
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repos: list %s: %w", owner, err)
	}
	key := strings.ToLower(owner)
	ino := inode(fi)
	d.names.mu.Lock()
	cached := d.names.m[key]
	d.names.mu.Unlock()
	// A listing read within the directory's own timestamp granularity
	// might have missed an entry made in the same tick: it is kept only
	// once the directory is older than that.
	if cached != nil && cached.mod.Equal(fi.ModTime()) && cached.ino == ino {
		if len(cached.unready) == 0 {
			return cached.list, nil
		}
		ready := false // one became a repository: read the directory again
		for _, name := range cached.unready {
			if _, err := d.Open(owner, name); err == nil {
				ready = true
				break
			}
		}
		if !ready {
			return cached.list, nil
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("repos: list %s: %w", owner, err)
	}
	list := make([]string, 0, len(entries))
	var unready []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".git")
		if !ok || ValidateName(name) != nil {
			continue
		}
		if _, err := d.Open(owner, name); err == nil {
			list = append(list, name)
		} else {
			unready = append(unready, name)
		}
	}
	sort.Strings(list)
	if time.Since(fi.ModTime()) > time.Second {
		d.names.mu.Lock()
		if d.names.m == nil {
			d.names.m = make(map[string]*names)
		}
		d.names.m[key] = &names{mod: fi.ModTime(), ino: ino, list: list, unready: unready}
		d.names.mu.Unlock()
	}
	return list, nil
}
