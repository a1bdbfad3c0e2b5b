package gitref

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// A reader must never miss a ref that exists throughout its read, however
// PackRefs and ref transactions move refs between loose files and
// packed-refs meanwhile. Git's files backend guarantees it by ordering,
// and so does readSnapshot:
//
//   - loose refs are read first, packed-refs after them;
//   - PackRefs commits packed-refs before it removes a loose file, and a
//     delete rewrites packed-refs before it removes the loose file.
//
// A loose file that vanished before (or while) the walk read it was
// removed by PackRefs, whose packed-refs was therefore already in place
// when the walk ended, and the packed-refs read that follows finds the
// ref. A ref being deleted may or may not be seen; a ref being moved
// shows its old or its new value.

// Ref is one ref of a Snapshot: its full name and its stored value.
type Ref struct {
	Name string
	StoredRef
}

// Snapshot is the refs of a repository as one consistent read saw them:
// every ref under refs/, loose refs shadowing packed ones, sorted by name
// in byte order (git's order), and HEAD apart. Refs whose names git would
// refuse and malformed loose files are left out, as git leaves them out
// of an advertisement; symbolic refs are kept with their targets.
//
// A Snapshot is immutable and safe for concurrent use. Lookups by name
// and by prefix are binary searches.
type Snapshot struct {
	refs []Ref
	head StoredRef
	// headOK is false when HEAD is missing or malformed.
	headOK bool
}

// ReadSnapshot reads the refs of the bare repository dir: HEAD, then the
// loose refs, then packed-refs (read once, and parsed only when it changed
// since the last read of any caller). See Snapshot.
func ReadSnapshot(dir string) (*Snapshot, error) {
	s, _, err := readSnapshotWith(dir, nil)
	if err != nil {
		return nil, fmt.Errorf("gitref: read refs: %w", err)
	}
	return s, nil
}

func readSnapshot(dir string) (*Snapshot, error) {
	s, _, err := readSnapshotWith(dir, nil)
	return s, err
}

// readSnapshotWith is readSnapshot reusing prev, an earlier parse of
// packed-refs, if the file is still the same, and returning the parse it
// used.
func readSnapshotWith(dir string, prev *packedRefs) (*Snapshot, *packedRefs, error) {
	s := &Snapshot{}
	head, ok, err := readLooseStored(dir, "HEAD")
	switch {
	case errors.Is(err, errBadLoose):
	case err != nil:
		return nil, nil, fmt.Errorf("HEAD: %w", err)
	default:
		s.head, s.headOK = head, ok
	}
	// Loose first: see the comment at the top of this file.
	loose, err := readLooseRefs(dir)
	if err != nil {
		return nil, nil, err
	}
	packed, err := loadPackedAfter(dir, prev)
	if err != nil {
		return nil, nil, err
	}
	s.refs = mergeRefs(packed.refs, loose)
	return s, packed, nil
}

// readLooseRefs returns the loose refs under refs/ with valid names,
// symbolic ones included, in the order of the walk.
func readLooseRefs(dir string) ([]Ref, error) {
	var loose []Ref
	err := walkLoose(dir, func(name string) error {
		r, ok, err := readLooseStored(dir, name)
		switch {
		case errors.Is(err, errBadLoose), err == nil && !ok:
			// Malformed, or gone since the walk listed it: packed-refs,
			// read after the walk, holds it if PackRefs moved it.
			return nil
		case err != nil:
			return err
		}
		loose = append(loose, Ref{Name: name, StoredRef: r})
		return nil
	})
	return loose, err
}

