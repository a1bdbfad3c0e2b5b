package auth

import (
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseAuthorization(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, header string
		present, ok  bool
		want         Credentials
	}{
		{"Absent", "", false, true, Credentials{}},
		{"Basic", "Basic " + b64("tester:s3cret"), true, true, Credentials{Username: "tester", Secret: "s3cret"}},
		{"BasicColonInSecret", "basic " + b64("tester:a:b"), true, true, Credentials{Username: "tester", Secret: "a:b"}},
		{"Bearer", "Bearer dpt_x", true, true, Credentials{Secret: "dpt_x", Bearer: true}},
		{"TokenScheme", "token dpt_x", true, true, Credentials{Secret: "dpt_x", Bearer: true}},
		{"ErrBasicNoColon", "Basic " + b64("tester"), true, false, Credentials{}},
		{"ErrBasicEmptyUser", "Basic " + b64(":pw"), true, false, Credentials{}},
		{"ErrBasicNotBase64", "Basic ***", true, false, Credentials{}},
		{"ErrBearerEmpty", "Bearer ", true, false, Credentials{}},
		{"ErrBearerSpaces", "Bearer a b", true, false, Credentials{}},
		{"ErrScheme", "Negotiate abc", true, false, Credentials{}},
		{"ErrTooLong", "Bearer " + string(make([]byte, 5000)), true, false, Credentials{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			got, present, err := ParseAuthorization(r)
			if present != tc.present || (err == nil) != tc.ok || (tc.ok && got != tc.want) {
				t.Fatalf("ParseAuthorization(%q) = %+v, %v, %v; want %+v, %v, ok=%v", tc.header, got, present, err, tc.want, tc.present, tc.ok)
			}
		})
	}
}

func TestAddressAllowed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ip        string
		whitelist []string
		want      bool
	}{
		{"EmptyAllowsAll", "203.0.113.9", nil, true},
		{"ExactV4", "10.1.2.3", []string{"10.1.2.3"}, true},
		{"CIDRV4", "10.200.0.1", []string{"10.0.0.0/8"}, true},
		{"OutsideV4", "11.0.0.1", []string{"10.0.0.0/8"}, false},
		{"ExactV6", "2001:db8::1", []string{"2001:db8::1"}, true},
		{"CIDRV6", "2001:db8::beef", []string{"2001:db8::/32"}, true},
		{"OutsideV6", "2001:db9::1", []string{"2001:db8::/32"}, false},
		{"MappedV4", "::ffff:10.0.0.1", []string{"10.0.0.0/8"}, true},
		{"GarbageEntryAllowsNothing", "10.0.0.1", []string{"nonsense"}, false},
		{"GarbageAddress", "not-an-ip", []string{"10.0.0.0/8"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AddressAllowed(tc.ip, tc.whitelist); got != tc.want {
				t.Fatalf("AddressAllowed(%q, %v) = %v; want %v", tc.ip, tc.whitelist, got, tc.want)
			}
		})
	}
}

func TestParseWhitelistEntry(t *testing.T) {
	for _, bad := range []string{"", "10.0.0.0/33", "::1/129", "example.com", "fe80::1%eth0", "1.2.3"} {
		if _, err := ParseWhitelistEntry(bad); err == nil {
			t.Errorf("ParseWhitelistEntry(%q) = nil error; want one", bad)
		}
	}
	p, err := ParseWhitelistEntry("10.1.2.3/8")
	if err != nil || p.String() != "10.0.0.0/8" {
		t.Fatalf("ParseWhitelistEntry(10.1.2.3/8) = %v, %v; want 10.0.0.0/8", p, err)
	}
}

