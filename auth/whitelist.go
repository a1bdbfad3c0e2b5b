package auth

import "net/netip"

// WhitelistWithin reports whether every address that list admits, limit
// admits too, as AddressAllowed decides: an empty list admits every address;
// an entry is read by ParseWhitelistEntry, so a single address, v4-mapped or
// not, is that address, and a range stays in its own family (a v4-mapped
// range is an IPv6 range, which no client address falls in); an entry that
// does not parse admits nothing. When list is not within limit, outside is
// its first entry that limit does not cover, or "" when list is empty and
// limit is not.
func WhitelistWithin(list, limit []string) (outside string, ok bool) {
	if len(limit) == 0 {
		return "", true
	}
	if len(list) == 0 {
		return "", false
	}
	for _, entry := range list {
		p, err := ParseWhitelistEntry(entry)
		if err != nil {
			continue // admits nothing, so widens nothing
		}
		if !covered(p, limit) {
			return entry, false
		}
	}
	return "", true
}

// covered reports whether some entry of limit contains all of p.
func covered(p netip.Prefix, limit []string) bool {
	for _, entry := range limit {
		// Contains is false across families, as it is when matching.
		if q, err := ParseWhitelistEntry(entry); err == nil && q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
