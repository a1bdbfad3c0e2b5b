package gitref

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/depot/depot/repos/git/object"
)

// packedRefs is one parse of a packed-refs file: its refs sorted by name,
// and the stat of the file it came from. It is immutable once made.
type packedRefs struct {
	refs []Ref
	id   fileID
}

// fileID tells two versions of a file apart without reading them, by
// fields git's own packed-refs cache checks (stat_validity_check): a
// rewrite renames a new file into place, so the inode changes, and with
// it the time and usually the size.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64 // nanoseconds
}

func statID(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino), size: fi.Size(), mtime: fi.ModTime().UnixNano()}, true
}

// racyWindow is how recent a file's change may be for its parse to stay
// out of the shared cache: a file written within one tick of the clock
// after it, reusing its inode and size, would share its fileID. Files
// older than this are safe, as any later file gets a later time.
const racyWindow = 2 * time.Second

// packedCacheRefs bounds the refs the shared cache keeps, over every
// repository: some 100 bytes each.
const packedCacheRefs = 1 << 20

// packedCache keeps the last parse of packed-refs per repository, so that
// an advertisement of 50,000 refs reads one stat instead of parsing 3 MB.
var packedCache = newParsedCache(packedCacheRefs)

// parsedCache is a least-recently-used map from repository directory to
// its parsed packed-refs, bounded by the total number of refs.
type parsedCache struct {
	mu     sync.Mutex
	budget int
	used   int
	ll     *list.List // of *cacheEntry, most recent first
	byDir  map[string]*list.Element
}

type cacheEntry struct {
	dir string
	p   *packedRefs
}

func newParsedCache(budget int) *parsedCache {
	return &parsedCache{budget: budget, ll: list.New(), byDir: map[string]*list.Element{}}
}

// get returns the cached parse of dir's packed-refs if it is of the file
// id names.
func (c *parsedCache) get(dir string, id fileID) (*packedRefs, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byDir[dir]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if e.p.id != id {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return e.p, true
}

func (c *parsedCache) put(dir string, p *packedRefs) {
	if len(p.refs) > c.budget/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byDir[dir]; ok {
		c.used -= len(el.Value.(*cacheEntry).p.refs)
		c.ll.Remove(el)
	}
	c.byDir[dir] = c.ll.PushFront(&cacheEntry{dir: dir, p: p})
	c.used += len(p.refs)
	for c.used > c.budget {
		e := c.ll.Remove(c.ll.Back()).(*cacheEntry)
		delete(c.byDir, e.dir)
		c.used -= len(e.p.refs)
	}
}

// noPacked stands for a missing packed-refs file, which holds no refs.
var noPacked = &packedRefs{}

// loadPacked returns the refs of dir's packed-refs, from the shared cache
// when the file has not changed since it was parsed.
func loadPacked(dir string) (*packedRefs, error) { return loadPackedAfter(dir, nil) }

// loadPackedAfter is loadPacked that also reuses prev, the parse an
// earlier read of the same caller made, while the file is unchanged. A
// transaction holding the repository's mutex checks thousands of refs
// against one parse this way even when the file is too new for the
// shared cache; only another process (git itself) could replace it
// meanwhile, and git's own transactions trust the same check.
func loadPackedAfter(dir string, prev *packedRefs) (*packedRefs, error) {
	key, err := filepath.Abs(dir)
	if err != nil {
		key = filepath.Clean(dir)
	}
	path := filepath.Join(dir, "packed-refs")
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return noPacked, nil
	}
	if err == nil {
		if id, ok := statID(fi); ok {
			if prev != nil && prev.id == id && id != (fileID{}) {
				return prev, nil
			}
			if p, ok := packedCache.get(key, id); ok {
				return p, nil
			}
		}
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return noPacked, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The id is that of the file actually read, which may be newer than
	// the one stat saw.
	fi, err = f.Stat()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read packed-refs: %w", err)
	}
	refs, err := parsePacked(b)
	if err != nil {
		return nil, err
	}
	p := &packedRefs{refs: refs}
	if id, ok := statID(fi); ok {
		p.id = id
		if time.Since(fi.ModTime()) > racyWindow {
			packedCache.put(key, p)
		}
	}
	return p, nil
}

// parsePacked parses packed-refs (gitrepository-layout(5); the traits
// are those of git's refs/packed-backend.c): "<hex> <name>" lines, each
// optionally followed by "^<hex>", the value an annotated tag peels to.
// The refs come back sorted by name; a file without the "sorted" trait
// is sorted here, and of duplicate names the last line wins.
func parsePacked(b []byte) ([]Ref, error) {
	refs := make([]Ref, 0, bytes.Count(b, []byte("\n")))
	var fully, peeledTags bool
	sorted := true
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case len(line) == 0:
		case line[0] == '#':
			if traits, ok := bytes.CutPrefix(line, []byte("# pack-refs with:")); ok {
				for _, t := range strings.Fields(string(traits)) {
					fully = fully || t == "fully-peeled"
					peeledTags = peeledTags || t == "peeled"
				}
			}
		case line[0] == '^':
			h, ok := object.ParseLowerHex(line[1:])
			if !ok || len(refs) == 0 {
				return nil, fmt.Errorf("malformed packed-refs line %q", truncate(string(line), 100))
			}
			r := &refs[len(refs)-1]
			r.Peeled, r.PeelKnown = h, true
		default:
			hex, name, ok := bytes.Cut(line, []byte(" "))
			h, valid := object.ParseLowerHex(hex)
			if !ok || !valid {
				return nil, fmt.Errorf("malformed packed-refs line %q", truncate(string(line), 100))
			}
			r := Ref{Name: string(name)}
			r.Hash = h
			r.PeelKnown = fully || (peeledTags && strings.HasPrefix(r.Name, "refs/tags/"))
			if n := len(refs); n > 0 && refs[n-1].Name >= r.Name {
				sorted = false
			}
			refs = append(refs, r)
		}
	}
	if sorted {
		return refs, nil
	}
	slices.SortStableFunc(refs, func(a, b Ref) int { return strings.Compare(a.Name, b.Name) })
	out := refs[:0]
	for i, r := range refs {
		if i+1 < len(refs) && refs[i+1].Name == r.Name {
			continue // a later line of the same name wins
		}
		out = append(out, r)
	}
	return out, nil
}

// PackedCacheStats returns how many repositories' parsed packed-refs the
// process-wide cache holds and their refs in all (at most 1,048,576), for
// the server's metrics.
func PackedCacheStats() (repos, refs int) {
	packedCache.mu.Lock()
	defer packedCache.mu.Unlock()
	return packedCache.ll.Len(), packedCache.used
}
