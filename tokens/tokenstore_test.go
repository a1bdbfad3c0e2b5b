package tokens

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/auth/input"
)

func TestCreateToken(t *testing.T) {
	s := mustOpen(t)
	withClock(s)
	ctx := context.Background()
	mustCreateUser(t, s, "Tester")
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

	later := epoch.Add(time.Hour)
	for _, tt := range []struct {
		name  string
		in    Token
		want  Token // compared without ID
		err   error
		field string
	}{{
		name: "OKDefaults",
		in:   Token{Username: "Tester"},
		want: Token{Username: "Tester", Audience: "default", Scopes: []string{}, IPWhitelist: []string{},
			NotBefore: epoch, IssuedAt: epoch, Issuer: "Tester", Enabled: true},
	}, {
		name: "OKOwnerCaseCanonical",
		in:   Token{Username: "tester", Issuer: "admin"},
		want: Token{Username: "Tester", Audience: "default", Scopes: []string{}, IPWhitelist: []string{},
			NotBefore: epoch, IssuedAt: epoch, Issuer: "admin", Enabled: true},
	}, {
		name: "OKEverything",
		in: Token{Username: "Tester", Audience: "ci", Description: "CI", Issuer: "admin",
			Scopes:      []string{"user", "project:depot", "user"},
			IPWhitelist: []string{"10.0.0.0/8", "2001:db8::1"},
			NotBefore:   epoch.Add(time.Minute), ExpireTime: later.Add(123456 * time.Nanosecond)},
		want: Token{Username: "Tester", Audience: "ci", Description: "CI", Issuer: "admin",
			Scopes: []string{"user", "project:depot"}, IPWhitelist: []string{"10.0.0.0/8", "2001:db8::1"},
			NotBefore: epoch.Add(time.Minute), ExpireTime: later, IssuedAt: epoch, Enabled: true},
	}, {
		name: "ErrNotFound",
		in:   Token{Username: "nobody"},
		err:  ErrNotFound,
	}, {
		name: "ErrUsernameRequired", in: Token{}, err: input.ErrInvalid, field: "username",
	}, {
		name: "ErrExpireBeforeNotBefore", in: Token{Username: "Tester", NotBefore: later, ExpireTime: later},
		err: input.ErrInvalid, field: "expireTime",
	}, {
		name: "OKIPWhitelistCanonical", in: Token{Username: "Tester", IPWhitelist: []string{" 10.1.2.3/8", "::ffff:192.0.2.1", "10.0.0.0/8"}},
		want: Token{Username: "Tester", Audience: "default", Scopes: []string{}, IPWhitelist: []string{"10.0.0.0/8", "192.0.2.1"},
			NotBefore: epoch, IssuedAt: epoch, Issuer: "Tester", Enabled: true},
	}, {
		name: "ErrIPWhitelist", in: Token{Username: "Tester", IPWhitelist: []string{"10.0.0.300"}},
		err: input.ErrInvalid, field: "ipWhitelist",
	}, {
		name: "ErrIPWhitelistZone", in: Token{Username: "Tester", IPWhitelist: []string{"fe80::1%eth0"}},
		err: input.ErrInvalid, field: "ipWhitelist",
	}, {
		name: "ErrScope", in: Token{Username: "Tester", Scopes: []string{"has space"}},
		err: input.ErrInvalid, field: "scopes",
	}, {
		// Audiences and descriptions are counted in bytes, as the API
		// counts them, and refuse control characters there too.
		name: "OKLongestAudience", in: Token{Username: "Tester", Audience: strings.Repeat("a", MaxAudience)},
		want: Token{Username: "Tester", Audience: strings.Repeat("a", MaxAudience), Scopes: []string{}, IPWhitelist: []string{},
			NotBefore: epoch, IssuedAt: epoch, Issuer: "Tester", Enabled: true},
	}, {
		name: "ErrAudienceTooLong", in: Token{Username: "Tester", Audience: strings.Repeat("é", 128)},
		err: input.ErrInvalid, field: "audience",
	}, {
		name: "ErrAudienceControl", in: Token{Username: "Tester", Audience: "a\nb"},
		err: input.ErrInvalid, field: "audience",
	}, {
		name: "ErrDescriptionTooLongInBytes", in: Token{Username: "Tester", Description: strings.Repeat("é", 501)},
		err: input.ErrInvalid, field: "description",
	}, {
		name: "ErrDescriptionControl", in: Token{Username: "Tester", Description: "a\x00b"},
		err: input.ErrInvalid, field: "description",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			secret, err := s.CreateToken(ctx, &in)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("CreateToken(%+v) = %v; want %v", tt.in, err, tt.err)
			}
			if tt.field != "" {
				var ve *input.ValidationError
				if !errors.As(err, &ve) || ve.Field != tt.field {
					t.Errorf("CreateToken = %v; want a ValidationError of field %s", err, tt.field)
				}
			}
			if err != nil {
				if secret != "" {
					t.Errorf("CreateToken returned secret %q with an error", secret)
				}
				return
			}
			if !WellFormed(secret) {
				t.Errorf("CreateToken secret %q is not well formed", secret)
			}
			if !uuidRE.MatchString(in.ID) {
				t.Errorf("CreateToken ID = %q; want a UUIDv4", in.ID)
			}
			want := tt.want
			want.ID = in.ID
			if !reflect.DeepEqual(in, want) {
				t.Errorf("CreateToken set\n%+v; want\n%+v", in, want)
			}
			got, err := s.Token(ctx, in.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Token(%s) =\n%+v; want\n%+v", in.ID, *got, want)
			}
			lt, lu, err := s.LookupToken(ctx, secret)
			if err != nil || !reflect.DeepEqual(*lt, want) || lu.GlobalKey != "Tester" {
				t.Errorf("LookupToken = %+v, %+v, %v; want %+v and user Tester", lt, lu, err, want)
			}
		})
	}
}

