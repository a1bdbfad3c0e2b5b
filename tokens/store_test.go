package tokens

import (
	"context"
	"errors"
	"testing"

	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// TestTwoStores shares a file between two Stores, the way the server and
// the CLI do, and checks that each sees the other's writes at once.
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
	if err := cli.SetTokenEnabled(ctx, tok.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	got, _, err := server.LookupToken(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enabled {
		t.Errorf("server: token still enabled after the CLI disabled it")
	}
	if err := cli.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := server.LookupToken(ctx, secret); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("server: LookupToken after the CLI deleted it = %v; want ErrBadCredentials", err)
	}
}
