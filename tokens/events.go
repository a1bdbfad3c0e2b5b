package tokens

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/depot/depot/tokens/sqlite"
)

// A token's events say what happened to it that its owner should know:
// uses from a new network, uses of a previous secret during a grace
// window, a disable, a regeneration, a use its rules refused. Events go
// with their token, and only the newest MaxTokenEvents of each are kept,
// so that a busy token cannot grow the table without limit.

// The kinds of TokenEvent.
const (
	EventNewNetwork      = "new-network"       // first use from a network the token was never used from
	EventGraceSecretUsed = "grace-secret-used" // a use of the previous secret during a grace window
	EventDisabled        = "disabled"          // its status became disabled (by its owner, or locked)
	EventRegenerated     = "regenerated"       // it got a new secret
	EventRulesRefused    = "rules-refused"     // its rules refused a git request
)

// EventKinds returns the kinds a TokenEvent may have.
func EventKinds() []string {
	return []string{EventNewNetwork, EventGraceSecretUsed, EventDisabled, EventRegenerated, EventRulesRefused}
}

// MaxTokenEvents is how many events of one token are kept, the newest.
const MaxTokenEvents = 1000

// maxPendingEvents bounds the events waiting for a flush; more are
// dropped (and counted in the log) until it runs.
const maxPendingEvents = 100_000

// TokenEvent is one event of a token.
type TokenEvent struct {
	Time time.Time // millisecond precision
	IP   string    // the client's address, "" when there was none
	Kind string    // one of EventKinds
}

// pendingEvent is an event waiting for the next flush.
type pendingEvent struct {
	tokenID string
	at      int64
	ip      string
	kind    string
}

// AddTokenEvent records an event of kind for the token tokenID, from ip,
// at the current time. It does no I/O, so request paths may call it: the
// event is written with the next flush of token uses, within about
// flushInterval, and TokenEvents flushes before it reads. An event of a
// token deleted meanwhile is dropped. It returns a *input.ValidationError
// naming "kind" for a kind not among EventKinds.
func (s *Store) AddTokenEvent(ctx context.Context, tokenID, ip, kind string) error {
	if !slices.Contains(EventKinds(), kind) {
		return invalid("kind", "unknown token event %q", kind)
	}
	s.queueEvents(pendingEvent{tokenID: tokenID, at: s.now().UnixMilli(), ip: ip, kind: kind})
	return nil
}

// queueEvents adds evs to the pending events and asks for a flush.
func (s *Store) queueEvents(evs ...pendingEvent) {
	s.uses.mu.Lock()
	for _, e := range evs {
		if len(s.uses.events) >= maxPendingEvents {
			s.uses.droppedEvents++
			continue
		}
		s.uses.events = append(s.uses.events, e)
	}
	s.uses.mu.Unlock()
	s.kickFlush()
}

// insertEvent writes one event of the token id; nothing when the token
// does not exist.
func insertEvent(ctx context.Context, q sqlite.Querier, id string, at int64, ip, kind string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO token_events (token_seq, time, ip, kind)
		SELECT seq, ?, ?, ? FROM tokens WHERE id = ?`, at, ip, kind, id)
	return err
}

// pruneEvents deletes the events of the token id beyond the newest
// MaxTokenEvents. The LIMIT is the largest integer: SQLite's "no limit",
// -1, is an error on PostgreSQL and its LIMIT ALL one on SQLite.
func pruneEvents(ctx context.Context, q sqlite.Querier, id string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM token_events WHERE id IN (
		SELECT e.id FROM token_events e JOIN tokens t ON t.seq = e.token_seq
		WHERE t.id = ? ORDER BY e.time DESC, e.id DESC LIMIT 9223372036854775807 OFFSET ?)`, id, MaxTokenEvents)
	return err
}

// TokenEvents returns how many events the token id has and the page pageNo
// (1-based) of pageSize of them, newest first. It writes pending events
// first, so that an event added before the call is listed. It returns an
// error wrapping ErrNotFound for an unknown token and a
// *input.ValidationError for a page size outside 1..MaxPageSize or a
// page number below 1.
func (s *Store) TokenEvents(ctx context.Context, id string, pageNo, pageSize int) (total int, page []TokenEvent, err error) {
	if pageNo < 1 {
		return 0, nil, invalid("pageNo", "must be at least 1")
	}
	if pageSize < 1 || pageSize > MaxPageSize {
		return 0, nil, invalid("pageSize", "must be between 1 and %d", MaxPageSize)
	}
	if err := s.FlushTokenUse(ctx); err != nil {
		return 0, nil, fmt.Errorf("tokens: events of %q: %w", id, err)
	}
	total, page, err = s.tokenEvents(ctx, id, pageNo, pageSize)
	if err != nil {
		return 0, nil, fmt.Errorf("tokens: events of %q: %w", id, err)
	}
	return total, page, nil
}

func (s *Store) tokenEvents(ctx context.Context, id string, pageNo, pageSize int) (int, []TokenEvent, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, nil, err
	}
	defer tx.Rollback()
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT seq FROM tokens WHERE id = ?`, id).Scan(&seq); err != nil {
		return 0, nil, notFound(err)
	}
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM token_events WHERE token_seq = ?`, seq).Scan(&total); err != nil {
		return 0, nil, err
	}
	page := []TokenEvent{}
	offset := (pageNo - 1) * pageSize
	if offset >= total {
		return total, page, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT time, ip, kind FROM token_events WHERE token_seq = ?
		ORDER BY time DESC, id DESC LIMIT ? OFFSET ?`, seq, pageSize, offset)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e TokenEvent
		var at int64
		if err := rows.Scan(&at, &e.IP, &e.Kind); err != nil {
			return 0, nil, err
		}
		e.Time = sqlite.Time(at)
		page = append(page, e)
	}
	return total, page, rows.Err()
}

// notFound turns sql.ErrNoRows into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// addEvent writes one event of the token id and keeps the newest
// MaxTokenEvents.
func addEvent(ctx context.Context, q sqlite.Querier, id string, at int64, ip, kind string) error {
	if err := insertEvent(ctx, q, id, at, ip, kind); err != nil {
		return err
	}
	return pruneEvents(ctx, q, id)
}