func TestTokenErrNotFound(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	const id = "09e456c0-9b86-468c-b31d-3e963d3c024e"
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"Token", func() error { _, err := s.Token(ctx, id); return err }},
		{"SetTokenEnabled", func() error { return s.SetTokenEnabled(ctx, id, false, "") }},
		{"UpdateToken", func() error { _, err := s.UpdateToken(ctx, id, TokenUpdate{}); return err }},
		{"RegenerateToken", func() error { _, err := s.RegenerateToken(ctx, id, 0, ""); return err }},
		{"DeleteToken", func() error { return s.DeleteToken(ctx, id) }},
		{"DeleteUserTokens", func() error { _, err := s.DeleteUserTokens(ctx, "nobody"); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s(unknown) = %v; want ErrNotFound", tt.name, err)
			}
		})
	}
}

func TestLookupToken(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	mustCreateUser(t, s, "tester")
	_, good := mustCreateToken(t, s, &Token{Username: "tester"})
	unknown, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, secret string
		want         error
	}{
		{"OK", good, nil},
		{"ErrBadCredentialsUnknown", unknown, ErrBadCredentials},
		{"ErrMalformedEmpty", "", ErrMalformedToken},
		{"ErrMalformedPrefix", "ghp_" + good[4:], ErrMalformedToken},
		{"ErrMalformedChecksum", good[:39] + string(good[39]^1), ErrMalformedToken},
		{"ErrMalformedShort", good[:39], ErrMalformedToken},
		{"ErrMalformedLong", good + "a", ErrMalformedToken},
		{"ErrMalformedPassword", "secret-tester", ErrMalformedToken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.LookupToken(ctx, tt.secret)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("LookupToken(%q) = %v; want %v", tt.secret, err, tt.want)
			}
			if strings.Contains(fmt.Sprint(err), tt.secret) && tt.secret != "" {
				t.Errorf("LookupToken error %q contains the secret", err)
			}
		})
	}

	t.Run("MalformedWithoutDatabase", func(t *testing.T) {
		closed := mustOpen(t)
		if err := closed.db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := closed.LookupToken(ctx, "ghp_"+good[4:]); !errors.Is(err, ErrMalformedToken) {
			t.Errorf("LookupToken on a closed database = %v; want ErrMalformedToken", err)
		}
		if _, _, err := closed.LookupToken(ctx, unknown); errors.Is(err, ErrBadCredentials) || err == nil {
			t.Errorf("LookupToken(well formed) on a closed database = %v; want a database error", err)
		}
	})
}

