package odb

import (
	"container/list"
	"os"
	"path/filepath"
	"sync"
)

// MaxShared bounds how many repositories the process keeps open between
// requests; idle ones beyond it are closed, least recently used first.
const MaxShared = 32

// shared is the process-wide cache of open object stores, so that a request
// does not reopen packs and rebuild their offset indexes and bitmaps.
var shared = newDBCache(MaxShared)

type dbCache struct {
	mu     sync.Mutex
	max    int
	byPath map[string]*sharedDB
	idle   *list.List // of *sharedDB with refs == 0, most recent first
}

// sharedDB is one cached store. It is valid while its pack directory is
// unchanged; once stale it is closed when its last user releases it.
type sharedDB struct {
	path  string
	db    *DB
	stamp os.FileInfo // objects/pack when opened
	extra extraStamp  // the shallow and alternates files when opened
	refs  int
	stale bool
	el    *list.Element // in idle, when refs == 0
}

func newDBCache(max int) *dbCache {
	return &dbCache{max: max, byPath: map[string]*sharedDB{}, idle: list.New()}
}

// Acquire returns the object store of the bare repository at repoDir from
// the process-wide cache, opening it if needed, and a function that must be
// called once the caller is done with it. A store is reused while the
// repository's objects/pack directory is unchanged (same directory, same
// modification time): a push or a repack that adds or removes packs makes
// the next Acquire open a new one, while callers holding the old one keep
// reading the packs they have open. So does a change to the repository's
// shallow or objects/info/alternates file, which Open reads once.
func Acquire(repoDir string) (*DB, func(), error) { return shared.acquire(repoDir) }

func (c *dbCache) acquire(repoDir string) (*DB, func(), error) {
	path, err := filepath.Abs(repoDir)
	if err != nil {
		return nil, nil, err
	}
	stamp, err := os.Stat(filepath.Join(path, "objects", "pack"))
	if err != nil {
		// Without a pack directory there is nothing worth caching.
		db, err := Open(path)
		if err != nil {
			return nil, nil, err
		}
		return db, func() { _ = db.Close() }, nil
	}
	extra := extraStampOf(path)
	c.mu.Lock()
	if e := c.byPath[path]; e != nil {
		if os.SameFile(e.stamp, stamp) && e.stamp.ModTime().Equal(stamp.ModTime()) && e.extra == extra {
			c.use(e)
			c.mu.Unlock()
			return e.db, c.releaser(e), nil
		}
		c.retire(e)
	}
	c.mu.Unlock()

	db, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	e := &sharedDB{path: path, db: db, stamp: stamp, extra: extra, refs: 1}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byPath[path]; old != nil {
		// Another request opened it meanwhile; the newer stamp wins.
		if old.stamp.ModTime().After(stamp.ModTime()) {
			e.stale = true
			return db, c.releaser(e), nil
		}
		c.retire(old)
	}
	c.byPath[path] = e
	return db, c.releaser(e), nil
}

// use takes a reference on e. c.mu is held.
func (c *dbCache) use(e *sharedDB) {
	if e.el != nil {
		c.idle.Remove(e.el)
		e.el = nil
	}
	e.refs++
}

// retire removes e from the cache, closing it now if nobody uses it.
// c.mu is held.
func (c *dbCache) retire(e *sharedDB) {
	if c.byPath[e.path] == e {
		delete(c.byPath, e.path)
	}
	e.stale = true
	if e.el != nil {
		c.idle.Remove(e.el)
		e.el = nil
	}
	if e.refs == 0 {
		_ = e.db.Close()
	}
}

func (c *dbCache) releaser(e *sharedDB) func() {
	var once sync.Once
	return func() { once.Do(func() { c.release(e) }) }
}

func (c *dbCache) release(e *sharedDB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.refs--; e.refs > 0 {
		return
	}
	if e.stale {
		_ = e.db.Close()
		return
	}
	e.el = c.idle.PushFront(e)
	for c.idle.Len() > c.max {
		c.retire(c.idle.Back().Value.(*sharedDB))
	}
}

// extraStamp identifies the versions of the files besides the pack
// directory that Open reads: $GIT_DIR/shallow and objects/info/alternates.
type extraStamp struct {
	shallow, alternates fileStamp
}

// fileStamp is a file's modification time and size; zero when absent.
type fileStamp struct {
	mtime int64
	size  int64
}

func extraStampOf(repoDir string) extraStamp {
	of := func(path string) fileStamp {
		fi, err := os.Stat(path)
		if err != nil {
			return fileStamp{}
		}
		return fileStamp{fi.ModTime().UnixNano(), fi.Size()}
	}
	return extraStamp{
		shallow:    of(filepath.Join(repoDir, "shallow")),
		alternates: of(filepath.Join(repoDir, "objects", "info", "alternates")),
	}
}
