package gitref

import (
	"strings"

	"github.com/depot/depot/auth/input"
)

// CheckRefName applies the rules of git-check-ref-format(1) to a full ref
// name, which must also start with "refs/". It returns nil for a valid
// name and a *NameError otherwise.
func CheckRefName(name string) error {
	if reason := refNameFault(name); reason != "" {
		return &NameError{Name: name, Reason: reason}
	}
	return nil
}

// CheckBranchName checks the short name of a branch ("main", not
// "refs/heads/main") as git check-ref-format --branch and git branch do:
// the full ref must be valid, and the name may be neither "HEAD" nor start
// with a dash.
func CheckBranchName(name string) error {
	switch {
	case name == "":
		return &NameError{Name: name, Reason: "empty branch name"}
	case name == "HEAD":
		return &NameError{Name: name, Reason: "HEAD is not a valid branch name"}
	case strings.HasPrefix(name, "-"):
		return &NameError{Name: name, Reason: "starts with a dash"}
	}
	if reason := refNameFault("refs/heads/" + name); reason != "" {
		return &NameError{Name: name, Reason: reason}
	}
	return nil
}

// refNameFault returns why name is not a valid full ref name, or "".
func refNameFault(name string) string { return input.RefNameFault(name) }
