package tokens

import (
	"errors"
	"testing"
	"time"
)

func TestTokenWithin(t *testing.T) {
	now := epoch
	limit := &Token{
		Scopes:      []string{"project:depot", "user:token"},
		NotBefore:   now.Add(-time.Hour),
		ExpireTime:  now.Add(2 * time.Hour),
		IPWhitelist: []string{"10.0.0.0/8", "2001:db8::/32"},
	}
	// same returns a copy of limit changed by mod.
	same := func(mod func(*Token)) *Token {
		t := *limit
		if mod != nil {
			mod(&t)
		}
		return &t
	}
	for _, tc := range []struct {
		name  string
		tok   *Token
		limit *Token // nil: limit
		want  *WiderError
	}{
		{name: "Same", tok: same(nil)},
		{name: "Narrower", tok: same(func(t *Token) {
			t.Scopes = []string{"project:depot"}
			t.ExpireTime = now.Add(time.Hour)
			t.IPWhitelist = []string{"10.1.0.0/16", "2001:db8::1"}
		})},
		{name: "NoScopes", tok: same(func(t *Token) { t.Scopes = nil })},
		{name: "ErrScope", tok: same(func(t *Token) { t.Scopes = []string{"project:depot", "user"} }),
			want: &WiderError{Axis: AxisScopes, Scope: "user"}},
		{name: "ErrExpiresLater", tok: same(func(t *Token) { t.ExpireTime = now.Add(3 * time.Hour) }),
			want: &WiderError{Axis: AxisExpireTime}},
		{name: "ErrNeverExpires", tok: same(func(t *Token) { t.ExpireTime = time.Time{} }),
			want: &WiderError{Axis: AxisExpireTime}},
		{name: "AnyExpiryWithinNever", tok: same(func(t *Token) { t.ExpireTime = time.Time{} }),
			limit: same(func(t *Token) { t.ExpireTime = time.Time{} })},
		{name: "ExpiredLongAgo", tok: same(func(t *Token) { t.ExpireTime = now.Add(-time.Hour) })},
		{name: "ValidEarlierInThePast", tok: same(func(t *Token) { t.NotBefore = now.Add(-48 * time.Hour) })},
		{name: "ValidLater", tok: same(func(t *Token) { t.NotBefore = now.Add(time.Hour) })},
		{name: "ErrValidBeforeLimit", tok: same(func(t *Token) { t.NotBefore = now }),
			limit: same(func(t *Token) { t.NotBefore = now.Add(time.Hour) }),
			want:  &WiderError{Axis: AxisNotBefore}},
		{name: "ErrWhitelistEmpty", tok: same(func(t *Token) { t.IPWhitelist = nil }),
			want: &WiderError{Axis: AxisIPWhitelist}},
		{name: "ErrWhitelistAnywhere", tok: same(func(t *Token) { t.IPWhitelist = []string{"0.0.0.0/0"} }),
			want: &WiderError{Axis: AxisIPWhitelist, Entry: "0.0.0.0/0"}},
		{name: "ErrWhitelistV6Outside", tok: same(func(t *Token) { t.IPWhitelist = []string{"10.1.2.3", "2001:db9::1"} }),
			want: &WiderError{Axis: AxisIPWhitelist, Entry: "2001:db9::1"}},
		{name: "AnyWhitelistWithinEmpty", tok: same(func(t *Token) { t.IPWhitelist = nil }),
			limit: same(func(t *Token) { t.IPWhitelist = nil })},
		{name: "ErrScopeComesFirst", tok: same(func(t *Token) { t.Scopes = []string{"user"}; t.IPWhitelist = nil }),
			want: &WiderError{Axis: AxisScopes, Scope: "user"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := tc.limit
			if lim == nil {
				lim = limit
			}
			err := tc.tok.Within(lim, now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Within = %v; want nil", err)
				}
				return
			}
			var we *WiderError
			if !errors.As(err, &we) || *we != *tc.want || !errors.Is(err, ErrWider) {
				t.Fatalf("Within = %#v; want %#v", err, tc.want)
			}
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
		})
	}
}
