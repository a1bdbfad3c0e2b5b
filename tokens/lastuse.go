package tokens

import (
	"context"
	"fmt"
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

// useBuffer holds the uses not written yet, one entry per token id.
type useBuffer struct {
	mu sync.Mutex
	m  map[string]tokenUse
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
	ms := at.UnixMilli()
	s.uses.mu.Lock()
	old, ok := s.uses.m[id]
	switch {
	case ok && old.at > ms:
	case !ok && len(s.uses.m) >= maxPending:
	default:
		s.uses.m[id] = tokenUse{ip: ip, at: ms}
	}
	n := len(s.uses.m)
	s.uses.mu.Unlock()
	if n == kickPending {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// FlushTokenUse writes the pending token uses now, in one transaction. A use
// older than the one already stored (by another process, say) does not
// overwrite it. If the write fails the uses stay pending for the next flush.
func (s *Store) FlushTokenUse(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()

	s.uses.mu.Lock()
	pending := s.uses.m
	if len(pending) == 0 {
		s.uses.mu.Unlock()
		return nil
	}
	s.uses.m = make(map[string]tokenUse, len(pending))
	s.uses.mu.Unlock()

	if err := s.writeUses(ctx, pending); err != nil {
		s.uses.mu.Lock()
		for id, u := range pending {
			if cur, ok := s.uses.m[id]; !ok || cur.at < u.at {
				s.uses.m[id] = u
			}
		}
		s.uses.mu.Unlock()
		return fmt.Errorf("tokens: flush %d token uses: %w", len(pending), err)
	}
	return nil
}

func (s *Store) writeUses(ctx context.Context, pending map[string]tokenUse) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt := tx.StmtContext(ctx, s.useStmt)
	defer stmt.Close()
	for id, u := range pending {
		if _, err := stmt.ExecContext(ctx, u.at, u.ip, id, u.at); err != nil {
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
