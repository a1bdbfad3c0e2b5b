package tokens

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/depot/depot/tokens/sqlite/dbtest"
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
			// On SQLite the WAL file tells at once. On PostgreSQL the
			// other Store's notification travels through the server:
			// allow it notifyWithin, a fraction of cacheMaxAge.
			deadline := time.Now().Add(notifyWithin)
			for {
				got, _, err := server.LookupToken(ctx, secret)
				if tc.check(got, err) {
					break
				}
				if !dbtest.Postgres() || time.Now().After(deadline) {
					t.Fatalf("LookupToken after %s = %+v, %v; the cache hid the change", tc.name, got, err)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// notifyWithin is how soon a Store on PostgreSQL must see another's
// write: well under cacheMaxAge, so that a cache that missed the
// notification and waited for its entries to age fails the tests.
const notifyWithin = 750 * time.Millisecond

// TestLookupCacheAcrossStores checks the cache of two Stores on one
// database, as two depot processes (nodes, or the server and the CLI)
// have: each caches (lookups after the first are hits), and a token
// disabled or deleted through one is refused by the other at once on
// SQLite and within notifyWithin on PostgreSQL, where the Stores tell one
// another with LISTEN/NOTIFY.
func TestLookupCacheAcrossStores(t *testing.T) {
	ctx := context.Background()
	loc := dbtest.Location(t)
	a, b := mustOpenPath(t, loc), mustOpenPath(t, loc)
	mustCreateUser(t, a, "tester")
	for _, tc := range []struct {
		name   string
		change func(id string) error
		check  func(tok *Token, err error) bool
	}{
		{"Disable", func(id string) error { return a.SetTokenEnabled(ctx, id, false, "") }, disabled},
		{"Delete", func(id string) error { return a.DeleteToken(ctx, id) }, gone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, secret := mustCreateToken(t, a, &Token{Username: "tester", Scopes: []string{"user"}})
			// b caches once it listens (PostgreSQL) or at once (SQLite).
			before := b.CacheStats().Hits
			for deadline := time.Now().Add(5 * time.Second); b.CacheStats().Hits < before+2; {
				if _, _, err := b.LookupToken(ctx, secret); err != nil {
					t.Fatal(err)
				}
				if time.Now().After(deadline) {
					t.Fatalf("b never answers from its cache: %+v", b.CacheStats())
				}
			}
			start := time.Now()
			if err := tc.change(tok.ID); err != nil {
				t.Fatal(err)
			}
			for {
				got, _, err := b.LookupToken(ctx, secret)
				if tc.check(got, err) {
					t.Logf("b refuses the token %v after a's change", time.Since(start))
					break
				}
				if !dbtest.Postgres() || time.Since(start) > notifyWithin {
					t.Fatalf("b.LookupToken %v after a's change = %+v, %v; b's cache hid it", time.Since(start), got, err)
				}
				time.Sleep(time.Millisecond)
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
