// Package hooks runs a repository's server-side hooks (githooks(5)) the
// way C git's receive-pack does: from the bare repository's hooks
// directory, with that directory's repository as working directory and
// GIT_DIR, in a clean environment, under a time limit, their standard
// output and error streamed to one writer as they write them.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The hooks that receive-pack runs, in the order it runs them.
const (
	PreReceive  = "pre-receive"
	Update      = "update"
	PostReceive = "post-receive"
)

// DefaultTimeout bounds one run of a hook when Runner.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

// ErrTimeout is wrapped by the error of a hook killed at its time limit.
var ErrTimeout = errors.New("hook timed out")

// waitDelay is how long Run waits, once a hook has exited or been killed,
// for its output to close: a hook may leave a background job holding the
// output open, and the push must not wait for that job.
const waitDelay = 2 * time.Second

// keptEnv names the variables of the server's environment that a hook
// inherits. Everything else stays out: the server's environment may hold
// secrets (DEPOT_ADMIN_PASSWORD, cloud credentials), and git variables of
// the server would point the hook's git at the wrong repository.
var keptEnv = []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"}

// defaultPath is the PATH of a hook when the server has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// Runner runs the hooks of one bare repository.
type Runner struct {
	// Dir is the bare repository. Its hooks live in Dir/hooks.
	Dir string
	// Timeout bounds each run; zero means DefaultTimeout. A hook still
	// running at the limit is killed with its whole process group.
	Timeout time.Duration
	// Out receives what hooks write on standard output and standard error,
	// interleaved as written and passed on at once; nil discards it.
	Out io.Writer
}

// Find returns the path of the hook called name when it is an executable
// regular file (symbolic links followed), as C git requires; otherwise "".
func (r *Runner) Find(name string) string {
	p := filepath.Join(r.Dir, "hooks", name)
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return ""
	}
	return p
}

// Run runs the hook called name with args, feeding it stdin, with env
// added to its environment, and waits for it under ctx and the runner's
// time limit. It returns nil when the hook is absent (see Find) or exits
// with status 0. Otherwise the error says why, and wraps ErrTimeout when
// the time limit killed the hook, or ctx's error when ctx ended first.
func (r *Runner) Run(ctx context.Context, name string, args []string, stdin []byte, env []string) error {
	path := r.Find(name)
	if path == "" {
		return nil
	}
	dir, err := filepath.Abs(r.Dir)
	if err != nil {
		return fmt.Errorf("hooks: %s: %w", name, err)
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(tctx, path, args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(dir), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	if r.Out != nil {
		// One writer for both streams: exec then gives the hook one pipe
		// for both, so messages keep the order the hook wrote them in.
		w := &serialWriter{w: r.Out}
		cmd.Stdout, cmd.Stderr = w, w
	}
	cmd.WaitDelay = waitDelay
	killGroup(cmd)

	err = cmd.Run()
	switch {
	case errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success():
		// The hook itself succeeded; only a job it left behind still
		// held the output, which is now closed.
		return nil
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("hooks: %s: %w", name, ctx.Err())
	case tctx.Err() != nil:
		return fmt.Errorf("hooks: %s: %w after %v", name, ErrTimeout, timeout)
	}
	return fmt.Errorf("hooks: %s: %w", name, err)
}

// baseEnv is the environment of every hook of the repository at dir:
// GIT_DIR (absolute, so that a hook that changes directory still finds
// the repository) and the few variables of keptEnv.
func baseEnv(dir string) []string {
	env := []string{"GIT_DIR=" + dir}
	for _, k := range keptEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		} else if k == "PATH" {
			env = append(env, "PATH="+defaultPath)
		}
	}
	return env
}

// QuarantineEnv is the environment that lets git, run by a hook, read the
// objects of a push still in quarantine at dir, and the repository's own
// objects at objects, as C git's tmp-objdir sets it (git-receive-pack(1),
// "Quarantine Environment"). Git refuses ref updates made under it.
func QuarantineEnv(dir, objects string) []string {
	return []string{
		"GIT_OBJECT_DIRECTORY=" + dir,
		"GIT_ALTERNATE_OBJECT_DIRECTORIES=" + objects,
		"GIT_QUARANTINE_PATH=" + dir,
	}
}

// PushOptionEnv is the environment that tells pre-receive and
// post-receive the push options (githooks(5)): nothing when the client
// did not negotiate push-options, else GIT_PUSH_OPTION_COUNT and
// GIT_PUSH_OPTION_0, _1, … An option ends at its first NUL byte, as it
// does in C git, because an environment cannot hold one.
func PushOptionEnv(negotiated bool, opts []string) []string {
	if !negotiated {
		return nil
	}
	env := make([]string, 0, len(opts)+1)
	for i, o := range opts {
		o, _, _ = strings.Cut(o, "\x00")
		env = append(env, "GIT_PUSH_OPTION_"+strconv.Itoa(i)+"="+o)
	}
	return append(env, "GIT_PUSH_OPTION_COUNT="+strconv.Itoa(len(opts)))
}

// RefLines is the standard input of pre-receive and post-receive: one
// "<old> SP <new> SP <ref> LF" line a ref (githooks(5)).
type RefLines struct{ b []byte }

// Add appends the line of one ref.
func (l *RefLines) Add(oldID, newID, ref string) {
	l.b = append(l.b, oldID+" "+newID+" "+ref+"\n"...)
}

// Len is the number of bytes added so far; 0 means no ref.
func (l *RefLines) Len() int { return len(l.b) }

// Bytes returns the lines added so far.
func (l *RefLines) Bytes() []byte { return l.b }

// serialWriter is comparable, so that exec.Cmd sees Stdout and Stderr as
// one writer; it passes every write on whole.
type serialWriter struct{ w io.Writer }

func (s *serialWriter) Write(p []byte) (int, error) { return s.w.Write(p) }
