// Package gc consolidates a bare repository's packs and loose objects into
// one pack, in pure Go, safely alongside fetches and pushes.
package gc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/depot/depot/repos/git/commitgraph"
	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/repos/git/odb"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/depot/depot/repos/git/packwrite"
	"github.com/depot/depot/repos/holder"
	"github.com/go-git/go-git/v5/plumbing"
)

// Thresholds of NeedsRepack, as git gc --auto has them (gc.autoPackLimit is
// 50 there; depot's pushes each add a pack, so it consolidates sooner).
const (
	MaxPacks = 20
	MaxLoose = 1000
	// MaxLooseRefs is how many loose ref files make packing the refs
	// worth it: each is a file read per ref advertisement.
	MaxLooseRefs = 200
	// MinBitmapBytes is the size of packs past which a repository without
	// a bitmap is repacked to get one, such as after the first push of an
	// existing project: without it every clone walks the whole history.
	MinBitmapBytes = 16 << 20
)

// Grace is how long unreachable objects are kept (git's gc.pruneExpire): a
// push running while the repository is repacked may refer to an object
// that was unreachable when the repack looked.
const Grace = 14 * 24 * time.Hour

// ErrBusy is returned when another repack of the repository is running.
var ErrBusy = errors.New("gc: a repack is already running")

// lockStale is the age after which a repack lock is taken to be left over
// from a crash.
const lockStale = time.Hour

// NeedsRepack reports whether the repository at repoDir has more than
// MaxPacks packs, more than MaxLoose loose objects (estimated as git does
// from one fan-out directory), or MinBitmapBytes of packs and no bitmap.
// Loose refs alone need only PackRefs (NeedsPackRefs).
func NeedsRepack(repoDir string) bool {
	objs := filepath.Join(repoDir, "objects")
	if ents, err := os.ReadDir(filepath.Join(objs, "pack")); err == nil {
		n, bitmaps, size := 0, 0, int64(0)
		for _, e := range ents {
			switch name := e.Name(); {
			case strings.HasSuffix(name, ".idx"):
				n++
			case strings.HasSuffix(name, ".bitmap"):
				bitmaps++
			case strings.HasSuffix(name, ".pack"):
				if fi, err := e.Info(); err == nil {
					size += fi.Size()
				}
			}
		}
		if n > MaxPacks || (bitmaps == 0 && size >= MinBitmapBytes) {
			return true
		}
	}
	ents, err := os.ReadDir(filepath.Join(objs, "17"))
	if err != nil {
		return false
	}
	return len(ents)*256 > MaxLoose
}

// NeedsPackRefs reports whether the repository at repoDir has more than
// MaxLooseRefs loose refs: each is a file read per ref advertisement, and
// packing them is one sorted file written, not a repack of the objects.
func NeedsPackRefs(repoDir string) bool { return looseRefs(repoDir) > MaxLooseRefs }

// PackRefs packs the loose refs of the repository at repoDir
// (gitref.PackRefs) and returns how many it moved.
func PackRefs(repoDir string) (int, error) {
	db, release, err := odb.Acquire(repoDir)
	if err != nil {
		return 0, fmt.Errorf("gc: pack refs: %w", err)
	}
	defer release()
	return gitref.PackRefs(db)
}

// looseRefs counts the loose ref files of the repository, stopping once
// past MaxLooseRefs: the answer is only compared with it.
func looseRefs(repoDir string) int {
	n := 0
	stop := errors.New("enough")
	filepath.WalkDir(filepath.Join(repoDir, "refs"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if n++; n > MaxLooseRefs {
				return stop
			}
		}
		return nil
	})
	return n
}

// Repack first packs the repository's loose refs (gitref.PackRefs), then
// writes every object reachable from the refs of the bare repository at
// repoDir into one new pack, with an index, reusing stored bytes where it
// can. Unreachable objects younger than Grace go into a second pack, older
// ones are dropped. Only then are the packs and loose objects that existed
// when Repack started removed; anything added since is left alone.
//
// Readers that opened the old packs keep working (the files are unlinked
// while open); readers that list the pack directory afterwards find the new
// pack.
//
// Objects that a reflog entry younger than DefaultReflogExpire names are
// kept as if reachable (RepackWith).
//
// A repository that borrows objects (objects/info/alternates) gets the
// borrowed objects it reaches copied into its new pack, as git's repack -a
// without -l does, and keeps its alternates file: nothing it needs is then
// left only in another repository, which that repository's own gc could
// drop. The alternates' packs and loose objects are never removed.
func Repack(ctx context.Context, repoDir string) error {
	return RepackWith(ctx, repoDir, Options{ReflogExpire: DefaultReflogExpire})
}

// Options tunes RepackWith.
type Options struct {
	// ReflogExpire is how long reflog entries are kept: older ones are
	// dropped, and every object a younger one names (old or new) is kept
	// with all it reaches, so that a force push or a deleted branch can
	// be undone. Zero keeps every entry.
	ReflogExpire time.Duration
}

