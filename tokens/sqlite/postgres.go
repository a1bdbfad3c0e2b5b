package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" with database/sql
)

// pgUniqueViolation is PostgreSQL's SQLSTATE of a duplicate key, which
// the namespace triggers of migration 0003 raise too.
const pgUniqueViolation = "23505"

// IsURL reports whether db names a PostgreSQL database (postgres:// or
// postgresql://) rather than nothing, which means DATA/depot.db.
func IsURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// OpenAt opens the database at loc: a PostgreSQL URL (IsURL) or the path
// of a SQLite file.
func OpenAt(ctx context.Context, loc string) (*DB, error) {
	if IsURL(loc) {
		return OpenPostgres(ctx, loc)
	}
	return Open(ctx, loc)
}

// OpenPostgres opens the PostgreSQL database at dbURL
// (postgres://user:pass@host/db?sslmode=…, as libpq takes it) and brings
// its schema up to date: the same migrations as a SQLite file, in their
// PostgreSQL form where the two differ, applied in one transaction under
// an advisory lock, so that several depot processes starting at once
// apply them once.
func OpenPostgres(ctx context.Context, dbURL string) (*DB, error) {
	name := redact(dbURL)
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", name, err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := migrate(ctx, db, Postgres); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", name, err)
	}
	return &DB{DB: db, path: name, dialect: Postgres}, nil
}

// redact returns dbURL without its password, for messages and logs.
func redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}
