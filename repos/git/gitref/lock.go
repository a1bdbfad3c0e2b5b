package gitref

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
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
	fd     int
	// prepared is set once the content is written and synced (prepare);
	// err is what that met.
	prepared bool
	err      error
}

// createLock creates target+".lock" exclusively, retrying for lockTimeout
// while another process holds it. Its errors are ErrLocked.
func createLock(target string) (*lockFile, error) {
	return createLockWait(target, lockTimeout)
}

// createLockWait is createLock waiting up to wait.
func createLockWait(target string, wait time.Duration) (*lockFile, error) {
	deadline := time.Now().Add(wait)
	for {
		fd, err := openRaw(target+".lock", syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL)
		if err == nil {
			return &lockFile{target: target, fd: fd}, nil
		}
		if !errors.Is(err, fs.ErrExist) || time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %v", ErrLocked, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Lock files and reflogs are opened, written and closed with the system
// calls themselves rather than through os.File, which registers each file
// with the runtime's poller and sets it non-blocking: two calls more per
// file, which a push of 5,000 new refs pays 10,000 times over for files
// written once and closed.

// openRaw opens path with flag (and O_CLOEXEC) and mode 0644, creating its
// parent directories when they are missing. They are made only then,
// rather than checked before every open: most files go where a directory
// already is.
func openRaw(path string, flag int) (int, error) {
	// A pack-refs removing emptied directories can take the one just
	// made away before the open, so a few tries, as git's
	// raceproof_create_file makes.
	mkdirs := 3
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, 0o644)
		switch {
		case err == nil:
			return fd, nil
		case err == syscall.EINTR:
			continue
		case err == syscall.ENOENT && mkdirs > 0 && flag&syscall.O_CREAT != 0:
			mkdirs--
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return -1, err
			}
			continue
		}
		return -1, &fs.PathError{Op: "open", Path: path, Err: err}
	}
}

// writeRaw writes all of b to fd, the open file path.
func writeRaw(fd int, path string, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "write", Path: path, Err: err}
		}
		b = b[n:]
	}
	return nil
}

// prepare writes content to the lock file and syncs it, so that commit
// has only the rename left. Many locks are prepared at once by
// prepareAll.
func (l *lockFile) prepare(content []byte) {
	l.err = writeRaw(l.fd, l.target+".lock", content)
	if l.err == nil {
		l.err = syscall.Fsync(l.fd)
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
	if cerr := syscall.Close(l.fd); err == nil {
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
	syscall.Close(l.fd)
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