// RepackWith is Repack with the reflog's retention given.
func RepackWith(ctx context.Context, repoDir string, opt Options) error {
	const op = "gc.Repack"
	packDir := filepath.Join(repoDir, "objects", "pack")
	if err := os.MkdirAll(packDir, 0o755); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	unlock, err := lock(filepath.Join(repoDir, "objects", "depot-gc.lock"))
	if err != nil {
		return err
	}
	defer unlock()

	start := time.Now()
	// Mapped: a repack reads most of every pack, which pread would cost a
	// system call per object.
	db, err := odb.OpenMapped(repoDir)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer db.Close()
	// Refs first, as git gc does: every later advertisement then reads
	// one sorted file instead of a file per branch. With packed-refs
	// locked (a transaction deleting refs, or a lock a killed process left
	// behind) the objects are repacked all the same and the refs packed by
	// a later run: refs are read the same either way.
	if _, err := gitref.PackRefs(db); err != nil && !errors.Is(err, gitref.ErrLocked) {
		return fmt.Errorf("%s: %w", op, err)
	}
	old := db.Packs()
	loose, err := db.LooseObjects()
	if err != nil {
		return fmt.Errorf("%s: list loose objects: %w", op, err)
	}
	tips, err := refTips(repoDir)
	if err != nil {
		return fmt.Errorf("%s: read refs: %w", op, err)
	}
	kept, err := reflogRoots(db, repoDir, start, opt.ReflogExpire)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	reachable, err := walk(ctx, db, append(kept, tips...))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	cruft, err := recentUnreachable(db, old, loose, reachable, start)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}

	var written []string
	for i, set := range [][]plumbing.Hash{reachable.list, cruft} {
		if len(set) == 0 {
			continue
		}
		// The bitmap numbers objects in pack order, which is the order
		// they were written in.
		var ranks []uint32
		order := func(entries []packfile.IndexEntry) {
			if i == 0 {
				ranks = reachable.ranks(entries)
			}
		}
		name, err := writePack(ctx, db, packDir, set, order)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if i == 0 && len(db.Shallow()) == 0 {
			// The reachable pack is closed under reachability, as a
			// bitmap requires; fetches then skip the graph walk. In a
			// shallow repository it is closed only down to the shallow
			// commits, which a later unshallowing fetch would break, and
			// git turns bitmaps off there anyway.
			if err := writeBitmap(ctx, reachable, ranks, name, tips); err != nil {
				return fmt.Errorf("%s: write bitmap: %w", op, err)
			}
		}
		written = append(written, name)
	}
	syncDir(packDir)
	writeCommitGraph(repoDir, reachable.commits)

	keep := map[string]bool{}
	for _, w := range written {
		keep[w] = true
	}
	for _, p := range old {
		base := strings.TrimSuffix(p.Path, ".pack")
		if keep[base] {
			continue // the repack produced the very same pack
		}
		if _, err := os.Stat(base + ".keep"); err == nil {
			continue
		}
		// The index goes first: packs are discovered through it.
		for _, ext := range []string{".idx", ".pack", ".bitmap", ".rev"} {
			if err := os.Remove(base + ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: remove old pack: %w", op, err)
			}
		}
	}
	for _, h := range loose {
		s := h.String()
		_ = os.Remove(filepath.Join(repoDir, "objects", s[:2], s[2:]))
	}
	return nil
}

// writeCommitGraph replaces the repository's commit-graph with one of the
// reachable commits, as git gc does, so that walks read parents and dates
// without inflating commits. A repository that is itself shallow has
// commits whose parents it lacks, for which git writes no graph either:
// any graph there goes. Failing to write one costs speed only, so it does
// not fail the repack.
func writeCommitGraph(repoDir string, commits []commitgraph.Entry) {
	objs := filepath.Join(repoDir, "objects")
	if _, err := os.Stat(filepath.Join(repoDir, "shallow")); err == nil || len(commits) == 0 {
		_ = os.Remove(filepath.Join(objs, "info", "commit-graph"))
		_ = os.RemoveAll(filepath.Join(objs, "info", "commit-graphs"))
		return
	}
	if err := commitgraph.WriteFile(objs, commits); err != nil {
		_ = os.Remove(filepath.Join(objs, "info", "commit-graph"))
	}
}

