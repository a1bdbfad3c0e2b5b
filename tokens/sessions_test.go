package tokens

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/auth/input"
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

// TestChangePassword: a new password ends every session of its user but
// the one kept, in the same change; other users' sessions and the user's
// tokens stay; a refused change changes nothing.
func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		keep      int // index of the tester session to keep; -1: none
		wantEnded int
	}{
		{"KeepsOne", 1, 2},
		{"EndsAll", -1, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpen(t)
			mustCreateUser(t, s, "tester")
			mustCreateUser(t, s, "other")
			var ids, secrets []string
			for range 3 {
				sess, secret, err := s.CreateSession(ctx, "tester", "10.0.0.1", "Firefox")
				if err != nil {
					t.Fatal(err)
				}
				ids, secrets = append(ids, sess.ID), append(secrets, secret)
			}
			_, otherSecret, err := s.CreateSession(ctx, "other", "10.0.0.2", "Chrome")
			if err != nil {
				t.Fatal(err)
			}
			_, tokenSecret := mustCreateToken(t, s, &Token{Username: "tester", Scopes: []string{"user"}})
			if _, _, err := s.LookupToken(ctx, tokenSecret); err != nil { // cached now
				t.Fatal(err)
			}

			keep := ""
			if tt.keep >= 0 {
				keep = ids[tt.keep]
			}
			ended, err := s.ChangePassword(ctx, "TESTER", "a new password", keep)
			if err != nil || ended != tt.wantEnded {
				t.Fatalf("ChangePassword(keep %q) = %d, %v; want %d ended", keep, ended, err, tt.wantEnded)
			}
			for i, secret := range secrets {
				_, _, err := s.SessionBySecret(ctx, secret, "10.0.0.1")
				if i == tt.keep && err != nil {
					t.Errorf("kept session %d: SessionBySecret = %v; want it alive", i, err)
				}
				if i != tt.keep && !errors.Is(err, ErrBadCredentials) {
					t.Errorf("session %d: SessionBySecret = %v; want ErrBadCredentials", i, err)
				}
			}
			if _, _, err := s.SessionBySecret(ctx, otherSecret, "10.0.0.2"); err != nil {
				t.Errorf("other user's session: SessionBySecret = %v; want it alive", err)
			}
			if _, _, err := s.LookupToken(ctx, tokenSecret); err != nil {
				t.Errorf("tester's token after the change: LookupToken = %v; want it to work", err)
			}
			if _, err := s.VerifyPassword(ctx, "tester", "secret-tester"); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("old password: VerifyPassword = %v; want ErrBadCredentials", err)
			}
			if _, err := s.VerifyPassword(ctx, "tester", "a new password"); err != nil {
				t.Errorf("new password: VerifyPassword = %v", err)
			}
		})
	}

	t.Run("Refused", func(t *testing.T) {
		s := mustOpen(t)
		mustCreateUser(t, s, "tester")
		_, secret, err := s.CreateSession(ctx, "tester", "10.0.0.1", "Firefox")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, user, password string
			want                 error
		}{
			{"ErrNotFound", "nobody", "a new password", ErrNotFound},
			{"ErrTooShort", "tester", "seven77", input.ErrInvalid},
			{"ErrTooShortInCharacters", "tester", "密码密码密码密", input.ErrInvalid}, // 21 bytes, 7 characters
			{"ErrTooLong", "tester", strings.Repeat("x", 73), input.ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.ChangePassword(ctx, tc.user, tc.password, ""); !errors.Is(err, tc.want) {
					t.Fatalf("ChangePassword(%q, %q) = %v; want %v", tc.user, tc.password, err, tc.want)
				}
				if _, _, err := s.SessionBySecret(ctx, secret, "10.0.0.1"); err != nil {
					t.Errorf("after a refused change, SessionBySecret = %v; want the session alive", err)
				}
				if _, err := s.VerifyPassword(ctx, "tester", "secret-tester"); err != nil {
					t.Errorf("after a refused change, VerifyPassword(old) = %v", err)
				}
			})
		}
	})
}

func TestCheckNewPassword(t *testing.T) {
	for _, tt := range []struct {
		password string
		ok       bool
	}{
		{"", false},
		{"1234567", false},
		{"12345678", true},
		{"密码密码密码密码", true}, // 8 characters
		{strings.Repeat("x", 72), true},
		{strings.Repeat("x", 73), false},
	} {
		err := CheckNewPassword(tt.password)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, input.ErrInvalid)) {
			t.Errorf("CheckNewPassword(%q) = %v; want ok %v", tt.password, err, tt.ok)
		}
	}
}
