package tokens

import (
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// lookupCache keeps recent LookupToken answers so that the hot path of
// every git and API request skips SQLite, whose WAL read locks alone cost
// about 10 µs a query.
//
// An entry is only as good as the database it was read from. Every commit
// to a WAL database, from this process or another (the CLI), appends to or
// rewrites the -wal file, so an entry remembers the WAL file's identity,
// size and modification time from just before its query and is used only
// while they are unchanged. Writes made through this Store also bump a
// generation, which does not rely on file times at all. maxAge bounds what
// a coarse file clock could ever hide.
//
// On PostgreSQL there is no WAL file to watch. There every Store listens
// for the others' writes instead (LISTEN/NOTIFY, sqlite.DB.Listen): a
// write through any Store, in any process on the database, notifies
// every Store, which bumps its generation. An entry is used only while
// its Store listens; losing the connection bumps the generation and
// stops caching until it listens again, since notifications sent
// meanwhile are lost.
type lookupCache struct {
	walPath string
	gen     atomic.Uint64
	// notified: entries are checked by notifications, not the WAL file
	// (PostgreSQL); listening: the Store listens now.
	notified  bool
	listening atomic.Bool
	// notify tells the other Stores of a write; nil on SQLite.
	notify func()
	// hits and misses count get's answers, for the server's metrics.
	hits, misses atomic.Uint64

	mu      sync.RWMutex
	entries map[[32]byte]cacheEntry
}

type cacheEntry struct {
	tok   *Token
	user  *User
	prev  bool // the hash is the token's previous secret, good until tok.GraceUntil
	gen   uint64
	stamp walStamp
	at    time.Time
}

// walStamp identifies one state of the -wal file.
type walStamp struct {
	ino, size, mtime int64
}

const (
	cacheMaxEntries = 10_000
	cacheMaxAge     = 2 * time.Second
)

func newLookupCache(dbPath string) *lookupCache {
	return &lookupCache{walPath: dbPath + "-wal", entries: make(map[[32]byte]cacheEntry)}
}

// stamp returns the current state of the WAL file; ok is false when it
// cannot be told, and then nothing is cached.
func (c *lookupCache) stamp() (walStamp, bool) {
	if c.notified {
		return walStamp{}, c.listening.Load()
	}
	fi, err := os.Stat(c.walPath)
	if err != nil {
		return walStamp{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return walStamp{}, false
	}
	return walStamp{ino: int64(st.Ino), size: fi.Size(), mtime: fi.ModTime().UnixNano()}, true
}

// get returns a copy of the cached answer for hash if it is still valid:
// a previous secret's only before its grace window ends.
func (c *lookupCache) get(hash [32]byte, now time.Time) (t *Token, u *User, prev, ok bool) {
	c.mu.RLock()
	e, ok := c.entries[hash]
	c.mu.RUnlock()
	if !ok || e.gen != c.gen.Load() || now.Sub(e.at) > cacheMaxAge ||
		(e.prev && !now.Before(e.tok.GraceUntil)) {
		c.misses.Add(1)
		return nil, nil, false, false
	}
	if st, ok := c.stamp(); !ok || st != e.stamp {
		c.misses.Add(1)
		return nil, nil, false, false
	}
	c.hits.Add(1)
	return cloneToken(e.tok), cloneUser(e.user), e.prev, true
}

// begin returns what a lookup must remember about the database before it
// queries it; put stores the answer under it.
func (c *lookupCache) begin() (gen uint64, stamp walStamp, ok bool) {
	gen = c.gen.Load()
	stamp, ok = c.stamp()
	return gen, stamp, ok
}

func (c *lookupCache) put(hash [32]byte, t *Token, u *User, prev bool, gen uint64, stamp walStamp, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= cacheMaxEntries {
		clear(c.entries) // rare; a full cache refills from hot tokens
	}
	c.entries[hash] = cacheEntry{tok: cloneToken(t), user: cloneUser(u), prev: prev, gen: gen, stamp: stamp, at: now}
}

// CacheStats describe the token lookup cache since the Store was made.
type CacheStats struct {
	// Hits and Misses count lookups answered from the cache and from
	// the database.
	Hits, Misses uint64
	// Entries is how many answers the cache holds now, valid or not.
	Entries int
}

// CacheStats returns the counts of the Store's token lookup cache.
func (s *Store) CacheStats() CacheStats {
	c := s.cache
	c.mu.RLock()
	n := len(c.entries)
	c.mu.RUnlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: n}
}

// invalidate drops every entry, and every other Store's on PostgreSQL;
// the Store calls it after each write to tokens or users.
func (c *lookupCache) invalidate() {
	c.gen.Add(1)
	if c.notify != nil {
		c.notify()
	}
}

// notifiedEvent is Listen's event: any notification, and a change of the
// connection, drops every entry.
func (c *lookupCache) notifiedEvent(listening bool) {
	c.listening.Store(listening)
	c.gen.Add(1)
}

func cloneToken(t *Token) *Token {
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	c.IPWhitelist = slices.Clone(t.IPWhitelist)
	c.networks = slices.Clone(t.networks)
	return &c
}

func cloneUser(u *User) *User {
	c := *u
	return &c
}
