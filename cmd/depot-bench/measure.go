package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/depot/depot/cmd/depot-bench/internal/procfs"
)

// sample is one measured run of a scenario against one server.
type sample struct {
	wall time.Duration // of the client command(s)
	cpu  time.Duration // of the server process and its reaped children
	// rss is the server's peak RSS in bytes during the run, when measured;
	// rssSinceStart says it is the peak since the process started because
	// /proc/PID/clear_refs could not reset it.
	rss           int64
	rssSinceStart bool
}

// meter measures the one timed section of a scenario run.
type meter struct {
	ctx        context.Context
	s          *server
	measureRSS bool
	got        *sample
}

// time runs f, the part of a scenario that is timed, and records its wall
// time and the server's CPU time and peak RSS over it. A scenario calls it
// once a run; all preparation and verification happen outside it.
func (m *meter) time(f func() error) error {
	if m.got != nil {
		return fmt.Errorf("scenario timed twice in one run")
	}
	pid := m.s.pid()
	var smp sample
	if m.measureRSS {
		smp.rssSinceStart = procfs.ResetPeakRSS(pid) != nil
	}
	cpu0, err := procfs.CPUTime(pid)
	if err != nil {
		return m.serverGone(err)
	}
	start := time.Now()
	ferr := f()
	smp.wall = time.Since(start)
	if ferr != nil {
		if err := m.s.exited(); err != nil {
			return fmt.Errorf("%w (%w)", ferr, err)
		}
		return ferr
	}
	m.s.settle(m.ctx)
	cpu1, err := procfs.CPUTime(pid)
	if err != nil {
		return m.serverGone(err)
	}
	smp.cpu = cpu1 - cpu0
	if m.measureRSS {
		if smp.rss, err = procfs.PeakRSS(pid); err != nil {
			return m.serverGone(err)
		}
	}
	m.got = &smp
	return nil
}

func (m *meter) serverGone(err error) error {
	if e := m.s.exited(); e != nil {
		return e
	}
	return err
}

// median returns the median of ds, the mean of the middle two for an even
// count, and 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ratio returns a/b, or nil when b is zero.
func ratio(a, b time.Duration) *float64 {
	if b <= 0 {
		return nil
	}
	r := float64(a) / float64(b)
	return &r
}
