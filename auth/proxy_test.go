package auth

import (
	"context"
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestParseProxies(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{" , ", "", true},
		{"10.0.0.0/8", "10.0.0.0/8", true},
		{"10.1.2.3/8, 192.0.2.7 ,2001:db8::/32", "10.0.0.0/8,192.0.2.7/32,2001:db8::/32", true},
		{"::ffff:10.0.0.1", "10.0.0.1/32", true},
		{"10.0.0.0/8,proxy.example", "", false},
		{"10.0.0.0/33", "", false},
		{"fe80::1%eth0", "", false},
	} {
		p, err := ParseProxies(tc.in)
		if (err == nil) != tc.ok || (tc.ok && p.String() != tc.want) {
			t.Errorf("ParseProxies(%q) = %q, %v; want %q, ok=%v", tc.in, p, err, tc.want, tc.ok)
		}
	}
}

func TestResolve(t *testing.T) {
	trusted, err := ParseProxies("10.0.0.0/8, 2001:db8:ffff::/48, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	type hdr = [][2]string
	for _, tc := range []struct {
		name    string
		proxies Proxies
		peer    string
		tls     bool
		headers hdr
		ip      string
		host    string // "" means the request's own, "example.test"
		scheme  string // "" means "http"
	}{
		// Nobody trusted: the peer, whatever it says.
		{"NoProxiesPeer", nil, "203.0.113.9:4000", false, nil, "203.0.113.9", "", ""},
		{"NoProxiesIgnoreXFF", nil, "10.0.0.1:4000", false, hdr{{"X-Forwarded-For", "198.51.100.1"}}, "10.0.0.1", "", ""},
		{"NoProxiesIgnoreHost", nil, "10.0.0.1:4000", false, hdr{{"X-Forwarded-Host", "evil.test"}, {"X-Forwarded-Proto", "https"}}, "10.0.0.1", "", ""},
		{"NoProxiesTLS", nil, "10.0.0.1:4000", true, nil, "10.0.0.1", "", "https"},
		{"PeerV6", nil, "[2001:db8::7]:4000", false, nil, "2001:db8::7", "", ""},
		{"PeerMappedV4", nil, "[::ffff:203.0.113.9]:4000", false, nil, "203.0.113.9", "", ""},

		// Spoofed headers from a peer that is not a proxy count for nothing.
		{"UntrustedPeerXFF", trusted, "203.0.113.9:1", false, hdr{{"X-Forwarded-For", "10.0.0.5"}}, "203.0.113.9", "", ""},
		{"UntrustedPeerRealIP", trusted, "203.0.113.9:1", false, hdr{{"X-Real-IP", "198.51.100.1"}}, "203.0.113.9", "", ""},
		{"UntrustedPeerForwarded", trusted, "203.0.113.9:1", false, hdr{{"Forwarded", "for=198.51.100.1;host=evil.test;proto=https"}}, "203.0.113.9", "", ""},
		{"UntrustedPeerHost", trusted, "203.0.113.9:1", false, hdr{{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-Host", "evil.test"}}, "203.0.113.9", "", ""},

		// A trusted proxy: the rightmost address that is not a proxy.
		{"XFFOne", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "198.51.100.1"}}, "198.51.100.1", "", ""},
		{"XFFSpoofedLeft", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "1.1.1.1, 198.51.100.1"}}, "198.51.100.1", "", ""},
		{"XFFChainOfProxies", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "1.1.1.1, 198.51.100.1, 10.9.9.9, 192.0.2.1"}}, "198.51.100.1", "", ""},
		{"XFFManyHeaders", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "1.1.1.1"}, {"X-Forwarded-For", "198.51.100.1, 10.2.2.2"}}, "198.51.100.1", "", ""},
		{"XFFAllTrustedLeftmost", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "10.3.3.3, 10.2.2.2"}}, "10.3.3.3", "", ""},
		{"XFFEmptyValue", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", ""}}, "10.0.0.1", "", ""},
		{"XFFGarbageStopsAtProxy", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "1.1.1.1, not-an-ip"}}, "10.0.0.1", "", ""},
		{"XFFGarbageBehindClient", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "junk, 198.51.100.1"}}, "198.51.100.1", "", ""},
		{"XFFGarbageBetweenProxies", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "1.1.1.1, unknown, 10.2.2.2"}}, "10.2.2.2", "", ""},
		{"XFFWithPort", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "198.51.100.1:5555"}}, "198.51.100.1", "", ""},
		{"XFFV6", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "2001:db8:1::5"}}, "2001:db8:1::5", "", ""},
		{"XFFV6Bracketed", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "[2001:db8:1::5]"}}, "2001:db8:1::5", "", ""},
		{"XFFV6WithPort", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "[2001:db8:1::5]:443"}}, "2001:db8:1::5", "", ""},
		{"XFFV6Zone", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "fe80::1%eth0"}}, "10.0.0.1", "", ""},
		{"XFFMapped", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "::ffff:198.51.100.1"}}, "198.51.100.1", "", ""},
		{"XFFV6ProxyRange", trusted, "[2001:db8:ffff::1]:1", false, hdr{{"X-Forwarded-For", "198.51.100.1, 2001:db8:ffff:0:1::2"}}, "198.51.100.1", "", ""},
		{"XFFMappedPeer", trusted, "[::ffff:10.0.0.1]:1", false, hdr{{"X-Forwarded-For", "198.51.100.1"}}, "198.51.100.1", "", ""},
		{"XFFWinsOverForwarded", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "198.51.100.1"}, {"Forwarded", "for=1.1.1.1"}}, "198.51.100.1", "", ""},
		{"XFFHostProto", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-Host", "git.example.com"}, {"X-Forwarded-Proto", "HTTPS"}}, "198.51.100.1", "git.example.com", "https"},
		{"XFFHostRightmost", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-Host", "evil.test, git.example.com:8443"}}, "198.51.100.1", "git.example.com:8443", ""},
		{"XFFBadHostIgnored", trusted, "10.0.0.1:1", false, hdr{{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-Host", "evil.test/path"}, {"X-Forwarded-Proto", "gopher"}}, "198.51.100.1", "", ""},
		{"XFFProtoHTTPOverTLS", trusted, "10.0.0.1:1", true, hdr{{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-Proto", "http"}}, "198.51.100.1", "", "http"},

		// X-Real-IP, when there is no X-Forwarded-For.
		{"RealIP", trusted, "10.0.0.1:1", false, hdr{{"X-Real-IP", "198.51.100.1"}}, "198.51.100.1", "", ""},
		{"RealIPGarbage", trusted, "10.0.0.1:1", false, hdr{{"X-Real-IP", "<script>"}}, "10.0.0.1", "", ""},
		{"RealIPV6", trusted, "10.0.0.1:1", false, hdr{{"X-Real-IP", "2001:db8:1::5"}}, "2001:db8:1::5", "", ""},

		// Forwarded (RFC 7239), when there is no X-Forwarded-For.
		{"ForwardedFor", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", "for=198.51.100.1"}}, "198.51.100.1", "", ""},
		{"ForwardedCase", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", "For=198.51.100.1;PROTO=https"}}, "198.51.100.1", "", "https"},
		{"ForwardedQuotedPort", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for="198.51.100.1:4711"`}}, "198.51.100.1", "", ""},
		{"ForwardedV6", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17", "", ""},
		{"ForwardedV6NoPort", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for="[2001:db8:cafe::17]"`}}, "2001:db8:cafe::17", "", ""},
		{"ForwardedV6Unbracketed", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for="2001:db8:cafe::17"`}}, "10.0.0.1", "", ""},
		{"ForwardedChain", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for=1.1.1.1, for=198.51.100.1;host=git.example.com;proto=https, for=10.2.2.2;host=internal;proto=http`}}, "198.51.100.1", "git.example.com", "https"},
		{"ForwardedHostFromRight", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for=198.51.100.1, for=10.2.2.2;host="git.example.com";proto=https`}}, "198.51.100.1", "git.example.com", "https"},
		{"ForwardedManyHeaders", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", "for=1.1.1.1"}, {"Forwarded", "for=198.51.100.1;by=10.0.0.1"}}, "198.51.100.1", "", ""},
		{"ForwardedUnknown", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", "for=1.1.1.1, for=unknown"}}, "10.0.0.1", "", ""},
		{"ForwardedObfuscated", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for=1.1.1.1, for="_hidden"`}}, "10.0.0.1", "", ""},
		{"ForwardedMissingFor", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", "for=1.1.1.1, proto=https"}}, "10.0.0.1", "", ""},
		{"ForwardedQuotedComma", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for=1.1.1.1;ext="a,b", for=198.51.100.1`}}, "198.51.100.1", "", ""},
		{"ForwardedEscapedQuote", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for=198.51.100.1;ext="a\"b"`}}, "198.51.100.1", "", ""},
		{"ForwardedUnterminated", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for=1.1.1.1, for="198.51.100.1`}}, "10.0.0.1", "", ""},
		{"ForwardedGarbageElement", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for=1.1.1.1, for=198.51.100.1;;junk`}}, "10.0.0.1", "", ""},
		{"ForwardedDuplicateFor", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for=198.51.100.1;for=1.1.1.1`}}, "10.0.0.1", "", ""},
		{"ForwardedTrailingComma", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for=198.51.100.1,`}}, "10.0.0.1", "", ""},
		{"ForwardedBadHost", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", `for=198.51.100.1;host="a b"`}}, "198.51.100.1", "", ""},
		{"ForwardedEmpty", trusted, "10.0.0.1:1", false, hdr{{"Forwarded", ""}}, "10.0.0.1", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://example.test/x", nil)
			r.RemoteAddr = tc.peer
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for _, h := range tc.headers {
				r.Header.Add(h[0], h[1])
			}
			host, scheme := tc.host, tc.scheme
			if host == "" {
				host = "example.test"
			}
			if scheme == "" {
				scheme = "http"
			}
			want := Client{IP: tc.ip, Host: host, Scheme: scheme}
			if got := tc.proxies.Resolve(r); got != want {
				t.Fatalf("Resolve = %+v; want %+v", got, want)
			}
			// ClientIP reads what the middleware stored, not the headers.
			if got := ClientIP(r.WithContext(WithClient(context.Background(), want))); got != tc.ip {
				t.Fatalf("ClientIP from the context = %q; want %q", got, tc.ip)
			}
		})
	}
}

// TestClientIPWithoutMiddleware: a request that no middleware resolved is
// its peer's, whatever headers it carries.
func TestClientIPWithoutMiddleware(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[::ffff:203.0.113.9]:4000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := ClientIP(r); got != "203.0.113.9" {
		t.Fatalf("ClientIP = %q; want the peer", got)
	}
}

func FuzzResolve(f *testing.F) {
	f.Add("for=198.51.100.1;proto=https", "1.1.1.1, 198.51.100.1")
	f.Add(`for="[2001:db8::1]:80";host="a\"b", for=unknown`, "")
	f.Add(`for="`, "[::1")
	trusted, _ := ParseProxies("10.0.0.0/8")
	f.Fuzz(func(t *testing.T, fwd, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:1"
		r.Header.Set("Forwarded", fwd)
		c := trusted.Resolve(r)
		if c.IP == "" || (c.Scheme != "http" && c.Scheme != "https") || !validHost(c.Host) {
			t.Fatalf("Resolve(Forwarded %q) = %+v", fwd, c)
		}
		r.Header.Set("X-Forwarded-For", xff)
		if c := trusted.Resolve(r); c.IP == "" {
			t.Fatalf("Resolve(X-Forwarded-For %q) = %+v", xff, c)
		}
	})
}
