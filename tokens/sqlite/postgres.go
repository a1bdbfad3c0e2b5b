package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	return &DB{DB: db, path: name, dialect: Postgres, url: dbURL}, nil
}

// Notify sends a notification on channel to every connection that
// listens on it (Listen), in this process or another, on PostgreSQL; on
// SQLite it does nothing.
func (db *DB) Notify(ctx context.Context, channel string) error {
	if db.dialect != Postgres {
		return nil
	}
	if _, err := db.ExecContext(ctx, `SELECT pg_notify(?, '')`, channel); err != nil {
		return fmt.Errorf("postgres: notify %s: %w", channel, err)
	}
	return nil
}

// Listen listens on channel on a connection of its own until ctx is
// done, calling event(true) when it starts listening and on each
// notification, and event(false) when it loses the connection, after
// which it connects again (after a second, then up to every 10 s).
// Between event(false) and the next event(true) notifications are lost:
// what the caller keeps on their strength it must not trust meanwhile.
// On SQLite it returns at once.
func (db *DB) Listen(ctx context.Context, channel string, event func(listening bool)) {
	if db.dialect != Postgres {
		return
	}
	wait := time.Second
	for ctx.Err() == nil {
		conn, err := pgx.Connect(ctx, db.url)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize())
			if err == nil {
				wait = time.Second
				event(true)
				for {
					if _, err = conn.WaitForNotification(ctx); err != nil {
						break
					}
					event(true)
				}
				event(false)
			}
			conn.Close(context.Background())
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			wait = min(2*wait, 10*time.Second)
		}
	}
}

// redact returns dbURL without its password, for messages and logs.
func redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}
