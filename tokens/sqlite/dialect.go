package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL the database speaks. The stores write their queries
// once, with SQLite's ? placeholders; the DB rewrites them for PostgreSQL.
type Dialect int

const (
	// SQLite is a file, DATA/depot.db (modernc.org/sqlite).
	SQLite Dialect = iota
	// Postgres is a PostgreSQL server (jackc/pgx), for several depot
	// processes sharing one store.
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// Dialect returns the SQL db speaks.
func (db *DB) Dialect() Dialect { return db.dialect }

// Rebind returns query with its ? placeholders written as the dialect
// wants them: unchanged for SQLite, $1, $2, … for PostgreSQL. A ? inside
// a quoted string or identifier is left alone.
func (d Dialect) Rebind(query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// args returns args as the dialect's driver takes them. The tables keep
// booleans as the integers 0 and 1 in both dialects (SQLite has no other
// kind); pgx will not send a Go bool for an integer column, so it gets
// the integer.
func (d Dialect) args(args []any) []any {
	if d != Postgres {
		return args
	}
	var out []any // a copy, made at the first bool: args may be the caller's
	for i, a := range args {
		v, ok := a.(bool)
		if !ok {
			continue
		}
		if out == nil {
			out = append([]any(nil), args...)
		}
		out[i] = int64(0)
		if v {
			out[i] = int64(1)
		}
	}
	if out == nil {
		return args
	}
	return out
}

// ExecContext is sql.DB's, with the query rebound for the dialect.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.dialect.Rebind(query), db.dialect.args(args)...)
}

// QueryContext is sql.DB's, with the query rebound for the dialect.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.dialect.Rebind(query), db.dialect.args(args)...)
}

// QueryRowContext is sql.DB's, with the query rebound for the dialect.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.dialect.Rebind(query), db.dialect.args(args)...)
}

// PrepareContext is sql.DB's, with the query rebound for the dialect.
// The statement's arguments are passed as the driver gets them: a
// prepared statement of a store takes no booleans.
func (db *DB) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return db.DB.PrepareContext(ctx, db.dialect.Rebind(query))
}

// Exec is ExecContext with the background context.
func (db *DB) Exec(query string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), query, args...)
}

// Query is QueryContext with the background context.
func (db *DB) Query(query string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext with the background context.
func (db *DB) QueryRow(query string, args ...any) *sql.Row {
	return db.QueryRowContext(context.Background(), query, args...)
}

// Prepare is PrepareContext with the background context.
func (db *DB) Prepare(query string) (*sql.Stmt, error) {
	return db.PrepareContext(context.Background(), query)
}

// Tx is a transaction on a DB, whose queries are rebound like the DB's.
type Tx struct {
	*sql.Tx
	dialect Dialect
}

// BeginTx starts a transaction that holds the database's write lock from
// its start to its end, as every transaction does on SQLite
// (_txlock=immediate): the stores read, decide and write inside one
// transaction (the last owner of a project, a token's count of events)
// and rely on no other transaction writing in between. On PostgreSQL the
// lock is a transaction-level advisory lock, which every depot process on
// the database shares; plain statements outside a transaction take none,
// as on SQLite they wait only for the moment of their own write.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	if db.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLockKey); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("write lock: %w", err)
		}
	}
	return &Tx{Tx: tx, dialect: db.dialect}, nil
}

// writeLockKey and migrateLockKey are PostgreSQL advisory lock keys of
// depot's, arbitrary constants ("depotwl", "depotmg" in ASCII).
const (
	writeLockKey   int64 = 0x6465706f74776c
	migrateLockKey int64 = 0x6465706f746d67
)

// ExecContext is sql.Tx's, with the query rebound for the dialect.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.dialect.Rebind(query), tx.dialect.args(args)...)
}

// QueryContext is sql.Tx's, with the query rebound for the dialect.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.dialect.Rebind(query), tx.dialect.args(args)...)
}

// QueryRowContext is sql.Tx's, with the query rebound for the dialect.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.dialect.Rebind(query), tx.dialect.args(args)...)
}

// Exec is ExecContext with the background context.
func (tx *Tx) Exec(query string, args ...any) (sql.Result, error) {
	return tx.ExecContext(context.Background(), query, args...)
}

// Query is QueryContext with the background context.
func (tx *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext with the background context.
func (tx *Tx) QueryRow(query string, args ...any) *sql.Row {
	return tx.QueryRowContext(context.Background(), query, args...)
}

// PrepareContext is sql.Tx's, with the query rebound for the dialect.
func (tx *Tx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return tx.Tx.PrepareContext(ctx, tx.dialect.Rebind(query))
}

var (
	_ Querier = (*DB)(nil)
	_ Querier = (*Tx)(nil)
)
