package receivepack

import (
	"errors"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/gitref"
)

// Reasons sent on "ng" lines. git prints them after "[remote rejected]".
const (
	reasonAtomic   = "atomic push failure"
	reasonLock     = "failed to lock"
	reasonStale    = "stale info"
	reasonExists   = "stale info (ref already exists)"
	reasonNoRef    = "stale info (ref does not exist)"
	reasonWrite    = "failed to update ref"
	reasonSymref   = "cannot update a symbolic ref"
	reasonConflict = "cannot lock ref (conflicts with an existing ref)"
	reasonMigrate  = "failed to store objects"
	reasonReadRefs = "failed to read refs"
)

// updateRefs applies the commands that are still standing as one
// compare-and-swap transaction per ref (all of them together when atomic).
// keep moves the quarantined objects into the repository; it runs once,
// after every lock is held and before any ref changes, so a ref never
// points at an object that is not in place. It returns warnings for the
// client.
func (s *session) updateRefs(keep func() error) []string {
	tx := gitref.Begin(s.dir)
	defer tx.Close()

	before, err := tx.Refs()
	if err != nil {
		s.log.WithError(err).Error("receivepack: listing refs")
		s.failAll(reasonReadRefs)
		return nil
	}
	locked := 0
	for _, c := range s.cmds {
		if c.failed() {
			continue
		}
		if err := tx.Update(c.name, c.old, c.new); err != nil {
			c.fail(s.refusal(c, err))
			continue
		}
		locked++
	}
	if s.atomic && s.anyFailed() {
		s.failAll(reasonAtomic)
		return nil
	}
	if locked == 0 {
		return nil
	}
	if err := keep(); err != nil {
		s.log.WithError(err).Error("receivepack: moving pack into repository")
		s.failAll(reasonMigrate)
		return nil
	}
	failed := tx.Commit()
	for _, c := range s.cmds {
		if err := failed[c.name]; err != nil && !c.failed() {
			s.log.WithError(err).WithField("ref", c.name).Error("receivepack: writing ref")
			c.fail(reasonWrite)
		}
	}
	return s.fixHEAD(tx, before)
}

// refusal turns the error of locking and checking a ref into the reason
// sent to the client.
func (s *session) refusal(c *command, err error) string {
	var ne *gitref.NameError
	switch {
	case errors.Is(err, gitref.ErrConflict):
		return reasonConflict
	case errors.Is(err, gitref.ErrLocked):
		return reasonLock
	case errors.Is(err, gitref.ErrSymref):
		return reasonSymref
	case errors.Is(err, gitref.ErrStale) && errors.Is(err, gitref.ErrExists):
		return reasonExists
	case errors.Is(err, gitref.ErrStale) && errors.Is(err, gitref.ErrNotFound):
		return reasonNoRef
	case errors.Is(err, gitref.ErrStale):
		return reasonStale
	case errors.As(err, &ne):
		return "funny refname: " + ne.Reason
	}
	s.log.WithError(err).WithField("ref", c.name).Error("receivepack: reading ref")
	return reasonReadRefs
}

// fixHEAD follows GitHub and Gitea: when a repository that had no branch
// receives its first ones and HEAD names a branch that was not pushed,
// HEAD moves to main, else master, else the first branch pushed. It also
// warns when the push deleted the branch HEAD names, which depot allows
// as git does.
func (s *session) fixHEAD(tx *gitref.Tx, before map[string]plumbing.Hash) []string {
	head, _ := gitref.HeadTarget(s.dir)
	var warnings []string
	var created []string
	for _, c := range s.cmds {
		if c.failed() || !strings.HasPrefix(c.name, "refs/heads/") {
			continue
		}
		if c.isDelete() && c.name == head {
			warnings = append(warnings, "warning: deleted the current branch "+head+"; HEAD now points at nothing")
		}
		if !c.isDelete() {
			created = append(created, c.name)
		}
	}
	if head == "" || len(created) == 0 {
		return warnings
	}
	for name := range before {
		if strings.HasPrefix(name, "refs/heads/") {
			return warnings
		}
	}
	if _, err := gitref.ReadRef(s.dir, head); !errors.Is(err, gitref.ErrNotFound) {
		return warnings
	}
	pick := created[0]
	for _, want := range []string{"refs/heads/master", "refs/heads/main"} {
		for _, n := range created {
			if n == want {
				pick = n
			}
		}
	}
	if err := tx.SetHEAD(pick); err != nil {
		s.log.WithError(err).Error("receivepack: setting HEAD")
		return warnings
	}
	return warnings
}

func (s *session) failAll(reason string) {
	for _, c := range s.cmds {
		c.fail(reason)
	}
}

func (s *session) anyFailed() bool {
	for _, c := range s.cmds {
		if c.failed() {
			return true
		}
	}
	return false
}
