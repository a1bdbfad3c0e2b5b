package gc

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Auto consolidates repositories in the background once pushes have left
// too many packs, loose objects or refs, as git's auto-gc does, so that
// fetches stay fast. One repack runs at a time; a push that finds one
// running leaves consolidation to a later push.
type Auto struct {
	slot chan struct{}
	log  logrus.FieldLogger
	// running counts the background goroutine, so Wait can tell when the
	// files it rewrites are left alone.
	running sync.WaitGroup
	// Timeout bounds one repack; zero means 30 minutes.
	Timeout time.Duration
	// AfterRepack, when set, is called with AfterPush's arguments after
	// each repack that completed, so that what was computed from the
	// repository's packs (its size) can be forgotten.
	AfterRepack func(path, name string)
	// ReflogExpire is RepackWith's option; zero keeps every entry.
	ReflogExpire time.Duration
	// Observe, when set, is called after each background repack that
	// ran, with how long it took and its error (nil when it completed),
	// for the server's metrics.
	Observe func(d time.Duration, err error)
}

// NewAuto returns an Auto that logs to log and expires reflog entries
// after DefaultReflogExpire.
func NewAuto(log logrus.FieldLogger) *Auto {
	return &Auto{slot: make(chan struct{}, 1), log: log, ReflogExpire: DefaultReflogExpire}
}

// AfterPush starts a background repack of the repository at path (named
// name in the log) when NeedsRepack says so, or packs its refs when only
// they need it (NeedsPackRefs), and returns at once.
func (a *Auto) AfterPush(path, name string) {
	repack := NeedsRepack(path)
	if !repack && !NeedsPackRefs(path) {
		return
	}
	select {
	case a.slot <- struct{}{}:
	default:
		return
	}
	if !repack {
		// A repository placed with thousands of loose refs (a mirror
		// fetched by hand) needs one sorted file, not its objects
		// rewritten: on git.git that is milliseconds against a repack's
		// tens of seconds of CPU.
		a.running.Add(1)
		go func() {
			defer a.running.Done()
			defer func() { <-a.slot }()
			n, err := PackRefs(path)
			log := a.log.WithField("repo", name)
			if err != nil {
				log.WithError(err).Error("background pack-refs failed")
				return
			}
			log.WithField("refs", n).Info("packed refs")
		}()
		return
	}
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	a.running.Add(1)
	go func() {
		defer a.running.Done()
		defer func() { <-a.slot }()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		log := a.log.WithField("repo", name)
		err := RepackWith(ctx, path, Options{ReflogExpire: a.ReflogExpire})
		if errors.Is(err, ErrBusy) {
			return // another process repacks it
		}
		if a.Observe != nil {
			a.Observe(time.Since(start), err)
		}
		if err != nil {
			log.WithError(err).Error("background repack failed")
			return
		}
		log.WithField("duration_ms", time.Since(start).Milliseconds()).Info("repacked")
		if a.AfterRepack != nil {
			a.AfterRepack(path, name)
		}
	}()
}

// Wait returns once no background repack or pack-refs started by
// AfterPush is running.
func (a *Auto) Wait() { a.running.Wait() }
