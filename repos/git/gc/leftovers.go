package gc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
//   - the repack lock objects/depot-gc.lock, unless the process it names
//     still runs.
//
// It must run only while nothing writes the repository: depot serve calls
// it for every repository before it listens. A repository whose repack
// lock names a live process (depot repo gc run by hand) is left as it is.
func RemoveLeftovers(repoDir string) ([]string, error) {
	objs := filepath.Join(repoDir, "objects")
	gcLock := filepath.Join(objs, "depot-gc.lock")
	if lockHolderRuns(gcLock) {
		return nil, nil
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
			remove(m)
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
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".lock") {
				remove(p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Lstat(gcLock); err == nil {
		remove(gcLock)
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

// lockHolderRuns reports whether the repack lock at path names a process
// other than this one that is still running.
func lockHolderRuns(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
