package tokens

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// TestTwoStores shares a database between two Stores, the way the
// server and the CLI do, and checks that each sees the other's writes: at
// once on SQLite, where a lookup checks the WAL file before it trusts its
// cache; on PostgreSQL once the write's notification has arrived, which
// is asynchronous (milliseconds), so there the server's view is polled.
func TestTwoStores(t *testing.T) {
	ctx := context.Background()
	path := dbtest.Location(t)
	server, cli := mustOpenPath(t, path), mustOpenPath(t, path)

	// seen returns once ok holds for the server's lookup of secret: at
	// the first try on SQLite, within notifyWithin on PostgreSQL.
	seen := func(secret, what string, ok func(*Token, error) bool) {
		t.Helper()
		start := time.Now()
		for {
			tok, _, err := server.LookupToken(ctx, secret)
			if ok(tok, err) {
				if dbtest.Postgres() {
					t.Logf("server saw that %s %v later", what, time.Since(start))
				}
				return
			}
			if !dbtest.Postgres() || time.Since(start) > notifyWithin {
				t.Fatalf("server: LookupToken after %s = %+v, %v (%v later)", what, tok, err, time.Since(start))
			}
			time.Sleep(time.Millisecond)
		}
	}

	mustCreateUser(t, cli, "tester")
	if _, err := server.UserByName(ctx, "tester"); err != nil {
		t.Fatalf("server: UserByName = %v", err)
	}
	tok, secret := mustCreateToken(t, server, &Token{Username: "tester", Scopes: []string{"project:depot"}})
	if _, _, err := cli.LookupToken(ctx, secret); err != nil {
		t.Fatalf("cli: LookupToken = %v", err)
	}
	if err := cli.SetTokenEnabled(ctx, tok.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	seen(secret, "the CLI disabled it", func(got *Token, err error) bool { return err == nil && !got.Enabled })
	if err := cli.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	seen(secret, "the CLI deleted it", func(_ *Token, err error) bool { return errors.Is(err, ErrBadCredentials) })
}
