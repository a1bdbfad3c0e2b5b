// Package audit keeps depot's audit log: the security events (sign-ins,
// refused credentials, token, member, repository and admin changes) in
// the table audit_events of depot.db, who caused each, from which
// address, and what it touched. Handlers record an event after the change
// it describes succeeded; an event never carries a secret. The log is
// read newest first, by admins in full and by a user for the events they
// caused or that concern them, and rows older than the retention go.
package audit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/tokens/sqlite"
)

// The actions recorded, as stored and listed. They are part of the API:
// scripts filter on them, so they never change once released.
const (
	SignIn       = "signin"       // the web's sign-in form accepted a password
	SignInFail   = "signin.fail"  // the web's sign-in form refused one
	SignOut      = "signout"      // a web session ended by its user
	AuthFail     = "auth.fail"    // the API or git refused a password or token
	TokenCreate  = "token.create" // Target: token id; Subject: its owner
	TokenEdit    = "token.edit"
	TokenRegen   = "token.regenerate"
	TokenEnable  = "token.enable"
	TokenDisable = "token.disable"
	TokenDelete  = "token.delete"
	// TokenDeleteAll: every token of Subject; Detail: how many.
	TokenDeleteAll = "token.delete_all"
	MemberAdd      = "member.add"    // Target: project; Subject: the member; Detail: role
	MemberRole     = "member.role"   // Detail: "role OLD -> NEW"
	MemberRemove   = "member.remove" // Detail: the role the member had
	ProjectCreate  = "project.create"
	RepoCreate     = "repo.create"     // Target: owner/name
	RepoDelete     = "repo.delete"     // Target: owner/name
	RepoVisibility = "repo.visibility" // Detail: "private -> public"
	UserCreate     = "user.create"     // Target and Subject: the new user
)

// Actions on passwords and sessions, in the same naming.
const (
	// SessionRevoke: a session ended from the profile page's list.
	// Target: the session id; Subject: its user.
	SessionRevoke = "session.revoke"
	// PasswordChange: a user changed their own password on the web.
	// Target and Subject: the user; Detail: how many other sessions
	// ended.
	PasswordChange = "password.change"
	// PasswordReset: an admin set a user's password (depot user
	// passwd). Target and Subject: the user; Detail: how many sessions
	// ended.
	PasswordReset = "password.reset"
)

// Actions lists every action, in the order of the constants.
var Actions = []string{
	SignIn, SignInFail, SignOut, AuthFail,
	TokenCreate, TokenEdit, TokenRegen, TokenEnable, TokenDisable, TokenDelete, TokenDeleteAll,
	MemberAdd, MemberRole, MemberRemove, ProjectCreate,
	RepoCreate, RepoDelete, RepoVisibility, UserCreate,
	SessionRevoke, PasswordChange, PasswordReset,
}

// ViaCLI is the Via of events that the depot command caused.
const ViaCLI = "cli"

// Event is one entry of the log.
type Event struct {
	ID      int64
	Time    time.Time
	Actor   string // the user who acted; "" when anonymous or unknown
	IP      string // the actor's address (auth.ClientIP); "" from the CLI
	Via     string // how the actor authenticated: password, session, token ID, cli
	Action  string // one of the constants above
	Target  string // what the action touched: a token id, owner/repo, a project
	Subject string // the user the event concerns, when there is one
	Detail  string // free text for people, never a secret
}

// maxDetail bounds the text columns, in bytes: a reason or a role change
// is short, and a client must not fill the log with its input.
const maxDetail = 512

// FromRequest returns an event of action by the caller of r as id
// describes it, from r's address.
func FromRequest(r *http.Request, id *auth.Identity, action string) Event {
	e := Event{Action: action, IP: auth.ClientIP(r)}
	if !id.Anonymous() {
		e.Actor = id.User
		e.Via = ViaOf(id)
	}
	return e
}

