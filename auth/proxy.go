package auth

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the peers whose forwarding headers (X-Forwarded-For,
// Forwarded, X-Real-IP, and the host and scheme that go with them) depot
// believes. The zero value trusts no peer: every request's client is its
// TCP peer, whatever headers it sends.
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of addresses and CIDR ranges,
// as --trusted-proxies takes it. Spaces around entries and empty entries
// are ignored; an entry that is neither an address nor a range is an error
// naming it.
func ParseProxies(s string) (Proxies, error) {
	var p Proxies
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		prefix, err := ParseWhitelistEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %w", err)
		}
		p = append(p, prefix)
	}
	return p, nil
}

// String returns p as ParseProxies reads it.
func (p Proxies) String() string {
	s := make([]string, len(p))
	for i, prefix := range p {
		s[i] = prefix.String()
	}
	return strings.Join(s, ",")
}

// Trusts reports whether a is one of p's proxies.
func (p Proxies) Trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, prefix := range p {
		if prefix.Contains(a) {
			return true
		}
	}
	return false
}

// Client is where a request came from, once trusted proxies are seen
// through: the client's address, and the host and scheme it asked for.
type Client struct {
	IP     string // the client's address, without port; the peer's when no trusted proxy forwarded the request
	Host   string // the Host the client sent: r.Host, or a trusted proxy's X-Forwarded-Host or Forwarded host=
	Scheme string // "http" or "https": TLS on the connection, or a trusted proxy's X-Forwarded-Proto or Forwarded proto=
}

// Resolve returns r's client. When r's peer is not a trusted proxy, that
// is the peer, r.Host and the connection's scheme, and forwarding headers
// count for nothing. When it is, the chain of addresses the proxies
// recorded is read from X-Forwarded-For (every such header, in order),
// or else Forwarded's for= (RFC 7239), or else X-Real-IP, and walked
// from the right: the first address that is not a trusted proxy is the
// client. An entry that is not an address (garbage, "unknown", an
// obfuscated node) ends the walk at the last trusted hop, which is then
// the client: nothing to the left of an entry that cannot be checked is
// believed. When every address is a trusted proxy, the leftmost is the
// client.
func (p Proxies) Resolve(r *http.Request) Client {
	c := Client{IP: peerIP(r.RemoteAddr), Host: r.Host, Scheme: connScheme(r.TLS)}
	peer, err := netip.ParseAddr(c.IP)
	if len(p) == 0 || err != nil || !p.Trusts(peer) {
		return c
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		c.IP = p.walk(peer, splitList(xff), parseNode)
		if h := lastOf(r.Header.Values("X-Forwarded-Host")); validHost(h) {
			c.Host = h
		}
		if s := lastOf(r.Header.Values("X-Forwarded-Proto")); validScheme(s) {
			c.Scheme = strings.ToLower(s)
		}
		return c
	}
	if fwd := r.Header.Values("Forwarded"); len(fwd) > 0 {
		elems := parseForwarded(fwd)
		fors := make([]string, len(elems))
		for i, e := range elems {
			fors[i] = e["for"]
		}
		var at int
		c.IP, at = p.walkAt(peer, fors, parseForwardedNode)
		// The host and scheme the client asked for are in its own
		// element, or failing that in the nearest one to its right,
		// written by a proxy that saw the client's request.
		for i := at; i < len(elems); i++ {
			if h := elems[i]["host"]; validHost(h) {
				c.Host = h
				break
			}
		}
		for i := at; i < len(elems); i++ {
			if s := elems[i]["proto"]; validScheme(s) {
				c.Scheme = strings.ToLower(s)
				break
			}
		}
		return c
	}
	if real := r.Header.Values("X-Real-IP"); len(real) > 0 {
		c.IP = p.walk(peer, splitList(real), parseNode)
	}
	return c
}

// walk is walkAt without the index.
func (p Proxies) walk(peer netip.Addr, chain []string, parse func(string) (netip.Addr, bool)) string {
	ip, _ := p.walkAt(peer, chain, parse)
	return ip
}

// walkAt walks chain from the right, starting from a trusted peer, and
// returns the client's address and the index of its entry (len(chain)
// when the client is the peer itself).
func (p Proxies) walkAt(peer netip.Addr, chain []string, parse func(string) (netip.Addr, bool)) (string, int) {
	last, at := peer, len(chain)
	for i := len(chain) - 1; i >= 0; i-- {
		a, ok := parse(chain[i])
		if !ok {
			break
		}
		last, at = a, i
		if !p.Trusts(a) {
			break
		}
	}
	return last.Unmap().String(), at
}

