package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
)

// A secret reads "dpt_" + 30 base62 characters of crypto/rand randomness
// (about 178 bits) + 6 base62 characters of the CRC32 (IEEE) of those 30,
// after GitHub's token format
// (https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/).
// The checksum lets LookupToken turn away typos and junk without a database
// query, and the prefix lets secret scanners recognise a leaked token.
const (
	// SecretPrefix starts every depot token.
	SecretPrefix = "dpt_"
	// SecretLen is the length of every depot token.
	SecretLen = len(SecretPrefix) + randomLen + checksumLen

	randomLen   = 30
	checksumLen = 6
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// base62Value maps a byte to its digit value, or -1 outside the alphabet.
var base62Value = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(base62); i++ {
		v[base62[i]] = int8(i)
	}
	return v
}()

// NewSecret returns a fresh token secret. It fails only if crypto/rand does.
func NewSecret() (string, error) {
	var out [SecretLen]byte
	copy(out[:], SecretPrefix)
	random := out[len(SecretPrefix) : len(SecretPrefix)+randomLen]
	// Rejection sampling keeps every digit uniform: 248 = 4*62.
	var buf [48]byte
	for n := 0; n < randomLen; {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("tokens: new secret: %w", err)
		}
		for _, b := range buf {
			if b >= 248 {
				continue
			}
			random[n] = base62[b%62]
			if n++; n == randomLen {
				break
			}
		}
	}
	putChecksum(out[len(SecretPrefix)+randomLen:], crc32.ChecksumIEEE(random))
	return string(out[:]), nil
}

// putChecksum writes c as checksumLen base62 digits, most significant first.
// 62^6 > 2^32, so every CRC32 fits.
func putChecksum(dst []byte, c uint32) {
	for i := checksumLen - 1; i >= 0; i-- {
		dst[i] = base62[c%62]
		c /= 62
	}
}

// WellFormed reports whether s has the prefix, length, alphabet and checksum
// of a depot token. It says nothing about whether the token exists; use it
// to tell a token from a password without a database query.
func WellFormed(s string) bool {
	if len(s) != SecretLen || s[:len(SecretPrefix)] != SecretPrefix {
		return false
	}
	body := s[len(SecretPrefix):]
	for i := 0; i < len(body); i++ {
		if base62Value[body[i]] < 0 {
			return false
		}
	}
	var want [checksumLen]byte
	putChecksum(want[:], crc32.ChecksumIEEE([]byte(body[:randomLen])))
	return string(want[:]) == body[randomLen:]
}

// ParseSecret returns the lookup key of a token secret, its SHA-256, or
// ErrMalformedToken if s is not well formed.
func ParseSecret(s string) ([sha256.Size]byte, error) {
	if !WellFormed(s) {
		return [sha256.Size]byte{}, ErrMalformedToken
	}
	return hashSecret(s), nil
}

func hashSecret(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }

// newUUID returns a random (version 4) UUID as text.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("tokens: new id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
