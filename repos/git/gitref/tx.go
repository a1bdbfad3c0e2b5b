package gitref

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// Tx is a compare-and-swap update of one or more refs of a repository,
// the way git's files backend does it: every ref is locked and checked
// first, then all are written. It holds the repository's in-process mutex
// from Begin to Close, and each ref's lock file from Update to Commit or
// Close, so that it is safe against other goroutines and against git.
//
// A Tx is not safe for concurrent use; its methods must be called from
// one goroutine.
type Tx struct {
	dir    string
	mu     *sync.Mutex
	snap   *Snapshot   // as read on first need; nil before
	packed *packedRefs // the packed-refs parse last read, reused while unchanged
	ups    []*update
	names  map[string]bool
	plock  *lockFile // packed-refs.lock, held when a delete is queued
	done   bool      // Commit ran
	closed bool
	// actor and message are what the reflog entries record (Log).
	actor   Actor
	message string
}

type update struct {
	name     string
	old, new plumbing.Hash
	lock     *lockFile
}

// Begin starts a transaction on the refs of the bare repository dir,
// waiting for any other transaction on it in this process. The caller
// must call Close.
func Begin(dir string) *Tx {
	mu := repoMutex(dir)
	mu.Lock()
	return &Tx{dir: dir, mu: mu, names: map[string]bool{}}
}

// Refs returns the refs of the repository as ListRefs does, read once per
// transaction: later calls return what the first one read, as it was
// before this transaction changed anything.
func (tx *Tx) Refs() (map[string]plumbing.Hash, error) {
	s, err := tx.Snapshot()
	if err != nil {
		return nil, err
	}
	return s.Hashes(), nil
}

// Snapshot returns the refs of the repository read once per transaction,
// as Refs does, sorted.
func (tx *Tx) Snapshot() (*Snapshot, error) {
	if tx.snap != nil {
		return tx.snap, nil
	}
	s, packed, err := readSnapshotWith(tx.dir, tx.packed)
	if err != nil {
		return nil, fmt.Errorf("gitref: list refs: %w", err)
	}
	tx.snap, tx.packed = s, packed
	return s, nil
}

// Update adds to the transaction the change of the full ref name from old
// to new: a zero old means the ref must not exist, a zero new deletes it.
// It takes the ref's lock and checks, under the lock, that the ref holds
// old; nothing is written before Commit. On error the ref is not part of
// the transaction and the others are unaffected.
//
// The error is a *NameError for a bad name; ErrConflict when creating the
// ref would clash with an existing one; ErrLocked when another process
// holds the lock (or the ref is already in this transaction); ErrSymref
// for a symbolic ref; ErrStale when the ref holds another value, together
// with ErrExists when old is zero and ErrNotFound when the ref is missing.
// The caller ensures that new names an object present in the repository.
func (tx *Tx) Update(name string, old, new plumbing.Hash) error {
	if tx.done || tx.closed {
		return fmt.Errorf("gitref: update %s: transaction is finished", name)
	}
	if err := CheckRefName(name); err != nil {
		return fmt.Errorf("gitref: update: %w", err)
	}
	if tx.names[name] {
		return fmt.Errorf("gitref: update %s: %w: ref is already in this transaction", name, ErrLocked)
	}
	if old.IsZero() {
		other, ok, err := tx.conflict(name)
		if err != nil {
			return fmt.Errorf("gitref: update %s: %w", name, err)
		}
		if ok {
			return fmt.Errorf("gitref: update %s: %w: %s exists", name, ErrConflict, other)
		}
	}
	l, err := createLock(refPath(tx.dir, name))
	if err != nil {
		return fmt.Errorf("gitref: update %s: %w", name, err)
	}
	if err := tx.checkOld(name, old); err != nil {
		l.release()
		removeEmptyDirs(tx.dir, name)
		return fmt.Errorf("gitref: update %s: %w", name, err)
	}
	// A delete must also remove any packed copy of the ref, and packed-refs
	// must not change under us (git pack-refs) until then: take its lock
	// now, after the ref's lock, in git's order.
	if new.IsZero() && tx.plock == nil {
		pl, err := createLock(refPath(tx.dir, "packed-refs"))
		if err != nil {
			l.release()
			return fmt.Errorf("gitref: update %s: packed-refs: %w", name, err)
		}
		tx.plock = pl
	}
	tx.ups = append(tx.ups, &update{name: name, old: old, new: new, lock: l})
	tx.names[name] = true
	return nil
}

