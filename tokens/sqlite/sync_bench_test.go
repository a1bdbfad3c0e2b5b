package sqlite

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSynchronous compares what depot's writes cost with SQLite's
// synchronous=NORMAL and FULL in WAL mode (see dsn): creating a token,
// disabling one (what every API write looks like: one UPDATE in its
// transaction) and flushing the last use of 100 tokens in one
// transaction, as tokens.FlushTokenUse does.
//
//	go test -run XXX -bench Synchronous ./tokens/sqlite/
func BenchmarkSynchronous(b *testing.B) {
	for _, mode := range []string{"NORMAL", "FULL"} {
		b.Run(mode, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "depot.db")
			db, err := open(context.Background(), path, dsnSync(path, mode))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			if err := addUser(b, db, "tester"); err != nil {
				b.Fatal(err)
			}
			var ids []string
			insert := func(i int) {
				id := fmt.Sprintf("%s-%d-%d", mode, time.Now().UnixNano(), i)
				hash := make([]byte, 32)
				rand.Read(hash)
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer tx.Rollback()
				var uid int64
				if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE global_key = 'tester'`).Scan(&uid); err != nil {
					b.Fatal(err)
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO tokens (id, user_id, username, secret_hash, scopes,
					not_before, issued_at, issuer) VALUES (?, ?, 'tester', ?, '["project:depot"]', ?, ?, 'tester')`,
					id, uid, hash, time.Now().UnixMilli(), time.Now().UnixMilli())
				if err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				ids = append(ids, id)
			}
			b.Run("CreateToken", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					insert(i)
				}
			})
			for len(ids) < 100 {
				insert(len(ids))
			}
			b.Run("DisableToken", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if _, err := db.ExecContext(ctx, `UPDATE tokens SET enabled = ? WHERE id = ?`, (i/len(ids))%2, ids[i%len(ids)]); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("FlushUses100", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					for _, id := range ids[:100] {
						if _, err := tx.ExecContext(ctx, `UPDATE tokens SET last_access_time = ?, last_access_ip = '192.0.2.1'
							WHERE id = ? AND last_access_time < ?`, i, id, i); err != nil {
							b.Fatal(err)
						}
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
