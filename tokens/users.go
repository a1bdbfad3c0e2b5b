package tokens

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/tokens/sqlite"
)

const userColumns = `u.id, u.global_key, u.name, u.email, u.admin, u.created_at`

// scanUser reads userColumns from row.
func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created int64
	if err := row.Scan(&u.ID, &u.GlobalKey, &u.Name, &u.Email, &u.Admin, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = sqlite.Time(created)
	return &u, nil
}

// CreateUser adds u with a bcrypt hash of password and sets u.ID and
// u.CreatedAt; u.Name defaults to u.GlobalKey. It returns a
// *input.ValidationError for bad fields or password, and an error wrapping
// ErrExists if the global_key is taken by a user or a project, compared
// case-insensitively.
func (s *Store) CreateUser(ctx context.Context, u *User, password string) error {
	if u.Name == "" {
		u.Name = u.GlobalKey
	}
	if err := u.Validate(); err != nil {
		return fmt.Errorf("tokens: create user: %w", err)
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return fmt.Errorf("tokens: create user %s: %w", u.GlobalKey, err)
	}
	created := s.nowMilli()
	err = s.db.QueryRowContext(ctx, `
		INSERT INTO users (global_key, name, email, password_hash, admin, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		u.GlobalKey, u.Name, u.Email, hash, u.Admin, created.UnixMilli()).Scan(&u.ID)
	if sqlite.IsUniqueViolation(err) {
		return fmt.Errorf("tokens: create user %s: %w", u.GlobalKey, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("tokens: create user %s: %w", u.GlobalKey, err)
	}
	u.CreatedAt = created
	return nil
}

// hashPassword checks password and returns its bcrypt hash.
func (s *Store) hashPassword(password string) ([]byte, error) {
	switch {
	case password == "":
		return nil, invalid("password", "required")
	case len(password) > MaxPasswordBytes: // bcrypt reads no further
		return nil, invalid("password", "at most %d bytes", MaxPasswordBytes)
	}
	return bcrypt.GenerateFromPassword([]byte(password), s.bcryptCost)
}

// UserByName returns the user whose global_key is globalKey, compared
// case-insensitively, or an error wrapping ErrNotFound.
func (s *Store) UserByName(ctx context.Context, globalKey string) (*User, error) {
	u, err := userByName(ctx, s.db, globalKey)
	if err != nil {
		return nil, fmt.Errorf("tokens: user %q: %w", globalKey, err)
	}
	return u, nil
}

func userByName(ctx context.Context, q sqlite.Querier, globalKey string) (*User, error) {
	u, err := scanUser(q.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.global_key = ?`, globalKey))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return u, err
}

// ListUsers returns every user in order of creation.
func (s *Store) ListUsers(ctx context.Context) ([]*User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("tokens: list users: %w", err)
	}
	defer rows.Close()
	var users []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tokens: list users: %w", err)
	}
	return users, nil
}

// CountUsers returns the number of users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("tokens: count users: %w", err)
	}
	return n, nil
}

// MinPasswordLen is the fewest characters a password chosen from now on
// may have: the CLI's `user add` and `user passwd`, and the web's
// password change, all ask CheckNewPassword.
const MinPasswordLen = 8

// MaxPasswordBytes is the longest password, in bytes: as far as bcrypt
// reads.
const MaxPasswordBytes = 72

// CheckNewPassword returns a *input.ValidationError for the field
// "password" when password may not be chosen: shorter than
// MinPasswordLen characters (runes, what the person typing counts) or
// longer than bcrypt reads (72 bytes).
func CheckNewPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return invalid("password", "at least %d characters", MinPasswordLen)
	case len(password) > MaxPasswordBytes:
		return invalid("password", "at most %d bytes", MaxPasswordBytes)
	}
	return nil
}

// ChangePassword replaces the password of the user globalKey and ends
// every session of theirs but keepSession (the session that changed it;
// "" keeps none), in one transaction: no session outlives the password
// it signed in with, and a failure changes neither. Personal access
// tokens are left alone, as on GitHub. It returns how many sessions
// ended, an error wrapping ErrNotFound for an unknown user, and a
// *input.ValidationError when CheckNewPassword refuses password.
func (s *Store) ChangePassword(ctx context.Context, globalKey, password, keepSession string) (int, error) {
	if err := CheckNewPassword(password); err != nil {
		return 0, fmt.Errorf("tokens: change password of %q: %w", globalKey, err)
	}
	// Hashed before the transaction, which holds the write lock.
	hash, err := s.hashPassword(password)
	if err != nil {
		return 0, fmt.Errorf("tokens: change password of %q: %w", globalKey, err)
	}
	defer s.cache.invalidate() // after the commit: see lookupCache
	ended, err := s.changePassword(ctx, globalKey, hash, keepSession)
	if err != nil {
		return 0, fmt.Errorf("tokens: change password of %q: %w", globalKey, err)
	}
	return ended, nil
}

func (s *Store) changePassword(ctx context.Context, globalKey string, hash []byte, keepSession string) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	u, err := userByName(ctx, tx, globalKey)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, u.ID); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, u.ID, keepSession)
	if err != nil {
		return 0, err
	}
	ended, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return int(ended), tx.Commit()
}

// VerifyPassword returns the user globalKey if password is theirs, and an
// error wrapping ErrBadCredentials for a wrong password or an unknown user
// alike. An
// unknown user costs a bcrypt comparison too, so that the answer's timing
// does not reveal which users exist.
func (s *Store) VerifyPassword(ctx context.Context, globalKey, password string) (*User, error) {
	var hash []byte
	var created int64
	u := new(User)
	err := s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+`, u.password_hash FROM users u WHERE u.global_key = ?`, globalKey).
		Scan(&u.ID, &u.GlobalKey, &u.Name, &u.Email, &u.Admin, &created, &hash)
	u.CreatedAt = sqlite.Time(created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		bcrypt.CompareHashAndPassword(s.dummy(), []byte(password))
		return nil, fmt.Errorf("tokens: verify password of %q: %w", globalKey, ErrBadCredentials)
	case err != nil:
		return nil, fmt.Errorf("tokens: verify password of %q: %w", globalKey, err)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		return nil, fmt.Errorf("tokens: verify password of %q: %w", globalKey, ErrBadCredentials)
	}
	return u, nil
}

// dummy returns a bcrypt hash of the store's cost that no password matches
// in practice.
func (s *Store) dummy() []byte {
	s.dummyOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte("depot: no such user"), s.bcryptCost)
		if err != nil { // cannot happen for a short password and a valid cost
			h = []byte("$2a$10$invalidinvalidinvalidinvalidinvalidinvalidinvalidinv")
		}
		s.dummyHash = h
	})
	return s.dummyHash
}

// SetPasswordCost sets the bcrypt cost of passwords hashed from now on
// (bcrypt.MinCost to bcrypt.MaxCost; the default is bcrypt.DefaultCost).
// Tests lower it: under the race detector one default-cost hash takes a
// second.
func (s *Store) SetPasswordCost(cost int) {
	s.bcryptCost = min(max(cost, bcrypt.MinCost), bcrypt.MaxCost)
}
