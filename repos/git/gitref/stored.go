package gitref

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

// StoredRef is a ref as the files backend stores it, for a ref
// advertisement: its value or, for a symbolic ref, the name it points to,
// and what packed-refs records of its peeled value.
type StoredRef struct {
	Hash   plumbing.Hash // zero for a symbolic ref
	Target string        // the ref a symbolic ref names, or ""
	// Peeled is what an annotated tag finally points to, as packed-refs
	// records it. PeelKnown says the record settles it: with the
	// "fully-peeled" trait (or "peeled", for refs/tags/) a packed ref
	// without a "^" line is known not to be an annotated tag.
	Peeled    plumbing.Hash
	PeelKnown bool
}

// ReadStored returns every ref under refs/ as stored, loose refs
// shadowing packed ones, symbolic refs with their targets. Refs whose
// names git would refuse and malformed loose files are left out, as git
// leaves them out of an advertisement. packed-refs is read once.
func ReadStored(dir string) (map[string]StoredRef, error) {
	refs, err := readPackedStored(dir)
	if err != nil {
		return nil, fmt.Errorf("gitref: read refs: %w", err)
	}
	err = walkLoose(dir, func(name string) error {
		r, ok, err := readLooseStored(dir, name)
		if errors.Is(err, errBadLoose) {
			return nil
		}
		if ok {
			refs[name] = r
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("gitref: read refs: %w", err)
	}
	return refs, nil
}

// ReadHead returns HEAD as stored: a symbolic ref, or a detached value.
// ok is false when HEAD is missing or malformed.
func ReadHead(dir string) (StoredRef, bool, error) {
	r, ok, err := readLooseStored(dir, "HEAD")
	if errors.Is(err, errBadLoose) {
		return StoredRef{}, false, nil
	}
	if err != nil {
		return StoredRef{}, false, fmt.Errorf("gitref: read HEAD: %w", err)
	}
	return r, ok, nil
}

// readLooseStored reads the loose ref name (or HEAD); ok is false when
// there is no such file, and a file holding neither an object id nor
// "ref: NAME" is errBadLoose.
func readLooseStored(dir, name string) (StoredRef, bool, error) {
	b, err := os.ReadFile(refPath(dir, name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) {
			return StoredRef{}, false, nil
		}
		return StoredRef{}, false, err
	}
	b = bytes.TrimSpace(b)
	if t, ok := bytes.CutPrefix(b, []byte("ref:")); ok {
		return StoredRef{Target: string(bytes.TrimSpace(t))}, true, nil
	}
	h, ok := object.ParseLowerHex(b)
	if !ok {
		return StoredRef{}, false, fmt.Errorf("%w %s", errBadLoose, name)
	}
	return StoredRef{Hash: h}, true, nil
}

// readPackedStored parses packed-refs with its peeled lines; a missing
// file holds no refs.
func readPackedStored(dir string) (map[string]StoredRef, error) {
	refs := map[string]StoredRef{}
	f, err := os.Open(filepath.Join(dir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return refs, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var fully, peeledTags bool
	last := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
		case line[0] == '#':
			if traits, ok := strings.CutPrefix(line, "# pack-refs with:"); ok {
				for _, t := range strings.Fields(traits) {
					fully = fully || t == "fully-peeled"
					peeledTags = peeledTags || t == "peeled"
				}
			}
		case line[0] == '^':
			h, ok := object.ParseLowerHex(line[1:])
			if !ok || last == "" {
				return nil, fmt.Errorf("malformed packed-refs line %q", truncate(line, 100))
			}
			r := refs[last]
			r.Peeled, r.PeelKnown = h, true
			refs[last] = r
		default:
			hex, name, ok := strings.Cut(line, " ")
			h, valid := object.ParseLowerHex(hex)
			if !ok || !valid {
				return nil, fmt.Errorf("malformed packed-refs line %q", truncate(line, 100))
			}
			last = name
			known := fully || (peeledTags && strings.HasPrefix(name, "refs/tags/"))
			refs[name] = StoredRef{Hash: h, PeelKnown: known}
		}
	}
	return refs, sc.Err()
}
