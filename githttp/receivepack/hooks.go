package receivepack

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos/git/hooks"
)

// Reasons sent on "ng" lines for refs that hooks refused; C git's words.
const (
	reasonPreReceive = "pre-receive hook declined"
	reasonUpdateHook = "hook declined"
)

// defaultKeepAlive is how long a hook may stay silent before the client
// gets a keepalive packet: C git's receive.keepAlive default.
const defaultKeepAlive = 5 * time.Second

// hookRunner returns the runner of the repository's hooks, or nil when
// the server does not run hooks.
func (s *session) hookRunner() *hooks.Runner {
	if !s.opt.Hooks {
		return nil
	}
	return &hooks.Runner{Dir: s.dir, Timeout: s.opt.HookTimeout}
}

// runHook runs one hook under ctx with its output going to the client as
// it comes, and keepalives while it is silent.
func (s *session) runHook(ctx context.Context, r *hooks.Runner, name string, args []string, stdin []byte, env []string) error {
	out := &hookOutput{r: s.out}
	stop := out.keepAlive(s.opt.keepAlive)
	defer stop()
	r.Out = out
	return r.Run(ctx, name, args, stdin, append(env, s.pusherEnv()...))
}

// pusherEnv tells a hook who pushes, in the variables git http-backend
// passes on from the web server: REMOTE_USER, the depot user, and
// REMOTE_ADDR, the client's address. The token is not a hook's business.
func (s *session) pusherEnv() []string {
	var env []string
	if a := s.opt.Actor; a.User != "" {
		env = append(env, "REMOTE_USER="+a.User)
	}
	if a := s.opt.Actor; a.Addr != "" {
		env = append(env, "REMOTE_ADDR="+a.Addr)
	}
	return env
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
	if err := s.runHook(s.ctx, r, hooks.PreReceive, nil, in.Bytes(), env); err != nil {
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
		if err := s.runHook(s.ctx, r, hooks.Update, []string{c.name, c.old.String(), c.new.String()}, nil, env); err != nil {
			s.hookFailed(hooks.Update, err)
			c.fail(reasonUpdateHook)
		}
	}
}

// postReceive runs the post-receive hook over the refs that were
// updated. It cannot change the outcome; a failure is only logged. It
// runs to its end (or its time limit) even when the client hangs up, as
// it does under C git: the refs have changed, and the hook is what tells
// the world (mail, CI, deploys).
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
	if err := s.runHook(context.WithoutCancel(s.ctx), r, hooks.PostReceive, nil, in.Bytes(), env); err != nil {
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
type hookOutput struct {
	mu   sync.Mutex // the hook's output and the keepalives share r
	r    *reporter
	last time.Time // of the latest packet sent
}

func (h *hookOutput) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.r.message(string(p))
	h.last = time.Now()
	return len(p), nil
}

// keepAlive sends an empty band-1 packet whenever the hook has been
// silent for every, as C git does while hooks run (receive.keepAlive),
// so that a proxy does not close a quiet connection while a slow hook
// works. The client reads the packet as nothing. It needs side-band;
// the returned stop waits until no more packets are sent.
func (h *hookOutput) keepAlive(every time.Duration) (stop func()) {
	if !h.r.sideband || every <= 0 {
		return func() {}
	}
	h.last = time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				h.mu.Lock()
				if now.Sub(h.last) >= every {
					h.r.write(pktline.Append(nil, string([]byte{pktline.BandData})))
					h.last = now
				}
				h.mu.Unlock()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
