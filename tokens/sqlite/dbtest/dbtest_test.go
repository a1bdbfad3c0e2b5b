package dbtest_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/tokens/sqlite"
	"github.com/depot/depot/tokens/sqlite/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

// TestOpenConcurrently opens one new database from several goroutines at
// once, as several depot processes starting together do: every Open
// succeeds and each migration is recorded once. Without the write lock of
// the migration (SQLite's immediate transaction, PostgreSQL's advisory
// lock) the losers fail on tables the winner created.
func TestOpenConcurrently(t *testing.T) {
	loc := dbtest.EmptyLocation(t)
	const n = 4
	var wg sync.WaitGroup
	dbs := make([]*sqlite.DB, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = sqlite.OpenAt(context.Background(), loc)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("OpenAt #%d = %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	var versions, distinct, last int
	if err := dbs[0].QueryRow(`SELECT count(*), count(DISTINCT version), max(version) FROM schema_migrations`).
		Scan(&versions, &distinct, &last); err != nil {
		t.Fatal(err)
	}
	if versions != distinct || versions != last || versions < 8 {
		t.Errorf("schema_migrations: %d rows, %d versions, last %d; want each version 1..last once", versions, distinct, last)
	}
}

// TestErrors checks that the drivers' errors read as the stores and the
// API need them: a duplicate key is a unique violation, a write the
// database refuses (a read-only connection or transaction) a storage
// failure, and neither is taken for the other.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t)
	insert := `INSERT INTO users (global_key, name, password_hash, admin, created_at) VALUES (?, ?, 'x', ?, 1)`
	if _, err := db.ExecContext(ctx, insert, "alice", "Alice", true); err != nil {
		t.Fatal(err)
	}
	_, dup := db.ExecContext(ctx, insert, "ALICE", "Alice again", false)
	if !sqlite.IsUniqueViolation(dup) || apierr.StorageFailure(dup) {
		t.Errorf("duplicate (case aside): IsUniqueViolation = %v, StorageFailure = %v (%v); want true, false",
			sqlite.IsUniqueViolation(dup), apierr.StorageFailure(dup), dup)
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	readOnly := `PRAGMA query_only = 1`
	if db.Dialect() == sqlite.Postgres {
		readOnly = `SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`
	}
	if _, err := conn.ExecContext(ctx, readOnly); err != nil {
		t.Fatal(err)
	}
	_, refused := conn.ExecContext(ctx, db.Dialect().Rebind(insert), "bob", "Bob", 0)
	if refused == nil || !apierr.StorageFailure(refused) || sqlite.IsUniqueViolation(refused) {
		t.Errorf("read-only write: StorageFailure = %v, IsUniqueViolation = %v (%v); want true, false",
			apierr.StorageFailure(refused), sqlite.IsUniqueViolation(refused), refused)
	}
}
