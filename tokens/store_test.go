package tokens

import (
	"context"
	"testing"
	"time"

	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// TestTwoStores shares a file between two Stores, the way the server and
// the CLI do, and checks that each sees the other's writes: at once on
// SQLite, within notifyWithin on PostgreSQL, where the writer's
// notification reaches the other Store's listener in the background.
func TestTwoStores(t *testing.T) {
	ctx := context.Background()
	path := dbtest.Location(t)
	server, cli := mustOpenPath(t, path), mustOpenPath(t, path)

	mustCreateUser(t, cli, "tester")
	if _, err := server.UserByName(ctx, "tester"); err != nil {
		t.Fatalf("server: UserByName = %v", err)
	}
	tok, secret := mustCreateToken(t, server, &Token{Username: "tester", Scopes: []string{"project:depot"}})
	if _, _, err := cli.LookupToken(ctx, secret); err != nil {
		t.Fatalf("cli: LookupToken = %v", err)
	}
	// sees polls the server's LookupToken until ok holds of its answer.
	sees := func(what string, ok func(*Token, error) bool) {
		t.Helper()
		deadline := time.Now().Add(notifyWithin)
		for {
			got, _, err := server.LookupToken(ctx, secret)
			if ok(got, err) {
				return
			}
			if !dbtest.Postgres() || time.Now().After(deadline) {
				t.Fatalf("server: LookupToken after the CLI %s = %+v, %v", what, got, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := cli.SetTokenEnabled(ctx, tok.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	sees("disabled it", disabled)
	if err := cli.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	sees("deleted it", gone)
}
