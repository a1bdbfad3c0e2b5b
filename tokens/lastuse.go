package tokens

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Every authenticated request records a token use, and docs/api.md
// ("Authentication") promises it visible within a second. Writing each use would put a disk write on the hot
// path and serialise requests on SQLite's write lock, so uses are kept in
// memory, the latest per token, and written in one transaction every
// flushInterval.

// tokenUse is the latest recorded use of one token.
type tokenUse struct {
	ip string
	at int64 // unix milliseconds
}

// useBuffer holds the uses not written yet, one entry per token id, and
// what goes with them: events, uses of previous secrets, networks learned.
type useBuffer struct {
	mu sync.Mutex
	m  map[string]tokenUse

	events        []pendingEvent
	droppedEvents int              // events refused since the last flush: maxPendingEvents
	graceUses     map[string]int64 // uses of previous secrets, per token id
	// nets are the networks learned per token id and not written yet;
	// flushed are those of the previous flush, still consulted until the
	// next one so that a lookup read just before a flush committed does
	// not see them as new again.
	nets, flushed map[string][]string
}

// take returns the pending writes and empties the buffer; the caller
// holds mu.
func (b *useBuffer) take() pendingWrites {
	p := pendingWrites{uses: b.m, events: b.events, graceUses: b.graceUses, nets: b.nets, dropped: b.droppedEvents}
	b.m = make(map[string]tokenUse, len(p.uses))
	b.events, b.droppedEvents = nil, 0
	b.graceUses = make(map[string]int64)
	b.flushed, b.nets = b.nets, make(map[string][]string)
	return p
}

// putBack returns writes that failed to the buffer, under writes that
// came since; the caller holds mu.
func (b *useBuffer) putBack(p pendingWrites) {
	for id, u := range p.uses {
		if cur, ok := b.m[id]; !ok || cur.at < u.at {
			b.m[id] = u
		}
	}
	b.events = append(p.events, b.events...)
	if over := len(b.events) - maxPendingEvents; over > 0 {
		b.events = b.events[over:]
		b.droppedEvents += over
	}
	for id, n := range p.graceUses {
		b.graceUses[id] += n
	}
	for id, nets := range p.nets {
		for _, n := range nets {
			if !slices.Contains(b.nets[id], n) {
				b.nets[id] = append(b.nets[id], n)
			}
		}
	}
}

// pendingWrites is what one flush writes.
type pendingWrites struct {
	uses      map[string]tokenUse
	events    []pendingEvent
	graceUses map[string]int64
	nets      map[string][]string
	dropped   int
}

// Bounds on pending uses. The ids come from authenticated tokens, so their
// number is bounded by the tokens that exist; these limits only guard
// against a flood between two flushes.
const (
	kickPending = 10_000    // ask for an early flush
	maxPending  = 1_000_000 // drop uses of further tokens until a flush
)

// RecordTokenUse notes that token id was used from ip at time at. It does no
// I/O: the use is written by the next flush, within about flushInterval.
// Only the latest use of each token is kept.
func (s *Store) RecordTokenUse(id, ip string, at time.Time) {
	s.uses.mu.Lock()
	n := s.uses.record(id, ip, at.UnixMilli())
	s.uses.mu.Unlock()
	if n == kickPending {
		s.kickFlush()
	}
}

// record keeps a use of id unless a later one is pending, and returns how
// many tokens have uses pending; the caller holds mu.
func (b *useBuffer) record(id, ip string, ms int64) int {
	old, ok := b.m[id]
	switch {
	case ok && old.at > ms:
	case !ok && len(b.m) >= maxPending:
	default:
		b.m[id] = tokenUse{ip: ip, at: ms}
	}
	return len(b.m)
}

// kickFlush asks the flusher to run now rather than at its next tick.
func (s *Store) kickFlush() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// FlushTokenUse writes the pending token uses now, in one transaction,
// with the pending events, counts of previous secrets' uses and networks
// learned. A use older than the one already stored (by another process,
// say) does not overwrite it. If the write fails everything stays pending
// for the next flush.
func (s *Store) FlushTokenUse(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()

	s.uses.mu.Lock()
	if s.uses.empty() {
		s.uses.flushed = nil
		s.uses.mu.Unlock()
		return nil
	}
	pending := s.uses.take()
	s.uses.mu.Unlock()

	if pending.dropped > 0 {
		s.log.WithField("dropped", pending.dropped).Warn("tokens: too many token events between two flushes; some were dropped")
	}
	if err := s.writeUses(ctx, pending); err != nil {
		s.uses.mu.Lock()
		s.uses.putBack(pending)
		s.uses.mu.Unlock()
		return fmt.Errorf("tokens: flush %d token uses and %d events: %w", len(pending.uses), len(pending.events), err)
	}
	if len(pending.nets) > 0 || len(pending.graceUses) > 0 {
		// Cached tokens decide on their networks and grace uses. On
		// SQLite the WAL file tells every Store of the write; on
		// PostgreSQL this notifies them. A use's time alone changes no
		// decision, and would drop every process's cache at each flush.
		s.cache.invalidate()
	}
	return nil
}

// empty reports whether nothing waits for a flush; the caller holds mu.
func (b *useBuffer) empty() bool {
	return len(b.m) == 0 && len(b.events) == 0 && len(b.graceUses) == 0 && len(b.nets) == 0
}

func (s *Store) writeUses(ctx context.Context, p pendingWrites) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt := tx.StmtContext(ctx, s.useStmt)
	defer stmt.Close()
	for id, u := range p.uses {
		if _, err := stmt.ExecContext(ctx, u.at, u.ip, id, u.at); err != nil {
			return err
		}
	}
	for id, n := range p.graceUses {
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET grace_uses = grace_uses + ? WHERE id = ?`, n, id); err != nil {
			return err
		}
	}
	for id, nets := range p.nets {
		if err := learnNetworks(ctx, tx, id, nets); err != nil {
			return err
		}
	}
	touched := map[string]bool{}
	for _, e := range p.events {
		if err := insertEvent(ctx, tx, e.tokenID, e.at, e.ip, e.kind); err != nil {
			return err
		}
		touched[e.tokenID] = true
	}
	for id := range touched {
		if err := pruneEvents(ctx, tx, id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// flusher runs FlushTokenUse every flushInterval, and early when asked,
// until Close.
func (s *Store) flusher() {
	defer s.wg.Done()
	tick := time.NewTicker(flushInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		case <-s.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.FlushTokenUse(ctx); err != nil {
			s.log.WithError(err).Warn("tokens: recording token use failed; will retry")
		}
		cancel()
	}
}
