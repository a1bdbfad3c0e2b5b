package tokens

import (
	"context"
	"testing"
	"time"

	"github.com/depot/depot/tokens/sqlite/dbtest"
)

func TestRecordTokenUse(t *testing.T) {
	ctx := context.Background()
	at := epoch.Add(time.Hour)

	for _, tt := range []struct {
		name   string
		record [][2]any // ip, time, in call order
		wantIP string
		wantAt time.Time
	}{
		{"One", [][2]any{{"10.0.0.1", at}}, "10.0.0.1", at},
		{"LatestWins", [][2]any{{"10.0.0.1", at}, {"10.0.0.2", at.Add(time.Second)}}, "10.0.0.2", at.Add(time.Second)},
		{"OlderIgnored", [][2]any{{"10.0.0.2", at.Add(time.Second)}, {"10.0.0.1", at}}, "10.0.0.2", at.Add(time.Second)},
		{"MillisecondPrecision", [][2]any{{"2001:db8::1", at.Add(1500 * time.Microsecond)}}, "2001:db8::1", at.Add(time.Millisecond)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpen(t)
			mustCreateUser(t, s, "tester")
			tok, _ := mustCreateToken(t, s, &Token{Username: "tester"})
			for _, r := range tt.record {
				s.RecordTokenUse(tok.ID, r[0].(string), r[1].(time.Time))
			}
			if err := s.FlushTokenUse(ctx); err != nil {
				t.Fatal(err)
			}
			_, page, err := s.ListTokens(ctx, ListOptions{})
			if err != nil || len(page) != 1 {
				t.Fatalf("ListTokens = %v, %v", page, err)
			}
			if got := page[0]; got.LastAccessIP != tt.wantIP || !got.LastAccessTime.Equal(tt.wantAt) {
				t.Errorf("last access = %s at %v; want %s at %v", got.LastAccessIP, got.LastAccessTime, tt.wantIP, tt.wantAt)
			}
		})
	}

	t.Run("OlderThanStoredIgnored", func(t *testing.T) {
		path := dbtest.Location(t)
		a, b := mustOpenPath(t, path), mustOpenPath(t, path)
		mustCreateUser(t, a, "tester")
		tok, _ := mustCreateToken(t, a, &Token{Username: "tester"})
		a.RecordTokenUse(tok.ID, "10.0.0.2", at.Add(time.Second))
		b.RecordTokenUse(tok.ID, "10.0.0.1", at)
		if err := a.FlushTokenUse(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.FlushTokenUse(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := b.Token(ctx, tok.ID)
		if err != nil || got.LastAccessIP != "10.0.0.2" {
			t.Errorf("Token = %+v, %v; want the later use from 10.0.0.2", got, err)
		}
	})

	t.Run("UnknownTokenIgnored", func(t *testing.T) {
		s := mustOpen(t)
		s.RecordTokenUse("09e456c0-9b86-468c-b31d-3e963d3c024e", "10.0.0.1", at)
		if err := s.FlushTokenUse(ctx); err != nil {
			t.Errorf("FlushTokenUse() = %v", err)
		}
	})

	t.Run("OneEntryPerToken", func(t *testing.T) {
		s := mustOpen(t)
		for i := 0; i < 10_000; i++ {
			s.RecordTokenUse("a", "10.0.0.1", at.Add(time.Duration(i)*time.Millisecond))
			s.RecordTokenUse("b", "10.0.0.1", at)
		}
		s.uses.mu.Lock()
		n := len(s.uses.m)
		s.uses.mu.Unlock()
		if n > 2 {
			t.Errorf("%d pending uses for 2 tokens", n)
		}
	})

	t.Run("CloseFlushes", func(t *testing.T) {
		path := dbtest.Location(t)
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		mustCreateUser(t, s, "tester")
		tok, _ := mustCreateToken(t, s, &Token{Username: "tester"})
		s.RecordTokenUse(tok.ID, "10.0.0.1", at)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := mustOpenPath(t, path).Token(ctx, tok.ID)
		if err != nil || got.LastAccessIP != "10.0.0.1" {
			t.Errorf("after Close and Open: Token = %+v, %v; want the use recorded", got, err)
		}
	})
}

// TestRecordTokenUseBackground checks that uses reach the database without
// FlushTokenUse (docs/api.md promises a second; the test allows 2 s on a
// busy machine), and that recording 1,000 uses a
// second for 2 s neither blocks the caller nor loses the latest use.
func TestRecordTokenUseBackground(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	mustCreateUser(t, s, "tester")
	var ids []string
	for i := 0; i < 10; i++ {
		tok, _ := mustCreateToken(t, s, &Token{Username: "tester"})
		ids = append(ids, tok.ID)
	}

	t.Run("VisibleWithin2s", func(t *testing.T) {
		at := time.Now()
		s.RecordTokenUse(ids[0], "192.0.2.1", at)
		deadline := time.Now().Add(2 * time.Second)
		for {
			_, page, err := s.ListTokens(ctx, ListOptions{Sort: "lastAccessTime", Desc: true, PageSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			if page[0].ID == ids[0] && page[0].LastAccessIP == "192.0.2.1" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("use not visible in ListTokens after 2 s")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("1000PerSecondFor2s", func(t *testing.T) {
		var slowest, total time.Duration
		var last time.Time
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		end := time.Now().Add(2 * time.Second)
		n := 0
		for time.Now().Before(end) {
			<-tick.C
			last = time.Now()
			start := time.Now()
			s.RecordTokenUse(ids[n%len(ids)], "198.51.100.7", last)
			d := time.Since(start)
			total += d
			slowest = max(slowest, d)
			n++
		}
		t.Logf("%d calls, mean %v, slowest %v", n, total/time.Duration(n), slowest)
		// Generous bounds for -race on a busy machine; a synchronous
		// database write would take milliseconds each.
		if mean := total / time.Duration(n); mean > 100*time.Microsecond {
			t.Errorf("RecordTokenUse took %v on average; want no I/O on the caller", mean)
		}
		if err := s.FlushTokenUse(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := s.Token(ctx, ids[(n-1)%len(ids)])
		if err != nil || got.LastAccessTime.UnixMilli() != last.UnixMilli() {
			t.Errorf("latest use = %v, %v; want %v", got.LastAccessTime, err, last)
		}
	})
}
