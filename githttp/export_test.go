package githttp

import "context"

// HoldSlot takes a pack slot for key in s's queue, as a running clone or
// push of that user would, and returns its release.
func (s *Server) HoldSlot(key string) func() {
	s.slotsOnce.Do(func() { s.slots = newSlots(s.PackOps) })
	release, err := s.slots.acquire(context.Background(), key, func(string) {})
	if err != nil {
		panic(err)
	}
	return release
}

// Queued is how many pack operations wait for a slot.
func (s *Server) Queued() int { return s.slots.queued() }
