package receivepack

import (
	"errors"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
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
	mu := repoMutex(s.refs.dir)
	mu.Lock()
	defer mu.Unlock()

	before, err := s.refs.list()
	if err != nil {
		s.log.WithError(err).Error("receivepack: listing refs")
		s.failAll(reasonReadRefs)
		return nil
	}
	locks := s.lockAll(before)
	defer func() {
		for _, l := range locks {
			if l != nil {
				l.release()
			}
		}
	}()
	packedLock := s.lockPacked(locks, before)
	if packedLock != nil {
		defer packedLock.release()
	}

	if s.atomic && s.anyFailed() {
		s.failAll(reasonAtomic)
		return nil
	}
	if !anyLocked(locks) {
		return nil
	}
	if err := keep(); err != nil {
		s.log.WithError(err).Error("receivepack: moving pack into repository")
		s.failAll(reasonMigrate)
		return nil
	}
	s.commitDeletes(locks, packedLock)
	for i, c := range s.cmds {
		if locks[i] == nil || c.isDelete() {
			continue
		}
		err := locks[i].commit([]byte(c.new.String() + "\n"))
		locks[i] = nil
		if err != nil {
			s.log.WithError(err).WithField("ref", c.name).Error("receivepack: writing ref")
			c.fail(reasonWrite)
		}
	}
	return s.fixHEAD(before)
}

// lockAll takes the lock of every standing command and checks, under the
// lock, that the ref still has the value the client based its push on.
func (s *session) lockAll(before map[string]plumbing.Hash) []*lockFile {
	locks := make([]*lockFile, len(s.cmds))
	for i, c := range s.cmds {
		if c.failed() {
			continue
		}
		if c.isCreate() && conflicts(c.name, before) {
			c.fail(reasonConflict)
			continue
		}
		l, err := createLock(s.refs.path(c.name))
		if err != nil {
			c.fail(reasonLock)
			continue
		}
		if reason := s.checkOld(c); reason != "" {
			l.release()
			s.refs.removeEmptyDirs(c.name)
			c.fail(reason)
			continue
		}
		locks[i] = l
	}
	return locks
}

// checkOld compares the current value of a locked ref with the client's
// old id and returns the reason to refuse, or "".
func (s *session) checkOld(c *command) string {
	cur, ok, err := s.refs.read(c.name)
	switch {
	case errors.Is(err, errSymref):
		return reasonSymref
	case err != nil:
		s.log.WithError(err).WithField("ref", c.name).Error("receivepack: reading ref")
		return reasonReadRefs
	case c.old.IsZero() && ok:
		return reasonExists
	case !c.old.IsZero() && !ok:
		return reasonNoRef
	case ok && cur != c.old:
		return reasonStale
	}
	return ""
}

// conflicts reports whether creating name would clash with an existing
// ref as file against directory: refs/heads/a against refs/heads/a/b.
func conflicts(name string, refs map[string]plumbing.Hash) bool {
	for other := range refs {
		if strings.HasPrefix(other, name+"/") || strings.HasPrefix(name, other+"/") {
			return true
		}
	}
	return false
}

// lockPacked takes packed-refs.lock when a locked delete names a packed
// ref. If that fails, those deletes fail and their locks are dropped.
func (s *session) lockPacked(locks []*lockFile, before map[string]plumbing.Hash) *lockFile {
	packed, err := s.refs.readPacked()
	if err != nil {
		s.log.WithError(err).Error("receivepack: reading packed-refs")
	}
	need := false
	for i, c := range s.cmds {
		if locks[i] != nil && c.isDelete() {
			if _, ok := packed[c.name]; ok || err != nil {
				need = true
			}
		}
	}
	if !need {
		return nil
	}
	pl, lerr := createLock(s.refs.path("packed-refs"))
	if err == nil && lerr == nil {
		return pl
	}
	if pl != nil {
		pl.release()
	}
	for i, c := range s.cmds {
		if locks[i] != nil && c.isDelete() {
			locks[i].release()
			locks[i] = nil
			c.fail(reasonLock)
		}
	}
	return nil
}

// commitDeletes removes deleted refs from packed-refs first and then their
// loose files, so that a reader never sees an older packed value come back.
func (s *session) commitDeletes(locks []*lockFile, packedLock *lockFile) {
	drop := map[string]bool{}
	for i, c := range s.cmds {
		if locks[i] != nil && c.isDelete() {
			drop[c.name] = true
		}
	}
	if len(drop) == 0 {
		return
	}
	if packedLock != nil {
		err := s.refs.rewritePacked(packedLock, drop)
		if err != nil {
			s.log.WithError(err).Error("receivepack: rewriting packed-refs")
			for i, c := range s.cmds {
				if drop[c.name] {
					locks[i].release()
					locks[i] = nil
					c.fail(reasonWrite)
				}
			}
			return
		}
	}
	for i, c := range s.cmds {
		if !drop[c.name] || locks[i] == nil {
			continue
		}
		err := os.Remove(s.refs.path(c.name))
		locks[i].release()
		locks[i] = nil
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.WithError(err).WithField("ref", c.name).Error("receivepack: deleting ref")
			c.fail(reasonWrite)
			continue
		}
		s.refs.removeEmptyDirs(c.name)
	}
}

// fixHEAD follows GitHub and Gitea: when a repository that had no branch
// receives its first ones and HEAD names a branch that was not pushed,
// HEAD moves to main, else master, else the first branch pushed. It also
// warns when the push deleted the branch HEAD names, which depot allows
// as git does.
func (s *session) fixHEAD(before map[string]plumbing.Hash) []string {
	head := s.refs.readHEAD()
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
	if _, ok, err := s.refs.read(head); ok || err != nil {
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
	if err := s.refs.setHEAD(pick); err != nil {
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

func anyLocked(locks []*lockFile) bool {
	for _, l := range locks {
		if l != nil {
			return true
		}
	}
	return false
}
