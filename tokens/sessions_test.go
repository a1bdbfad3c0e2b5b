package tokens

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	clk := withClock(s)
	mustCreateUser(t, s, "tester")
	mustCreateUser(t, s, "other")

	sess, secret, err := s.CreateSession(ctx, "TESTER", "10.0.0.1", "Firefox")
	if err != nil {
		t.Fatalf("CreateSession = %v", err)
	}
	if sess.Username != "tester" || len(secret) < 40 || strings.Contains(secret, sess.ID) {
		t.Fatalf("CreateSession = %+v, %q; want tester's, a long secret apart from the id", sess, secret)
	}

	t.Run("OK", func(t *testing.T) {
		clk.Advance(2 * time.Minute)
		got, u, err := s.SessionBySecret(ctx, secret, "10.0.0.2")
		if err != nil {
			t.Fatalf("SessionBySecret = %v", err)
		}
		if got.ID != sess.ID || u.GlobalKey != "tester" || got.IP != "10.0.0.2" || !got.LastSeen.Equal(clk.Now()) {
			t.Errorf("SessionBySecret = %+v, %+v; want the session seen now from 10.0.0.2", got, u)
		}
		list, err := s.ListSessions(ctx, "tester")
		if err != nil || len(list) != 1 || list[0].IP != "10.0.0.2" || list[0].UserAgent != "Firefox" {
			t.Errorf("ListSessions = %+v, %v; want the one session, touched", list, err)
		}
	})

	t.Run("ErrBadCredentials", func(t *testing.T) {
		for _, bad := range []string{"", "x", secret + "x", secret[1:]} {
			if _, _, err := s.SessionBySecret(ctx, bad, "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("SessionBySecret(%q) = %v; want ErrBadCredentials", bad, err)
			}
		}
	})

	t.Run("OnlyTheOwnerRevokes", func(t *testing.T) {
		if err := s.DeleteSession(ctx, "other", sess.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("DeleteSession by another user = %v; want ErrNotFound", err)
		}
		if _, _, err := s.SessionBySecret(ctx, secret, "10.0.0.1"); err != nil {
			t.Fatalf("after another user's DeleteSession, SessionBySecret = %v; want the session alive", err)
		}
		if err := s.DeleteSession(ctx, "tester", sess.ID); err != nil {
			t.Fatalf("DeleteSession = %v", err)
		}
		if _, _, err := s.SessionBySecret(ctx, secret, "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("revoked SessionBySecret = %v; want ErrBadCredentials", err)
		}
	})

	t.Run("Idle", func(t *testing.T) {
		_, secret, err := s.CreateSession(ctx, "tester", "10.0.0.1", strings.Repeat("é", MaxUserAgent))
		if err != nil {
			t.Fatal(err)
		}
		list, _ := s.ListSessions(ctx, "tester")
		if len(list) != 1 || len(list[0].UserAgent) > MaxUserAgent || !strings.HasPrefix(list[0].UserAgent, "éé") {
			t.Fatalf("ListSessions = %+v; want one session with the user agent clipped", list)
		}
		clk.Advance(SessionIdle)
		if _, _, err := s.SessionBySecret(ctx, secret, "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("idle SessionBySecret = %v; want ErrBadCredentials", err)
		}
		if list, _ := s.ListSessions(ctx, "tester"); len(list) != 0 {
			t.Errorf("ListSessions after idle = %+v; want none", list)
		}
		if n, err := s.DeleteIdleSessions(ctx); n != 1 || err != nil {
			t.Errorf("DeleteIdleSessions = %d, %v; want 1", n, err)
		}
	})
}
