package receivepack

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"

	"github.com/depot/depot/repos/git/hooks"
)

// Reasons sent on "ng" lines for refs that hooks refused; C git's words.
const (
	reasonPreReceive = "pre-receive hook declined"
	reasonUpdateHook = "hook declined"
)

// hookRunner returns the runner of the repository's hooks, or nil when
// the server does not run hooks.
func (s *session) hookRunner() *hooks.Runner {
	if !s.opt.Hooks {
		return nil
	}
	return &hooks.Runner{Dir: s.dir, Timeout: s.opt.HookTimeout, Out: hookOutput{s.out}}
}

// preReceive runs the pre-receive hook once over the commands still
// standing, before any ref changes, with the quarantine readable; when it
// fails, every one of them is refused and the quarantine is discarded.
func (s *session) preReceive(q *quarantine) {
	r := s.hookRunner()
	if r == nil || r.Find(hooks.PreReceive) == "" {
		return
	}
	var in hooks.RefLines
	for _, c := range s.cmds {
		if !c.failed() {
			in.Add(c.old.String(), c.new.String(), c.name)
		}
	}
	if in.Len() == 0 {
		return
	}
	env := append(s.quarantineEnv(q), hooks.PushOptionEnv(s.pushOptionsSent, s.pushOptions)...)
	if err := r.Run(s.ctx, hooks.PreReceive, nil, in.Bytes(), env); err != nil {
		s.hookFailed(hooks.PreReceive, err)
		s.failAll(reasonPreReceive)
	}
}

// updateHooks runs the update hook once for every command still
// standing, with the quarantine readable; a hook that fails refuses its
// own ref. An atomic push stops at the first refusal, as C git does,
// since nothing of it will land.
func (s *session) updateHooks(q *quarantine) {
	r := s.hookRunner()
	if r == nil || r.Find(hooks.Update) == "" {
		return
	}
	env := s.quarantineEnv(q)
	for _, c := range s.cmds {
		if c.failed() {
			continue
		}
		if s.atomic && s.anyFailed() {
			return
		}
		if err := r.Run(s.ctx, hooks.Update, []string{c.name, c.old.String(), c.new.String()}, nil, env); err != nil {
			s.hookFailed(hooks.Update, err)
			c.fail(reasonUpdateHook)
		}
	}
}

// postReceive runs the post-receive hook over the refs that were
// updated. It cannot change the outcome; a failure is only logged.
func (s *session) postReceive() {
	r := s.hookRunner()
	if r == nil || r.Find(hooks.PostReceive) == "" {
		return
	}
	var in hooks.RefLines
	for _, c := range s.cmds {
		if c.applied {
			in.Add(c.old.String(), c.new.String(), c.name)
		}
	}
	if in.Len() == 0 {
		return
	}
	env := hooks.PushOptionEnv(s.pushOptionsSent, s.pushOptions)
	if err := r.Run(s.ctx, hooks.PostReceive, nil, in.Bytes(), env); err != nil {
		s.hookFailed(hooks.PostReceive, err)
	}
}

// quarantineEnv is the environment in which git, run by a hook, sees the
// objects of this push; none when the push brought no pack.
func (s *session) quarantineEnv(q *quarantine) []string {
	if q == nil {
		return nil
	}
	dir, err := filepath.Abs(q.dir)
	objs, oerr := filepath.Abs(q.objs)
	if err != nil || oerr != nil {
		s.log.WithError(errors.Join(err, oerr)).Error("receivepack: quarantine path")
		return nil
	}
	return hooks.QuarantineEnv(dir, objs)
}

// hookFailed logs why a hook failed and tells the client what its own
// output cannot: that it was killed, or could not run at all. A hook that
// merely exited non-zero has said what it had to say.
func (s *session) hookFailed(name string, err error) {
	log := s.log.WithField("hook", name).WithError(err)
	var exit *exec.ExitError
	switch {
	case errors.Is(err, hooks.ErrTimeout):
		log.Warn("receivepack: hook timed out")
		s.out.message("error: " + name + " hook timed out\n")
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		log.Info("receivepack: hook stopped, push cancelled")
	case errors.As(err, &exit):
		log.Info("receivepack: hook failed")
	default:
		log.Error("receivepack: running hook")
		s.out.message("error: cannot run " + name + " hook\n")
	}
}

// hookOutput passes what a hook writes to the client as "remote:" lines,
// at once, so that a long hook shows its progress. A client that went
// away does not stop the hook; the request's context does.
type hookOutput struct{ r *reporter }

func (h hookOutput) Write(p []byte) (int, error) {
	h.r.message(string(p))
	return len(p), nil
}
