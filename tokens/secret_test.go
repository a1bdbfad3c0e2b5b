package tokens

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestNewSecret(t *testing.T) {
	re := regexp.MustCompile(`^dpt_[0-9A-Za-z]{36}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		s, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(s) || len(s) != SecretLen || SecretLen != 40 {
			t.Fatalf("NewSecret() = %q; want dpt_ and 36 base62 characters", s)
		}
		if !WellFormed(s) {
			t.Fatalf("WellFormed(%q) = false", s)
		}
		if seen[s] {
			t.Fatalf("NewSecret() returned %q twice", s)
		}
		seen[s] = true
	}
}

func TestWellFormed(t *testing.T) {
	good, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, secret string
		want         bool
	}{
		{"OK", good, true},
		{"Empty", "", false},
		{"WrongPrefix", "ghp_" + good[4:], false},
		{"UpperPrefix", "DPT_" + good[4:], false},
		{"Short", good[:39], false},
		{"Long", good + "0", false},
		{"BadAlphabet", good[:10] + "-" + good[11:], false},
		{"Password", "correct horse battery staple", false},
		{"ChecksumZeroed", good[:34] + "000000", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := WellFormed(tt.secret); got != tt.want {
				t.Errorf("WellFormed(%q) = %t; want %t", tt.secret, got, tt.want)
			}
			_, err := ParseSecret(tt.secret)
			if got := !errors.Is(err, ErrMalformedToken); got != tt.want {
				t.Errorf("ParseSecret(%q) = %v", tt.secret, err)
			}
		})
	}

	// CRC32 catches every one-character change.
	t.Run("EverySubstitution", func(t *testing.T) {
		for i := len(SecretPrefix); i < SecretLen; i++ {
			for _, c := range []byte("0aZ9") {
				if good[i] == c {
					continue
				}
				bad := good[:i] + string(c) + good[i+1:]
				if WellFormed(bad) {
					t.Fatalf("WellFormed(%q) = true after changing position %d", bad, i)
				}
			}
		}
	})
}

func TestNewUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for i := 0; i < 100; i++ {
		id, err := newUUID()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(id) {
			t.Fatalf("newUUID() = %q; want a version 4 UUID", id)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"a", "b", true},
		{"user0", "user1", true},
		{"a_", "a`", true},
		{"a\xff", "b", true},
		{"\xff\xff", "", false},
	} {
		got, ok := prefixEnd(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("prefixEnd(%q) = %q, %t; want %q, %t", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && !(strings.HasPrefix(tt.in, tt.in) && tt.in < got) {
			t.Errorf("prefixEnd(%q) = %q is not above it", tt.in, got)
		}
	}
}
