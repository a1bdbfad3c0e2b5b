package tokens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/depot/depot/tokens/sqlite"
)

// Session is one signed-in browser. Its secret lives only in the
// browser's cookie; the store keeps its SHA-256 hash.
type Session struct {
	ID        string // public: shown and revoked on the profile page
	Username  string // owner's global_key
	CreatedAt time.Time
	LastSeen  time.Time
	IP        string // address it signed in from, then last seen from
	UserAgent string // at most MaxUserAgent bytes
}

// Session lifetimes. A session unused for SessionIdle ends; one in use
// is still refreshed at most every sessionTouch, so that a page view
// costs a write only once in a while.
const (
	SessionIdle  = 30 * 24 * time.Hour
	sessionTouch = time.Minute
	MaxUserAgent = 512
)

// sessionSecretBytes is the entropy of a session secret: 256 bits.
const sessionSecretBytes = 32

// CreateSession starts a session for the user username, seen from ip with
// userAgent, and returns it with its secret, which is not kept. It
// returns an error wrapping ErrNotFound if the user does not exist.
func (s *Store) CreateSession(ctx context.Context, username, ip, userAgent string) (*Session, string, error) {
	id, err := newUUID()
	if err != nil {
		return nil, "", err
	}
	var raw [sessionSecretBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, "", fmt.Errorf("tokens: session secret: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	hash := sha256.Sum256([]byte(secret))
	now := s.nowMilli()
	sess := &Session{ID: id, CreatedAt: now, LastSeen: now, IP: ip, UserAgent: clipUserAgent(userAgent)}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, "", fmt.Errorf("tokens: create session for %q: %w", username, err)
	}
	defer tx.Rollback()
	u, err := userByName(ctx, tx, username)
	if err != nil {
		return nil, "", fmt.Errorf("tokens: create session for %q: %w", username, err)
	}
	sess.Username = u.GlobalKey
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO sessions (id, secret_hash, user_id, created_at, last_seen, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, hash[:], u.ID, now.UnixMilli(), now.UnixMilli(), sess.IP, sess.UserAgent); err != nil {
		return nil, "", fmt.Errorf("tokens: create session for %q: %w", username, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, "", fmt.Errorf("tokens: create session for %q: %w", username, err)
	}
	return sess, secret, nil
}

// clipUserAgent bounds what a client may make the store keep, at a rune
// boundary so that the column stays valid text.
func clipUserAgent(ua string) string {
	if len(ua) <= MaxUserAgent {
		return ua
	}
	ua = ua[:MaxUserAgent]
	for len(ua) > 0 && !utf8.ValidString(ua) {
		ua = ua[:len(ua)-1]
	}
	return ua
}

// SessionBySecret returns the live session whose secret this is and its
// user, and notes that it was seen now from ip. It returns an error
// wrapping ErrBadCredentials for an unknown, revoked or idle session.
func (s *Store) SessionBySecret(ctx context.Context, secret, ip string) (*Session, *User, error) {
	hash := sha256.Sum256([]byte(secret))
	var stored []byte
	var created, seen, ucreated int64
	sess, u := new(Session), new(User)
	err := s.db.QueryRowContext(ctx, `
		SELECT s.id, s.secret_hash, s.created_at, s.last_seen, s.ip, s.user_agent, `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_hash = ?`, hash[:]).
		Scan(&sess.ID, &stored, &created, &seen, &sess.IP, &sess.UserAgent,
			&u.ID, &u.GlobalKey, &u.Name, &u.Email, &u.Admin, &ucreated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("tokens: session: %w", ErrBadCredentials)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: session: %w", err)
	}
	if subtle.ConstantTimeCompare(stored, hash[:]) != 1 {
		return nil, nil, fmt.Errorf("tokens: session: %w", ErrBadCredentials)
	}
	sess.Username, sess.CreatedAt, sess.LastSeen = u.GlobalKey, sqlite.Time(created), sqlite.Time(seen)
	u.CreatedAt = sqlite.Time(ucreated)
	now := s.nowMilli()
	if now.Sub(sess.LastSeen) >= SessionIdle {
		return nil, nil, fmt.Errorf("tokens: session %s: idle since %s: %w", sess.ID, sess.LastSeen.Format(time.RFC3339), ErrBadCredentials)
	}
	if now.Sub(sess.LastSeen) >= sessionTouch || sess.IP != ip {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen = ?, ip = ? WHERE id = ?`,
			now.UnixMilli(), ip, sess.ID); err != nil {
			return nil, nil, fmt.Errorf("tokens: touch session %s: %w", sess.ID, err)
		}
		sess.LastSeen, sess.IP = now, ip
	}
	return sess, u, nil
}

// ListSessions returns the live sessions of the user username, the most
// recently seen first.
func (s *Store) ListSessions(ctx context.Context, username string) ([]*Session, error) {
	idleBefore := s.nowMilli().Add(-SessionIdle).UnixMilli()
	rows, err := s.db.QueryContext(ctx, `
		SELECT s.id, u.global_key, s.created_at, s.last_seen, s.ip, s.user_agent
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE u.global_key = ? AND s.last_seen > ?
		ORDER BY s.last_seen DESC, s.created_at DESC`, username, idleBefore)
	if err != nil {
		return nil, fmt.Errorf("tokens: list sessions of %q: %w", username, err)
	}
	defer rows.Close()
	var out []*Session
	for rows.Next() {
		var created, seen int64
		sess := new(Session)
		if err := rows.Scan(&sess.ID, &sess.Username, &created, &seen, &sess.IP, &sess.UserAgent); err != nil {
			return nil, fmt.Errorf("tokens: list sessions of %q: %w", username, err)
		}
		sess.CreatedAt, sess.LastSeen = sqlite.Time(created), sqlite.Time(seen)
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tokens: list sessions of %q: %w", username, err)
	}
	return out, nil
}

// DeleteSession ends the session id of the user username: its cookie
// stops working at once. It returns an error wrapping ErrNotFound when the
// user has no such session, so that nobody ends another user's.
func (s *Store) DeleteSession(ctx context.Context, username, id string) error {
	res, err := s.db.ExecContext(ctx, `
		DELETE FROM sessions WHERE id = ?
		AND user_id = (SELECT id FROM users WHERE global_key = ?)`, id, username)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return fmt.Errorf("tokens: delete session %s of %q: %w", id, username, err)
	}
	return nil
}

// DeleteIdleSessions removes the sessions unused for SessionIdle, which
// no longer sign anyone in, and returns how many there were.
func (s *Store) DeleteIdleSessions(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen <= ?`,
		s.nowMilli().Add(-SessionIdle).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("tokens: delete idle sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
