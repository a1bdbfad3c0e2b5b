package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/depot/depot/tokens/sqlite"
)

// New-network alerts. A token remembers the networks it was used from
// (an address's IPv4 /24 or IPv6 /48 by default, SetNetworkBits), in the
// database with the token. A use from outside all of them records a
// new-network event, or, on a token with LockOnNewNetwork, is refused and
// disables the token. The first use of a token ever only sets the first
// network, as GitHub raises no alert for a new token's first use: there is
// nothing yet to compare with. Networks learned are written with the
// coalesced uses (lastuse.go), so a request writes nothing; only a lock
// writes at once.

// Default prefix lengths of a network.
const (
	DefaultNetworkV4 = 24
	DefaultNetworkV6 = 48
)

// maxNetworks bounds the networks a token remembers; past it the oldest
// learned is forgotten (and would alert again).
const maxNetworks = 100

// ErrLocked means that a token use was refused because it came from a new
// network and the token locks on one; the token is now disabled.
var ErrLocked = errors.New("token locked: first use from a new network")

// SetNetworkBits sets the prefix lengths that make one network for
// new-network alerts: v4 of 8 to 32 bits, v6 of 16 to 128. It returns a
// *input.ValidationError otherwise.
func (s *Store) SetNetworkBits(v4, v6 int) error {
	if v4 < 8 || v4 > 32 {
		return invalid("networkV4", "must be 8 to 32 bits, not %d", v4)
	}
	if v6 < 16 || v6 > 128 {
		return invalid("networkV6", "must be 16 to 128 bits, not %d", v6)
	}
	s.netBits.Store(&[2]int{v4, v6})
	return nil
}

// networkOf returns the network of the address ip as CIDR text, or "" if
// ip is not an address.
func (s *Store) networkOf(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	addr = addr.Unmap().WithZone("")
	bits := s.netBits.Load()
	n := bits[1]
	if addr.Is4() {
		n = bits[0]
	}
	p, err := addr.Prefix(n)
	if err != nil {
		return ""
	}
	return p.String()
}

// Use is one authenticated use of a token, as TokenUsed needs it: the
// token as LookupToken returned it, and whether the secret was its
// previous one (LookupToken's grace result).
type Use struct {
	Token    *Token
	Previous bool
	IP       string
	At       time.Time
}

// TokenUsed records u, a use that passed every check of the token's
// status, times and whitelist: its last use (RecordTokenUse), a
// grace-secret-used event and count for a previous secret, and the
// network. A use from a new network records a new-network event; when the
// token locks on new networks it instead disables the token, records the
// new-network and disabled events, and returns an error wrapping
// ErrLocked: the use must be refused. Only that lock touches the
// database; anything else is written by the next flush. Other errors are
// the database failing to lock the token, and the use must be refused
// too.
func (s *Store) TokenUsed(ctx context.Context, u Use) error {
	t := u.Token
	network := s.networkOf(u.IP)
	ms := u.At.UnixMilli()
	s.uses.mu.Lock()
	isNew := network != "" && !slices.Contains(t.networks, network) &&
		!slices.Contains(s.uses.nets[t.ID], network) && !slices.Contains(s.uses.flushed[t.ID], network)
	first := isNew && len(t.networks) == 0 && len(s.uses.nets[t.ID]) == 0 && len(s.uses.flushed[t.ID]) == 0
	if isNew && !first && t.LockOnNewNetwork {
		s.uses.mu.Unlock()
		return s.lockToken(ctx, t.ID, network, u.IP, ms)
	}
	if isNew {
		s.uses.nets[t.ID] = append(s.uses.nets[t.ID], network)
	}
	var events []pendingEvent
	if isNew && !first {
		events = append(events, pendingEvent{tokenID: t.ID, at: ms, ip: u.IP, kind: EventNewNetwork})
	}
	if u.Previous {
		s.uses.graceUses[t.ID]++
		events = append(events, pendingEvent{tokenID: t.ID, at: ms, ip: u.IP, kind: EventGraceSecretUsed})
	}
	n := s.uses.record(t.ID, u.IP, ms)
	s.uses.mu.Unlock()
	if len(events) > 0 {
		s.queueEvents(events...)
	} else if n == kickPending {
		s.kickFlush()
	}
	return nil
}

// lockToken disables the token id after a use from network, which it
// learns so that its owner, enabling it again, accepts that network. It
// returns an error wrapping ErrLocked, or the database's error.
func (s *Store) lockToken(ctx context.Context, id, network, ip string, at int64) error {
	defer s.cache.invalidate() // after the commit: see lookupCache
	if err := s.writeLock(ctx, id, network, ip, at); err != nil {
		return fmt.Errorf("tokens: lock token %q: %w", id, err)
	}
	s.log.WithFields(map[string]any{"token": id, "ip": ip, "network": network}).
		Warn("tokens: token used from a new network; locked (disabled) until its owner enables it")
	return fmt.Errorf("tokens: token %q: %w", id, ErrLocked)
}

func (s *Store) writeLock(ctx context.Context, id, network, ip string, at int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE tokens SET enabled = 0 WHERE id = ? AND enabled = 1`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // already disabled (or deleted): a concurrent use locked it
	}
	if err := learnNetworks(ctx, tx, id, []string{network}); err != nil {
		return err
	}
	for _, kind := range []string{EventNewNetwork, EventDisabled} {
		if err := insertEvent(ctx, tx, id, at, ip, kind); err != nil {
			return err
		}
	}
	if err := pruneEvents(ctx, tx, id); err != nil {
		return err
	}
	return tx.Commit()
}

// learnNetworks adds nets to the networks of the token id, forgetting the
// oldest beyond maxNetworks. A token that no longer exists is skipped.
func learnNetworks(ctx context.Context, q sqlite.Querier, id string, nets []string) error {
	var text []byte
	err := q.QueryRowContext(ctx, `SELECT networks FROM tokens WHERE id = ?`, id).Scan(&text)
	if errors.Is(notFound(err), ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var known []string
	if err := json.Unmarshal(text, &known); err != nil {
		known = nil // a damaged list is relearned rather than blocking every flush
	}
	for _, n := range nets {
		if !slices.Contains(known, n) {
			known = append(known, n)
		}
	}
	if over := len(known) - maxNetworks; over > 0 {
		known = known[over:]
	}
	_, err = q.ExecContext(ctx, `UPDATE tokens SET networks = ? WHERE id = ?`, jsonList(known), id)
	return err
}