// TestSecretNotStored scans every file of the database for the secrets in
// clear.
func TestSecretNotStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpenPath(t, filepath.Join(dir, "depot.db"))
	mustCreateUser(t, s, "tester")
	tok, first := mustCreateToken(t, s, &Token{Username: "tester"})
	second, err := s.RegenerateToken(ctx, tok.ID, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	scan := func(when string) {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) == 0 {
			t.Fatal("no database files")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{first, second} {
				if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte(secret[4:34])) {
					t.Errorf("%s: %s holds a secret in clear", when, filepath.Base(f))
				}
			}
		}
	}
	scan("open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	scan("closed")
}

func TestSetTokenEnabled(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	mustCreateUser(t, s, "tester")
	tok, secret := mustCreateToken(t, s, &Token{Username: "tester"})
	for _, enabled := range []bool{false, false, true} {
		t.Run(fmt.Sprintf("enabled=%t", enabled), func(t *testing.T) {
			if err := s.SetTokenEnabled(ctx, tok.ID, enabled, ""); err != nil {
				t.Fatal(err)
			}
			// LookupToken does not judge, but it reports the status at once.
			got, _, err := s.LookupToken(ctx, secret)
			if err != nil || got.Enabled != enabled {
				t.Errorf("LookupToken = %+v, %v; want Enabled=%t", got, err, enabled)
			}
		})
	}
}

func TestUpdateToken(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	mustCreateUser(t, s, "tester")
	tok, _ := mustCreateToken(t, s, &Token{Username: "tester", Description: "old",
		Scopes: []string{"user"}, IPWhitelist: []string{"10.0.0.1"}})

	str := func(s string) *string { return &s }
	list := func(l ...string) *[]string { return &l }
	for _, tt := range []struct {
		name  string
		u     TokenUpdate
		check func(*Token) bool
		err   error
	}{
		{"Nothing", TokenUpdate{}, func(t *Token) bool {
			return t.Description == "old" && slices.Equal(t.Scopes, []string{"user"}) && len(t.IPWhitelist) == 1
		}, nil},
		{"Description", TokenUpdate{Description: str("new")}, func(t *Token) bool {
			return t.Description == "new" && slices.Equal(t.Scopes, []string{"user"})
		}, nil},
		{"Scopes", TokenUpdate{Scopes: list("project:depot", "user:token", "project:depot")}, func(t *Token) bool {
			return t.Description == "new" && slices.Equal(t.Scopes, []string{"project:depot", "user:token"})
		}, nil},
		{"IPWhitelistEmpty", TokenUpdate{IPWhitelist: list()}, func(t *Token) bool {
			return t.IPWhitelist != nil && len(t.IPWhitelist) == 0 && len(t.Scopes) == 2
		}, nil},
		{"ErrIPWhitelist", TokenUpdate{Description: str("lost"), IPWhitelist: list("nope")}, nil, input.ErrInvalid},
		{"ErrDescriptionControl", TokenUpdate{Description: str("lost\n")}, nil, input.ErrInvalid},
		{"ErrDescriptionTooLongInBytes", TokenUpdate{Description: str(strings.Repeat("é", 501))}, nil, input.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.UpdateToken(ctx, tok.ID, tt.u)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("UpdateToken = %v; want %v", err, tt.err)
			}
			stored, err2 := s.Token(ctx, tok.ID)
			if err2 != nil {
				t.Fatal(err2)
			}
			if err != nil {
				if stored.Description == "lost" {
					t.Errorf("a failed UpdateToken changed the description")
				}
				return
			}
			if !reflect.DeepEqual(got, stored) || !tt.check(got) {
				t.Errorf("UpdateToken = %+v, stored %+v", got, stored)
			}
		})
	}
}

func TestRegenerateToken(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	mustCreateUser(t, s, "tester")
	tok, old := mustCreateToken(t, s, &Token{Username: "tester", Scopes: []string{"user"}})
	secret, err := s.RegenerateToken(ctx, tok.ID, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if secret == old || !WellFormed(secret) {
		t.Fatalf("RegenerateToken = %q (old %q)", secret, old)
	}
	if _, _, err := s.LookupToken(ctx, old); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("LookupToken(old) = %v; want ErrBadCredentials", err)
	}
	got, _, err := s.LookupToken(ctx, secret)
	if err != nil || got.ID != tok.ID || !slices.Equal(got.Scopes, tok.Scopes) {
		t.Errorf("LookupToken(new) = %+v, %v; want token %s", got, err, tok.ID)
	}
}

