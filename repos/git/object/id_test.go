package object

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func TestParseHex(t *testing.T) {
	const lower = "0123456789abcdef0123456789abcdef01234567"
	want := plumbing.NewHash(lower)
	for _, tc := range []struct {
		name      string
		in        string
		ok, lower bool
	}{
		{"Lower", lower, true, true},
		{"Upper", strings.ToUpper(lower), true, false},
		{"Mixed", "0123456789ABCDEF0123456789abcdef01234567", true, false},
		{"Short", lower[:39], false, false},
		{"Long", lower + "0", false, false},
		{"Empty", "", false, false},
		{"NotHex", lower[:39] + "g", false, false},
		{"Space", " " + lower[1:], false, false},
		{"High", lower[:39] + "\xff", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := ParseHex(tc.in)
			if ok != tc.ok || ok && h != want {
				t.Errorf("ParseHex(%q) = %s, %v; want %s, %v", tc.in, h, ok, want, tc.ok)
			}
			if hb, okb := ParseHex([]byte(tc.in)); hb != h || okb != ok {
				t.Errorf("ParseHex([]byte(%q)) = %s, %v; want %s, %v", tc.in, hb, okb, h, ok)
			}
			if h, ok := ParseLowerHex(tc.in); ok != tc.lower || ok && h != want || !ok && !h.IsZero() {
				t.Errorf("ParseLowerHex(%q) = %s, %v; want %v", tc.in, h, ok, tc.lower)
			}
			if IsHex(tc.in) != (tc.ok || tc.name == "Short" || tc.name == "Long" || tc.name == "Empty") {
				t.Errorf("IsHex(%q) = %v", tc.in, IsHex(tc.in))
			}
		})
	}
}

func TestHasHexPrefix(t *testing.T) {
	h := plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
	for _, tc := range []struct {
		prefix string
		want   bool
	}{
		{"", true}, {"0", true}, {"01", true}, {"012", true}, {"0123456789abcdef0123456789abcdef01234567", true},
		{"1", false}, {"013", false}, {"0123A", false}, {"0123456789abcdef0123456789abcdef012345670", false},
	} {
		if got := HasHexPrefix(h, tc.prefix); got != tc.want || got != strings.HasPrefix(h.String(), tc.prefix) {
			t.Errorf("HasHexPrefix(%s, %q) = %v; want %v", h, tc.prefix, got, tc.want)
		}
	}
}

func TestFromRaw(t *testing.T) {
	raw := []byte("\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67")
	if h, ok := FromRaw(raw); !ok || h.String() != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("FromRaw = %s, %v", h, ok)
	}
	if _, ok := FromRaw(raw[:19]); ok {
		t.Error("FromRaw of 19 bytes = ok")
	}
}

func TestAppendLinksNone(t *testing.T) {
	dst := []plumbing.Hash{{1}}
	for _, typ := range []plumbing.ObjectType{plumbing.BlobObject, plumbing.OFSDeltaObject, plumbing.InvalidObject} {
		if got, err := AppendLinks(dst, typ, []byte("tree x")); err != nil || len(got) != 1 {
			t.Errorf("AppendLinks(%s) = %v, %v; want dst unchanged", typ, got, err)
		}
	}
}
