package gc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/depot/depot/repos/holder"
)

// RemoveLeftovers removes from the bare repository at repoDir what a
// process killed in the middle of writing leaves behind, and returns the
// paths it removed:
//
//   - pushes received into quarantine and never kept: objects/incoming-*
//     (depot's receive-pack, with the bases it spilled to disk) and
//     objects/tmp_objdir-incoming-* (C git's);
//   - packs, indexes, bitmaps and commit-graphs being written:
//     objects/pack/tmp_*, objects/info/tmp_*, and C git's loose
//     objects/??/tmp_obj_*;
//   - lock files: *.lock under refs/ and logs/, and packed-refs.lock,
//     HEAD.lock, config.lock and shallow.lock, with packed-refs.new,
//     written under packed-refs.lock. A ref lock left behind
//     refuses every later update of its ref, as it does in git, until it
//     is removed by hand;
//   - the repack lock objects/depot-gc.lock, when its holder is gone.
//
// It must run only while nothing writes the repository: depot serve calls
// it for every repository before it listens, when no other depot serve
// runs on the same repositories (else RemoveLeftoversWith, with a
// MinAge). A repository whose repack lock names a process that may still
// run (depot repo gc run by hand, here or on another host sharing the
// file system) is left as it is.
func RemoveLeftovers(repoDir string) ([]string, error) {
	return RemoveLeftoversWith(repoDir, LeftoverOptions{})
}

// LeftoverOptions tunes RemoveLeftoversWith.
type LeftoverOptions struct {
	// MinAge, when not zero, keeps every leftover written or touched
	// within it, as one another process may be writing: another depot
	// serve sharing the repositories, whose pushes touch their
	// quarantine while it lives (receivepack) and hold ref locks for the
	// length of one ref transaction. Zero removes all, for when nothing
	// else writes the repository.
	MinAge time.Duration
}

// RemoveLeftoversWith is RemoveLeftovers with options.
func RemoveLeftoversWith(repoDir string, opt LeftoverOptions) ([]string, error) {
	objs := filepath.Join(repoDir, "objects")
	gcLock := filepath.Join(objs, "depot-gc.lock")
	if repackRuns(gcLock, opt.MinAge) {
		return nil, nil
	}
	now := time.Now()
	old := func(p string) bool {
		return opt.MinAge <= 0 || now.Sub(Newest(p)) >= opt.MinAge
	}
	var removed []string
	var errs []error
	remove := func(p string) {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
			return
		}
		removed = append(removed, p)
	}
	globs := []string{
		filepath.Join(objs, "incoming-*"),
		filepath.Join(objs, "tmp_objdir-incoming-*"),
		filepath.Join(objs, "pack", "tmp_*"),
		filepath.Join(objs, "info", "tmp_*"),
		filepath.Join(objs, "[0-9a-f][0-9a-f]", "tmp_obj_*"),
		gcLock + ".stale-*", // a repack lock being taken over
	}
	for _, name := range []string{"packed-refs", "HEAD", "config", "shallow"} {
		globs = append(globs, filepath.Join(repoDir, name+".lock"))
	}
	globs = append(globs, filepath.Join(repoDir, "packed-refs.new"))
	for _, g := range globs {
		matches, err := filepath.Glob(g)
		if err != nil {
			return removed, fmt.Errorf("gc: leftovers of %s: %w", repoDir, err)
		}
		for _, m := range matches {
			if old(m) {
				remove(m)
			}
		}
	}
	for _, sub := range []string{"refs", "logs"} {
		err := filepath.WalkDir(filepath.Join(repoDir, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".lock") && old(p) {
				remove(p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	// Asked again: a repack may have started meanwhile.
	if fi, err := os.Lstat(gcLock); err == nil && !repackRuns(gcLock, opt.MinAge) && removeAside(gcLock, fi) {
		removed = append(removed, gcLock)
	}
	if len(removed) > 0 {
		// The removals are durable before anything new is written.
		for _, d := range []string{repoDir, objs, filepath.Join(objs, "pack")} {
			syncDir(d)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("gc: leftovers of %s: %w", repoDir, err)
	}
	return removed, nil
}

// repackRuns reports whether the repack lock at path may be held by a
// running repack: it exists, is younger than lockStale, and names a
// holder that is not known to be gone. A lock naming nobody (cut between
// its creation and its write) counts as running only while younger than
// minAge.
func repackRuns(path string, minAge time.Duration) bool {
	fi, err := os.Lstat(path)
	if err != nil {
		return false
	}
	age := time.Since(fi.ModTime())
	if age >= lockStale {
		return false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	h, err := holder.Parse(b)
	if err != nil {
		return minAge > 0 && age < minAge
	}
	return !h.Gone()
}

// Newest returns the latest modification time of p and, for a directory,
// of everything under it: a quarantine's directory is touched while its
// push lives, and its pack grows while it arrives.
func Newest(p string) time.Time {
	var t time.Time
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
		return nil
	})
	return t
}
