// Package sqlite owns depot's one database: the file DATA/depot.db, or a
// PostgreSQL database (--db postgres://…) that several depot processes
// share. It opens either (SQLite with the pragmas every connection needs
// and owner-only file modes), keeps the one migration history of all the
// tables (users and tokens, projects, members and repository records) in
// both dialects, rewrites the stores' queries for PostgreSQL (Rebind), and
// holds what every store shares: the time columns, and the drivers' errors
// read as the stores' own. The queries themselves live with the domain
// that owns each table: users and tokens in package tokens, projects,
// members and repository records in repos/projects.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is the opened database, safe for concurrent use. Several DBs, in one
// process or several (the server and a CLI command), may share a file.
// Stores use the embedded *sql.DB: their exported methods open the
// transactions, and helpers take a Querier.
type DB struct {
	*sql.DB
	path    string
	dialect Dialect
	url     string // PostgreSQL's, with its password, for Listen
}

// dsn returns the data source name of path. Pragmas go in the DSN so that
// every pooled connection gets them, not only the one an Exec happens to
// use. _txlock=immediate makes every transaction take the write lock at
// BEGIN, so that two writers wait on busy_timeout instead of failing with
// SQLITE_BUSY when one upgrades a read lock. cache_size raises the page
// cache of each connection from 2 MB to 16 MB so that token lookups over a
// few hundred thousand tokens stay in memory.
//
// synchronous is FULL: in WAL mode SQLite then syncs the log at every
// commit, so that a write acknowledged to a client survives a power loss.
// With NORMAL the last commits before the loss may roll back, and among
// them a revoked, disabled or regenerated token, a removed member or a
// changed password would come back. FULL costs one fsync per write
// transaction; reads and the coalesced last-use flush (one transaction a
// second at most) hardly notice. Medians of BenchmarkSynchronous, 5 runs,
// on 2 cores shared with seven other builds, ext4 on a virtual disk whose
// fsync takes 3 ms (NORMAL → FULL): create a token 0.77 → 1.73 ms (about
// 1,300 → 580 a second from one client), disable one 0.17 → 1.19 ms,
// flush the uses of 100 tokens 1.70 → 2.76 ms. Through the server, the
// API's p50 of creating a token went 1.5 → 2.2 ms and of editing one
// 1.2 → 2.1 ms. SQLite's synchronous is a setting of each connection, so
// FULL for security writes only would need a connection set apart for
// them; at these costs one setting for every write is simpler and leaves
// nothing to choose wrong.
func dsn(path string) string {
	return dsnSync(path, "FULL")
}

// dsnSync is dsn with the synchronous setting given, for the benchmark
// that compares them.
func dsnSync(path, synchronous string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+synchronous+")")
	q.Add("_pragma", "cache_size(-16000)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens the database at path, creating it if needed, and brings its
// schema up to date. Migrations run in one transaction, so a server and a
// CLI opening a new file at the same moment apply them once.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, dsn(path))
}

// open is Open with the data source name given.
func open(ctx context.Context, path, dsn string) (*DB, error) {
	if err := restrictFiles(path); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Keep idle connections (and the statements prepared on them) instead
	// of the database/sql default of 2, which would churn under load.
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := migrateRetrying(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &DB{DB: db, path: path, dialect: SQLite}, nil
}

// Path returns the file the database was opened from, or for PostgreSQL
// its URL without the password.
func (db *DB) Path() string { return db.path }

// Close closes the database.
func (db *DB) Close() error {
	if err := db.DB.Close(); err != nil && db.dialect == Postgres {
		return fmt.Errorf("postgres: close %s: %w", db.path, err)
	} else if err != nil {
		return fmt.Errorf("sqlite: close %s: %w", db.path, err)
	}
	return nil
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

// Querier is what *sql.DB and *sql.Tx have in common; unexported helpers
// of the stores take one so that their exported methods decide about
// transactions.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// IsUniqueViolation reports whether err is SQLite refusing a duplicate
// key, or a trigger refusing a name whose message says UNIQUE (the
// namespace triggers of migration 0003).
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgUniqueViolation
	}
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

// isBusy reports whether err is SQLite's SQLITE_BUSY, in any variant.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// MustAffect returns none when res changed no row, and res's own error if
// it cannot tell.
func MustAffect(res sql.Result, none error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}

// Times are INTEGER milliseconds since the epoch in every table; Never
// (-1) stands for the zero time, so that "never" sorts below every real
// time without NULL handling.
const Never = -1

// Milli returns t as the database keeps it.
func Milli(t time.Time) int64 {
	if t.IsZero() {
		return Never
	}
	return t.UnixMilli()
}

// Time returns the time that Milli made ms from, in UTC.
func Time(ms int64) time.Time {
	if ms == Never {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Truncate returns t as it reads back from the database: whole
// milliseconds, in UTC.
func Truncate(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }
