package input

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	for _, tt := range []struct {
		name, v string
		msg     string // "" when v is acceptable
	}{
		{"OK", "CI runner for the docs", ""},
		{"OKEmpty", "", ""},
		{"OKTab", "a\tb", ""},
		{"OKUnicode", "文档 — manuals", ""},
		{"OKLongest", strings.Repeat("x", 40), ""},
		{"OKLongestInBytes", strings.Repeat("é", 20), ""},
		{"ErrTooLong", strings.Repeat("x", 41), "longer than 40 bytes"},
		{"ErrTooLongInBytes", strings.Repeat("é", 21), "longer than 40 bytes"}, // 21 characters, 42 bytes
		{"ErrNotUTF8", "a\xffb", "must be valid UTF-8"},
		{"ErrLF", "a\nb", "contains control characters"},
		{"ErrCR", "a\rb", "contains control characters"},
		{"ErrNUL", "a\x00b", "contains control characters"},
		{"ErrEscape", "a\x1b[31mb", "contains control characters"},
		{"ErrDEL", "a\x7fb", "contains control characters"},
		{"ErrLengthFirst", strings.Repeat("\n", 41), "longer than 40 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckText("description", tt.v, 40)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("CheckText(%q) = %v; want nil", tt.v, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "description" || ve.Msg != tt.msg || !errors.Is(err, ErrInvalid) {
				t.Fatalf("CheckText(%q) = %#v; want a ValidationError of field description saying %q", tt.v, err, tt.msg)
			}
			if got, want := err.Error(), "description: "+tt.msg; got != want {
				t.Errorf("Error() = %q; want %q", got, want)
			}
		})
	}
}

func TestCheckDescription(t *testing.T) {
	if err := CheckDescription("displayName", strings.Repeat("x", MaxDescription)); err != nil {
		t.Errorf("CheckDescription(%d bytes) = %v; want nil", MaxDescription, err)
	}
	err := CheckDescription("displayName", strings.Repeat("x", MaxDescription+1))
	if err == nil || err.Error() != "displayName: longer than 1000 bytes" {
		t.Errorf("CheckDescription(%d bytes) = %v; want displayName: longer than 1000 bytes", MaxDescription+1, err)
	}
}

func TestValidNamespace(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"tester", true},
		{"a.b-c_d", true},
		{"Tester1", true},
		{strings.Repeat("a", 39), true},
		{strings.Repeat("a", 40), false},
		{"", false},
		{"-x", false},
		{".x", false},
		{"_x", false},
		{"a..b", false},
		{"a/b", false},
		{"tëster", false},
		{"te ster", false},
	} {
		if got := ValidNamespace(tt.name); got != tt.ok {
			t.Errorf("ValidNamespace(%q) = %v; want %v", tt.name, got, tt.ok)
		}
	}
}

func TestReserved(t *testing.T) {
	for _, name := range []string{"api", "API", "Login", "avatars", "favicon.ico", "robots.txt"} {
		if !Reserved(name) {
			t.Errorf("Reserved(%q) = false; want true", name)
		}
	}
	for _, name := range []string{"tester", "apis", "apii", "test"} {
		if Reserved(name) {
			t.Errorf("Reserved(%q) = true; want false", name)
		}
	}
}