// splitList splits every value of a comma-separated header into trimmed
// entries, in order.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, e := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(e))
		}
	}
	return out
}

// lastOf returns the rightmost entry of a comma-separated header: the one
// the nearest proxy wrote.
func lastOf(values []string) string {
	list := splitList(values)
	if len(list) == 0 {
		return ""
	}
	return list[len(list)-1]
}

// parseNode reads an address as X-Forwarded-For and X-Real-IP carry it:
// bare, or with a port (1.2.3.4:5, [2001:db8::1]:5), or bracketed.
func parseNode(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() && a.Zone() == "" {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// parseForwardedNode reads Forwarded's for= node (RFC 7239, section 6):
// an IPv4 address or a bracketed IPv6 one, either with an optional port.
// "unknown" and obfuscated identifiers are not addresses.
func parseForwardedNode(s string) (netip.Addr, bool) {
	if strings.HasPrefix(s, "[") {
		host, _, ok := strings.Cut(s[1:], "]")
		if !ok {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	host, _, _ := strings.Cut(s, ":")
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// parseForwarded reads Forwarded headers (RFC 7239, section 4) into their
// elements, in order, each a map of lower-cased parameter names to
// values with quotes removed. An element with text that does not parse
// is kept empty, so that the chain's positions hold and nothing of it is
// believed.
func parseForwarded(values []string) []map[string]string {
	var elems []map[string]string
	for _, v := range values {
		elem := map[string]string{}
		broken := false
		for i := 0; i <= len(v); {
			if i == len(v) || v[i] == ',' {
				elems = append(elems, elem)
				elem, broken = map[string]string{}, false
				i++
				continue
			}
			if v[i] == ';' || v[i] == ' ' || v[i] == '\t' {
				i++
				continue
			}
			name, value, n, ok := forwardedPair(v[i:])
			i += n
			if broken || !ok {
				elem, broken = map[string]string{}, true
				continue
			}
			if _, seen := elem[name]; seen {
				// A parameter given twice in one element is
				// malformed: believe neither value.
				elem[name] = ""
				continue
			}
			elem[name] = value
		}
	}
	return elems
}

// forwardedPair reads one name=value pair at the start of s. It returns
// how many bytes it used, at least one, stopping before the ';' or ','
// that ends the pair; ok is false for text that is not a pair.
func forwardedPair(s string) (name, value string, n int, ok bool) {
	eq := strings.IndexAny(s, "=;,")
	if eq <= 0 || s[eq] != '=' {
		end := strings.IndexAny(s, ";,")
		if end < 0 {
			end = len(s)
		}
		return "", "", max(end, 1), false
	}
	name = strings.ToLower(strings.TrimSpace(s[:eq]))
	i := eq + 1
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		for i++; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				return name, b.String(), i + 1, true
			default:
				b.WriteByte(s[i])
			}
		}
		return "", "", len(s), false // unterminated quote
	}
	end := strings.IndexAny(s[i:], ";,")
	if end < 0 {
		end = len(s) - i
	}
	return name, strings.TrimSpace(s[i : i+end]), i + end, true
}

// validHost reports whether h can be a Host header: a name or address,
// with an optional port, and nothing that could end a URL's authority.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == '_', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

func validScheme(s string) bool {
	return strings.EqualFold(s, "http") || strings.EqualFold(s, "https")
}

func connScheme(t *tls.ConnectionState) string {
	if t != nil {
		return "https"
	}
	return "http"
}

// peerIP returns the address of a RemoteAddr, without the port.
func peerIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.Unmap().String()
	}
	return host
}

type clientKey struct{}

// WithClient returns ctx carrying c, the request's resolved client; the
// server's outermost middleware stores it once a request.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientOf returns r's client as the server resolved it, or, for a
// request that did not pass through that middleware, r's peer as it is.
func ClientOf(r *http.Request) Client {
	if c, ok := r.Context().Value(clientKey{}).(Client); ok {
		return c
	}
	return Proxies(nil).Resolve(r)
}

// ClientIP returns the address of r's client, without the port: its peer,
// or the client that a trusted proxy forwarded (see Proxies.Resolve).
func ClientIP(r *http.Request) string {
	return ClientOf(r).IP
}
