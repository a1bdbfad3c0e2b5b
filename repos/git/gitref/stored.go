package gitref

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
// shadowing packed ones, symbolic refs with their targets, as a map; see
// ReadSnapshot, which it reads, for the sorted form.
func ReadStored(dir string) (map[string]StoredRef, error) {
	s, err := ReadSnapshot(dir)
	if err != nil {
		return nil, err
	}
	refs := make(map[string]StoredRef, s.Len())
	for _, r := range s.Refs() {
		refs[r.Name] = r.StoredRef
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