// conflict returns a ref that creating name would clash with as a file
// against a directory (see Snapshot.Conflict), looking only where such a
// ref could be: the loose files of name's parents and the loose refs
// below name, and packed-refs by binary search. Its cost does not grow
// with the number of refs, so that each of N new refs costs the same.
func (tx *Tx) conflict(name string) (string, bool, error) {
	packed, err := loadPackedAfter(tx.dir, tx.packed)
	if err != nil {
		return "", false, err
	}
	tx.packed = packed
	if other, ok := (&Snapshot{refs: packed.refs}).Conflict(name); ok {
		return other, true, nil
	}
	for i := strings.IndexByte(name, '/'); i >= 0; {
		if fi, err := os.Lstat(refPath(tx.dir, name[:i])); err == nil && !fi.IsDir() {
			return name[:i], true, nil
		}
		j := strings.IndexByte(name[i+1:], '/')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	// Loose refs below name: git leaves empty directories behind, which
	// are no clash.
	var below string
	err = walkLooseUnder(tx.dir, name, func(ref string) error {
		if ref == name {
			return nil // the ref itself: checkOld's business
		}
		below = ref
		return fs.SkipAll
	})
	return below, below != "", err
}

// checkOld compares the current value of a locked ref with old. The
// loose file is read again, under the lock; packed-refs is parsed again
// only if it changed since the transaction last read it, so that N
// updates cost N small reads and not N parses of every packed ref.
func (tx *Tx) checkOld(name string, old plumbing.Hash) error {
	cur, ok, err := readLoose(tx.dir, name)
	if err == nil && !ok {
		var packed *packedRefs
		packed, err = loadPackedAfter(tx.dir, tx.packed)
		if err == nil {
			tx.packed = packed
			var r StoredRef
			r, ok = (&Snapshot{refs: packed.refs}).Get(name)
			cur = r.Hash
		}
	}
	switch {
	case err != nil:
		return err
	case old.IsZero() && ok:
		return fmt.Errorf("%w: %w", ErrStale, ErrExists)
	case !old.IsZero() && !ok:
		return fmt.Errorf("%w: %w", ErrStale, ErrNotFound)
	case ok && cur != old:
		return ErrStale
	}
	return nil
}

// Commit writes every update added: deletes first, from packed-refs and
// then from their loose files, so that a reader never sees an older packed
// value come back; then the new values, each renamed over its ref. It
// returns the errors of the updates that failed, by ref name; the others
// are done. Commit runs once; the transaction still needs Close.
func (tx *Tx) Commit() map[string]error {
	if tx.done || tx.closed {
		return nil
	}
	tx.done = true
	var failed map[string]error
	fail := func(u *update, err error) {
		if failed == nil {
			failed = map[string]error{}
		}
		failed[u.name] = fmt.Errorf("gitref: update %s: %w", u.name, err)
	}
	bulk := tx.bulkCreations()
	tx.logUpdates(fail, bulk)
	tx.commitDeletes(fail)
	tx.commitBulk(bulk, fail)
	tx.prepareValues()
	dirs := map[string][]*update{}
	for _, u := range tx.ups {
		if u.lock == nil || u.new.IsZero() {
			continue
		}
		err := u.lock.commit([]byte(u.new.String() + "\n"))
		u.lock = nil
		if err != nil {
			fail(u, err)
			continue
		}
		d := filepath.Dir(refPath(tx.dir, u.name))
		dirs[d] = append(dirs[d], u)
	}
	// Once per directory, after every rename: a push of 5,000 branches
	// syncs refs/heads once.
	for d, ups := range dirs {
		if err := syncDir(d); err != nil {
			for _, u := range ups {
				fail(u, fmt.Errorf("sync %s: %w", d, err))
			}
		}
	}
	return failed
}

// prepareValues writes and syncs the new values of a transaction of many
// updates in their lock files all at once, before Commit renames them one
// by one; a single update needs no such help.
func (tx *Tx) prepareValues() {
	var locks []*lockFile
	var contents [][]byte
	for _, u := range tx.ups {
		if u.lock != nil && !u.new.IsZero() {
			locks = append(locks, u.lock)
			contents = append(contents, []byte(u.new.String()+"\n"))
		}
	}
	if len(locks) > 1 {
		prepareAll(locks, contents)
	}
}

func (tx *Tx) commitDeletes(fail func(*update, error)) {
	drop := map[string]bool{}
	for _, u := range tx.ups {
		if u.new.IsZero() {
			drop[u.name] = true
		}
	}
	if len(drop) == 0 {
		return
	}
	// packed-refs stays locked until the loose files are gone, as in
	// git: a pack-refs (depot repo gc, git gc) that took the lock in
	// between would read the loose refs still there and pack them again,
	// bringing back a branch whose deletion was reported done.
	pl := tx.plock
	tx.plock = nil
	defer pl.release()
	if err := rewritePacked(pl, drop); err != nil {
		for _, u := range tx.ups {
			if drop[u.name] {
				u.lock.release()
				u.lock = nil
				fail(u, fmt.Errorf("rewriting packed-refs: %w", err))
			}
		}
		return
	}
	// packed-refs without the refs is durable before their loose files go.
	_ = syncDir(tx.dir)
	dirs := map[string]bool{}
	for _, u := range tx.ups {
		if !drop[u.name] {
			continue
		}
		err := os.Remove(refPath(tx.dir, u.name))
		u.lock.release()
		u.lock = nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			fail(u, err)
			continue
		}
		dirs[filepath.Dir(refPath(tx.dir, u.name))] = true
		removeEmptyDirs(tx.dir, u.name)
	}
	for d := range dirs {
		_ = syncDir(d) // a directory removeEmptyDirs took away is gone either way
	}
}

