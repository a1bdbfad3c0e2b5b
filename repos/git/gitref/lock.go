package gitref

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// A lock is the file "<path>.lock" created with O_EXCL, the lock git
// itself honours; the new content is written into it and renamed over
// the target, which is how a new value becomes visible atomically.

// lockTimeout is how long a lock attempt waits for another process, as
// git's core.filesRefLockTimeout (100 ms by default).
const lockTimeout = 100 * time.Millisecond

// repoLocks serialises ref transactions of one repository inside this
// process; lock files still guard against other processes (git itself).
var repoLocks sync.Map // absolute repository path → *sync.Mutex

func repoMutex(dir string) *sync.Mutex {
	// One mutex per repository however its path is spelled: callers
	// holding an odb handle name it by its absolute path.
	key, err := filepath.Abs(dir)
	if err != nil {
		key = filepath.Clean(dir)
	}
	m, _ := repoLocks.LoadOrStore(key, new(sync.Mutex))
	return m.(*sync.Mutex)
}

// lockFile is a "<path>.lock" file held by this process.
type lockFile struct {
	target string
	f      *os.File
	// prepared is set once the content is written and synced (prepare);
	// err is what that met.
	prepared bool
	err      error
}

// createLock creates target+".lock" exclusively, retrying for lockTimeout
// while another process holds it. Its errors are ErrLocked.
func createLock(target string) (*lockFile, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLocked, err)
	}
	deadline := time.Now().Add(lockTimeout)
	for {
		f, err := os.OpenFile(target+".lock", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return &lockFile{target: target, f: f}, nil
		}
		if !errors.Is(err, fs.ErrExist) || time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %v", ErrLocked, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// prepare writes content to the lock file and syncs it, so that commit
// has only the rename left. Many locks are prepared at once by
// prepareAll.
func (l *lockFile) prepare(content []byte) {
	_, l.err = l.f.Write(content)
	if l.err == nil {
		l.err = l.f.Sync()
	}
	l.prepared = true
}

// prepareAll prepares each lock with its content, syncing in parallel:
// a journalling file system commits concurrent syncs together, so 5,000
// new refs cost a few journal commits rather than 5,000 in a row.
func prepareAll(locks []*lockFile, contents [][]byte) {
	const workers = 32
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(locks)) {
		wg.Go(func() {
			for i := range next {
				locks[i].prepare(contents[i])
			}
		})
	}
	for i := range locks {
		next <- i
	}
	close(next)
	wg.Wait()
}

// commit writes content to the lock file, syncs it and renames it over
// the target; a prepared lock has its content already. The lock is gone
// afterwards, whatever the outcome.
func (l *lockFile) commit(content []byte) error {
	err := l.err
	if !l.prepared {
		l.prepare(content)
		err = l.err
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(l.target+".lock", l.target)
	}
	if err != nil {
		os.Remove(l.target + ".lock")
	}
	return err
}

// release gives the lock up without touching the target.
func (l *lockFile) release() {
	l.f.Close()
	os.Remove(l.target + ".lock")
}

// syncDir makes the renames and removals done in dir durable: a rename is
// a change of its directory, which fsync of the file does not cover. Ref
// values are synced in their lock files before the rename; without this a
// power loss could bring the old value back after the push was reported.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
