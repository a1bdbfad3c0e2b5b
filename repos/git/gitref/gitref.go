// Package gitref owns reading and updating the refs and history of one
// bare repository: branches, tags, HEAD and commits, with the lock files
// and compare-and-swap that git itself honours, for both the push path and
// the repository API.
package gitref

import (
	"errors"
	"fmt"
)

// Errors returned by this package, wrapped with the operation and the name
// it concerned. Test for them with errors.Is.
var (
	// ErrNotFound: the ref, revision or object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: the ref to create is already there.
	ErrExists = errors.New("already exists")
	// ErrInvalid: a malformed name or argument, or a request git refuses,
	// such as deleting the default branch.
	ErrInvalid = errors.New("invalid")
	// ErrStale: a compare-and-swap lost; the ref no longer holds the value
	// the caller based its update on. Wrapped together with ErrExists when
	// the caller expected no ref, and with ErrNotFound when it expected one.
	ErrStale = errors.New("stale info")
	// ErrLocked: another process holds the ref's lock file.
	ErrLocked = errors.New("failed to lock")

	// ErrConflict: creating the ref would clash with an existing ref as a
	// file against a directory (refs/heads/a against refs/heads/a/b). It
	// is an ErrExists.
	ErrConflict = fmt.Errorf("%w: conflicts with an existing ref", ErrExists)
	// ErrSymref: the ref is a symbolic ref, which this package does not
	// update. It is an ErrInvalid.
	ErrSymref = fmt.Errorf("%w: symbolic ref", ErrInvalid)
)

// NameError is the error of CheckRefName and CheckBranchName. It is an
// ErrInvalid; Reason says which rule of git-check-ref-format(1) the name
// breaks.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("invalid ref name %q: %s", e.Name, e.Reason)
}

// Unwrap makes a NameError match ErrInvalid.
func (e *NameError) Unwrap() error { return ErrInvalid }

// RefusedError is a request git refuses, such as deleting the default
// branch or naming a tree where a commit is needed. It is an ErrInvalid,
// and Msg says why in words fit for the client.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

// Unwrap makes a RefusedError match ErrInvalid.
func (e *RefusedError) Unwrap() error { return ErrInvalid }

func refused(format string, args ...any) error {
	return &RefusedError{Msg: fmt.Sprintf(format, args...)}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
