package input

import (
	"fmt"
	"regexp"
	"strings"
)

// repoNamePattern is the NAME of OWNER/NAME, without ".git".
var repoNamePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$`)

// ValidRepoName reports whether name may be a repository's NAME in
// OWNER/NAME: 1 to 100 letters, digits, '_', '.' or '-', not starting with
// '.' or '-', holding no "..". The repositories (package repos) and the
// repository patterns of token rules (package auth) apply it.
func ValidRepoName(name string) bool {
	return repoNamePattern.MatchString(name) && !strings.Contains(name, "..")
}

// RefNameFault returns why name is not a valid full ref name under the
// rules of git-check-ref-format(1), with the name starting with "refs/",
// or "" when it is valid. Ref updates (repos/git/gitref) and the ref
// patterns of token rules (package auth) apply it.
func RefNameFault(name string) string {
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
