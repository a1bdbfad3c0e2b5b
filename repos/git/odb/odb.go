// Package odb reads the objects of a bare git repository: its packs, read
// directly through their indexes, loose objects as a fallback, and the
// object directories it borrows from (objects/info/alternates). It answers
// for the empty tree whether stored or not, and for the commits of a
// shallow repository ($GIT_DIR/shallow) as having no parents, as git does.
package odb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/depot/depot/repos/git/bitmap"
	"github.com/depot/depot/repos/git/commitgraph"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// ErrNotFound is returned, wrapped, for objects the repository does not hold.
var ErrNotFound = errors.New("odb: object not found")

// maxChain bounds delta chains; git itself never writes more than 4095.
const maxChain = 10000

// DefaultCacheBytes is the budget of the process-wide cache of inflated
// delta bases.
const DefaultCacheBytes = 32 << 20

// DB is the object store of one repository. It is safe for concurrent use.
// Contents it returns are shared with its cache and must not be modified.
type DB struct {
	repoDir string // the bare repository
	dir     string // its objects directory
	// alts are the stores of the object directories this one borrows
	// from, in git's search order, alternates of alternates included;
	// nil for an alternate itself.
	alts []*DB
	// shallow holds the repository's own shallow commits, read at Open.
	shallow map[plumbing.Hash]bool
	// mapped makes the packs mapped into memory (OpenMapped).
	mapped bool

	mu     sync.Mutex
	packs  []*packfile.Pack // newest first
	byPath map[string]*packfile.Pack
	last   int // pack of the last hit, tried first
	cache  *lru
	// scanned is the pack directory's modification time at the last
	// listing: a miss lists it again only when it changed.
	scanned time.Time

	bitmapOnce sync.Once
	bitmapPack *packfile.Pack
	bitmap     *bitmap.Bitmap

	graphOnce sync.Once
	graph     *commitgraph.Graph
}

// Location is where a packed object is stored.
type Location struct {
	Pack   *packfile.Pack
	Pos    int   // position in the pack's index
	Offset int64 // offset of the entry in the pack
}

// Open opens the object store of the bare repository at repoDir. The DB
// is the repository's handle for the layers above: RepoDir names it.
// Its alternates are opened with it; one outside the roots allowed by
// AllowAlternatesUnder makes Open fail with ErrUnsafeAlternate.
func Open(repoDir string) (*DB, error) { return open(repoDir, false) }

// OpenMapped is Open with every pack mapped into memory rather than read
// with a pread per entry (packfile.OpenMapped): for a reader of most of
// the repository's objects, such as a repack. Nothing read must be used
// after Close but contents, which stay valid.
func OpenMapped(repoDir string) (*DB, error) { return open(repoDir, true) }

func open(repoDir string, mapped bool) (*DB, error) {
	dir := filepath.Join(repoDir, "objects")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("odb: %s is not a bare repository", repoDir)
	}
	shallow, err := readShallow(repoDir)
	if err != nil {
		return nil, err
	}
	altDirs, err := alternateDirs(dir)
	if err != nil {
		return nil, err
	}
	db, err := openDir(repoDir, dir, mapped)
	if err != nil {
		return nil, err
	}
	db.shallow = shallow
	for _, a := range altDirs {
		alt, err := openDir(filepath.Dir(a), a, mapped)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("odb: alternate %s: %w", a, err)
		}
		db.alts = append(db.alts, alt)
	}
	return db, nil
}

