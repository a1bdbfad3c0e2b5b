//go:build unix

package hooks

import (
	"os/exec"
	"syscall"
)

// killGroup starts the hook in a process group of its own and makes the
// end of its context kill the whole group, so that a shell script's
// children (a git log, a sleep) die with it instead of outliving the push.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