// writePack writes objs as a pack with its index into packDir and returns
// the path of the pack without its extension. It hands order the objects'
// index entries in the order they were written, which is pack order.
func writePack(ctx context.Context, db *odb.DB, packDir string, objs []plumbing.Hash, order func([]packfile.IndexEntry)) (string, error) {
	tmp, err := os.CreateTemp(packDir, "tmp_pack_")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	// Buffered: packwrite writes entry by entry, a system call each
	// otherwise.
	bw := bufio.NewWriterSize(tmp, 1<<20)
	res, err := packwrite.Write(ctx, db, bw, objs, packwrite.Options{OFSDelta: true, Index: true})
	if err != nil {
		return "", fmt.Errorf("write pack: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return "", fmt.Errorf("write pack: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	tmpIdx, err := os.CreateTemp(packDir, "tmp_idx_")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmpIdx.Name())
	defer tmpIdx.Close()
	order(res.Entries)
	bw = bufio.NewWriterSize(tmpIdx, 1<<20)
	if _, err := packfile.WriteIndex(bw, res.Entries, res.Checksum); err != nil {
		return "", fmt.Errorf("write index: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return "", fmt.Errorf("write index: %w", err)
	}
	if err := tmpIdx.Sync(); err != nil {
		return "", err
	}
	// WriteIndex sorted the entries by name: their order is the index's.
	offsets := make([]int64, len(res.Entries))
	for i, e := range res.Entries {
		offsets[i] = e.Offset
	}
	tmpRev, err := os.CreateTemp(packDir, "tmp_rev_")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmpRev.Name())
	defer tmpRev.Close()
	if err := packfile.WriteRev(tmpRev, offsets, res.Checksum); err != nil {
		return "", fmt.Errorf("write reverse index: %w", err)
	}
	if err := tmpRev.Sync(); err != nil {
		return "", err
	}
	base := filepath.Join(packDir, "pack-"+res.Checksum.String())
	if _, err := os.Stat(base + ".idx"); err == nil {
		return base, nil // identical pack already in place
	}
	for _, m := range []struct {
		f   *os.File
		ext string
	}{{tmp, ".pack"}, {tmpRev, ".rev"}, {tmpIdx, ".idx"}} {
		if err := m.f.Chmod(0o444); err != nil {
			return "", err
		}
		if err := os.Rename(m.f.Name(), base+m.ext); err != nil {
			return "", err
		}
	}
	return base, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// HoldOff takes the repack lock of the repository at repoDir, which every
// Repack (of this process or another, on this host or another sharing the
// file system) takes first, so that no pack or loose object is removed
// until the returned function is called: a backup copies the repository
// meanwhile. It returns ErrBusy while a repack runs. The lock is kept
// fresh in the background while held, however long that is.
func HoldOff(repoDir string) (release func(), err error) {
	return lock(filepath.Join(repoDir, "objects", "depot-gc.lock"))
}

// lockRefresh is how often a held repack lock is touched, well within
// lockStale.
const lockRefresh = lockStale / 6

// lock takes the repack lock at path, which names its holder
// (holder.Holder: pid, host and run) and is touched every lockRefresh
// while held. A lock whose holder is known to be gone, a process of this
// host that no longer runs, is taken over at once; any other, such as
// one of another host, whose pid means nothing here, only once untouched
// for lockStale.
func lock(path string) (func(), error) {
	content := []byte(holder.Self().String() + "\n")
	for attempt := 0; attempt < 3; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := f.Write(content)
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return nil, fmt.Errorf("gc: lock: %w", werr)
			}
			return holdLock(path, content), nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("gc: lock: %w", err)
		}
		if !takeOver(path) {
			return nil, ErrBusy
		}
	}
	return nil, ErrBusy
}

// holdLock refreshes the lock at path, which holds content, until the
// returned function stops that and removes the lock, if it still holds
// content: a holder that stalled past lockStale may have lost it to
// another, whose lock stays.
func holdLock(path string, content []byte) func() {
	stop := holder.Touch(path, lockRefresh, nil)
	var once sync.Once
	return func() {
		once.Do(func() {
			stop()
			if b, err := os.ReadFile(path); err == nil && bytes.Equal(b, content) {
				os.Remove(path)
			}
		})
	}
}

// takeOver removes the repack lock at path if it is left over: its holder
// is gone, or it is older than lockStale. It reports whether the lock may
// be tried again. The lock is first renamed aside, which only one of
// several processes doing so at once achieves, and given back if what
// was renamed is not the lock judged left over but a new holder's.
func takeOver(path string) bool {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true // released meanwhile
	}
	if err != nil {
		return false
	}
	if !lockLeftOver(path, fi, 0) {
		return false
	}
	return removeAside(path, fi) || !exists(path)
}

// removeAside removes the lock at path, judged left over as it was when
// fi was read. It is first renamed aside, which only one of several
// processes doing so at once achieves, and given back if what was renamed
// is not that lock but a new holder's. It reports whether it removed it.
func removeAside(path string, fi fs.FileInfo) bool {
	aside := fmt.Sprintf("%s.stale-%s", path, holder.Self().Instance)
	if err := os.Rename(path, aside); err != nil {
		return false
	}
	if fi2, err := os.Stat(aside); err == nil && !os.SameFile(fi, fi2) {
		_ = os.Link(aside, path)
		os.Remove(aside)
		return false
	}
	return os.Remove(aside) == nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// lockLeftOver reports whether the repack lock at path, whose FileInfo is
// fi, is left over: its holder is gone, or it is untouched for lockStale.
// Content that names no holder (a lock cut between its creation and its
// write) counts as left over once older than unnamed, when that is not
// zero, and otherwise once stale.
func lockLeftOver(path string, fi fs.FileInfo, unnamed time.Duration) bool {
	age := time.Since(fi.ModTime())
	if age >= lockStale {
		return true
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	h, err := holder.Parse(b)
	if err != nil {
		return unnamed > 0 && age >= unnamed
	}
	return h.Gone()
}
