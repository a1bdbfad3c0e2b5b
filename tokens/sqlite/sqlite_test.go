package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// mustOpen opens a DB on a new file in tb.TempDir and closes it at the
// end of the test.
func mustOpen(tb testing.TB) *DB {
	tb.Helper()
	return mustOpenPath(tb, filepath.Join(tb.TempDir(), "depot.db"))
}

func mustOpenPath(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open(%q) = %v", path, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// addUser writes a row, so that the WAL exists.
func addUser(tb testing.TB, db *DB, name string) error {
	tb.Helper()
	_, err := db.Exec(`INSERT INTO users (global_key, name, password_hash, created_at) VALUES (?, ?, 'x', 0)`, name, name)
	return err
}

// TestOpenPragmas holds several pooled connections at once and checks that
// each got the DSN pragmas, not only the first.
func TestOpenPragmas(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	n := min(6, db.Stats().MaxOpenConnections)
	if n < 2 {
		t.Fatalf("MaxOpenConnections = %d; want at least 2", n)
	}
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tt := range []struct{ pragma, want string }{
				{"foreign_keys", "1"},
				{"journal_mode", "wal"},
				{"busy_timeout", "5000"},
				{"synchronous", "2"}, // FULL: acknowledged writes survive power loss
			} {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
					t.Errorf("conn %d: PRAGMA %s: %v", i, tt.pragma, err)
					continue
				}
				if got != tt.want {
					t.Errorf("conn %d: PRAGMA %s = %q; want %q", i, tt.pragma, got, tt.want)
				}
			}
		}()
	}
	wg.Wait()
}

func TestOpenMigrations(t *testing.T) {
	ms, err := loadMigrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	versions := func(t *testing.T, db *DB) []int {
		t.Helper()
		rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var vs []int
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		return vs
	}

	t.Run("Idempotent", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "depot.db")
		db1 := mustOpenPath(t, path)
		if err := addUser(t, db1, "tester"); err != nil {
			t.Fatal(err)
		}
		if err := db1.Close(); err != nil {
			t.Fatal(err)
		}
		db2 := mustOpenPath(t, path)
		if got := versions(t, db2); len(got) != len(ms) {
			t.Errorf("schema_migrations = %v; want %d versions", got, len(ms))
		}
		var n int
		if err := db2.QueryRow(`SELECT count(*) FROM users WHERE global_key = 'TESTER'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("users named tester after reopening = %d, %v; want 1", n, err)
		}
	})

	t.Run("ConcurrentOpen", func(t *testing.T) {
		// DBs on one new file at once, as a server and a CLI started together.
		path := filepath.Join(t.TempDir(), "depot.db")
		dbs := make([]*DB, 4)
		var wg sync.WaitGroup
		for i := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := Open(context.Background(), path)
				if err != nil {
					t.Errorf("Open #%d = %v", i, err)
					return
				}
				dbs[i] = db
			}()
		}
		wg.Wait()
		for _, db := range dbs {
			if db == nil {
				continue
			}
			if got := versions(t, db); len(got) != len(ms) {
				t.Errorf("schema_migrations = %v; want %d versions", got, len(ms))
			}
			if err := db.Close(); err != nil {
				t.Error(err)
			}
		}
	})
}

func TestDSN(t *testing.T) {
	got := dsn("/tmp/a b/depot.db")
	for _, want := range []string{"file:/tmp/a%20b/depot.db?", "foreign_keys%281%29", "journal_mode%28WAL%29",
		"busy_timeout%285000%29", "synchronous%28FULL%29", "_txlock=immediate"} {
		if !strings.Contains(got, want) {
			t.Errorf("dsn() = %q; want it to contain %q", got, want)
		}
	}
}

// TestOpenFileModes: the database holds password and token hashes, so
// only depot's own user may read it, its WAL and shared-memory files
// included; a file left readable by an older depot is tightened on open.
func TestOpenFileModes(t *testing.T) {
	checkModes := func(t *testing.T, path string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s has mode %#o; want 0600", filepath.Base(p), m)
			}
		}
	}
	t.Run("New", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "depot.db")
		db := mustOpenPath(t, path)
		if err := addUser(t, db, "tester"); err != nil {
			t.Fatal(err)
		}
		checkModes(t, path)
	})
	t.Run("TightensExisting", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "depot.db")
		db := mustOpenPath(t, path)
		if err := addUser(t, db, "tester"); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		mustOpenPath(t, path)
		checkModes(t, path)
	})
}

// TestIsUniqueViolation: a duplicate key and the namespace triggers both
// read as a unique violation, and nothing else does.
func TestIsUniqueViolation(t *testing.T) {
	db := mustOpen(t)
	if err := addUser(t, db, "tester"); err != nil {
		t.Fatal(err)
	}
	if err := addUser(t, db, "Tester"); !IsUniqueViolation(err) {
		t.Errorf("a duplicate global_key = %v; want a unique violation", err)
	}
	_, err := db.Exec(`INSERT INTO projects (name, display_name, created_at) VALUES ('TESTER', 'x', 0)`)
	if !IsUniqueViolation(err) {
		t.Errorf("a project named as a user = %v; want a unique violation", err)
	}
	_, err = db.Exec(`INSERT INTO users (global_key, name, password_hash, admin, created_at) VALUES ('x', 'x', 'x', 2, 0)`)
	if err == nil || IsUniqueViolation(err) {
		t.Errorf("a CHECK failure = %v; want an error that is no unique violation", err)
	}
	if IsUniqueViolation(errors.New("UNIQUE")) {
		t.Error("a plain error reads as a unique violation")
	}
}

func TestMustAffect(t *testing.T) {
	db := mustOpen(t)
	none := errors.New("none")
	res, err := db.Exec(`UPDATE users SET name = 'x' WHERE global_key = 'nobody'`)
	if err != nil {
		t.Fatal(err)
	}
	if err := MustAffect(res, none); err != none {
		t.Errorf("MustAffect(no row) = %v; want %v", err, none)
	}
	if err := addUser(t, db, "tester"); err != nil {
		t.Fatal(err)
	}
	if res, err = db.Exec(`UPDATE users SET name = 'x' WHERE global_key = 'tester'`); err != nil {
		t.Fatal(err)
	}
	if err := MustAffect(res, none); err != nil {
		t.Errorf("MustAffect(one row) = %v; want nil", err)
	}
}

func TestMilli(t *testing.T) {
	if got := Milli(time.Time{}); got != Never {
		t.Errorf("Milli(zero) = %d; want Never", got)
	}
	if got := Time(Never); !got.IsZero() {
		t.Errorf("Time(Never) = %v; want the zero time", got)
	}
	at := time.Date(2026, 11, 29, 3, 45, 45, 123456789, time.FixedZone("X", 3600))
	if got, want := Time(Milli(at)), Truncate(at); !got.Equal(want) || got.Location() != time.UTC || got.Nanosecond() != 123000000 {
		t.Errorf("Time(Milli(%v)) = %v; want %v in UTC", at, got, want)
	}
}
