package receivepack

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// The ref store speaks git's "files" backend (gitrepository-layout(5)):
// loose refs under refs/, packed-refs, and "<file>.lock" files created with
// O_EXCL as the lock that git itself honours.

var (
	errLocked   = errors.New("failed to lock")
	errSymref   = errors.New("symbolic ref")
	errBadLoose = errors.New("malformed loose ref")
)

// lockTimeout is how long a lock attempt waits for another process, as
// git's core.filesRefLockTimeout (100 ms by default).
const lockTimeout = 100 * time.Millisecond

// repoLocks serialises ref transactions of one repository inside this
// process; lock files still guard against other processes (git itself).
var repoLocks sync.Map // cleaned repository path → *sync.Mutex

func repoMutex(dir string) *sync.Mutex {
	m, _ := repoLocks.LoadOrStore(filepath.Clean(dir), new(sync.Mutex))
	return m.(*sync.Mutex)
}

// refStore reads and writes the refs of one bare repository.
type refStore struct {
	dir string
}

func (s *refStore) path(name string) string {
	return filepath.Join(s.dir, filepath.FromSlash(name))
}

// readLoose returns the value of the loose ref name; ok is false when
// there is no such file. A symbolic ref is errSymref.
func (s *refStore) readLoose(name string) (h plumbing.Hash, ok bool, err error) {
	b, err := os.ReadFile(s.path(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) {
			return plumbing.ZeroHash, false, nil
		}
		return plumbing.ZeroHash, false, err
	}
	if bytes.HasPrefix(b, []byte("ref:")) {
		return plumbing.ZeroHash, false, errSymref
	}
	h, valid := parseHash(string(bytes.TrimSpace(b)))
	if !valid {
		return plumbing.ZeroHash, false, fmt.Errorf("%w %s", errBadLoose, name)
	}
	return h, true, nil
}

// readPacked parses packed-refs; a missing file holds no refs.
func (s *refStore) readPacked() (map[string]plumbing.Hash, error) {
	refs := map[string]plumbing.Hash{}
	f, err := os.Open(filepath.Join(s.dir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return refs, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '^' {
			continue
		}
		hex, name, ok := strings.Cut(line, " ")
		h, valid := parseHash(hex)
		if !ok || !valid {
			return nil, fmt.Errorf("malformed packed-refs line %q", truncate(line, 100))
		}
		refs[name] = h
	}
	return refs, sc.Err()
}

// read returns the current value of name, loose first then packed, the
// order git resolves them in.
func (s *refStore) read(name string) (plumbing.Hash, bool, error) {
	h, ok, err := s.readLoose(name)
	if err != nil || ok {
		return h, ok, err
	}
	packed, err := s.readPacked()
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	h, ok = packed[name]
	return h, ok, nil
}

// list returns every ref with a valid name and an object id, loose refs
// shadowing packed ones. Symbolic refs under refs/ are left out.
func (s *refStore) list() (map[string]plumbing.Hash, error) {
	refs, err := s.readPacked()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(s.dir, "refs")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, ".lock") {
			return nil
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if checkRefName(name) != nil {
			return nil
		}
		h, ok, err := s.readLoose(name)
		switch {
		case errors.Is(err, errSymref), errors.Is(err, errBadLoose):
			return nil
		case err != nil:
			return err
		case ok:
			refs[name] = h
		}
		return nil
	})
	return refs, err
}

// sortedNames returns the names of refs in byte order, git's order.
func sortedNames(refs map[string]plumbing.Hash) []string {
	names := make([]string, 0, len(refs))
	for n := range refs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lockFile is a "<path>.lock" file held by this process.
type lockFile struct {
	target string
	f      *os.File
}

// createLock creates target+".lock" exclusively, retrying for lockTimeout
// while another process holds it.
func createLock(target string) (*lockFile, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", errLocked, err)
	}
	deadline := time.Now().Add(lockTimeout)
	for {
		f, err := os.OpenFile(target+".lock", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return &lockFile{target: target, f: f}, nil
		}
		if !errors.Is(err, fs.ErrExist) || time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %v", errLocked, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// commit writes content to the lock file, syncs it and renames it over
// the target, which is how the new value becomes visible atomically.
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

// rewritePacked writes packed-refs without the refs in drop, through the
// held lock pl. It keeps the header and peeled lines of the refs it keeps.
// When nothing is dropped the lock is released and the file left alone.
func (s *refStore) rewritePacked(pl *lockFile, drop map[string]bool) error {
	old, err := os.ReadFile(pl.target)
	if errors.Is(err, fs.ErrNotExist) {
		pl.release()
		return nil
	}
	if err != nil {
		pl.release()
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
		pl.release()
		return nil
	}
	return pl.commit(out)
}

// removeEmptyDirs removes the empty directories left above a deleted
// loose ref, stopping below refs/<kind>/ so that refs/heads stays.
func (s *refStore) removeEmptyDirs(name string) {
	parts := strings.Split(name, "/")
	for i := len(parts) - 1; i > 2; i-- {
		if os.Remove(s.path(strings.Join(parts[:i], "/"))) != nil {
			return
		}
	}
}

// readHEAD returns the branch HEAD points to, or "" when HEAD is detached
// or unreadable.
func (s *refStore) readHEAD() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "HEAD"))
	if err != nil {
		return ""
	}
	target, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "ref: ")
	if !ok {
		return ""
	}
	return target
}

// setHEAD points HEAD at the branch name.
func (s *refStore) setHEAD(name string) error {
	l, err := createLock(filepath.Join(s.dir, "HEAD"))
	if err != nil {
		return err
	}
	return l.commit([]byte("ref: " + name + "\n"))
}
