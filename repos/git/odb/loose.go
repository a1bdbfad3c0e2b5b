package odb

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/depot/depot/repos/git/object"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// Loose objects are zlib streams of "<type> <size>\0<content>" at
// objects/xx/yyyy... (gitformat-loose).

func (db *DB) loosePath(h plumbing.Hash) string {
	s := h.String()
	return filepath.Join(db.dir, s[:2], s[2:])
}

func notFound(h plumbing.Hash) error { return fmt.Errorf("%w: %s", ErrNotFound, h) }

// hasLoose reports whether h is a loose object of the repository or of
// one of its alternates.
func (db *DB) hasLoose(h plumbing.Hash) bool {
	if _, err := os.Stat(db.loosePath(h)); err == nil {
		return true
	}
	for _, a := range db.alts {
		if _, err := os.Stat(a.loosePath(h)); err == nil {
			return true
		}
	}
	return false
}

// looseOpen opens the loose object h, the repository's own or else an
// alternate's, and parses its header.
func (db *DB) looseOpen(h plumbing.Hash) (io.ReadCloser, plumbing.ObjectType, int64, error) {
	f, err := os.Open(db.loosePath(h))
	for i := 0; errors.Is(err, fs.ErrNotExist) && i < len(db.alts); i++ {
		f, err = os.Open(db.alts[i].loosePath(h))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, plumbing.InvalidObject, 0, notFound(h)
	}
	if err != nil {
		return nil, plumbing.InvalidObject, 0, err
	}
	z, err := zlib.NewReader(f)
	if err != nil {
		f.Close()
		return nil, plumbing.InvalidObject, 0, fmt.Errorf("odb: loose %s: %w", h, err)
	}
	var hdr []byte
	var one [1]byte
	for len(hdr) < 32 {
		if _, err := io.ReadFull(z, one[:]); err != nil {
			f.Close()
			return nil, plumbing.InvalidObject, 0, fmt.Errorf("odb: loose %s: %w", h, err)
		}
		if one[0] == 0 {
			break
		}
		hdr = append(hdr, one[0])
	}
	ts, ss, ok := bytes.Cut(hdr, []byte(" "))
	t, err := plumbing.ParseObjectType(string(ts))
	size, serr := strconv.ParseInt(string(ss), 10, 64)
	if !ok || err != nil || serr != nil || size < 0 || t.IsDelta() {
		f.Close()
		return nil, plumbing.InvalidObject, 0, fmt.Errorf("odb: loose %s: %w", h, packfile.ErrCorrupt)
	}
	return &looseReader{Reader: io.LimitReader(z, size), f: f}, t, size, nil
}

type looseReader struct {
	io.Reader
	f *os.File
}

func (l *looseReader) Close() error { return l.f.Close() }

func (db *DB) looseHeader(h plumbing.Hash) (plumbing.ObjectType, int64, error) {
	rc, t, size, err := db.looseOpen(h)
	if err != nil {
		return t, 0, err
	}
	rc.Close()
	return t, size, nil
}

func (db *DB) readLoose(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	rc, t, size, err := db.looseOpen(h)
	if err != nil {
		return t, nil, err
	}
	defer rc.Close()
	if size > packfile.MaxInflate {
		return t, nil, fmt.Errorf("odb: loose %s too large", h)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(rc, b); err != nil {
		return t, nil, fmt.Errorf("odb: loose %s: %w", h, err)
	}
	return t, b, nil
}

// OpenLoose streams the loose object h, the repository's own or an
// alternate's: its type, size and content.
func (db *DB) OpenLoose(h plumbing.Hash) (io.ReadCloser, plumbing.ObjectType, int64, error) {
	return db.looseOpen(h)
}

// LooseObjects lists the ids of the repository's own loose objects, not
// its alternates' (gc removes what it lists).
func (db *DB) LooseObjects() ([]plumbing.Hash, error) {
	var out []plumbing.Hash
	for i := 0; i < 256; i++ {
		sub := fmt.Sprintf("%02x", i)
		ents, err := os.ReadDir(filepath.Join(db.dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if h, ok := object.ParseLowerHex(sub + e.Name()); ok {
				out = append(out, h)
			}
		}
	}
	return out, nil
}

// WithPrefix returns the ids of the objects, packed or loose, in the
// repository or its alternates, whose hex form starts with prefix (2 to 40
// lowercase hex digits), sorted and each once: the candidates for an
// abbreviated object id.
func (db *DB) WithPrefix(prefix string) ([]plumbing.Hash, error) {
	low, ok := object.ParseLowerHex(prefix + strings.Repeat("0", max(0, object.HexSize-len(prefix))))
	if len(prefix) < 2 || !ok {
		return nil, fmt.Errorf("odb: bad object id prefix %q", prefix)
	}
	found := map[plumbing.Hash]bool{}
	for _, s := range append([]*DB{db}, db.alts...) {
		if err := s.withPrefix(prefix, low, found); err != nil {
			return nil, err
		}
	}
	out := make([]plumbing.Hash, 0, len(found))
	for h := range found {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	return out, nil
}

// withPrefix adds to found the objects of this directory alone whose hex
// form starts with prefix; low is prefix padded with zeros.
func (db *DB) withPrefix(prefix string, low plumbing.Hash, found map[plumbing.Hash]bool) error {
	db.rescan()
	for _, p := range db.Packs() {
		i, _ := p.Index.Find(low)
		for ; i < p.Index.Count(); i++ {
			h := p.Index.Name(i)
			if !object.HasHexPrefix(h, prefix) {
				break
			}
			found[h] = true
		}
	}
	ents, err := os.ReadDir(filepath.Join(db.dir, prefix[:2]))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("odb: list loose objects: %w", err)
	}
	for _, e := range ents {
		if name := prefix[:2] + e.Name(); strings.HasPrefix(name, prefix) {
			if h, ok := object.ParseLowerHex(name); ok {
				found[h] = true
			}
		}
	}
	return nil
}
