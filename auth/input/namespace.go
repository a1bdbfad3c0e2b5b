package input

import (
	"regexp"
	"strings"
)

var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,38}$`)

// ValidNamespace reports whether name may be a namespace, the OWNER of
// OWNER/NAME: a user's global_key or a project's name. It is 1 to 39
// letters, digits, '_', '.' or '-', starts with a letter or digit and
// holds no "..", so that it is one path component on disk and in URLs.
// A new namespace must not be Reserved either.
func ValidNamespace(name string) bool {
	return namespacePattern.MatchString(name) && !strings.Contains(name, "..")
}

// reserved are the names that the server routes at the top level, where
// a namespace would otherwise sit (/OWNER/NAME): the API and avatars it
// serves now, the web pages and operations endpoints it will serve, and
// the files browsers and crawlers ask every site for (docs/api.md,
// "Names"). TestReservedCoversRoutes in cmd/depot checks that every
// top-level route is here.
var reserved = []string{
	"api", "avatars", // routed now
	"login", "logout", "settings", "static", // web pages
	"metrics", "healthz", "readyz", // operations
	"explore", "new", // conventional pages of a git forge
	"favicon.ico", "robots.txt",
}

// Reserved reports whether name, compared case-insensitively, is a name
// that no user or project may take.
func Reserved(name string) bool {
	for _, r := range reserved {
		if strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}
