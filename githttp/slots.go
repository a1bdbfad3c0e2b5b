package githttp

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// PackOps bounds the pack operations that run at once: building a pack
// for a fetch or clone, and indexing and checking the pack of a push.
// Those hold the memory and the CPU of a git server; everything else
// (ref advertisements, negotiation, ref updates, hooks) runs freely.
// Operations past the limit wait in one queue, first come first served,
// where a client with side-band hears "remote: ..." lines while it waits.
type PackOps struct {
	// Max is how many run at once; 0 means no limit.
	Max int
	// PerUser is how many one user (an anonymous caller: one address)
	// may run at once; 0 means Max. A user at the limit waits while
	// others behind it in the queue go ahead.
	PerUser int
	// QueueTimeout is how long an operation may wait for its turn before
	// it is refused with "server busy"; 0 means DefaultQueueTimeout.
	QueueTimeout time.Duration
	// Progress is how often a waiting client hears where it stands; 0
	// means DefaultQueueProgress.
	Progress time.Duration
}

// Defaults for the zero values of PackOps.
const (
	DefaultQueueTimeout  = 2 * time.Minute
	DefaultQueueProgress = 5 * time.Second
)

// BusyError is returned by slots.acquire for an operation that waited its
// whole QueueTimeout; its text is what the client reads.
type BusyError struct{ Waited time.Duration }

func (e *BusyError) Error() string {
	d := e.Waited.Round(10 * time.Millisecond)
	if d >= time.Second {
		d = d.Round(time.Second)
	}
	return fmt.Sprintf("server busy: no free slot for a pack after %v in the queue; try again later", d)
}

// slots is the queue of PackOps: a counting semaphore with a per-key
// limit and FIFO waiters.
type slots struct {
	max, perKey int
	timeout     time.Duration
	every       time.Duration

	mu    sync.Mutex
	used  int
	byKey map[string]int
	queue []*waiter
}

type waiter struct {
	key   string
	ready chan struct{} // closed when the slot is granted
}

// newSlots returns the queue for o, or nil when o sets no limit.
func newSlots(o PackOps) *slots {
	if o.Max <= 0 {
		return nil
	}
	s := &slots{max: o.Max, perKey: o.PerUser, timeout: o.QueueTimeout, every: o.Progress, byKey: map[string]int{}}
	if s.perKey <= 0 || s.perKey > s.max {
		s.perKey = s.max
	}
	if s.timeout <= 0 {
		s.timeout = DefaultQueueTimeout
	}
	if s.every <= 0 {
		s.every = DefaultQueueProgress
	}
	return s
}

// acquire waits for a slot for key, calling wait with a line for the
// client when it must queue and then every s.every. It returns the
// function that gives the slot back, or ctx's error, or *BusyError after
// s.timeout.
func (s *slots) acquire(ctx context.Context, key string, wait func(string)) (release func(), err error) {
	s.mu.Lock()
	if s.free(key) {
		// Whoever still queues is held by its own key's limit.
		s.take(key)
		s.mu.Unlock()
		return s.releaser(key), nil
	}
	w := &waiter{key: key, ready: make(chan struct{})}
	s.queue = append(s.queue, w)
	ahead := len(s.queue) - 1
	s.mu.Unlock()

	start := time.Now()
	wait(waitLine(ahead))
	timeout := time.NewTimer(s.timeout)
	defer timeout.Stop()
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	for {
		select {
		case <-w.ready:
			return s.releaser(key), nil
		case <-tick.C:
			if n, ok := s.position(w); ok {
				wait(waitLine(n))
			}
		case <-timeout.C:
			if s.leave(w) {
				return s.releaser(key), nil
			}
			return nil, &BusyError{Waited: time.Since(start)}
		case <-ctx.Done():
			if s.leave(w) {
				s.releaser(key)()
			}
			return nil, ctx.Err()
		}
	}
}

func waitLine(ahead int) string {
	if ahead == 0 {
		return "depot: waiting for a free slot (next in line)\n"
	}
	return fmt.Sprintf("depot: waiting for a free slot (%d ahead)\n", ahead)
}

// free reports whether key may take a slot now; s.mu is held.
func (s *slots) free(key string) bool {
	return s.used < s.max && s.byKey[key] < s.perKey
}

// take gives key a slot; s.mu is held.
func (s *slots) take(key string) {
	s.used++
	s.byKey[key]++
}

// releaser returns the function that gives key's slot back, once.
func (s *slots) releaser(key string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.used--
			if s.byKey[key]--; s.byKey[key] == 0 {
				delete(s.byKey, key)
			}
			s.grant()
		})
	}
}

// grant hands free slots to waiters in queue order, passing over those
// whose key is at its limit; s.mu is held.
func (s *slots) grant() {
	for i := 0; i < len(s.queue) && s.used < s.max; {
		w := s.queue[i]
		if !s.free(w.key) {
			i++
			continue
		}
		s.take(w.key)
		s.queue = append(s.queue[:i], s.queue[i+1:]...)
		close(w.ready)
	}
}

// position is how many waiters are ahead of w, and whether w still waits.
func (s *slots) position(w *waiter) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.queue {
		if q == w {
			return i, true
		}
	}
	return 0, false
}

// leave takes w out of the queue, and reports whether it had been
// granted a slot meanwhile (which the caller then holds).
func (s *slots) leave(w *waiter) (granted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			return false
		}
	}
	return true
}