// ViaOf says how id authenticated, as Event.Via records it: "password",
// "session", or "token ID".
func ViaOf(id *auth.Identity) string {
	if id.Method == auth.MethodToken {
		return "token " + id.TokenID
	}
	return id.Method.String()
}

// Store reads and writes the log in depot.db.
type Store struct {
	db  *sqlite.DB
	now func() time.Time
}

// New returns the log kept in db.
func New(db *sqlite.DB) *Store { return &Store{db: db, now: time.Now} }

// Record appends e, at now when e.Time is zero. Text past 512 bytes is
// cut. It returns only the database failing.
func (s *Store) Record(ctx context.Context, e Event) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if e.Action == "" {
		return fmt.Errorf("audit: record: no action")
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_events
		(time, actor, ip, via, action, target, subject, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		sqlite.Milli(e.Time), clip(e.Actor), clip(e.IP), clip(e.Via), clip(e.Action),
		clip(e.Target), clip(e.Subject), clip(e.Detail))
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// clip cuts s to maxDetail bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= maxDetail {
		return s
	}
	s = s[:maxDetail]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Query selects a page of the log, newest first.
type Query struct {
	// Viewer, when set, limits the log to the events this user caused or
	// that concern them: what a user who is not an admin may read.
	Viewer string
	// User, when set, selects the events this user caused or that concern
	// them, within what Viewer may read.
	User string
	// Action, when set, selects one action ("token.create") or, ending
	// in ".", a family ("token.").
	Action   string
	PageNo   int // from 1
	PageSize int
}

// List returns how many events q selects and its page of them, newest
// first.
func (s *Store) List(ctx context.Context, q Query) (total int, page []Event, err error) {
	var where []string
	var args []any
	for _, u := range []string{q.Viewer, q.User} {
		if u != "" {
			where = append(where, "(actor = ? OR subject = ?)")
			args = append(args, u, u)
		}
	}
	if prefix, ok := strings.CutSuffix(q.Action, "."); ok && prefix != "" {
		where = append(where, "substr(action, 1, ?) = ?")
		args = append(args, len(q.Action), q.Action)
	} else if q.Action != "" {
		where = append(where, "action = ?")
		args = append(args, q.Action)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("audit: list: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_events`+cond, args...).Scan(&total); err != nil {
		return 0, nil, fmt.Errorf("audit: list: %w", err)
	}
	size := max(q.PageSize, 1)
	offset := (max(q.PageNo, 1) - 1) * size
	if offset >= total {
		return total, nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, time, actor, ip, via, action, target, subject, detail
		FROM audit_events`+cond+` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, size, offset)...)
	if err != nil {
		return 0, nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		var ms int64
		if err := rows.Scan(&e.ID, &ms, &e.Actor, &e.IP, &e.Via, &e.Action, &e.Target, &e.Subject, &e.Detail); err != nil {
			return 0, nil, fmt.Errorf("audit: list: %w", err)
		}
		e.Time = sqlite.Time(ms)
		page = append(page, e)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("audit: list: %w", err)
	}
	return total, page, nil
}

// DeleteBefore deletes the events older than t and returns how many went.
func (s *Store) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM audit_events WHERE time < ?`, sqlite.Milli(t))
	if err != nil {
		return 0, fmt.Errorf("audit: delete before %s: %w", t.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("audit: delete before %s: %w", t.Format(time.RFC3339), err)
	}
	return n, nil
}

// Expire deletes the events older than retention now and then every
// interval until ctx ends, telling report how many went or why it
// failed. A retention of 0 or less keeps every event, and Expire returns
// at once.
func (s *Store) Expire(ctx context.Context, retention, interval time.Duration, report func(deleted int64, err error)) {
	if retention <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.DeleteBefore(ctx, s.now().Add(-retention))
		if ctx.Err() != nil {
			return
		}
		report(n, err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reason returns what a refusal told the client, for Event.Detail: the
// message of its *apierr.Error, never the cause behind it.
func Reason(refusal error) string {
	var e *apierr.Error
	if errors.As(refusal, &e) {
		return e.Msg
	}
	return "refused"
}
