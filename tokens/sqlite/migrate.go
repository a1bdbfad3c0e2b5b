package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The schema of every table, one history for the whole file. A migration
// is recorded by its version and name, never by a checksum, so comments
// in an applied file may change; its statements may not.
//
// A migration whose SQL differs on PostgreSQL has a second file beside it,
// NNNN_name.postgres.sql, the same change in PostgreSQL's words; it is
// recorded under the same version and name, so the two databases share
// one history.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded file, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// postgresSuffix ends the name of a migration's PostgreSQL variant.
const postgresSuffix = ".postgres.sql"

func loadMigrations(d Dialect) ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		if strings.HasSuffix(base, postgresSuffix) {
			continue
		}
		if d == Postgres {
			variant := strings.TrimSuffix(name, ".sql") + postgresSuffix
			if _, err := fs.Stat(migrationFS, variant); err == nil {
				name = variant
			}
		}
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

// migrateRetrying runs migrate, again while SQLite answers SQLITE_BUSY.
// Two processes opening a new file at once (the server and a CLI command)
// race to switch it to WAL mode, and that switch can fail at once with
// SQLITE_BUSY instead of waiting on busy_timeout; the loser retries.
func migrateRetrying(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := migrate(ctx, db, SQLite)
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

// migrate applies the embedded migrations of dialect d that
// schema_migrations does not list yet, all in one transaction. SQLite's
// transactions take the write lock at BEGIN (_txlock=immediate); on
// PostgreSQL an advisory lock held to the end of the transaction does the
// same, so that a second process waits, then finds them applied.
func migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	ms, err := loadMigrations(d)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()

	if d == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	integer := "INTEGER" // SQLite's integers are 64 bits, PostgreSQL's 32
	if d == Postgres {
		integer = "BIGINT"
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    `+integer+` PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at `+integer+` NOT NULL
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
		if _, err := tx.ExecContext(ctx, d.Rebind(
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
