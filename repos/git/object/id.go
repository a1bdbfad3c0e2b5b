package object

import "github.com/go-git/go-git/v5/plumbing"

// Lengths of a SHA-1 object id.
const (
	// RawSize is the length of an object id in bytes, as trees, pack
	// indexes and commit-graphs store it.
	RawSize = 20
	// HexSize is the length of an object id written in hex.
	HexSize = 2 * RawSize
)

// ParseHex parses the HexSize hex digits of an object id, lowercase or
// uppercase as git's get_oid_hex accepts them: in objects, in the
// protocol and in refs. It reports false for anything else.
func ParseHex[T ~string | ~[]byte](s T) (plumbing.Hash, bool) {
	return parseHex(s, false)
}

// ParseLowerHex is ParseHex for places where the spelling itself is a
// name and git only ever writes lowercase: loose object file names, and
// the refs and push commands depot has always read strictly.
func ParseLowerHex[T ~string | ~[]byte](s T) (plumbing.Hash, bool) {
	return parseHex(s, true)
}

func parseHex[T ~string | ~[]byte](s T, lower bool) (plumbing.Hash, bool) {
	var h plumbing.Hash
	if len(s) != HexSize {
		return h, false
	}
	for i := range RawSize {
		hi, lo := unhex[s[2*i]], unhex[s[2*i+1]]
		if hi|lo == bad || lower && (s[2*i] >= 'A' && s[2*i] <= 'F' || s[2*i+1] >= 'A' && s[2*i+1] <= 'F') {
			return plumbing.Hash{}, false
		}
		h[i] = hi<<4 | lo
	}
	return h, true
}

// IsHex reports whether s is nothing but hex digits, in either case: an
// abbreviated object id once its length is checked.
func IsHex[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if unhex[s[i]] == bad {
			return false
		}
	}
	return true
}

// HasHexPrefix reports whether the lowercase hex spelling of h starts
// with prefix, without spelling h out.
func HasHexPrefix(h plumbing.Hash, prefix string) bool {
	const digits = "0123456789abcdef"
	if len(prefix) > HexSize {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		b := h[i/2]
		if i%2 == 0 {
			b >>= 4
		}
		if digits[b&0xf] != prefix[i] {
			return false
		}
	}
	return true
}

// FromRaw returns the object id stored as RawSize bytes in b, and false
// when b has another length.
func FromRaw(b []byte) (plumbing.Hash, bool) {
	var h plumbing.Hash
	if len(b) != RawSize {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

// bad marks a byte that is not a hex digit in unhex. Digits have values
// below 16, so hi|lo == bad only when one of them is bad.
const bad = 0xff

var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = bad
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
		t[c-'a'+'A'] = byte(c - 'a' + 10)
	}
	return t
}()
