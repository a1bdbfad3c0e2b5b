// Package dbtest runs a package's tests on both of depot's databases: once
// on a SQLite file in the test's temporary directory, once on a real
// PostgreSQL, each test with a fresh database of its own. A test binary's
// TestMain calls Run; its helpers call Open (or URL) where they opened
// DATA/depot.db.
//
// The PostgreSQL is the one env DEPOT_TEST_POSTGRES names (a URL of a
// role allowed to CREATE DATABASE), or else a private server this package
// starts from Debian's binaries (/usr/lib/postgresql/*/bin) on a unix
// socket in a temporary directory, once per test binary, and stops at the
// end. Without either, the PostgreSQL run fails and says what to install:
// the tests of the PostgreSQL store are never skipped.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depot/depot/tokens/sqlite"
)

// Which database the current run of the tests uses.
var (
	postgres bool
	adminURL string // a PostgreSQL URL whose role may create databases
	admin    *sql.DB
	external bool   // adminURL is DEPOT_TEST_POSTGRES's, not a private server
	template string // the migrated database each test's is a copy of
	seq      atomic.Int64
)

// Run runs m's tests on SQLite, then again on PostgreSQL, and returns the
// exit code for os.Exit: non-zero if either run failed.
func Run(m *testing.M) int {
	code := m.Run()
	fmt.Println("dbtest: the same tests on PostgreSQL")
	stop, err := startPostgres()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: dbtest: PostgreSQL for the tests: %v\n", err)
		return 1
	}
	defer stop()
	postgres = true
	defer func() { postgres = false }()
	if pg := m.Run(); pg != 0 {
		fmt.Fprintln(os.Stderr, "dbtest: the tests failed on PostgreSQL")
		code = pg
	}
	return code
}

// Once a test binary that runs its tests once (the end-to-end tests of
// cmd/depot, too slow to run twice) starts PostgreSQL on first use, for
// the tests that call PostgresURL, and stops it in Stop.
var (
	lazyOnce sync.Once
	lazyStop func()
	lazyErr  error
)

// PostgresURL returns the URL of a new, migrated PostgreSQL database,
// starting the server first if no test of the binary has. It fails tb
// where there is no PostgreSQL, saying what to install. The TestMain of a
// binary that calls it calls Stop after its tests.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	if !postgres {
		lazyOnce.Do(func() { lazyStop, lazyErr = startPostgres() })
		if lazyErr != nil {
			tb.Fatalf("dbtest: PostgreSQL for the tests: %v", lazyErr)
		}
	}
	return URL(tb)
}

// Stop stops the server PostgresURL started, if any.
func Stop() {
	if lazyStop != nil {
		lazyStop()
	}
}

// Postgres reports whether the tests run on PostgreSQL now.
func Postgres() bool { return postgres }

