// Package holder names a process among all the hosts that share a data
// directory, for the lock and lease files depot writes there: a pid alone
// means something only on the host that wrote it.
package holder

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// A Holder is a process: its pid, the host it runs on and a random name
// of this run of it. Host is the host name, the kernel's boot id and the
// pid namespace, so that two containers with one host name, or one host
// after a reboot, never count as the same host. Instance tells a process
// from an earlier one that had the same pid, as a container's pid 1 does
// every time it restarts.
type Holder struct {
	PID      int
	Host     string
	Instance string
}

var (
	selfOnce sync.Once
	self     Holder
)

// Self returns the Holder of this process.
func Self() Holder {
	selfOnce.Do(func() {
		b := make([]byte, 8)
		rand.Read(b)
		self = Holder{PID: os.Getpid(), Host: hostID(), Instance: hex.EncodeToString(b)}
	})
	return self
}

// hostID is the host name, the boot id and the pid namespace, joined by
// slashes; a part that cannot be read is left empty.
func hostID() string {
	name, _ := os.Hostname()
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	ns, _ := os.Readlink("/proc/self/ns/pid")
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r <= ' ' || r == 0x7f {
				return -1
			}
			return r
		}, s)
	}
	return clean(name) + "/" + clean(string(boot)) + "/" + clean(ns)
}

// String is the line a lock or lease file holds: "PID HOST INSTANCE".
// Its first field is the pid alone, as depot's earlier lock files held.
func (h Holder) String() string {
	return fmt.Sprintf("%d %s %s", h.PID, h.Host, h.Instance)
}

// ErrMalformed is returned by Parse for content that names no process.
var ErrMalformed = errors.New("holder: not a pid with an optional host and instance")

// Parse reads what String wrote. A file of depot before hosts were
// recorded holds the pid alone; it is taken to be of this host, where
// those files were written, with an instance of its own.
func Parse(b []byte) (Holder, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 || len(f) == 2 || len(f) > 3 {
		return Holder{}, ErrMalformed
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return Holder{}, ErrMalformed
	}
	if len(f) == 1 {
		return Holder{PID: pid, Host: Self().Host}, nil
	}
	return Holder{PID: pid, Host: f[1], Instance: f[2]}, nil
}

// ThisHost reports whether h runs, or ran, on this host.
func (h Holder) ThisHost() bool { return h.Host == Self().Host }

// Gone reports whether h is known to have ended: it is of this host and
// its pid runs no process, or the process with its pid is this one and h
// is an earlier run. Of another host nothing is known: false.
func (h Holder) Gone() bool {
	if !h.ThisHost() {
		return false
	}
	s := Self()
	if h.PID == s.PID {
		return h.Instance != s.Instance
	}
	return !running(h.PID)
}

// running reports whether a process with the pid runs on this host.
func running(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
