package tokens

import (
	"context"
	"errors"
	"github.com/depot/depot/tokens/sqlite/dbtest"
	"path/filepath"
	"testing"
)

// TestLookupCacheSeesEveryWrite checks that a cached LookupToken answer
// never outlives a change, whether this Store made it or another one on
// the same file did (as the CLI, a separate process, does).
func TestLookupCacheSeesEveryWrite(t *testing.T) {
	ctx := context.Background()
	path := dbtest.Location(t)
	server := mustOpenPath(t, path)
	other := mustOpenPath(t, path)
	mustCreateUser(t, server, "tester")

	for _, tc := range []struct {
		name   string
		change func(s *Store, id string) error
		check  func(tok *Token, err error) bool // true when the change shows
	}{
		{"DisableHere", func(s *Store, id string) error { return s.SetTokenEnabled(ctx, id, false, "") }, disabled},
		{"DisableElsewhere", func(s *Store, id string) error { return other.SetTokenEnabled(ctx, id, false, "") }, disabled},
		{"DeleteHere", func(s *Store, id string) error { return s.DeleteToken(ctx, id) }, gone},
		{"DeleteElsewhere", func(s *Store, id string) error { return other.DeleteToken(ctx, id) }, gone},
		{"ScopesElsewhere", func(s *Store, id string) error {
			scopes := []string{"user"}
			_, err := other.UpdateToken(ctx, id, TokenUpdate{Scopes: &scopes})
			return err
		}, func(tok *Token, err error) bool { return err == nil && len(tok.Scopes) == 1 && tok.Scopes[0] == "user" }},
		{"RegenerateElsewhere", func(s *Store, id string) error { _, err := other.RegenerateToken(ctx, id, 0, ""); return err }, gone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, secret := mustCreateToken(t, server, &Token{Username: "tester", Scopes: []string{"project:depot", "user"}})
			for i := 0; i < 3; i++ { // warm the cache
				if _, _, err := server.LookupToken(ctx, secret); err != nil {
					t.Fatal(err)
				}
			}
			if err := tc.change(server, tok.ID); err != nil {
				t.Fatal(err)
			}
			got, _, err := server.LookupToken(ctx, secret)
			if !tc.check(got, err) {
				t.Fatalf("LookupToken after %s = %+v, %v; the cache hid the change", tc.name, got, err)
			}
		})
	}
}

func disabled(tok *Token, err error) bool { return err == nil && !tok.Enabled }
func gone(_ *Token, err error) bool       { return errors.Is(err, ErrBadCredentials) }

// TestLookupCacheReturnsCopies checks that a caller changing what it got
// cannot change what the next caller gets.
func TestLookupCacheReturnsCopies(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	mustCreateUser(t, s, "tester")
	_, secret := mustCreateToken(t, s, &Token{Username: "tester", Scopes: []string{"project:depot"}})
	a, _, err := s.LookupToken(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	a.Scopes[0] = "user:token"
	a.Enabled = false
	b, _, err := s.LookupToken(ctx, secret)
	if err != nil || b.Scopes[0] != "project:depot" || !b.Enabled {
		t.Fatalf("second lookup = %+v, %v; want the stored token", b, err)
	}
}

// TestLookupCacheStats: CacheStats counts a lookup the database answered
// as a miss, repeats as hits, and a write makes the next lookup a miss.
func TestLookupCacheStats(t *testing.T) {
	ctx := context.Background()
	s := mustOpenPath(t, filepath.Join(t.TempDir(), "depot.db"))
	mustCreateUser(t, s, "tester")
	tok, secret := mustCreateToken(t, s, &Token{Username: "tester", Scopes: []string{"user"}})
	lookup := func() {
		t.Helper()
		if _, _, err := s.LookupToken(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	before := s.CacheStats()
	for range 4 {
		lookup()
	}
	after := s.CacheStats()
	if hits, misses := after.Hits-before.Hits, after.Misses-before.Misses; hits != 3 || misses != 1 || after.Entries != 1 {
		t.Fatalf("after 4 lookups: %d hits, %d misses, %d entries; want 3, 1, 1", hits, misses, after.Entries)
	}
	if err := s.SetTokenEnabled(ctx, tok.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	lookup()
	if got := s.CacheStats(); got.Misses != after.Misses+1 || got.Hits != after.Hits {
		t.Fatalf("lookup after a write: %+v; want one more miss (from %+v)", got, after)
	}
}
