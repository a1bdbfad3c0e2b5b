package tokens

import (
	"context"
	"testing"
)

// TestLeaks finds live tokens, disabled ones included, and not the
// deleted, unknown or malformed; revoking deletes once and then is a
// no-op.
func TestLeaks(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	mustCreateUser(t, s, "tester")
	live, liveSecret := mustCreateToken(t, s, &Token{Username: "tester", Scopes: []string{"project:depot"}})
	disabled, disabledSecret := mustCreateToken(t, s, &Token{Username: "tester", Scopes: []string{"project:depot"}})
	if err := s.SetTokenEnabled(ctx, disabled.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	deleted, deletedSecret := mustCreateToken(t, s, &Token{Username: "tester"})
	if err := s.DeleteToken(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	unknown, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	l := Leaks{Store: s}
	tests := []struct {
		name, secret, wantID string
	}{
		{"Live", liveSecret, live.ID},
		{"Disabled", disabledSecret, disabled.ID},
		{"Deleted", deletedSecret, ""},
		{"Unknown", unknown, ""},
		{"BadChecksum", liveSecret[:SecretLen-1] + string(rune(liveSecret[SecretLen-1])^1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.WellFormed(tt.secret); got != (tt.name != "BadChecksum") {
				t.Errorf("WellFormed = %v", got)
			}
			id, owner, found, err := l.LiveToken(ctx, tt.secret)
			if err != nil || id != tt.wantID || found != (tt.wantID != "") || (found && owner != "tester") {
				t.Errorf("LiveToken = %q, %q, %v, %v; want %q, tester", id, owner, found, err, tt.wantID)
			}
		})
	}
	for i := 0; i < 2; i++ {
		if err := l.RevokeToken(ctx, live.ID); err != nil {
			t.Fatalf("RevokeToken #%d = %v", i+1, err)
		}
	}
	if _, _, found, err := l.LiveToken(ctx, liveSecret); found || err != nil {
		t.Errorf("LiveToken after RevokeToken = %v, %v; want not found", found, err)
	}
}
