package tokens

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is the SQLite database of users and tokens. Its methods are safe for
// concurrent use, and several Stores, in one process or several, may share a
// file.
type Store struct {
	db  *sql.DB
	log logrus.FieldLogger
	now func() time.Time

	bcryptCost int
	// walkSortIndex is the plan choice of ListTokens; tests replace it.
	walkSortIndex func(matched, all, end int) bool
	dummyOnce     sync.Once
	dummyHash     []byte // compared against for unknown users; see VerifyPassword

	cache      *lookupCache
	lookupStmt *sql.Stmt // LookupToken
	tokenStmt  *sql.Stmt // Token
	useStmt    *sql.Stmt // FlushTokenUse

	uses    useBuffer
	flushMu sync.Mutex    // serialises FlushTokenUse
	kick    chan struct{} // asks the flusher to run early
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
	closeMu sync.Once
	closeEr error
}

// flushInterval is how often pending token uses are written; docs/api.md
// ("Authentication") promises a use visible within a second.
const flushInterval = 500 * time.Millisecond

// dsn returns the data source name of path. Pragmas go in the DSN so that
// every pooled connection gets them, not only the one an Exec happens to
// use. _txlock=immediate makes every transaction take the write lock at
// BEGIN, so that two writers wait on busy_timeout instead of failing with
// SQLITE_BUSY when one upgrades a read lock. cache_size raises the page
// cache of each connection from 2 MB to 16 MB so that token lookups over a
// few hundred thousand tokens stay in memory.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-16000)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens the database at path, creating it if needed, and brings its
// schema up to date. Migrations run in one transaction, so a server and a
// CLI opening a new file at the same moment apply them once.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := restrictFiles(path); err != nil {
		return nil, fmt.Errorf("tokens: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("tokens: open %s: %w", path, err)
	}
	// Keep idle connections (and the statements prepared on them) instead
	// of the database/sql default of 2, which would churn under load.
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)

	s := &Store{
		db:            db,
		log:           logrus.StandardLogger(),
		now:           time.Now,
		bcryptCost:    bcrypt.DefaultCost,
		walkSortIndex: walkSortIndex,
		cache:         newLookupCache(path),
		kick:          make(chan struct{}, 1),
		done:          make(chan struct{}),
	}
	s.uses.m = make(map[string]tokenUse)
	if err := s.migrateRetrying(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("tokens: open %s: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("tokens: open %s: %w", path, err)
	}
	s.wg.Add(1)
	go s.flusher()
	return s, nil
}

// restrictFiles makes the database at path readable by its owner only:
// it holds password and token hashes. A new database starts as an empty
// file of mode 0600, which SQLite takes for an empty database; SQLite
// gives the -wal and -shm files it creates the mode of the database. Files
// an older depot left readable by others are tightened.
func restrictFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.lookupStmt, `SELECT ` + tokenColumns + `, t.secret_hash, ` + userColumns + `
			FROM tokens t JOIN users u ON u.id = t.user_id
			WHERE t.secret_hash = ?`},
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

// Close writes pending token uses and closes the database. Calling it again
// returns the first result.
func (s *Store) Close() error {
	s.closeMu.Do(func() {
		close(s.done)
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errs := []error{s.FlushTokenUse(ctx)}
		for _, st := range []*sql.Stmt{s.lookupStmt, s.tokenStmt, s.useStmt} {
			errs = append(errs, st.Close())
		}
		errs = append(errs, s.db.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeEr = fmt.Errorf("tokens: close: %w", err)
		}
	})
	return s.closeEr
}

// migration is one embedded file, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
		}
		text, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(text)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies the embedded migrations that schema_migrations does not
// list yet, all in one transaction.
// migrateRetrying runs migrate, again while SQLite answers SQLITE_BUSY.
// Two processes opening a new file at once (the server and a CLI command)
// race to switch it to WAL mode, and that switch can fail at once with
// SQLITE_BUSY instead of waiting on busy_timeout; the loser retries.
func (s *Store) migrateRetrying(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := s.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY, in any variant.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, s.now().UnixMilli()); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx have in common; unexported helpers
// take one so that exported methods decide about transactions.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// isUniqueViolation reports whether err is SQLite refusing a duplicate key.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT && strings.Contains(se.Error(), "UNIQUE")
}

// nowMilli returns the current time truncated to what the database keeps.
func (s *Store) nowMilli() time.Time { return time.UnixMilli(s.now().UnixMilli()).UTC() }

// Conversions between times and the INTEGER milliseconds of the schema.
// never (-1) stands for the zero time.
const never = -1

func toMilli(t time.Time) int64 {
	if t.IsZero() {
		return never
	}
	return t.UnixMilli()
}

func fromMilli(ms int64) time.Time {
	if ms == never {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
