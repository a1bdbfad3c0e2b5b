package githttp

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSlots: the queue grants in arrival order, passes over a key at its
// limit, gives back the slot of a waiter that left, and refuses one that
// waited too long.
func TestSlots(t *testing.T) {
	s := newSlots(PackOps{Max: 2, PerUser: 1, QueueTimeout: time.Minute, Progress: time.Hour})
	ctx := context.Background()
	quiet := func(string) {}
	a1, _ := s.acquire(ctx, "a", quiet)
	b1, _ := s.acquire(ctx, "b", quiet)

	got := make(chan string, 3)
	start := func(key string) {
		lines := make(chan string, 1)
		go func() {
			release, err := s.acquire(ctx, key, func(l string) {
				select {
				case lines <- l:
				default:
				}
			})
			if err != nil {
				got <- "error " + err.Error()
				return
			}
			got <- key
			release()
		}()
		<-lines // queued
	}
	start("a") // waits behind a1 (its key's limit) and the full server
	start("c")
	if n, _ := s.position(s.queue[1]); n != 1 {
		t.Errorf("second waiter has %d ahead; want 1", n)
	}
	b1() // frees one slot: "a" is still at its limit, so "c" goes first
	if k := <-got; k != "c" {
		t.Fatalf("granted %q first; want c", k)
	}
	a1()
	if k := <-got; k != "a" {
		t.Fatalf("granted %q; want a", k)
	}

	// A waiter whose client leaves is taken out of the queue.
	x1, _ := s.acquire(ctx, "x", quiet)
	y1, _ := s.acquire(ctx, "y", quiet)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := s.acquire(cctx, "z", quiet); done <- err }()
	for s.queued() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter = %v", err)
	}
	if n := s.queued(); n != 0 {
		t.Errorf("%d still queued after the waiter left", n)
	}

	// One that waits too long is told the server is busy.
	s.timeout = 50 * time.Millisecond
	_, err := s.acquire(ctx, "z", quiet)
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Errorf("waiter past the timeout = %v; want *BusyError", err)
	}
	x1()
	y1()
	if s.used != 0 || len(s.byKey) != 0 || s.queued() != 0 {
		t.Errorf("after every release: %d used, %v by key, %d queued", s.used, s.byKey, s.queued())
	}
}

func (s *slots) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}
