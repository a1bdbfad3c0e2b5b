// Package procfs reads the few facts the benchmark needs from Linux's /proc:
// a process's CPU time and peak resident set size, and the machine's CPU
// model and memory.
package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClockTick is the unit of the CPU times in /proc/PID/stat. USER_HZ is 100
// on every Linux architecture Go supports, and reading sysconf(_SC_CLK_TCK)
// would need cgo.
const ClockTick = 10 * time.Millisecond

// ErrFormat is returned when a /proc file does not have the expected shape.
var ErrFormat = errors.New("procfs: unexpected format")

// CPUTime returns utime+stime+cutime+cstime of process pid: its own CPU time
// and that of the children it has waited for.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("procfs: %w", err)
	}
	ticks, err := ParseStatCPU(b)
	if err != nil {
		return 0, err
	}
	return time.Duration(ticks) * ClockTick, nil
}

// ParseStatCPU returns the sum of fields 14–17 (utime, stime, cutime,
// cstime, in clock ticks) of a /proc/PID/stat line, see proc(5). The command
// name in field 2 may hold spaces and parentheses, so fields are counted
// from its last closing parenthesis.
func ParseStatCPU(stat []byte) (int64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: no command name in stat", ErrFormat)
	}
	// After the name come field 3 (state) onwards; utime is field 14.
	f := strings.Fields(string(stat[i+1:]))
	const first = 14 - 3
	if len(f) < first+4 {
		return 0, fmt.Errorf("%w: stat has %d fields after the name", ErrFormat, len(f))
	}
	var sum int64
	for _, s := range f[first : first+4] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: cpu field %q", ErrFormat, s)
		}
		sum += n
	}
	return sum, nil
}

// ResetPeakRSS resets the VmHWM of process pid to its current RSS by
// writing 5 to /proc/PID/clear_refs (Linux 4.0 and later).
func ResetPeakRSS(pid int) error {
	err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	if err != nil {
		return fmt.Errorf("procfs: reset peak rss: %w", err)
	}
	return nil
}

// PeakRSS returns the VmHWM of process pid in bytes.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("procfs: %w", err)
	}
	kb, err := ParseKB(b, "VmHWM")
	return kb * 1024, err
}

// ParseKB returns the value in kB of the line "key: N kB" of a /proc file
// such as /proc/PID/status or /proc/meminfo.
func ParseKB(data []byte, key string) (int64, error) {
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%w: %s line %q", ErrFormat, key, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %s line %q", ErrFormat, key, line)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: no %s line", ErrFormat, key)
}

// ParseCPUModel returns the first "model name" of /proc/cpuinfo, or "" when
// there is none (as on some ARM machines).
func ParseCPUModel(cpuinfo []byte) string {
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
