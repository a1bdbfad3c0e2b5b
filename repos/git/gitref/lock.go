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

// commit writes content to the lock file, syncs it and renames it over
// the target. The lock is gone afterwards, whatever the outcome.
func (l *lockFile) commit(content []byte) error {
	_, err := l.f.Write(content)
	if err == nil {
		err = l.f.Sync()
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
