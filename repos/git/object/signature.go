package object

import (
	"bytes"
	"time"
)

// Signature is the author or committer of a commit, or the tagger of a
// tag: "Name <email> 1700000000 +0100".
type Signature struct {
	Name  string
	Email string
	// When is the recorded time, in the recorded time zone; the zero
	// time when the line has none.
	When time.Time
}

// parseSignature reads an identity line as git's split_ident_line does:
// the name runs to the first '<' (trailing spaces dropped), the email to
// the first '>' after it, and the date and zone follow the last '>'. A
// line without "<…>" gives the zero Signature.
func parseSignature(b []byte) Signature {
	lt := bytes.IndexByte(b, '<')
	if lt < 0 {
		return Signature{}
	}
	gt := bytes.IndexByte(b[lt+1:], '>')
	if gt < 0 {
		return Signature{}
	}
	gt += lt + 1
	s := Signature{
		Name:  string(bytes.TrimRight(b[:lt], gitSpace)),
		Email: string(b[lt+1 : gt]),
	}
	// A date counts only with its zone after it (split_ident_line).
	rest := skipSpace(b[bytes.LastIndexByte(b, '>')+1:])
	secs, rest, ok := parseTimestamp(rest)
	if !ok {
		return s
	}
	rest = skipSpace(rest)
	if len(rest) < 2 || rest[0] != '+' && rest[0] != '-' {
		return s
	}
	tz, _, ok := parseTimestamp(rest[1:])
	if !ok || tz > 999999 {
		return s
	}
	offset := int(tz/100*3600 + tz%100*60)
	if rest[0] == '-' {
		offset = -offset
	}
	s.When = time.Unix(secs, 0).In(time.FixedZone("", offset))
	return s
}

// parseTimestamp reads the decimal digits at the start of b. It reports
// false when there are none or they overflow an int64.
func parseTimestamp(b []byte) (int64, []byte, bool) {
	var n int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := int64(b[i] - '0')
		if n > (1<<63-1-d)/10 {
			return 0, b, false
		}
		n = n*10 + d
	}
	return n, b[i:], i > 0
}

// gitSpace is what git's isspace matches.
const gitSpace = " \t\n\r"

// skipSpace drops the white space at the start of b.
func skipSpace(b []byte) []byte {
	return bytes.TrimLeft(b, gitSpace)
}