// mergeRefs merges the sorted packed refs with the loose ones, which
// shadow packed refs of the same name. packed is not modified; without
// loose refs it is returned as it is.
func mergeRefs(packed, loose []Ref) []Ref {
	if len(loose) == 0 {
		return packed
	}
	// WalkDir visits a directory's entries in lexical order, but
	// "refs/heads/a/b" sorts after "refs/heads/a-b" as a name while the
	// walk visits the directory "a" first: sort by full name.
	slices.SortFunc(loose, func(a, b Ref) int { return strings.Compare(a.Name, b.Name) })
	out := make([]Ref, 0, len(packed)+len(loose))
	i, j := 0, 0
	for i < len(packed) && j < len(loose) {
		switch c := strings.Compare(packed[i].Name, loose[j].Name); {
		case c < 0:
			out = append(out, packed[i])
			i++
		case c > 0:
			out = append(out, loose[j])
			j++
		default:
			out = append(out, loose[j])
			i++
			j++
		}
	}
	out = append(out, packed[i:]...)
	return append(out, loose[j:]...)
}

// Refs returns every ref, sorted by name. The slice is shared: callers
// must not modify it.
func (s *Snapshot) Refs() []Ref { return s.refs }

// Len returns the number of refs, HEAD not counted.
func (s *Snapshot) Len() int { return len(s.refs) }

// Head returns HEAD as stored: a symbolic ref, or a detached value. ok is
// false when HEAD is missing or malformed.
func (s *Snapshot) Head() (StoredRef, bool) { return s.head, s.headOK }

// Get returns the ref with the full name name ("refs/heads/main").
func (s *Snapshot) Get(name string) (StoredRef, bool) {
	i, ok := s.search(name)
	if !ok {
		return StoredRef{}, false
	}
	return s.refs[i].StoredRef, true
}

// search returns where name is, or would be, in s.refs.
func (s *Snapshot) search(name string) (int, bool) {
	return slices.BinarySearchFunc(s.refs, name, func(r Ref, name string) int {
		return strings.Compare(r.Name, name)
	})
}

// Prefix returns the refs whose names start with prefix, sorted by name.
// The slice is shared: callers must not modify it.
func (s *Snapshot) Prefix(prefix string) []Ref {
	lo, _ := s.search(prefix)
	hi := lo + sortedPrefixLen(s.refs[lo:], prefix)
	return s.refs[lo:hi:hi]
}

// sortedPrefixLen returns how many refs at the start of the sorted refs
// have names starting with prefix: they are all together at the front.
func sortedPrefixLen(refs []Ref, prefix string) int {
	n, _ := slices.BinarySearchFunc(refs, prefix, func(r Ref, prefix string) int {
		if strings.HasPrefix(r.Name, prefix) {
			return -1
		}
		return 1
	})
	return n
}

// Resolve follows symbolic refs from the full name name to a ref holding
// an object id, at most a few levels deep as git does. ok is false for a
// missing or dangling name.
func (s *Snapshot) Resolve(name string) (StoredRef, bool) {
	for range maxSymrefDepth {
		r, ok := s.Get(name)
		if !ok {
			return StoredRef{}, false
		}
		if r.Target == "" {
			return r, true
		}
		name = r.Target
	}
	return StoredRef{}, false
}

// maxSymrefDepth bounds the symbolic refs followed from one name, so that
// a loop of them ends.
const maxSymrefDepth = 10

// Conflict returns a ref that creating name would clash with as a file
// against a directory: refs/heads/a when name is refs/heads/a/b, or
// refs/heads/a/b when name is refs/heads/a. It costs a binary search per
// level of name, however many refs there are.
func (s *Snapshot) Conflict(name string) (string, bool) {
	// A ref below name sorts right after name+"/", if there is one.
	below := s.Prefix(name + "/")
	if len(below) > 0 {
		return below[0].Name, true
	}
	for i := strings.IndexByte(name, '/'); i >= 0; {
		if _, ok := s.Get(name[:i]); ok {
			return name[:i], true
		}
		j := strings.IndexByte(name[i+1:], '/')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return "", false
}

// Hashes returns the refs that hold an object id, by name: ListRefs's
// answer.
func (s *Snapshot) Hashes() map[string]plumbing.Hash {
	out := make(map[string]plumbing.Hash, len(s.refs))
	for _, r := range s.refs {
		if r.Target == "" {
			out[r.Name] = r.Hash
		}
	}
	return out
}