func TestDeleteTokens(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	mustCreateUser(t, s, "alice")
	mustCreateUser(t, s, "bob")
	mustCreateUser(t, s, "carol")
	a1, a1secret := mustCreateToken(t, s, &Token{Username: "alice"})
	for i := 0; i < 3; i++ {
		mustCreateToken(t, s, &Token{Username: "alice"})
	}
	mustCreateToken(t, s, &Token{Username: "bob"})

	t.Run("DeleteToken", func(t *testing.T) {
		if err := s.DeleteToken(ctx, a1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Token(ctx, a1.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Token(deleted) = %v; want ErrNotFound", err)
		}
		if _, _, err := s.LookupToken(ctx, a1secret); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("LookupToken(deleted) = %v; want ErrBadCredentials", err)
		}
		if err := s.DeleteToken(ctx, a1.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteToken(deleted) = %v; want ErrNotFound", err)
		}
	})
	for _, tt := range []struct {
		name, user string
		want       int
	}{
		{"Alice", "ALICE", 3},
		{"AliceAgain", "alice", 0},
		{"CarolNone", "carol", 0},
	} {
		t.Run("DeleteUserTokens"+tt.name, func(t *testing.T) {
			n, err := s.DeleteUserTokens(ctx, tt.user)
			if err != nil || n != tt.want {
				t.Errorf("DeleteUserTokens(%q) = %d, %v; want %d", tt.user, n, err, tt.want)
			}
		})
	}
	if total, _, err := s.ListTokens(ctx, ListOptions{}); err != nil || total != 1 {
		t.Errorf("ListTokens total = %d, %v; want bob's 1", total, err)
	}
	checkTokenCounts(t, s)
	// Deleting a user (no API yet) cascades to its tokens and their count.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE global_key = 'bob'`); err != nil {
		t.Fatal(err)
	}
	if total, _, err := s.ListTokens(ctx, ListOptions{Prefix: "b"}); err != nil || total != 0 {
		t.Errorf("ListTokens(prefix b) total = %d, %v after deleting bob; want 0", total, err)
	}
	checkTokenCounts(t, s)
}

// checkTokenCounts compares the trigger-kept token_counts with the tokens.
func checkTokenCounts(t *testing.T, s *Store) {
	t.Helper()
	read := func(q string) map[string]int {
		rows, err := s.db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]int{}
		for rows.Next() {
			var u string
			var n int
			if err := rows.Scan(&u, &n); err != nil {
				t.Fatal(err)
			}
			m[u] = n
		}
		return m
	}
	got := read(`SELECT username, n FROM token_counts WHERE n != 0`)
	want := read(`SELECT username, count(*) FROM tokens GROUP BY username`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("token_counts = %v; want %v", got, want)
	}
}

