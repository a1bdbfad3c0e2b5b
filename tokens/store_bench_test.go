package tokens

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depot/depot/tokens/sqlite"
	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// benchUsers and benchTokens size the database every benchmark shares.
const (
	benchUsers  = 1000
	benchTokens = 100_000
)

var bench struct {
	once    sync.Once
	dir     string
	store   *Store
	secrets []string // a sample of valid secrets
	ids     []string // a sample of token ids
	err     error
}

// benchStore returns the shared benchmark store, seeding it on first use.
func benchStore(b *testing.B) *Store {
	b.Helper()
	bench.once.Do(func() {
		bench.dir, bench.err = os.MkdirTemp("", "depot-tokens-bench-")
		if bench.err != nil {
			return
		}
		bench.store, bench.err = Open(context.Background(), filepath.Join(bench.dir, "depot.db"))
		if bench.err != nil {
			return
		}
		start := time.Now()
		bench.secrets, bench.ids, bench.err = seed(bench.store, benchUsers, benchTokens)
		b.Logf("seeded %d tokens across %d users in %v", benchTokens, benchUsers, time.Since(start))
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.store
}

// closeBench is called by TestMain after every test and benchmark ran.
func closeBench() {
	if bench.store != nil {
		bench.store.Close()
	}
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
}

func TestMain(m *testing.M) {
	code := dbtest.Run(m)
	closeBench()
	os.Exit(code)
}

// seed inserts users named user0000… and tokens spread across them with
// multi-row INSERTs in one transaction. A fifth of the tokens were never
// used and a third never expire. It returns a sample of secrets and ids.
func seed(s *Store, users, tokens int) (secrets, ids []string, err error) {
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	hash, err := s.hashPassword("password")
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().UnixMilli()
	for i := 0; i < users; i++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, global_key, name, password_hash, created_at)
			VALUES (?, ?, ?, ?, ?)`, i+1, benchName(i), benchName(i), hash, now); err != nil {
			return nil, nil, err
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	const batch = 500 // 13 parameters a row, well under SQLite's 32766
	row := "(?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?, ?)"
	for done := 0; done < tokens; done += batch {
		n := min(batch, tokens-done)
		q := `INSERT INTO tokens (id, user_id, username, secret_hash, audience, description, scopes,
			ip_whitelist, not_before, expire_time, issued_at, issuer, last_access_ip, last_access_time) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row+",", n), ",")
		args := make([]any, 0, n*13)
		for k := 0; k < n; k++ {
			secret, err := NewSecret()
			if err != nil {
				return nil, nil, err
			}
			id, err := newUUID()
			if err != nil {
				return nil, nil, err
			}
			if (done+k)%97 == 0 {
				secrets = append(secrets, secret)
				ids = append(ids, id)
			}
			h := hashSecret(secret)
			u := r.IntN(users)
			issued := now - int64(tokens-done-k)*1000
			expire, lastAt, lastIP := int64(sqlite.Never), int64(sqlite.Never), ""
			if r.IntN(3) > 0 {
				expire = issued + r.Int64N(1e10)
			}
			if r.IntN(5) > 0 {
				lastAt, lastIP = issued+r.Int64N(1e9), fmt.Sprintf("10.0.%d.%d", r.IntN(256), r.IntN(256))
			}
			args = append(args, id, u+1, benchName(u), h[:], fmt.Sprintf("aud%d", r.IntN(20)), "bench",
				`["project:depot","user"]`, issued, expire, issued, "admin", lastIP, lastAt)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return nil, nil, err
		}
	}
	return secrets, ids, tx.Commit()
}

func benchName(i int) string { return fmt.Sprintf("user%04d", i) }

func BenchmarkLookupToken(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t, u, err := s.LookupToken(ctx, bench.secrets[i%len(bench.secrets)])
		if err != nil || t.Username != u.GlobalKey {
			b.Fatalf("LookupToken = %v, %v, %v", t, u, err)
		}
	}
}

func BenchmarkLookupTokenParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, _, err := s.LookupToken(ctx, bench.secrets[i%len(bench.secrets)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkListTokensSortLastAccessPrefix(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for _, prefix := range []string{"user000", "user00", "user0", "user"} {
		for _, size := range []int{10, 100} {
			b.Run(fmt.Sprintf("prefix=%s/pageSize=%d", prefix, size), func(b *testing.B) {
				opt := ListOptions{Prefix: prefix, Sort: "lastAccessTime", Desc: true, PageNo: 1, PageSize: size}
				for b.Loop() {
					total, page, err := s.ListTokens(ctx, opt)
					if err != nil || total == 0 || len(page) != min(size, total) {
						b.Fatalf("ListTokens = %d, %d tokens, %v", total, len(page), err)
					}
				}
			})
		}
	}
}

func BenchmarkListTokens(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for _, opt := range []ListOptions{
		{PageSize: 100},
		{Sort: "username", PageSize: 100, PageNo: 50},
		{Sort: "expireTime", Desc: true, PageSize: 100},
		{Sort: "issuedAt", PageSize: 100},
		{Sort: "audience", Prefix: "user0", PageSize: 100},
		{Username: "user0042", Sort: "lastAccessTime", Desc: true, PageSize: 100},
	} {
		b.Run(fmt.Sprintf("%+v", opt), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.ListTokens(ctx, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRecordTokenUse(b *testing.B) {
	s := benchStore(b)
	at := time.Now()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.RecordTokenUse(bench.ids[i%len(bench.ids)], "192.0.2.1", at)
	}
}

func BenchmarkRecordTokenUseParallel(b *testing.B) {
	s := benchStore(b)
	at := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			s.RecordTokenUse(bench.ids[i%len(bench.ids)], "192.0.2.1", at)
		}
	})
}
