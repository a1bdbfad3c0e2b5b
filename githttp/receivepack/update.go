package receivepack

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/depot/depot/repos/git/gitref"
)

// Reasons sent on "ng" lines. git prints them after "[remote rejected]".
const (
	// reasonAtomic refuses the other refs of an atomic push when one was
	// refused before the refs were locked; reasonAtomicTx every ref when
	// locking one failed. Both are git's own words.
	reasonAtomic   = "atomic push failure"
	reasonAtomicTx = "atomic transaction failed"
	reasonLock     = "failed to lock"
	reasonStale    = "stale info"
	reasonExists   = "stale info (ref already exists)"
	reasonNoRef    = "stale info (ref does not exist)"
	reasonWrite    = "failed to update ref"
	reasonSymref   = "cannot update a symbolic ref"
	reasonConflict = "cannot lock ref (conflicts with an existing ref)"
	reasonMigrate  = "failed to store objects"
	reasonReadRefs = "failed to read refs"
	// reasonDeleteCurrent is git's own reason (receive.denyDeleteCurrent).
	reasonDeleteCurrent = "deletion of the current branch prohibited"
	// reasonNoSpace is the file system refusing to grow; git prints it
	// after "remote unpack failed:" or "[remote rejected]".
	reasonNoSpace = "no space left on the server's disk"
)

// noSpace reports whether err is the file system full or the user's
// quota spent: the push is refused with reasonNoSpace, a reason the
// client can act on, rather than as an internal error.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// updateRefs applies the commands that are still standing as one
// compare-and-swap transaction per ref (all of them together when atomic).
// keep moves the quarantined objects into the repository; it runs once,
// after every lock is held and before any ref changes, so a ref never
// points at an object that is not in place.
func (s *session) updateRefs(keep func() error) {
	tx := gitref.Begin(s.dir)
	defer tx.Close()
	tx.Log(s.opt.Actor, "push")

	before, err := tx.Snapshot()
	if err != nil {
		s.log.WithError(err).Error("receivepack: listing refs")
		s.failAll(reasonReadRefs)
		return
	}
	if s.atomic && s.anyFailed() {
		s.failAll(reasonAtomic)
		return
	}
	locked := 0
	for _, c := range s.cmds {
		if c.failed() {
			continue
		}
		if err := tx.Update(c.name, c.old, c.new); err != nil {
			reason := s.refusal(c, err)
			if s.atomic {
				// git's receive-pack finds a stale or locked ref when it
				// commits its transaction: it names the ref in an error
				// line and reports every ref alike, and clients and
				// scripts look for that.
				s.out.message(fmt.Sprintf("error: cannot lock ref '%s': %s\n", c.name, reason))
				s.failAll(reasonAtomicTx)
				return
			}
			c.fail(reason)
			continue
		}
		locked++
	}
	if locked == 0 {
		return
	}
	if err := keep(); err != nil {
		s.log.WithError(err).Error("receivepack: moving pack into repository")
		if noSpace(err) {
			s.failAll(reasonNoSpace)
		} else {
			s.failAll(reasonMigrate)
		}
		return
	}
	failed := tx.Commit()
	for _, c := range s.cmds {
		if c.failed() {
			continue
		}
		if err := failed[c.name]; err != nil {
			s.log.WithError(err).WithField("ref", c.name).Error("receivepack: writing ref")
			if noSpace(err) {
				c.fail(reasonNoSpace)
			} else {
				c.fail(reasonWrite)
			}
			continue
		}
		c.applied = true
	}
	s.fixHEAD(tx, before)
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
// HEAD moves to main, else master, else the first branch pushed.
func (s *session) fixHEAD(tx *gitref.Tx, before *gitref.Snapshot) {
	head, _ := gitref.HeadTarget(s.dir)
	var created []string
	for _, c := range s.cmds {
		if !c.failed() && !c.isDelete() && strings.HasPrefix(c.name, "refs/heads/") {
			created = append(created, c.name)
		}
	}
	if head == "" || len(created) == 0 {
		return
	}
	if len(before.Prefix("refs/heads/")) > 0 {
		return
	}
	if _, err := gitref.ReadRef(s.dir, head); !errors.Is(err, gitref.ErrNotFound) {
		return
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
	}
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