// listFixture makes tokens whose sort keys tie and differ in every way and
// returns them in issue order.
func listFixture(t *testing.T) (*Store, []*Token) {
	t.Helper()
	s := mustOpen(t)
	c := withClock(s)
	ctx := context.Background()
	for _, u := range []string{"alice", "bob", "a_b", "abc", "a.c", "Alice2"} {
		mustCreateUser(t, s, u)
	}
	owners := []string{"bob", "alice", "abc", "a_b", "alice", "bob", "a.c", "Alice2", "abc", "alice", "bob", "a_b"}
	audiences := []string{"x", "default", "x", "a", "default", "x"}
	var toks []*Token
	for i, owner := range owners {
		var expire time.Time
		if i%3 != 0 {
			expire = epoch.Add(time.Duration(10-i%4) * time.Hour)
		}
		tok, _ := mustCreateToken(t, s, &Token{Username: owner, Audience: audiences[i%len(audiences)], ExpireTime: expire})
		toks = append(toks, tok)
		if i%4 == 1 { // some issued in the same millisecond
			continue
		}
		c.Advance(time.Second)
	}
	// Uses: some tokens never, two at the same instant.
	for i, tok := range toks {
		switch i % 4 {
		case 0:
		case 1, 2:
			s.RecordTokenUse(tok.ID, fmt.Sprintf("10.0.0.%d", i), epoch.Add(time.Duration(i)*time.Minute))
		case 3:
			s.RecordTokenUse(tok.ID, "10.9.9.9", epoch.Add(time.Hour))
		}
	}
	if err := s.FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	for i, tok := range toks {
		got, err := s.Token(ctx, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		toks[i] = got
	}
	return s, toks
}

// sortKey returns the value a token sorts by, never as -1.
func sortKey(t *Token, key string) any {
	ms := func(x time.Time) int64 {
		if x.IsZero() {
			return -1
		}
		return x.UnixMilli()
	}
	switch key {
	case "username":
		return t.Username
	case "audience":
		return t.Audience
	case "issuedAt":
		return ms(t.IssuedAt)
	case "expireTime":
		return ms(t.ExpireTime)
	case "lastAccessTime":
		return ms(t.LastAccessTime)
	}
	return nil
}

func less(a, b any) bool {
	switch a := a.(type) {
	case string:
		return a < b.(string)
	case int64:
		return a < b.(int64)
	}
	return false
}

// wantList is the reference ListTokens: filter, stable sort on the key
// ascending, then reverse for descending (ties then fall newest first).
func wantList(all []*Token, opt ListOptions) []string {
	var ids []string
	var sel []*Token
	for _, t := range all {
		if (opt.Username == "" || t.Username == opt.Username) && strings.HasPrefix(t.Username, opt.Prefix) {
			sel = append(sel, t)
		}
	}
	if opt.Sort != "" {
		sort.SliceStable(sel, func(i, j int) bool { return less(sortKey(sel[i], opt.Sort), sortKey(sel[j], opt.Sort)) })
		if opt.Desc {
			slices.Reverse(sel)
		}
	}
	for _, t := range sel {
		ids = append(ids, t.ID)
	}
	return ids
}

func ids(toks []*Token) []string {
	var out []string
	for _, t := range toks {
		out = append(out, t.ID)
	}
	return out
}

func TestListTokensOrder(t *testing.T) {
	s, all := listFixture(t)
	ctx := context.Background()

	var opts []ListOptions
	for _, sortBy := range append([]string{""}, SortKeys()...) {
		for _, desc := range []bool{false, true} {
			for _, f := range []ListOptions{{}, {Prefix: "a"}, {Prefix: "a_"}, {Prefix: "ali"}, {Username: "bob"}, {Username: "alice", Prefix: "al"}} {
				f.Sort, f.Desc, f.PageSize = sortBy, desc, MaxPageSize
				opts = append(opts, f)
			}
		}
	}
	// Both ways of reading a filtered list: through the username index and
	// through the sort key's index.
	for _, walk := range []bool{false, true} {
		s.walkSortIndex = func(int, int, int) bool { return walk }
		for _, opt := range opts {
			name := fmt.Sprintf("walk=%t/sort=%s/desc=%t/prefix=%s/user=%s", walk, opt.Sort, opt.Desc, opt.Prefix, opt.Username)
			t.Run(name, func(t *testing.T) {
				want := wantList(all, opt)
				total, page, err := s.ListTokens(ctx, opt)
				if err != nil {
					t.Fatal(err)
				}
				if total != len(want) || !slices.Equal(ids(page), want) {
					t.Errorf("ListTokens(%+v) = %d, %v; want %d, %v", opt, total, ids(page), len(want), want)
				}
			})
		}
	}
	s.walkSortIndex = walkSortIndex

	t.Run("NaturalOrderIsIssueOrder", func(t *testing.T) {
		_, page, err := s.ListTokens(ctx, ListOptions{Desc: true, PageSize: 100})
		if err != nil || !slices.Equal(ids(page), ids(all)) {
			t.Errorf("ListTokens(natural, desc) = %v, %v; want oldest first %v", ids(page), err, ids(all))
		}
	})
	t.Run("NeverSortsSmallest", func(t *testing.T) {
		_, page, err := s.ListTokens(ctx, ListOptions{Sort: "lastAccessTime", PageSize: 100})
		if err != nil || !page[0].LastAccessTime.IsZero() || page[len(page)-1].LastAccessTime.IsZero() {
			t.Errorf("ListTokens(lastAccessTime asc) does not start with never-used tokens: %v", err)
		}
		_, page, err = s.ListTokens(ctx, ListOptions{Sort: "expireTime", Desc: true, PageSize: 100})
		if err != nil || !page[len(page)-1].ExpireTime.IsZero() || page[0].ExpireTime.IsZero() {
			t.Errorf("ListTokens(expireTime desc) does not end with tokens without expiry: %v", err)
		}
	})
	t.Run("PrefixIsLiteral", func(t *testing.T) {
		for _, p := range []string{"%", "a%", "_", "a_", "A", "ALICE"} {
			want := wantList(all, ListOptions{Prefix: p})
			total, page, err := s.ListTokens(ctx, ListOptions{Prefix: p, PageSize: 100})
			if err != nil || total != len(want) || !slices.Equal(ids(page), want) {
				t.Errorf("ListTokens(prefix %q) = %d, %v, %v; want %d", p, total, ids(page), err, len(want))
			}
		}
	})
}

func TestListTokensPaging(t *testing.T) {
	s, all := listFixture(t)
	ctx := context.Background()
	// Pages past the middle are read from the other end: every page of
	// every order, filtered or not, must still cut the one list.
	for _, c := range []struct {
		sort   string
		desc   bool
		prefix string
	}{{"", true, ""}, {"lastAccessTime", true, ""}, {"lastAccessTime", false, ""}, {"issuedAt", false, "a"}, {"username", true, "a"}} {
		for _, size := range []int{1, 5, 7, len(all), 1000} {
			t.Run(fmt.Sprintf("sort=%s/desc=%t/prefix=%s/size=%d", c.sort, c.desc, c.prefix, size), func(t *testing.T) {
				sortBy := c.sort
				want := wantList(all, ListOptions{Sort: sortBy, Desc: c.desc, Prefix: c.prefix})
				var got []string
				for no := 1; ; no++ {
					total, page, err := s.ListTokens(ctx, ListOptions{Sort: sortBy, Desc: c.desc, Prefix: c.prefix, PageNo: no, PageSize: size})
					if err != nil {
						t.Fatal(err)
					}
					if total != len(want) {
						t.Fatalf("page %d: total = %d; want %d", no, total, len(want))
					}
					if len(page) == 0 {
						if (no-1)*size < len(want) {
							t.Fatalf("page %d is empty before the end", no)
						}
						break
					}
					if len(page) > size {
						t.Fatalf("page %d holds %d tokens; want at most %d", no, len(page), size)
					}
					got = append(got, ids(page)...)
				}
				if !slices.Equal(got, want) {
					t.Errorf("pages = %v; want %v", got, want)
				}
			})
		}
	}
	for _, tt := range []struct {
		name      string
		opt       ListOptions
		wantTotal int
		wantLen   int
		err       error
	}{
		{"Defaults", ListOptions{}, len(all), DefaultPageSize, nil},
		{"BeyondTheEnd", ListOptions{PageNo: 100, PageSize: 10}, len(all), 0, nil},
		{"FarBeyondTheEnd", ListOptions{PageNo: math.MaxInt, PageSize: 1000}, len(all), 0, nil},
		{"NoMatch", ListOptions{Prefix: "zzz"}, 0, 0, nil},
		{"ErrSort", ListOptions{Sort: "id"}, 0, 0, input.ErrInvalid},
		{"ErrPageSize", ListOptions{PageSize: 1001}, 0, 0, input.ErrInvalid},
		{"ErrPageNo", ListOptions{PageNo: -1}, 0, 0, input.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			total, page, err := s.ListTokens(ctx, tt.opt)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("ListTokens(%+v) = %v; want %v", tt.opt, err, tt.err)
			}
			if total != tt.wantTotal || len(page) != tt.wantLen || (err == nil && page == nil) {
				t.Errorf("ListTokens(%+v) = %d, %d tokens; want %d, %d", tt.opt, total, len(page), tt.wantTotal, tt.wantLen)
			}
		})
	}
}
