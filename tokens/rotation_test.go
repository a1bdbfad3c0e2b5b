package tokens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// TestRegenerateGrace checks the grace window of a regeneration: both
// secrets work, the previous one (cached or not) until exactly GraceUntil,
// and a plain regeneration, a disable or a delete ends it at once.
func TestRegenerateGrace(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	c := withClock(s)
	mustCreateUser(t, s, "tester")

	lookup := func(secret string) (*Token, bool, error) {
		t.Helper()
		tok, _, prev, err := s.lookup(ctx, secret)
		return tok, prev, err
	}
	tok, old := mustCreateToken(t, s, &Token{Username: "tester", Description: "CI", Scopes: []string{"project:depot"},
		IPWhitelist: []string{"10.0.0.0/8"}, LockOnNewNetwork: true})

	t.Run("ErrGraceOutOfRange", func(t *testing.T) {
		for _, g := range []time.Duration{-time.Second, MaxGrace + time.Second} {
			if _, err := s.RegenerateToken(ctx, tok.ID, g, ""); err == nil {
				t.Errorf("RegenerateToken(grace %v) = nil; want an error", g)
			}
		}
		if _, prev, err := lookup(old); err != nil || prev {
			t.Fatalf("a refused regeneration changed the secret: %v, %v", prev, err)
		}
	})

	secret, err := s.RegenerateToken(ctx, tok.ID, time.Hour, "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	got, prev, err := lookup(secret)
	if err != nil || prev {
		t.Fatalf("new secret: prev=%v, %v", prev, err)
	}
	if want := epoch.Add(time.Hour); !got.GraceUntil.Equal(want) {
		t.Errorf("GraceUntil = %v; want %v", got.GraceUntil, want)
	}
	if got.Description != "CI" || !slices.Equal(got.Scopes, []string{"project:depot"}) ||
		!slices.Equal(got.IPWhitelist, []string{"10.0.0.0/8"}) || !got.LockOnNewNetwork {
		t.Errorf("regeneration lost the token's settings: %+v", got)
	}
	for i := 0; i < 2; i++ { // the second comes from the cache
		if got, prev, err := lookup(old); err != nil || !prev || got.ID != tok.ID {
			t.Fatalf("old secret in the window (round %d): %+v, prev=%v, %v", i, got, prev, err)
		}
	}
	c.Advance(time.Hour - time.Millisecond)
	if _, prev, err := lookup(old); err != nil || !prev {
		t.Fatalf("old secret 1 ms before the end: prev=%v, %v", prev, err)
	}
	c.Advance(time.Millisecond)
	if _, _, err := lookup(old); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old secret at the end of the window = %v; want ErrBadCredentials", err)
	}
	if _, _, err := lookup(secret); err != nil {
		t.Fatalf("new secret after the window: %v", err)
	}

	// A regeneration without grace kills the previous secret too.
	third, err := s.RegenerateToken(ctx, tok.ID, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, prev, err := lookup(secret); err != nil || !prev {
		t.Fatalf("second secret in its window: prev=%v, %v", prev, err)
	}
	fourth, err := s.RegenerateToken(ctx, tok.ID, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{old, secret, third} {
		if _, _, err := lookup(sec); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("secret after a plain regeneration = %v; want ErrBadCredentials", err)
		}
	}
	if got, _, err := lookup(fourth); err != nil || !got.GraceUntil.IsZero() {
		t.Fatalf("after a plain regeneration: %+v, %v; want no grace", got, err)
	}

	// Disable and delete apply to the previous secret at once.
	fifth, err := s.RegenerateToken(ctx, tok.ID, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := lookup(fourth); got == nil || !got.Enabled {
		t.Fatal("previous secret does not work")
	}
	if err := s.SetTokenEnabled(ctx, tok.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	if got, _, err := lookup(fourth); err != nil || got.Enabled {
		t.Fatalf("previous secret after disable: %+v, %v; want the disabled token", got, err)
	}
	if err := s.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{fourth, fifth} {
		if _, _, err := lookup(sec); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("secret after delete = %v; want ErrBadCredentials", err)
		}
	}
}

// events returns the kinds and addresses of the token's events, newest
// first.
func events(t *testing.T, s *Store, id string) []string {
	t.Helper()
	_, page, err := s.TokenEvents(context.Background(), id, 1, MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(page))
	for i, e := range page {
		out[i] = e.Kind + " " + e.IP
	}
	return out
}

func TestTokenEvents(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	c := withClock(s)
	mustCreateUser(t, s, "tester")
	tok, _ := mustCreateToken(t, s, &Token{Username: "tester"})

	if _, err := s.RegenerateToken(ctx, tok.ID, 0, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if err := s.SetTokenEnabled(ctx, tok.ID, false, "192.0.2.2"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if err := s.SetTokenEnabled(ctx, tok.ID, false, "192.0.2.3"); err != nil { // no change, no event
		t.Fatal(err)
	}
	if err := s.SetTokenEnabled(ctx, tok.ID, true, "192.0.2.4"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if err := s.AddTokenEvent(ctx, tok.ID, "2001:db8::1", EventRulesRefused); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTokenEvent(ctx, tok.ID, "", "bogus"); err == nil {
		t.Error("AddTokenEvent of an unknown kind = nil; want an error")
	}
	want := []string{"rules-refused 2001:db8::1", "disabled 192.0.2.2", "regenerated 192.0.2.1"}
	if got := events(t, s, tok.ID); !slices.Equal(got, want) {
		t.Fatalf("events = %q; want %q", got, want)
	}

	t.Run("Paging", func(t *testing.T) {
		total, page, err := s.TokenEvents(ctx, tok.ID, 2, 2)
		if err != nil || total != 3 || len(page) != 1 || page[0].Kind != EventRegenerated || !page[0].Time.Equal(epoch) {
			t.Fatalf("page 2 of 2 = %d %+v %v", total, page, err)
		}
		total, page, err = s.TokenEvents(ctx, tok.ID, 3, 2)
		if err != nil || total != 3 || page == nil || len(page) != 0 {
			t.Fatalf("page 3 of 2 = %d %+v %v; want an empty page", total, page, err)
		}
		for _, bad := range [][2]int{{0, 10}, {1, 0}, {1, MaxPageSize + 1}} {
			if _, _, err := s.TokenEvents(ctx, tok.ID, bad[0], bad[1]); err == nil {
				t.Errorf("TokenEvents(%d, %d) = nil error", bad[0], bad[1])
			}
		}
		if _, _, err := s.TokenEvents(ctx, "no-such-token", 1, 10); !errors.Is(err, ErrNotFound) {
			t.Errorf("TokenEvents of an unknown token = %v; want ErrNotFound", err)
		}
	})

	t.Run("Bounded", func(t *testing.T) {
		busy, _ := mustCreateToken(t, s, &Token{Username: "tester"})
		n := MaxTokenEvents + 25
		for i := 0; i < n; i++ {
			c.Advance(time.Millisecond)
			if err := s.AddTokenEvent(ctx, busy.ID, fmt.Sprintf("10.0.%d.%d", i/256, i%256), EventGraceSecretUsed); err != nil {
				t.Fatal(err)
			}
		}
		total, page, err := s.TokenEvents(ctx, busy.ID, 1, 1)
		if err != nil || total != MaxTokenEvents {
			t.Fatalf("total = %d, %v; want %d", total, err, MaxTokenEvents)
		}
		if last := fmt.Sprintf("10.0.%d.%d", (n-1)/256, (n-1)%256); page[0].IP != last {
			t.Fatalf("newest event from %s; want %s", page[0].IP, last)
		}
	})

	t.Run("DeletedWithToken", func(t *testing.T) {
		if err := s.DeleteToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.db.QueryRow(`SELECT count(*) FROM token_events e LEFT JOIN tokens t ON t.seq = e.token_seq WHERE t.seq IS NULL`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d orphan events, %v", n, err)
		}
		// An event queued for a token deleted meanwhile is dropped.
		if err := s.AddTokenEvent(ctx, tok.ID, "", EventRulesRefused); err != nil {
			t.Fatal(err)
		}
		if err := s.FlushTokenUse(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestNewNetwork drives Store.TokenUsed as the authenticator does: the
// first use sets the first network, a use inside a known network records
// nothing, one outside records one new-network event, and the networks
// survive in the database for another Store on the file.
func TestNewNetwork(t *testing.T) {
	ctx := context.Background()
	path := dbtest.Location(t)
	s := mustOpenPath(t, path)
	withClock(s)
	mustCreateUser(t, s, "tester")
	tok, secret := mustCreateToken(t, s, &Token{Username: "tester"})

	use := func(s *Store, ip string, flush bool) error {
		t.Helper()
		got, _, prev, err := s.lookup(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		err = s.TokenUsed(ctx, Use{Token: got, Previous: prev, IP: ip, At: s.now()})
		if flush {
			if err := s.FlushTokenUse(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return err
	}
	for _, step := range []struct {
		ip    string
		flush bool
	}{
		{"10.1.2.3", false},     // first use: the first network, no alert
		{"10.1.2.200", false},   // same /24, before the flush
		{"10.1.3.1", false},     // new: alert
		{"10.1.3.2", true},      // known, though not written yet
		{"10.1.2.4", true},      // known from the database
		{"2001:db8:1::1", true}, // new: alert
		{"2001:db8:1:ffff::9", true},
		{"::ffff:10.1.3.77", true}, // a v4-mapped address is its IPv4 network
	} {
		if err := use(s, step.ip, step.flush); err != nil {
			t.Fatalf("use from %s = %v", step.ip, err)
		}
	}
	want := []string{"new-network 2001:db8:1::1", "new-network 10.1.3.1"}
	if got := events(t, s, tok.ID); !slices.Equal(got, want) {
		t.Fatalf("events = %q; want %q", got, want)
	}

	other := mustOpenPath(t, path)
	if err := use(other, "10.1.3.9", true); err != nil {
		t.Fatal(err)
	}
	if err := other.SetNetworkBits(32, 128); err != nil {
		t.Fatal(err)
	}
	if err := use(other, "10.1.3.10", true); err != nil {
		t.Fatal(err)
	}
	want = append([]string{"new-network 10.1.3.10"}, want...)
	if got := events(t, other, tok.ID); !slices.Equal(got, want) {
		t.Fatalf("events seen by another Store = %q; want %q", got, want)
	}
	for _, bad := range [][2]int{{7, 48}, {33, 48}, {24, 15}, {24, 129}} {
		if err := s.SetNetworkBits(bad[0], bad[1]); err == nil {
			t.Errorf("SetNetworkBits(%d, %d) = nil", bad[0], bad[1])
		}
	}
}

// TestLockOnNewNetwork: a locking token's first use from a new network is
// refused, disables it with events naming the address, and its owner
// enabling it again accepts that network.
func TestLockOnNewNetwork(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	withClock(s)
	mustCreateUser(t, s, "tester")
	tok, secret := mustCreateToken(t, s, &Token{Username: "tester", LockOnNewNetwork: true})
	use := func(ip string) error {
		t.Helper()
		got, _, prev, err := s.lookup(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Enabled {
			return errors.New("disabled")
		}
		return s.TokenUsed(ctx, Use{Token: got, Previous: prev, IP: ip, At: s.now()})
	}
	if err := use("10.1.2.3"); err != nil {
		t.Fatalf("first use = %v", err)
	}
	if err := use("10.1.2.4"); err != nil {
		t.Fatalf("use from the first network = %v", err)
	}
	if err := use("10.9.9.9"); !errors.Is(err, ErrLocked) {
		t.Fatalf("use from a new network = %v; want ErrLocked", err)
	}
	if err := use("10.1.2.3"); err == nil {
		t.Fatal("a locked token still works")
	}
	want := []string{"new-network 10.9.9.9", "disabled 10.9.9.9"}
	got := events(t, s, tok.ID)
	slices.Sort(got) // same millisecond: the order between the two is the insert's
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("events = %q; want %q", got, want)
	}
	if err := s.SetTokenEnabled(ctx, tok.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"10.9.9.1", "10.1.2.3"} {
		if err := use(ip); err != nil {
			t.Fatalf("use from %s after the owner enabled it = %v", ip, err)
		}
	}
}

// TestGraceSecretUses: each use of a previous secret is counted and
// recorded as an event.
func TestGraceSecretUses(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	withClock(s)
	mustCreateUser(t, s, "tester")
	tok, old := mustCreateToken(t, s, &Token{Username: "tester"})
	secret, err := s.RegenerateToken(ctx, tok.ID, time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{old, secret, old, old} {
		got, _, prev, err := s.lookup(ctx, sec)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.TokenUsed(ctx, Use{Token: got, Previous: prev, IP: "192.0.2.7", At: s.now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Token(ctx, tok.ID)
	if err != nil || got.GraceUses != 3 {
		t.Fatalf("GraceUses = %d, %v; want 3", got.GraceUses, err)
	}
	n := 0
	for _, e := range events(t, s, tok.ID) {
		if e == "grace-secret-used 192.0.2.7" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d grace-secret-used events; want 3", n)
	}
}

// BenchmarkTokenUsed measures what every authenticated request now does
// after the lookup, against RecordTokenUse alone: the network check is
// in memory.
func BenchmarkTokenUsed(b *testing.B) {
	ctx := context.Background()
	s := mustOpen(b)
	mustCreateUser(b, s, "tester")
	_, secret := mustCreateToken(b, s, &Token{Username: "tester"})
	tok, _, _, err := s.lookup(ctx, secret)
	if err != nil {
		b.Fatal(err)
	}
	tok.networks = []string{"10.0.0.0/24", "192.0.2.0/24", "2001:db8::/48"}
	at := time.Now()
	b.Run("RecordTokenUse", func(b *testing.B) {
		for b.Loop() {
			s.RecordTokenUse(tok.ID, "192.0.2.1", at)
		}
	})
	for _, ip := range []string{"192.0.2.1", "2001:db8::1"} {
		b.Run("TokenUsed/"+ip, func(b *testing.B) {
			for b.Loop() {
				if err := s.TokenUsed(ctx, Use{Token: tok, IP: ip, At: at}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
