package tokens

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// clock is a settable time source for Store.now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d and returns the new time.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// epoch is where test clocks start, a round millisecond.
var epoch = time.UnixMilli(1_575_527_903_578).UTC()

// mustOpen opens a Store on a new file in tb.TempDir and closes it at the
// end of the test. Passwords use bcrypt's minimum cost to keep tests fast.
func mustOpen(tb testing.TB) *Store {
	tb.Helper()
	return mustOpenPath(tb, dbtest.Location(tb))
}

func mustOpenPath(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open(%q) = %v", path, err)
	}
	s.bcryptCost = bcrypt.MinCost
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close() = %v", err)
		}
	})
	return s
}

// withClock makes s read time from a new clock starting at epoch.
func withClock(s *Store) *clock {
	c := &clock{t: epoch}
	s.now = c.Now
	return c
}

func mustCreateUser(tb testing.TB, s *Store, globalKey string) *User {
	tb.Helper()
	u := &User{GlobalKey: globalKey, Email: globalKey + "@example.com"}
	if err := s.CreateUser(context.Background(), u, "secret-"+globalKey); err != nil {
		tb.Fatalf("CreateUser(%q) = %v", globalKey, err)
	}
	return u
}

func mustCreateToken(tb testing.TB, s *Store, t *Token) (*Token, string) {
	tb.Helper()
	secret, err := s.CreateToken(context.Background(), t)
	if err != nil {
		tb.Fatalf("CreateToken(%+v) = %v", t, err)
	}
	return t, secret
}
