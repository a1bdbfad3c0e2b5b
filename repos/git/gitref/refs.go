package gitref

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Refs live in git's "files" backend (gitrepository-layout(5)): loose refs
// under refs/, one file each, and packed-refs, one line each; a loose ref
// shadows a packed one of the same name.

// errBadLoose marks a loose ref file that holds no object id.
var errBadLoose = errors.New("malformed loose ref")

// refPath is where the loose ref name lives. name must have passed
// CheckRefName (or be "HEAD" or "packed-refs"), so it cannot leave dir.
func refPath(dir, name string) string {
	return filepath.Join(dir, filepath.FromSlash(name))
}

// readLoose returns the value of the loose ref name; ok is false when
// there is no such file. A symbolic ref is ErrSymref.
func readLoose(dir, name string) (h plumbing.Hash, ok bool, err error) {
	r, ok, err := readLooseStored(dir, name)
	switch {
	case err != nil || !ok:
		return plumbing.ZeroHash, false, err
	case r.Target != "":
		return plumbing.ZeroHash, false, ErrSymref
	}
	return r.Hash, true, nil
}

// readRef returns the current value of name, loose first then packed, the
// order git resolves them in: a loose file that PackRefs removes after
// the first read is in packed-refs by the second.
func readRef(dir, name string) (plumbing.Hash, bool, error) {
	h, ok, err := readLoose(dir, name)
	if err != nil || ok {
		return h, ok, err
	}
	packed, err := loadPacked(dir)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	s := Snapshot{refs: packed.refs}
	r, ok := s.Get(name)
	return r.Hash, ok, nil
}

// ReadRef returns the object id the full ref name ("refs/heads/main")
// holds, from its loose file or else from packed-refs. It returns
// ErrNotFound when there is no such ref, a *NameError for a malformed
// name and ErrSymref for a symbolic ref.
func ReadRef(dir, name string) (plumbing.Hash, error) {
	if err := CheckRefName(name); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: read: %w", err)
	}
	h, ok, err := readRef(dir, name)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitref: read %s: %w", name, err)
	}
	if !ok {
		return plumbing.ZeroHash, fmt.Errorf("gitref: read %s: %w", name, ErrNotFound)
	}
	return h, nil
}

// ListRefs returns every ref under refs/ with a valid name and an object
// id, loose refs shadowing packed ones, keyed by full name. Symbolic refs,
// lock files and malformed loose files are left out, as git leaves them
// out of an advertisement. It reads a Snapshot, and never misses a ref
// that exists throughout the call, whatever PackRefs does meanwhile.
func ListRefs(dir string) (map[string]plumbing.Hash, error) {
	s, err := ReadSnapshot(dir)
	if err != nil {
		return nil, err
	}
	return s.Hashes(), nil
}

// walkLoose calls fn with the name of every loose ref file under refs/
// whose name git accepts; lock files are skipped.
func walkLoose(dir string, fn func(name string) error) error {
	return walkLooseUnder(dir, "refs", fn)
}

// walkLooseUnder is walkLoose limited to the directory of the ref name
// top ("refs/heads/topic"); a missing directory holds no refs, and fn may
// return fs.SkipAll to stop.
func walkLooseUnder(dir, top string, fn func(name string) error) error {
	root := refPath(dir, top)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, ".lock") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if CheckRefName(name) != nil {
			return nil
		}
		return fn(name)
	})
	if errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

// HeadTarget returns the full name of the ref HEAD points to
// ("refs/heads/main"), whether or not that ref exists yet. It returns
// ErrNotFound when HEAD is missing or detached.
func HeadTarget(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "HEAD"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("gitref: read HEAD: %w", ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("gitref: read HEAD: %w", err)
	}
	target, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "ref: ")
	if !ok || CheckRefName(target) != nil {
		return "", fmt.Errorf("gitref: read HEAD: detached or malformed: %w", ErrNotFound)
	}
	return target, nil
}
