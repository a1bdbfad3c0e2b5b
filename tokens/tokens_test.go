package tokens

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	for _, tt := range []struct {
		name, v string
		ok      bool
	}{
		{"OK", "CI runner for the docs", true},
		{"OKEmpty", "", true},
		{"OKTab", "a\tb", true},
		{"OKUnicode", "文档 — manuals", true},
		{"OKLongest", strings.Repeat("x", 40), true},
		{"ErrTooLong", strings.Repeat("x", 41), false},
		{"ErrLF", "a\nb", false},
		{"ErrCR", "a\rb", false},
		{"ErrNUL", "a\x00b", false},
		{"ErrEscape", "a\x1b[31mb", false},
		{"ErrDEL", "a\x7fb", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckText("description", tt.v, 40)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckText(%q) = %v; want ok=%v", tt.v, err, tt.ok)
			}
			var ve *ValidationError
			if err != nil && (!errors.As(err, &ve) || ve.Field != "description" || !errors.Is(err, ErrInvalid)) {
				t.Fatalf("CheckText(%q) = %#v; want a ValidationError of field description", tt.v, err)
			}
		})
	}
}
