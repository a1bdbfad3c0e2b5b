package odb

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrUnsafeAlternate is returned, wrapped, by Open and Acquire when the
// repository's objects/info/alternates (or that of one of its alternates)
// names a directory outside every root allowed by AllowAlternatesUnder.
// The repository is refused rather than served without the objects it
// borrows: half a repository would answer "missing objects" to every
// push, and the log would not say why.
var ErrUnsafeAlternate = errors.New("odb: alternate object directory outside the allowed roots")

// maxAltDepth is how deep alternates of alternates are followed, as in
// git (link_alt_odb_entries): lists found deeper are ignored.
const maxAltDepth = 5

// altRoots are the directories, resolved through symlinks, under which
// alternates may point. It starts empty: a process that has not said where
// its repositories live reads no alternates at all.
var altRoots struct {
	sync.RWMutex
	dirs []string
}

// AllowAlternatesUnder lets repositories borrow objects (gitrepository-layout
// objects/info/alternates) from object directories under root, such as
// depot's DATA/repos. An alternate anywhere else makes Open fail with
// ErrUnsafeAlternate, so that a repository placed by hand can never make
// the server read files from elsewhere on disk. It is process-wide because
// the data directory is; depot serve and the CLI call it once at start.
func AllowAlternatesUnder(root string) error {
	abs, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("odb: alternates root: %w", err)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return fmt.Errorf("odb: alternates root: %w", err)
	}
	altRoots.Lock()
	defer altRoots.Unlock()
	for _, d := range altRoots.dirs {
		if d == abs {
			return nil
		}
	}
	altRoots.dirs = append(altRoots.dirs, abs)
	return nil
}

// allowedAlternate reports whether the resolved directory dir lies inside
// one of the allowed roots.
func allowedAlternate(dir string) bool {
	altRoots.RLock()
	defer altRoots.RUnlock()
	for _, root := range altRoots.dirs {
		rel, err := filepath.Rel(root, dir)
		if err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

// alternateDirs returns the object directories objDir borrows from,
// recursively and in git's order (each entry, then its own alternates),
// each resolved through symlinks and listed once. Entries that do not
// exist are skipped, as git skips them; one outside the allowed roots is
// an error wrapping ErrUnsafeAlternate.
func alternateDirs(objDir string) ([]string, error) {
	self, err := filepath.EvalSymlinks(objDir)
	if err != nil {
		return nil, fmt.Errorf("odb: %w", err)
	}
	seen := map[string]bool{self: true}
	var out []string
	var link func(dir string, depth int) error
	link = func(dir string, depth int) error {
		entries, err := readAlternates(dir)
		if err != nil || len(entries) == 0 {
			return err
		}
		if depth > maxAltDepth {
			return nil // git: "ignoring alternate object stores, nesting too deep"
		}
		for _, e := range entries {
			if !filepath.IsAbs(e) {
				e = filepath.Join(dir, e)
			}
			resolved, err := filepath.EvalSymlinks(filepath.Clean(e))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("odb: alternate %s: %w", e, err)
			}
			if !allowedAlternate(resolved) {
				return fmt.Errorf("%w: %s (listed in %s)", ErrUnsafeAlternate, e, filepath.Join(dir, "info", "alternates"))
			}
			if fi, err := os.Stat(resolved); err != nil || !fi.IsDir() || seen[resolved] {
				continue
			}
			seen[resolved] = true
			out = append(out, resolved)
			if err := link(resolved, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := link(self, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// maxAlternatesBytes bounds the alternates file read: a list of paths.
const maxAlternatesBytes = 1 << 20

// readAlternates returns the entries of objDir/info/alternates: one path
// per line, blank lines and lines starting with '#' skipped, a line
// starting with '"' unquoted as a C-style string (gitrepository-layout).
// A missing file has no entries.
func readAlternates(objDir string) ([]string, error) {
	f, err := os.Open(filepath.Join(objDir, "info", "alternates"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("odb: read alternates: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(&limitedReader{f, maxAlternatesBytes})
	sc.Buffer(make([]byte, 0, 4096), maxAlternatesBytes)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '"' {
			u, err := strconv.Unquote(line)
			if err != nil {
				continue // git also skips a line it cannot unquote
			}
			line = u
		}
		out = append(out, strings.TrimRight(line, "/"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("odb: read alternates: %w", err)
	}
	return out, nil
}

// limitedReader stops at n bytes, like io.LimitReader, without a pointer.
type limitedReader struct {
	f *os.File
	n int64
}

func (l *limitedReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("alternates file too large")
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.f.Read(b)
	l.n -= int64(n)
	return n, err
}
