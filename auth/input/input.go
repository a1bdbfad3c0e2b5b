// Package input owns the rules for what clients send that more than one
// domain applies: the one error for bad input, ValidationError, which
// names the offending field; the one rule for free text (descriptions,
// display names, audiences); and the one rule for namespace names, the
// OWNER of OWNER/NAME that users and projects share, with the names the
// server keeps for itself. Users and tokens (package tokens) and projects
// and repositories (package repos) both apply these rules; the package
// sits below auth, which both already import, so that neither imports the
// other for them.
package input

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is the class of every *ValidationError: test for bad input
// with errors.Is(err, ErrInvalid).
var ErrInvalid = errors.New("invalid input")

// ValidationError reports bad input. Field is the name of the offending
// field as the client sent it (the JSON name, or a query parameter), so
// that Error reads "description: longer than 1000 bytes" and can be shown
// to the client as it is: the API answers it 400 (auth/apierr).
type ValidationError struct {
	Field string
	Msg   string
}

// Error returns "field: message".
func (e *ValidationError) Error() string { return e.Field + ": " + e.Msg }

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a *ValidationError for field with a formatted message.
func Invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// MaxDescription bounds the descriptions of tokens, projects and
// repositories, and a project's display name, in bytes.
const MaxDescription = 1000

// CheckText returns a *ValidationError naming field when v, a line of free
// text, is longer than max bytes, is not valid UTF-8, or holds a control
// character other than tab: CR, LF and NUL would forge lines in logs and
// break the pages and lists that show it. Lengths are bytes, what the
// database and the wire carry, never characters.
func CheckText(field, v string, max int) error {
	switch {
	case len(v) > max:
		return Invalid(field, "longer than %d bytes", max)
	case !utf8.ValidString(v):
		return Invalid(field, "must be valid UTF-8")
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }):
		return Invalid(field, "contains control characters")
	}
	return nil
}

// CheckDescription is CheckText with MaxDescription: the rule for every
// description and display name.
func CheckDescription(field, v string) error { return CheckText(field, v, MaxDescription) }
