package sqlite

import "testing"

func TestRebind(t *testing.T) {
	for _, tc := range []struct {
		name, query, sqlite, postgres string
	}{
		{"NoPlaceholder", `SELECT 1`, `SELECT 1`, `SELECT 1`},
		{"Numbered", `UPDATE t SET a = ?, b = ? WHERE id = ?`, `UPDATE t SET a = ?, b = ? WHERE id = ?`,
			`UPDATE t SET a = $1, b = $2 WHERE id = $3`},
		{"QuotedLeftAlone", `SELECT '?', "a?" FROM t WHERE x = ?`, `SELECT '?', "a?" FROM t WHERE x = ?`,
			`SELECT '?', "a?" FROM t WHERE x = $1`},
		{"EscapedQuote", `SELECT 'it''s ?' WHERE y = ?`, `SELECT 'it''s ?' WHERE y = ?`,
			`SELECT 'it''s ?' WHERE y = $1`},
		{"Ten", `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			`VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SQLite.Rebind(tc.query); got != tc.sqlite {
				t.Errorf("SQLite.Rebind(%q) = %q; want %q", tc.query, got, tc.sqlite)
			}
			if got := Postgres.Rebind(tc.query); got != tc.postgres {
				t.Errorf("Postgres.Rebind(%q) = %q; want %q", tc.query, got, tc.postgres)
			}
		})
	}
}

func TestArgsBooleans(t *testing.T) {
	in := []any{true, false, "x", 3}
	got := Postgres.args(in)
	want := []any{int64(1), int64(0), "x", 3}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Postgres.args(%v)[%d] = %#v; want %#v", in, i, got[i], want[i])
		}
	}
	if in[0] != true {
		t.Errorf("Postgres.args changed its argument: %v", in)
	}
	if got := SQLite.args(in); got[0] != true {
		t.Errorf("SQLite.args(%v)[0] = %#v; want true", in, got[0])
	}
}