// SetHEAD points HEAD at the full ref name, which need not exist, under
// HEAD.lock. It may be called before or after Commit, not after Close.
func (tx *Tx) SetHEAD(name string) error {
	if tx.closed {
		return fmt.Errorf("gitref: set HEAD: transaction is closed")
	}
	if err := CheckRefName(name); err != nil {
		return fmt.Errorf("gitref: set HEAD: %w", err)
	}
	l, err := createLock(refPath(tx.dir, "HEAD"))
	if err != nil {
		return fmt.Errorf("gitref: set HEAD: %w", err)
	}
	if err := l.commit([]byte("ref: " + name + "\n")); err != nil {
		return fmt.Errorf("gitref: set HEAD: %w", err)
	}
	if err := syncDir(tx.dir); err != nil {
		return fmt.Errorf("gitref: set HEAD: %w", err)
	}
	return nil
}

// Close releases the locks of the updates that were not committed and the
// repository's mutex. It may be called more than once.
func (tx *Tx) Close() {
	if tx.closed {
		return
	}
	tx.closed = true
	for _, u := range tx.ups {
		if u.lock != nil {
			u.lock.release()
			u.lock = nil
		}
	}
	if tx.plock != nil {
		tx.plock.release()
		tx.plock = nil
	}
	tx.mu.Unlock()
}

// UpdateRef changes the full ref name from old to new with compare and
// swap, as one transaction: a zero old means the ref must not exist, a zero
// new deletes it (from packed-refs too). Errors are those of Tx.Update, or
// of writing the ref.
func UpdateRef(dir, name string, old, new plumbing.Hash) error {
	tx := Begin(dir)
	defer tx.Close()
	if err := tx.Update(name, old, new); err != nil {
		return err
	}
	return tx.Commit()[name]
}

// rewritePacked writes packed-refs without the refs in drop while the
// caller holds its lock pl, and keeps the lock: the new content is
// written and synced in packed-refs.new and renamed over packed-refs, as
// git does, so that the lock can outlive the rename. It keeps the header
// and the peeled lines of the refs it keeps. When nothing is dropped the
// file is left alone.
func rewritePacked(pl *lockFile, drop map[string]bool) error {
	old, err := os.ReadFile(pl.target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var out []byte
	dropped, skipPeeled := false, false
	for _, line := range bytes.SplitAfter(old, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if line[0] == '^' {
			if !skipPeeled {
				out = append(out, line...)
			}
			continue
		}
		skipPeeled = false
		if line[0] != '#' {
			_, name, _ := strings.Cut(strings.TrimSuffix(string(line), "\n"), " ")
			if drop[name] {
				dropped, skipPeeled = true, true
				continue
			}
		}
		out = append(out, line...)
	}
	if !dropped {
		return nil
	}
	return writeReplace(pl.target, out)
}

// writeReplace writes content to target+".new", syncs it and renames it
// over target. The caller holds target's lock, which alone makes the
// fixed name safe.
func writeReplace(target string, content []byte) error {
	tmp := target + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, target)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// removeEmptyDirs removes the empty directories left above a deleted
// loose ref, stopping below refs/<kind>/ so that refs/heads stays.
func removeEmptyDirs(dir, name string) {
	parts := strings.Split(name, "/")
	for i := len(parts) - 1; i > 2; i-- {
		if os.Remove(refPath(dir, strings.Join(parts[:i], "/"))) != nil {
			return
		}
	}
}
