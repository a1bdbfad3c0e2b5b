// Package hiderefs decides which refs a git service keeps from its
// clients, as git does with transfer.hideRefs, uploadpack.hideRefs and
// receive.hideRefs (git-config(1)): hidden refs are not advertised, cannot
// be fetched by name, and cannot be pushed to.
package hiderefs

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/depot/depot/repos/git/gitconfig"
)

// The services whose own hideRefs join transfer.hideRefs.
const (
	UploadPack = "uploadpack"
	Receive    = "receive"
)

// Rules is an ordered list of hideRefs patterns. The zero value hides
// nothing.
type Rules struct {
	patterns []string
}

// New returns the rules of patterns, in order.
func New(patterns ...string) Rules {
	var r Rules
	r.add(patterns)
	return r
}

func (r *Rules) add(patterns []string) {
	for _, p := range patterns {
		// git drops trailing slashes: "refs/pull/" hides refs/pull/*.
		r.patterns = append(r.patterns, strings.TrimRight(p, "/"))
	}
}

// Load returns the rules of service (UploadPack or Receive) for the
// repository at repoDir: server, the server's own patterns, first, as
// git reads its system configuration first, then the repository config's
// transfer.hideRefs and <service>.hideRefs in the order the file has them.
// A repository config that cannot be read is an error: serving refs that
// were meant to be hidden is worse than refusing.
func Load(repoDir, service string, server []string) (Rules, error) {
	c, err := gitconfig.ReadFile(filepath.Join(repoDir, "config"))
	if err != nil {
		return Rules{}, fmt.Errorf("hiderefs: %w", err)
	}
	vals, err := c.All("transfer.hideRefs", service+".hideRefs")
	if err != nil {
		return Rules{}, fmt.Errorf("hiderefs: %w", err)
	}
	r := New(server...)
	r.add(vals)
	return r, nil
}

// Empty reports whether the rules hide nothing for want of patterns.
func (r Rules) Empty() bool { return len(r.patterns) == 0 }

// Hidden reports whether the ref name (a full name such as
// refs/heads/main, or HEAD) is hidden: the last pattern that matches it
// decides, a pattern matches the names it is a prefix of at a "/"
// boundary, "!" before a pattern shows what it matches, and "^" (which in
// git matches the name before namespaces are stripped) is the same match
// here, where depot serves no namespaces.
func (r Rules) Hidden(name string) bool {
	for i := len(r.patterns) - 1; i >= 0; i-- {
		p := r.patterns[i]
		show := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		p = strings.TrimPrefix(p, "^")
		rest, ok := strings.CutPrefix(name, p)
		if ok && (rest == "" || rest[0] == '/') {
			return !show
		}
	}
	return false
}
