package tokens

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/tokens/sqlite"
)

// Store keeps the users and tokens in depot's database. Its methods are
// safe for concurrent use, and several Stores, in one process or several,
// may share a file.
type Store struct {
	db     *sqlite.DB
	ownsDB bool // Close closes db: Open opened it
	log    logrus.FieldLogger
	now    func() time.Time

	bcryptCost int
	// walkSortIndex is the plan choice of ListTokens; tests replace it.
	walkSortIndex func(matched, all, end int) bool
	dummyOnce     sync.Once
	dummyHash     []byte // compared against for unknown users; see VerifyPassword

	// netBits are the prefix lengths of a network for new-network
	// alerts, IPv4 and IPv6; see SetNetworkBits.
	netBits atomic.Pointer[[2]int]

	cache      *lookupCache
	lookupStmt *sql.Stmt // LookupToken
	prevStmt   *sql.Stmt // LookupToken of a previous secret
	tokenStmt  *sql.Stmt // Token
	useStmt    *sql.Stmt // FlushTokenUse

	uses    useBuffer
	flushMu sync.Mutex    // serialises FlushTokenUse
	kick    chan struct{} // asks the flusher to run early
	// stopListen ends the listener of other Stores' writes (PostgreSQL).
	stopListen context.CancelFunc
	done       chan struct{} // closed by Close
	wg         sync.WaitGroup
	closeMu    sync.Once
	closeEr    error
}

// flushInterval is how often pending token uses are written; docs/api.md
// ("Authentication") promises a use visible within a second.
const flushInterval = 500 * time.Millisecond

// Open opens the database at path, a SQLite file or a PostgreSQL URL
// (sqlite.OpenAt), for a Store of its own, which closes it on Close; the
// server and the CLI open the database once and give it to New.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlite.OpenAt(ctx, path)
	if err != nil {
		return nil, err
	}
	s, err := New(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownsDB = true
	return s, nil
}

// New returns the Store of the users and tokens in db, which its Close
// leaves open. It starts the background writer of token uses.
func New(ctx context.Context, db *sqlite.DB) (*Store, error) {
	s := &Store{
		db:            db,
		log:           logrus.StandardLogger(),
		now:           time.Now,
		bcryptCost:    bcrypt.DefaultCost,
		walkSortIndex: walkSortIndex,
		cache:         newLookupCache(db.Path()),
		kick:          make(chan struct{}, 1),
		done:          make(chan struct{}),
	}
	s.uses.m = make(map[string]tokenUse)
	s.uses.graceUses = make(map[string]int64)
	s.uses.nets = make(map[string][]string)
	if err := s.prepare(ctx); err != nil {
		return nil, fmt.Errorf("tokens: open %s: %w", db.Path(), err)
	}
	s.netBits.Store(&[2]int{DefaultNetworkV4, DefaultNetworkV6})
	s.wg.Add(1)
	go s.flusher()
	if db.Dialect() == sqlite.Postgres {
		s.listenOthers()
	}
	return s, nil
}

// invalidateChannel is the PostgreSQL notification channel on which
// Stores tell one another to drop their token lookup caches.
const invalidateChannel = "depot_token_cache"

// listenOthers makes the lookup cache follow the writes of every Store
// on the PostgreSQL database: each write notifies, each Store listens.
func (s *Store) listenOthers() {
	s.cache.notified = true
	s.cache.notify = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.db.Notify(ctx, invalidateChannel); err != nil {
			// The write stands; other processes see it within
			// cacheMaxAge.
			s.log.WithError(err).Warn("tokens: telling the other processes to drop cached tokens failed")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.db.Listen(ctx, invalidateChannel, s.cache.notifiedEvent)
	}()
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.lookupStmt, `SELECT ` + tokenColumns + `, t.secret_hash, ` + userColumns + `
			FROM tokens t JOIN users u ON u.id = t.user_id
			WHERE t.secret_hash = ?`},
		{&s.prevStmt, `SELECT ` + tokenColumns + `, t.prev_secret_hash, ` + userColumns + `
			FROM tokens t JOIN users u ON u.id = t.user_id
			WHERE t.prev_secret_hash = ?`},
		{&s.tokenStmt, `SELECT ` + tokenColumns + ` FROM tokens t WHERE t.id = ?`},
		{&s.useStmt, `UPDATE tokens SET last_access_time = ?, last_access_ip = ?
			WHERE id = ? AND last_access_time < ?`},
	} {
		stmt, err := s.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		*p.stmt = stmt
	}
	return nil
}

// Close writes pending token uses and releases the Store, closing the
// database too when Open opened it. Calling it again returns the first
// result.
func (s *Store) Close() error {
	s.closeMu.Do(func() {
		close(s.done)
		if s.stopListen != nil {
			s.stopListen()
		}
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errs := []error{s.FlushTokenUse(ctx)}
		for _, st := range []*sql.Stmt{s.lookupStmt, s.prevStmt, s.tokenStmt, s.useStmt} {
			errs = append(errs, st.Close())
		}
		if s.ownsDB {
			errs = append(errs, s.db.Close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeEr = fmt.Errorf("tokens: close: %w", err)
		}
	})
	return s.closeEr
}

// mustAffect returns ErrNotFound if res changed no row.
func mustAffect(res sql.Result) error { return sqlite.MustAffect(res, ErrNotFound) }

// nowMilli returns the current time truncated to what the database keeps.
func (s *Store) nowMilli() time.Time { return sqlite.Truncate(s.now()) }
