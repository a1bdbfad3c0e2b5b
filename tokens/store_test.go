package tokens

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestOpenPragmas holds several pooled connections at once and checks that
// each got the DSN pragmas, not only the first.
func TestOpenPragmas(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	n := min(6, s.db.Stats().MaxOpenConnections)
	if n < 2 {
		t.Fatalf("MaxOpenConnections = %d; want at least 2", n)
	}
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := s.db.Conn(ctx)
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
				{"synchronous", "1"}, // NORMAL
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
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	versions := func(t *testing.T, s *Store) []int {
		t.Helper()
		rows, err := s.db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
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
		s1 := mustOpenPath(t, path)
		mustCreateUser(t, s1, "tester")
		if err := s1.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := mustOpenPath(t, path)
		if got := versions(t, s2); len(got) != len(ms) {
			t.Errorf("schema_migrations = %v; want %d versions", got, len(ms))
		}
		if _, err := s2.UserByName(context.Background(), "tester"); err != nil {
			t.Errorf("UserByName after reopening = %v", err)
		}
	})

	t.Run("ConcurrentOpen", func(t *testing.T) {
		// Stores on one new file at once, as a server and a CLI started together.
		path := filepath.Join(t.TempDir(), "depot.db")
		stores := make([]*Store, 4)
		var wg sync.WaitGroup
		for i := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(context.Background(), path)
				if err != nil {
					t.Errorf("Open #%d = %v", i, err)
					return
				}
				stores[i] = s
			}()
		}
		wg.Wait()
		for _, s := range stores {
			if s == nil {
				continue
			}
			if got := versions(t, s); len(got) != len(ms) {
				t.Errorf("schema_migrations = %v; want %d versions", got, len(ms))
			}
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		}
	})
}

// TestTwoStores shares a file between two Stores, the way the server and
// the CLI do, and checks that each sees the other's writes at once.
func TestTwoStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "depot.db")
	server, cli := mustOpenPath(t, path), mustOpenPath(t, path)

	mustCreateUser(t, cli, "tester")
	if _, err := server.UserByName(ctx, "tester"); err != nil {
		t.Fatalf("server: UserByName = %v", err)
	}
	tok, secret := mustCreateToken(t, server, &Token{Username: "tester", Scopes: []string{"project:depot"}})
	if _, _, err := cli.LookupToken(ctx, secret); err != nil {
		t.Fatalf("cli: LookupToken = %v", err)
	}
	if err := cli.SetTokenEnabled(ctx, tok.ID, false); err != nil {
		t.Fatal(err)
	}
	got, _, err := server.LookupToken(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enabled {
		t.Errorf("server: token still enabled after the CLI disabled it")
	}
	if err := cli.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := server.LookupToken(ctx, secret); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("server: LookupToken after the CLI deleted it = %v; want ErrBadCredentials", err)
	}
}

func TestDSN(t *testing.T) {
	got := dsn("/tmp/a b/depot.db")
	for _, want := range []string{"file:/tmp/a%20b/depot.db?", "foreign_keys%281%29", "journal_mode%28WAL%29",
		"busy_timeout%285000%29", "synchronous%28NORMAL%29", "_txlock=immediate"} {
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
		s := mustOpenPath(t, path)
		mustCreateUser(t, s, "tester") // a write, so that the WAL exists
		checkModes(t, path)
	})
	t.Run("TightensExisting", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "depot.db")
		s := mustOpenPath(t, path)
		mustCreateUser(t, s, "tester")
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		mustOpenPath(t, path)
		checkModes(t, path)
	})
}
