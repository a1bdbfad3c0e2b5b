// Package backup copies a data directory while the server runs, and
// brings such a copy back: the database through SQLite's VACUUM INTO, and
// every repository so that each ref of the copy names objects the copy
// holds.
//
// Why the copy is whole: a push writes its objects before it moves a ref,
// and only a repack removes objects. Backup first takes the repack lock of
// every repository (gc.HoldOff; a running repack is waited for), then
// reads every repository's refs (HEAD, packed-refs, loose refs, reflogs),
// and only then copies objects. Every ref value read named objects present
// at that moment, nothing removes them until the locks are released, so
// the objects copied afterwards include them, also across repositories
// that borrow objects from each other (objects/info/alternates). Pushes
// that land during the copy add objects the copy may or may not hold, and
// refs it does not have: they are simply not in the backup.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/depot/depot/repos/git/gc"
)

// Manifest is the file ManifestName of a backup: it marks the directory
// as a backup and says what it holds.
type Manifest struct {
	Format       int       `json:"format"`
	Created      time.Time `json:"created"`
	Version      string    `json:"version"`
	Repositories []string  `json:"repositories"` // OWNER/NAME, as on disk
}

// ManifestName is the manifest's file name in a backup.
const ManifestName = "depot-backup.json"

// DBName is the database's file name in a data directory and a backup.
const DBName = "depot.db"

// Options tune Backup.
type Options struct {
	// Version is the backing-up depot's version, kept in the manifest.
	Version string
	// LockWait bounds how long Backup waits for a running repack of a
	// repository; zero means ten minutes.
	LockWait time.Duration
	// Progress, when set, is told of each repository copied.
	Progress func(name string)
}

// VacuumInto writes a consistent copy of the live database to path
// (SQLite's VACUUM INTO).
type VacuumInto func(ctx context.Context, path string) error