// Open opens a new, empty database for tb, migrated, and closes it at the
// end of the test: a SQLite file in tb.TempDir(), or a new PostgreSQL
// database.
func Open(tb testing.TB) *sqlite.DB {
	tb.Helper()
	ctx := context.Background()
	var db *sqlite.DB
	var err error
	if postgres {
		db, err = sqlite.OpenPostgres(ctx, URL(tb))
	} else {
		db, err = sqlite.Open(ctx, sqliteCopy(tb))
	}
	if err != nil {
		tb.Fatalf("dbtest: open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Location returns where a database for tb is, for code that opens it by
// itself (a Store's Open, the depot binary's --db): a new SQLite file in
// tb.TempDir() or a new PostgreSQL database, migrated.
func Location(tb testing.TB) string {
	tb.Helper()
	if postgres {
		return URL(tb)
	}
	return sqliteCopy(tb)
}

// sqliteTemplate is a SQLite database with depot's migrations applied,
// made once per test binary; each test's SQLite database is a copy of it,
// as each PostgreSQL one is a copy of template. Migrating a new file
// costs 60 to 80 ms on 2 busy cores, mostly the sync of each migration's
// transaction; a copy about 10, and Open still checks its migrations.
var sqliteTemplate struct {
	once sync.Once
	data []byte
	err  error
}

// sqliteCopy writes a copy of sqliteTemplate in tb.TempDir() and returns
// its path.
func sqliteCopy(tb testing.TB) string {
	tb.Helper()
	sqliteTemplate.once.Do(func() {
		sqliteTemplate.data, sqliteTemplate.err = makeSQLiteTemplate()
	})
	if sqliteTemplate.err != nil {
		tb.Fatalf("dbtest: SQLite template: %v", sqliteTemplate.err)
	}
	path := filepath.Join(tb.TempDir(), "depot.db")
	if err := os.WriteFile(path, sqliteTemplate.data, 0o600); err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	return path
}

// makeSQLiteTemplate migrates a new SQLite database and returns its bytes.
func makeSQLiteTemplate() ([]byte, error) {
	dir, err := os.MkdirTemp("", "dbtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "depot.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	// The last connection's close checkpoints the log into the file.
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("%s-wal left with %d bytes after close", path, fi.Size())
	}
	return os.ReadFile(path)
}

// EmptyLocation is Location of a database no migration has touched yet:
// a new file, or a PostgreSQL database copied from template0.
func EmptyLocation(tb testing.TB) string {
	tb.Helper()
	if postgres {
		return newDatabase(tb, "template0")
	}
	return filepath.Join(tb.TempDir(), "depot.db")
}

// URL creates a new PostgreSQL database, migrated, and returns its URL.
// It fails tb outside the PostgreSQL run.
func URL(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, template)
}

func newDatabase(tb testing.TB, template string) string {
	tb.Helper()
	if admin == nil {
		tb.Fatal("dbtest: a PostgreSQL database outside the PostgreSQL run of dbtest.Run")
	}
	migrated := template != "template0"
	var name string
	select {
	case name = <-emptied:
		if !migrated {
			emptied <- name // a copy of template0 is wanted: make one
			name = ""
		}
	default:
	}
	if name == "" {
		name = fmt.Sprintf("depot_test_%d_%d", os.Getpid(), seq.Add(1))
		if _, err := admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + template + ` STRATEGY FILE_COPY`); err != nil {
			tb.Fatalf("dbtest: create database %s: %v", name, err)
		}
	}
	// Runs after the test's own cleanups, which close its connections:
	// registered before them.
	tb.Cleanup(func() {
		if migrated && empty(name) == nil {
			select {
			case emptied <- name:
				return
			default:
			}
		}
		emptiersMu.Lock()
		if db := emptiers[name]; db != nil {
			db.Close()
			delete(emptiers, name)
		}
		emptiersMu.Unlock()
		// WITH (FORCE) ends connections a failed test left open.
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			tb.Logf("dbtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(adminURL, name)
}

// emptied holds migrated databases a finished test used, emptied again.
// CREATE DATABASE costs 60 to 300 ms on 2 busy cores, emptying one 20 to
// 40, and a package's tests use a hundred: a test gets a database no
// other test uses meanwhile, in the state of a new copy of the template
// (its tables empty, their identities restarted), made or emptied.
var emptied = make(chan string, 32)

// emptiers are connections to the databases emptied, kept: a connection
// costs more than emptying.
var (
	emptiersMu sync.Mutex
	emptiers   = map[string]*sql.DB{}
)

// empty empties every table of the database name but schema_migrations, restarting their
// identity columns. A database it fails to empty is dropped instead.
func empty(name string) error {
	emptiersMu.Lock()
	defer emptiersMu.Unlock()
	db := emptiers[name]
	if db == nil {
		var err error
		if db, err = sql.Open("pgx", withDatabase(adminURL, name)); err != nil {
			return err
		}
		db.SetMaxIdleConns(1)
		emptiers[name] = db
	}
	// A transaction a failed test left open holds its locks until the
	// lock_timeout: then the database is dropped, WITH (FORCE).
	//
	// DELETE, not TRUNCATE, which makes new files for every table and
	// index: five times slower on tables of a few rows. Every foreign key
	// cascades, so the order does not matter.
	_, err := db.Exec(`DO $$
	DECLARE r record;
	BEGIN
		SET LOCAL lock_timeout = '5s';
		FOR r IN SELECT tablename FROM pg_tables
			WHERE schemaname = 'public' AND tablename <> 'schema_migrations' LOOP
			EXECUTE format('DELETE FROM %I', r.tablename);
		END LOOP;
		FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP
			EXECUTE format('ALTER SEQUENCE %I RESTART', r.sequencename);
		END LOOP;
	END $$`)
	return err
}

// dropEmptied drops the databases emptied holds, on an external server.
func dropEmptied() {
	for {
		select {
		case name := <-emptied:
			admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
		default:
			return
		}
	}
}

// makeTemplate creates the database every test's database is a copy
// of, template0 with depot's migrations applied: a copy costs a third of
// migrating each new database anew (about 0.3 s against 0.6 s on 2 busy
// cores), and a package's tests make hundreds. Open still checks each
// copy's migrations.
func makeTemplate() error {
	template = fmt.Sprintf("depot_template_%d", os.Getpid())
	if _, err := admin.Exec(`CREATE DATABASE ` + template + ` TEMPLATE template0`); err != nil {
		return fmt.Errorf("create database %s: %w", template, err)
	}
	db, err := sqlite.OpenPostgres(context.Background(), withDatabase(adminURL, template))
	if err != nil {
		return err
	}
	return db.Close()
}

// dropTemplate drops the template of an external server, and the
// databases the tests left.
func dropTemplate() {
	emptiersMu.Lock()
	for name, db := range emptiers {
		db.Close()
		delete(emptiers, name)
	}
	emptiersMu.Unlock()
	if external {
		dropEmptied()
	} else {
		for len(emptied) > 0 {
			<-emptied
		}
	}
	if external && template != "" {
		admin.Exec(`DROP DATABASE IF EXISTS ` + template + ` WITH (FORCE)`)
	}
}

// withDatabase returns u with its database (its path) set to name.
func withDatabase(u, name string) string {
	base, query, _ := strings.Cut(u, "?")
	if i := strings.Index(base, "://"); i >= 0 {
		if j := strings.Index(base[i+3:], "/"); j >= 0 {
			base = base[:i+3+j]
		}
	}
	base += "/" + name
	if query != "" {
		base += "?" + query
	}
	return base
}

// startPostgres connects to DEPOT_TEST_POSTGRES, or starts a private
// server, and returns what stops it.
func startPostgres() (stop func(), err error) {
	adminURL = os.Getenv("DEPOT_TEST_POSTGRES")
	external = adminURL != ""
	var stopServer func()
	if adminURL == "" {
		adminURL, stopServer, err = startServer()
		if err != nil {
			return nil, err
		}
	}
	admin, err = sql.Open("pgx", adminURL)
	if err == nil {
		err = waitReady(admin, 30*time.Second)
	}
	if err == nil {
		err = makeTemplate()
	}
	if err != nil {
		if stopServer != nil {
			stopServer()
		}
		return nil, err
	}
	return func() {
		dropTemplate()
		admin.Close()
		admin = nil
		if stopServer != nil {
			stopServer()
		}
	}, nil
}

func waitReady(db *sql.DB, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := db.Ping()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