func TestWhitelistWithin(t *testing.T) {
	for _, tc := range []struct {
		name        string
		list, limit []string
		ok          bool
		outside     string
	}{
		{"AnyWithinAny", nil, nil, true, ""},
		{"RangeWithinAny", []string{"10.0.0.0/8"}, nil, true, ""},
		{"ErrAnyWithinRange", nil, []string{"10.0.0.0/8"}, false, ""},
		{"ErrEmptyWithinRange", []string{}, []string{"10.0.0.0/8"}, false, ""},
		{"Same", []string{"10.0.0.0/8"}, []string{"10.0.0.0/8"}, true, ""},
		{"Subnet", []string{"10.1.0.0/16"}, []string{"10.0.0.0/8"}, true, ""},
		{"AddressInRange", []string{"10.1.2.3"}, []string{"10.0.0.0/8"}, true, ""},
		{"SameAddress", []string{"192.0.2.1"}, []string{"192.0.2.1"}, true, ""},
		{"HostRouteIsAddress", []string{"192.0.2.1/32"}, []string{"192.0.2.1"}, true, ""},
		{"UnmaskedRange", []string{"10.1.2.3/16"}, []string{"10.1.0.0/16"}, true, ""},
		{"EachEntryInSomeEntry", []string{"10.1.0.0/16", "192.168.1.0/24"}, []string{"192.168.0.0/16", "10.0.0.0/8"}, true, ""},
		{"ErrSupernet", []string{"10.0.0.0/7"}, []string{"10.0.0.0/8"}, false, "10.0.0.0/7"},
		{"ErrAnywhereV4", []string{"0.0.0.0/0"}, []string{"10.0.0.0/8"}, false, "0.0.0.0/0"},
		{"ErrOneEntryOutside", []string{"10.1.0.0/16", "11.0.0.1"}, []string{"10.0.0.0/8"}, false, "11.0.0.1"},
		{"ErrRangeAcrossTwoEntries", []string{"10.0.0.0/8"}, []string{"10.0.0.0/9", "10.128.0.0/9"}, false, "10.0.0.0/8"},
		{"ErrAddressNotRange", []string{"10.0.0.0/8"}, []string{"10.0.0.0"}, false, "10.0.0.0/8"},
		{"V6Subnet", []string{"2001:db8:1::/48"}, []string{"2001:db8::/32"}, true, ""},
		{"V6Address", []string{"2001:db8::1"}, []string{"2001:db8::/32"}, true, ""},
		{"ErrV6Outside", []string{"2001:db9::/32"}, []string{"2001:db8::/32"}, false, "2001:db9::/32"},
		{"ErrV6Anywhere", []string{"::/0"}, []string{"2001:db8::/32"}, false, "::/0"},
		{"ErrV4InV6Range", []string{"10.0.0.1"}, []string{"::/0"}, false, "10.0.0.1"},
		{"ErrV6InV4Range", []string{"2001:db8::1"}, []string{"0.0.0.0/0"}, false, "2001:db8::1"},
		{"MappedAddressIsV4", []string{"::ffff:10.1.2.3"}, []string{"10.0.0.0/8"}, true, ""},
		{"ErrMappedAddressOutside", []string{"::ffff:11.1.2.3"}, []string{"10.0.0.0/8"}, false, "::ffff:11.1.2.3"},
		{"ErrMappedRangeIsV6", []string{"::ffff:10.0.0.0/104"}, []string{"10.0.0.0/8"}, false, "::ffff:10.0.0.0/104"},
		{"ErrLimitMappedRangeAdmitsNoV4", []string{"10.1.2.3"}, []string{"::ffff:10.0.0.0/104"}, false, "10.1.2.3"},
		{"GarbageEntryWidensNothing", []string{"nonsense", "10.1.2.3"}, []string{"10.0.0.0/8"}, true, ""},
		{"ErrGarbageLimitAdmitsNothing", []string{"10.1.2.3"}, []string{"nonsense"}, false, "10.1.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outside, ok := WhitelistWithin(tc.list, tc.limit)
			if ok != tc.ok || outside != tc.outside {
				t.Fatalf("WhitelistWithin(%q, %q) = %q, %v; want %q, %v", tc.list, tc.limit, outside, ok, tc.outside, tc.ok)
			}
			if !ok {
				return
			}
			// Within must agree with matching: no probe that list admits is refused by limit.
			for _, ip := range []string{"10.0.0.0", "10.1.2.3", "10.255.255.255", "11.0.0.1", "192.0.2.1", "192.168.1.1",
				"::ffff:10.1.2.3", "2001:db8::1", "2001:db8:1::7", "2001:db9::1", "::1"} {
				if AddressAllowed(ip, tc.list) && !AddressAllowed(ip, tc.limit) {
					t.Fatalf("%s is admitted by %q but not by %q", ip, tc.list, tc.limit)
				}
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(3, 10*time.Second)
	l.setNow(func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if w := l.Blocked("1.2.3.4"); w != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail("1.2.3.4")
	}
	if w := l.Blocked("1.2.3.4"); w <= 0 || w > 10*time.Second {
		t.Fatalf("Blocked after burst = %v; want (0, 10s]", w)
	}
	if w := l.Blocked("5.6.7.8"); w != 0 {
		t.Fatalf("another address is blocked for %v", w)
	}
	now = now.Add(10 * time.Second)
	if w := l.Blocked("1.2.3.4"); w != 0 {
		t.Fatalf("still blocked after a refill: %v", w)
	}
	var nilLimiter *Limiter
	nilLimiter.Fail("x")
	if nilLimiter.Blocked("x") != 0 {
		t.Fatal("nil limiter blocks")
	}
}

func TestIdentityScopes(t *testing.T) {
	anon := &Identity{}
	if anon.HasScope(ScopeUser) || anon.Require(ScopeUser) != ErrCredentialsRequired {
		t.Fatal("anonymous identity holds a scope")
	}
	pw := &Identity{User: "u", Method: MethodPassword}
	if !pw.HasScope(ScopeProjectKey) || len(pw.HeldScopes()) != len(ScopeNames()) {
		t.Fatal("password identity does not hold every scope")
	}
	sess := &Identity{User: "u", Method: MethodSession}
	if !sess.InPerson() || !sess.HasScope(ScopeUserToken) || len(sess.HeldScopes()) != len(ScopeNames()) {
		t.Fatal("session identity does not hold every scope")
	}
	tok := &Identity{User: "u", Method: MethodToken, Scopes: []string{ScopeDepot}}
	if tok.HasScope(ScopeUser) || tok.Require(ScopeDepot) != nil || tok.Require(ScopeUser) == nil {
		t.Fatal("token identity scopes wrong")
	}
	for _, s := range ScopeNames() {
		if !ValidScope(s) {
			t.Fatalf("ValidScope(%q) = false", s)
		}
	}
	if ValidScope("repo") {
		t.Fatal("ValidScope(repo) = true")
	}
}

func TestLimiterUsers(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(10, time.Second).WithUserLimit(2, time.Minute)
	l.setNow(func() time.Time { return now })
	l.FailUser("Alice")
	l.FailUser("alice")
	if w := l.UserBlocked("ALICE"); w <= 0 || w > time.Minute {
		t.Fatalf("UserBlocked(alice) after 2 = %v; want (0, 1m]", w)
	}
	if w := l.UserBlocked("bob"); w != 0 {
		t.Fatalf("bob is blocked for %v by alice's failures", w)
	}
	if w := l.Blocked("alice"); w != 0 {
		t.Fatalf("a user's failures block the address %q", "alice")
	}
	long := strings.Repeat("x", 4000)
	l.FailUser(long + "1")
	if k := len(userKey(long)); k != maxUserKey {
		t.Fatalf("a 4000-byte name is kept in %d bytes; want %d", k, maxUserKey)
	}
	now = now.Add(time.Minute)
	if w := l.UserBlocked("alice"); w != 0 {
		t.Fatalf("alice still blocked after a refill: %v", w)
	}
}

func TestAddressKey(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not-an-ip", "not-an-ip"},
	} {
		if got := AddressKey(tc.ip); got != tc.want {
			t.Errorf("AddressKey(%q) = %q; want %q", tc.ip, got, tc.want)
		}
	}
	// One /64 is one client: failures from its addresses add up, and
	// the next /64 is another client.
	l := NewLimiter(2, time.Minute)
	l.Fail("2001:db8:1:2::1")
	l.Fail("2001:db8:1:2:ffff:ffff:ffff:ffff")
	if l.Blocked("2001:db8:1:2::99") == 0 {
		t.Fatal("an address of a /64 that failed twice is not blocked")
	}
	if w := l.Blocked("2001:db8:1:3::1"); w != 0 {
		t.Fatalf("the neighbouring /64 is blocked for %v", w)
	}
}

// TestLimiterBounded: a flood of new keys leaves the limiter with at most
// its limit of buckets, and what it keeps still blocks.
func TestLimiterBounded(t *testing.T) {
	l := NewLimiter(1, time.Hour)
	l.users.limit = 1000
	for i := 0; i < 5000; i++ {
		l.FailUser(fmt.Sprint("user", i))
		if n := len(l.users.m); n > 1000 {
			t.Fatalf("%d buckets tracked after %d keys; want at most 1000", n, i+1)
		}
	}
	if l.UserBlocked("user4999") == 0 {
		t.Fatal("the latest key is not blocked")
	}
}