// openDir opens the packs of one objects directory.
func openDir(repoDir, dir string, mapped bool) (*DB, error) {
	db := &DB{repoDir: repoDir, dir: dir, byPath: map[string]*packfile.Pack{}, cache: bases, mapped: mapped}
	if err := db.scan(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close releases the packs, the alternates' included. Contents returned
// earlier stay valid.
func (db *DB) Close() error {
	var err error
	for _, a := range db.alts {
		if e := a.Close(); err == nil {
			err = e
		}
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	db.cache.drop(db.packs)
	db.graphOnce.Do(func() {}) // no graph opened after this
	if db.graph != nil {
		err = db.graph.Close()
		db.graph = nil
	}
	for _, p := range db.packs {
		if e := p.Close(); err == nil {
			err = e
		}
	}
	db.packs, db.byPath = nil, map[string]*packfile.Pack{}
	return err
}

// scan opens the packs of objects/pack not open yet. A pack removed between
// listing and opening (a concurrent repack) is skipped: its objects are in
// the pack that replaced it, which the next listing finds.
func (db *DB) scan() error {
	for attempt := 0; ; attempt++ {
		if fi, err := os.Stat(filepath.Join(db.dir, "pack")); err == nil {
			db.scanned = fi.ModTime()
		}
		ents, err := os.ReadDir(filepath.Join(db.dir, "pack"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("odb: list packs: %w", err)
		}
		type cand struct {
			path  string
			mtime int64
		}
		var found []cand
		vanished := false
		for _, e := range ents {
			name := e.Name()
			if !strings.HasPrefix(name, "pack-") || !strings.HasSuffix(name, ".idx") {
				continue
			}
			path := filepath.Join(db.dir, "pack", strings.TrimSuffix(name, ".idx")+".pack")
			if db.byPath[path] != nil {
				continue
			}
			fi, err := os.Stat(path)
			if err != nil {
				vanished = true
				continue
			}
			found = append(found, cand{path, fi.ModTime().UnixNano()})
		}
		sort.Slice(found, func(i, j int) bool { return found[i].mtime > found[j].mtime })
		var opened []*packfile.Pack
		open := packfile.Open
		if db.mapped {
			open = packfile.OpenMapped
		}
		for _, c := range found {
			p, err := open(c.path)
			if errors.Is(err, fs.ErrNotExist) {
				vanished = true
				continue
			}
			if err != nil {
				for _, o := range opened {
					o.Close()
				}
				return fmt.Errorf("odb: %w", err)
			}
			opened = append(opened, p)
		}
		for _, p := range opened {
			db.byPath[p.Path] = p
		}
		// New packs are the most likely home of recent objects.
		db.packs = append(opened, db.packs...)
		if !vanished || attempt >= 3 {
			return nil
		}
	}
}

// Packs returns the repository's own open packs, newest first; those of
// its alternates are not among them (gc removes what Packs lists).
func (db *DB) Packs() []*packfile.Pack {
	db.mu.Lock()
	defer db.mu.Unlock()
	return append([]*packfile.Pack(nil), db.packs...)
}

// Bitmap returns the first pack, newest first, with a readable reachability
// bitmap (gitformat-bitmap) and that bitmap, or nils when no pack has one.
// A corrupt .bitmap is ignored: callers walk the graph instead. It is
// loaded once per DB. A shallow repository has none, as in git
// (pack-objects turns bitmaps off there): a bitmap's closure runs past
// the shallow commits.
func (db *DB) Bitmap() (*packfile.Pack, *bitmap.Bitmap) {
	db.bitmapOnce.Do(func() {
		if len(db.shallow) > 0 {
			return
		}
		for _, p := range db.Packs() {
			path := strings.TrimSuffix(p.Path, ".pack") + ".bitmap"
			bm, err := bitmap.Open(path, p.Index.Count(), p.Index.PackSum)
			if err == nil {
				db.bitmapPack, db.bitmap = p, bm
				return
			}
		}
	})
	return db.bitmapPack, db.bitmap
}

// CommitGraph returns the repository's commit-graph (written by git gc or
// git commit-graph write), or nil when it has none or it cannot be read:
// callers then read commit objects, which is slower but the same answer.
// It is opened once per DB. A shallow repository has none, as in git
// (commit_graph_compatible): the graph records the parents that the
// shallow file cuts off.
func (db *DB) CommitGraph() *commitgraph.Graph {
	db.graphOnce.Do(func() {
		if len(db.shallow) > 0 {
			return
		}
		if g, err := commitgraph.Open(db.dir); err == nil {
			db.graph = g
		}
	})
	return db.graph
}

// Locate finds h in the packs, the repository's own first, then its
// alternates'. When it is in none, the pack directories are listed again
// once, for packs added since (a push, or a repack that replaced the packs
// first opened).
func (db *DB) Locate(h plumbing.Hash) (Location, bool) {
	if loc, ok := db.locateAll(h); ok {
		return loc, true
	}
	again := db.rescan()
	for _, a := range db.alts {
		again = a.rescan() || again
	}
	if !again {
		return Location{}, false
	}
	return db.locateAll(h)
}

// locateAll is locate over the repository's packs and its alternates'.
func (db *DB) locateAll(h plumbing.Hash) (Location, bool) {
	if loc, ok := db.locate(h); ok {
		return loc, true
	}
	for _, a := range db.alts {
		if loc, ok := a.locate(h); ok {
			return loc, true
		}
	}
	return Location{}, false
}

// rescan lists the pack directory again if it changed since the last
// listing, and reports whether new packs were opened.
func (db *DB) rescan() bool {
	fi, err := os.Stat(filepath.Join(db.dir, "pack"))
	db.mu.Lock()
	defer db.mu.Unlock()
	if err != nil || fi.ModTime().Equal(db.scanned) {
		return false
	}
	n := len(db.packs)
	return db.scan() == nil && len(db.packs) > n
}

func (db *DB) locate(h plumbing.Hash) (Location, bool) {
	db.mu.Lock()
	packs, last := db.packs, db.last
	db.mu.Unlock()
	if last < len(packs) {
		if pos, ok := packs[last].Index.Find(h); ok {
			return Location{packs[last], pos, packs[last].Index.Offset(pos)}, true
		}
	}
	for i, p := range packs {
		if i == last {
			continue
		}
		if pos, ok := p.Index.Find(h); ok {
			db.mu.Lock()
			db.last = i
			db.mu.Unlock()
			return Location{p, pos, p.Index.Offset(pos)}, true
		}
	}
	return Location{}, false
}

// Has reports whether the repository holds h, packed or loose, itself or
// in an alternate. The empty tree is always there.
func (db *DB) Has(h plumbing.Hash) bool {
	if _, ok := db.locateAll(h); ok {
		return true
	}
	if db.hasLoose(h) {
		return true
	}
	if _, ok := db.Locate(h); ok {
		return true
	}
	return h == EmptyTree
}

// Type returns the type of h. For a packed object it reads headers only,
// down the delta chain, and the answer is remembered (TypeAt).
func (db *DB) Type(h plumbing.Hash) (plumbing.ObjectType, error) {
	if loc, ok := db.Locate(h); ok {
		return db.TypeAt(loc.Pack, loc.Offset)
	}
	t, _, err := db.Header(h)
	return t, err
}

// Header returns the type and size of h without inflating more than a
// delta's header.
func (db *DB) Header(h plumbing.Hash) (plumbing.ObjectType, int64, error) {
	if loc, ok := db.Locate(h); ok {
		return db.HeaderAt(loc.Pack, loc.Offset)
	}
	t, n, err := db.looseHeader(h)
	if errors.Is(err, ErrNotFound) {
		if loc, ok := db.Locate(h); ok {
			return db.HeaderAt(loc.Pack, loc.Offset)
		}
		if h == EmptyTree {
			return plumbing.TreeObject, 0, nil
		}
	}
	return t, n, err
}

// HeaderAt is Header for the entry at off in p.
func (db *DB) HeaderAt(p *packfile.Pack, off int64) (plumbing.ObjectType, int64, error) {
	e, err := p.Entry(off)
	if err != nil {
		return plumbing.InvalidObject, 0, err
	}
	if !e.Type.IsDelta() {
		return e.Type, e.Size, nil
	}
	prefix, err := p.InflatePrefix(e, 20)
	if err != nil {
		return plumbing.InvalidObject, 0, err
	}
	_, size, _, err := packfile.DeltaSizes(prefix)
	if err != nil {
		return plumbing.InvalidObject, 0, err
	}
	t, err := db.TypeAt(p, off)
	return t, size, err
}

// TypeAt returns the type of the object at off in p, following delta bases
// through their headers only. Types found are remembered for every entry
// of the chain, so that each header is read once.
func (db *DB) TypeAt(p *packfile.Pack, off int64) (plumbing.ObjectType, error) {
	type step struct {
		p    *packfile.Pack
		rank int
	}
	var path []step
	known := func(t plumbing.ObjectType) (plumbing.ObjectType, error) {
		for _, s := range path {
			s.p.SetKnownType(s.rank, t)
		}
		return t, nil
	}
	for range maxChain {
		rank, ok := p.RankAt(off)
		if !ok {
			return plumbing.InvalidObject, fmt.Errorf("odb: no entry at %d in %s: %w", off, p.Path, packfile.ErrCorrupt)
		}
		if t, ok := p.KnownType(rank); ok {
			return known(t)
		}
		path = append(path, step{p, rank})
		e, err := p.Entry(off)
		if err != nil {
			return plumbing.InvalidObject, err
		}
		switch e.Type {
		case plumbing.OFSDeltaObject:
			off = e.BaseOffset
		case plumbing.REFDeltaObject:
			loc, ok := db.Locate(e.BaseHash)
			if !ok {
				t, _, err := db.looseHeader(e.BaseHash)
				if err != nil {
					return t, err
				}
				return known(t)
			}
			p, off = loc.Pack, loc.Offset
		default:
			return known(e.Type)
		}
	}
	return plumbing.InvalidObject, fmt.Errorf("odb: delta chain too long at %d in %s", off, p.Path)
}

// Read returns the type and content of h.
func (db *DB) Read(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	if loc, ok := db.Locate(h); ok {
		t, b, err := db.ReadAt(loc.Pack, loc.Offset)
		if err != nil {
			return t, b, fmt.Errorf("odb: read %s: %w", h, err)
		}
		return t, b, nil
	}
	t, b, err := db.readLoose(h)
	if errors.Is(err, ErrNotFound) {
		// A repack may have moved it from loose into a new pack.
		if loc, ok := db.Locate(h); ok {
			return db.ReadAt(loc.Pack, loc.Offset)
		}
		if h == EmptyTree {
			return plumbing.TreeObject, []byte{}, nil
		}
	}
	return t, b, err
}

type link struct {
	p      *packfile.Pack
	e      packfile.Entry
	stored []byte // e's deflated data when Load read it, or nil
}

// inflate returns the inflated data of l.
func (l link) inflate() ([]byte, error) {
	if l.stored != nil {
		return packfile.InflateStored(l.e, l.stored)
	}
	return l.p.Inflate(l.e)
}

// ReadAt returns the type and content of the object at off in p, resolving
// deltas with the help of the cache of recent bases.
func (db *DB) ReadAt(p *packfile.Pack, off int64) (plumbing.ObjectType, []byte, error) {
	var chain []link
	var typ plumbing.ObjectType
	var data []byte
	for {
		if len(chain) > 0 {
			if t, b, ok := db.cache.get(p, off); ok {
				typ, data = t, b
				break
			}
		}
		e, stored, err := p.Load(off)
		if err != nil {
			return plumbing.InvalidObject, nil, err
		}
		if !e.Type.IsDelta() {
			if data, err = (link{p, e, stored}).inflate(); err != nil {
				return plumbing.InvalidObject, nil, err
			}
			typ = e.Type
			if len(chain) > 0 {
				db.cache.add(p, off, typ, data)
			}
			break
		}
		if len(chain) >= maxChain {
			return plumbing.InvalidObject, nil, fmt.Errorf("odb: delta chain too long at %d in %s", off, p.Path)
		}
		chain = append(chain, link{p, e, stored})
		if e.Type == plumbing.OFSDeltaObject {
			off = e.BaseOffset
			continue
		}
		loc, ok := db.Locate(e.BaseHash)
		if !ok {
			if typ, data, err = db.readLoose(e.BaseHash); err != nil {
				return plumbing.InvalidObject, nil, err
			}
			break
		}
		p, off = loc.Pack, loc.Offset
	}
	for i := len(chain) - 1; i >= 0; i-- {
		l := chain[i]
		delta, err := l.inflate()
		if err != nil {
			return plumbing.InvalidObject, nil, err
		}
		if data, err = packfile.ApplyDelta(data, delta); err != nil {
			return plumbing.InvalidObject, nil, fmt.Errorf("entry at %d: %w", l.e.Offset, err)
		}
		if i > 0 {
			db.cache.add(l.p, l.e.Offset, typ, data)
		}
	}
	return typ, data, nil
}

// Dir returns the objects directory.
func (db *DB) Dir() string { return db.dir }

// RepoDir returns the directory of the bare repository, as given to Open
// (made absolute by Acquire).
func (db *DB) RepoDir() string { return db.repoDir }
