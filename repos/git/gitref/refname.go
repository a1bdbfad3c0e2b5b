package gitref

import (
	"fmt"
	"strings"
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
func refNameFault(name string) string {
	if !strings.HasPrefix(name, "refs/") {
		return "ref name must start with refs/"
	}
	if strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return "empty path component"
	}
	if strings.HasSuffix(name, ".") {
		return "ends with a dot"
	}
	if strings.Contains(name, "..") || strings.Contains(name, "@{") {
		return "contains '..' or '@{'"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return fmt.Sprintf("contains a forbidden character %q", c)
		}
	}
	for _, comp := range strings.Split(name, "/") {
		if strings.HasPrefix(comp, ".") {
			return "path component starts with a dot"
		}
		if strings.HasSuffix(comp, ".lock") {
			return "path component ends with .lock"
		}
	}
	return ""
}