// Backup writes a backup of the data directory dataDir to dst, which must
// not exist or be empty. vacuum copies the database.
func Backup(ctx context.Context, dataDir, dst string, vacuum VacuumInto, opt Options) (*Manifest, error) {
	if err := emptyDir(dst); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := os.Chmod(dst, 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := vacuum(ctx, filepath.Join(dst, DBName)); err != nil {
		return nil, fmt.Errorf("backup: copy the database: %w", err)
	}
	if err := os.Chmod(filepath.Join(dst, DBName), 0o600); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	srcRoot := filepath.Join(dataDir, "repos")
	names, err := listRepos(srcRoot)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}

	// Hold off every repack, then read every repository's refs, then copy
	// objects: see the package comment.
	wait := opt.LockWait
	if wait <= 0 {
		wait = 10 * time.Minute
	}
	var releases []func()
	defer func() {
		for _, r := range releases {
			r()
		}
	}()
	for _, name := range names {
		// Each lock is kept fresh while held, so that a backup running
		// for hours does not see its locks taken for left over ones.
		release, err := holdOff(ctx, filepath.Join(srcRoot, name), wait)
		if err != nil {
			return nil, fmt.Errorf("backup: %s: %w", name, err)
		}
		releases = append(releases, release)
	}

	dstRoot := filepath.Join(dst, "repos")
	for _, name := range names {
		if err := copyRefs(filepath.Join(srcRoot, name), filepath.Join(dstRoot, name)); err != nil {
			return nil, fmt.Errorf("backup: %s: refs: %w", name, err)
		}
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := copyRest(filepath.Join(srcRoot, name), filepath.Join(dstRoot, name), srcRoot); err != nil {
			return nil, fmt.Errorf("backup: %s: %w", name, err)
		}
		if opt.Progress != nil {
			opt.Progress(name)
		}
	}
	m := &Manifest{Format: 1, Created: time.Now().UTC(), Version: opt.Version, Repositories: names}
	if m.Repositories == nil {
		m.Repositories = []string{}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dst, ManifestName), append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// holdOff takes the repack lock of the repository at dir, waiting up to
// wait for a repack that holds it.
func holdOff(ctx context.Context, dir string, wait time.Duration) (release func(), err error) {
	deadline := time.Now().Add(wait)
	for {
		release, err := gc.HoldOff(dir)
		if !errors.Is(err, gc.ErrBusy) {
			return release, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("a repack has held the repository for %v: %w", wait, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// emptyDir returns nil when dir does not exist or is an empty directory.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s: %w", dir, ErrNotEmpty)
	}
	return nil
}

// ErrNotEmpty refuses to write into a directory that holds files.
var ErrNotEmpty = errors.New("directory is not empty")

// listRepos returns OWNER/NAME.git of every repository under root, as
// laid out on disk.
func listRepos(root string) ([]string, error) {
	owners, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, o := range owners {
		if !o.IsDir() {
			continue
		}
		repos, err := os.ReadDir(filepath.Join(root, o.Name()))
		if err != nil {
			return nil, err
		}
		for _, r := range repos {
			if !r.IsDir() || !strings.HasSuffix(r.Name(), ".git") {
				continue
			}
			dir := filepath.Join(root, o.Name(), r.Name())
			if fi, err := os.Stat(filepath.Join(dir, "objects")); err != nil || !fi.IsDir() {
				continue // not a repository
			}
			names = append(names, o.Name()+"/"+r.Name())
		}
	}
	return names, nil
}

// refEntries are what copyRefs copies: what names objects.
var refEntries = []string{"HEAD", "packed-refs", "refs", "logs", "shallow"}

// copyRefs copies the refs, their logs, HEAD and the shallow list of the
// repository at src to dst.
func copyRefs(src, dst string) error {
	for _, e := range refEntries {
		if err := copyTree(filepath.Join(src, e), filepath.Join(dst, e), skipLocks); err != nil {
			return err
		}
	}
	return nil
}

// copyRest copies everything but what copyRefs did: objects (packs each
// before its index, as pushes and git add them), the configuration, hooks
// and the rest. Alternates that lead to another repository under srcRoot
// are rewritten relative, so that the copy borrows from the copy.
func copyRest(src, dst, srcRoot string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if isRefEntry(name) || skipLocks(name) {
			continue
		}
		if name == "objects" {
			if err := copyObjects(filepath.Join(src, name), filepath.Join(dst, name), srcRoot); err != nil {
				return err
			}
			continue
		}
		if err := copyTree(filepath.Join(src, name), filepath.Join(dst, name), skipLocks); err != nil {
			return err
		}
	}
	return nil
}

func isRefEntry(name string) bool {
	for _, e := range refEntries {
		if name == e {
			return true
		}
	}
	return false
}

// skipLocks leaves out lock files (git's *.lock, the repack lock) and
// temporary files.
func skipLocks(name string) bool {
	return strings.HasSuffix(name, ".lock") || strings.HasPrefix(name, "tmp_") || strings.HasPrefix(name, ".tmp")
}

var packFile = regexp.MustCompile(`^pack-[0-9a-f]{40,64}\.(pack|idx|bitmap|rev|keep|mtimes)$`)

func copyObjects(src, dst, srcRoot string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == "pack":
			if err := copyPacks(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
				return err
			}
		case name == "info":
			if err := copyTree(filepath.Join(src, name), filepath.Join(dst, name), skipLocks); err != nil {
				return err
			}
			if err := relativeAlternates(filepath.Join(src, name, "alternates"), filepath.Join(dst, name, "alternates"), src, srcRoot); err != nil {
				return err
			}
		case strings.HasPrefix(name, "incoming-"), skipLocks(name):
			// A push's quarantine: not yet part of the repository.
		default:
			// Loose objects (objects/ab/cdef…), commit-graph files and
			// whatever else git keeps here.
			if err := copyTree(filepath.Join(src, name), filepath.Join(dst, name), skipLocks); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyPacks copies each pack before its index, and leaves out an index
// whose pack is not there (it cannot be: packs are moved in first).
func copyPacks(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	var idx []string
	for _, e := range entries {
		name := e.Name()
		if !packFile.MatchString(name) {
			continue
		}
		if strings.HasSuffix(name, ".idx") {
			idx = append(idx, name)
			continue
		}
		if err := copyFile(filepath.Join(src, name), filepath.Join(dst, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for _, name := range idx {
		pack := strings.TrimSuffix(name, ".idx") + ".pack"
		if _, err := os.Stat(filepath.Join(dst, pack)); err != nil {
			continue
		}
		if err := copyFile(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
			return err
		}
	}
	return nil
}

// relativeAlternates rewrites the copied alternates file dst: an absolute
// entry under srcRoot becomes relative to the objects directory, which git
// and depot read relative to it.
func relativeAlternates(src, dst, objDir, srcRoot string) error {
	b, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	absRoot, err := filepath.Abs(srcRoot)
	if err != nil {
		return err
	}
	absObj, err := filepath.Abs(objDir)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if !filepath.IsAbs(l) {
			continue
		}
		if rel, err := filepath.Rel(absRoot, l); err == nil && !strings.HasPrefix(rel, "..") {
			if r, err := filepath.Rel(absObj, l); err == nil {
				lines[i] = r
			}
		}
	}
	return os.WriteFile(dst, []byte(strings.Join(lines, "\n")), 0o644)
}

// copyTree copies the file or directory src to dst, keeping permission
// bits, leaving out names that skip reports. A src that does not exist
// copies nothing, and files that vanish while it walks are left out (a
// loose ref deleted meanwhile).
func copyTree(src, dst string, skip func(string) bool) error {
	fi, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case fi.Mode().IsRegular():
		if err := copyFile(src, dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	case !fi.IsDir():
		return nil // sockets, devices: nothing of git's
	}
	entries, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a directory of refs emptied and removed meanwhile
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, fi.Mode().Perm()|0o700); err != nil {
		return err
	}
	for _, e := range entries {
		if skip(e.Name()) {
			continue
		}
		if err := copyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), skip); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies the regular file src to dst, with its permission bits,
// and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, fi.Mode().Perm())
}
