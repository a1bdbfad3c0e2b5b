package tokens

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/tokens/sqlite"
)

const tokenColumns = `t.id, t.username, t.audience, t.description, t.scopes, t.ip_whitelist,
	t.not_before, t.expire_time, t.issued_at, t.issuer, t.enabled, t.last_access_ip, t.last_access_time,
	t.lock_on_new_network, t.grace_until, t.grace_uses, t.networks, t.rules`

// scanToken reads tokenColumns, then extra, from row.
func scanToken(row interface{ Scan(...any) error }, extra ...any) (*Token, error) {
	var t Token
	var scopes, ips, nets, rules []byte
	var notBefore, expire, issued, lastAccess, graceUntil int64
	dest := append([]any{&t.ID, &t.Username, &t.Audience, &t.Description, &scopes, &ips,
		&notBefore, &expire, &issued, &t.Issuer, &t.Enabled, &t.LastAccessIP, &lastAccess,
		&t.LockOnNewNetwork, &graceUntil, &t.GraceUses, &nets, &rules}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(scopes, &t.Scopes); err != nil {
		return nil, fmt.Errorf("token %s: scopes: %w", t.ID, err)
	}
	if err := json.Unmarshal(ips, &t.IPWhitelist); err != nil {
		return nil, fmt.Errorf("token %s: ip_whitelist: %w", t.ID, err)
	}
	if err := json.Unmarshal(nets, &t.networks); err != nil {
		return nil, fmt.Errorf("token %s: networks: %w", t.ID, err)
	}
	if len(t.networks) == 0 {
		t.networks = nil // as a new token has them
	}
	t.GraceUntil = sqlite.Time(graceUntil)
	if rules != nil {
		if err := json.Unmarshal(rules, &t.Rules); err != nil {
			return nil, fmt.Errorf("token %s: rules: %w", t.ID, err)
		}
	}
	t.NotBefore = sqlite.Time(notBefore)
	t.ExpireTime = sqlite.Time(expire)
	t.IssuedAt = sqlite.Time(issued)
	t.LastAccessTime = sqlite.Time(lastAccess)
	return &t, nil
}

// jsonList encodes a string list for a TEXT column; nil becomes [].
func jsonList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // cannot fail for []string
	return string(b)
}

// rulesColumn encodes rules for the rules column: NULL for none.
func rulesColumn(r *auth.Rules) any {
	if r == nil {
		return nil
	}
	b, _ := json.Marshal(r) // cannot fail for Rules
	return string(b)
}

// CreateToken stores t for the user t.Username and returns its secret, which
// is not kept and cannot be shown again. It sets t.ID, t.IssuedAt (now),
// t.NotBefore (now, if zero), t.Enabled, t.Username to the owner's exact
// global_key and t.Issuer to it if empty, and normalises the fields as
// Token.Validate does. It returns a *input.ValidationError for bad
// fields and an error wrapping ErrNotFound if the user does not exist.
func (s *Store) CreateToken(ctx context.Context, t *Token) (secret string, err error) {
	now := s.nowMilli()
	if t.NotBefore.IsZero() {
		t.NotBefore = now
	}
	if err := t.Validate(); err != nil {
		return "", fmt.Errorf("tokens: create token: %w", err)
	}
	if t.Issuer == "" {
		t.Issuer = t.Username
	}
	id, err := newUUID()
	if err != nil {
		return "", err
	}
	secret, err = NewSecret()
	if err != nil {
		return "", err
	}
	hash := hashSecret(secret)

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("tokens: create token for %q: %w", t.Username, err)
	}
	defer tx.Rollback()
	owner, err := userByName(ctx, tx, t.Username)
	if err != nil {
		return "", fmt.Errorf("tokens: create token for %q: user: %w", t.Username, err)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO tokens (id, user_id, username, secret_hash, audience, description, scopes,
			ip_whitelist, not_before, expire_time, issued_at, issuer, enabled, lock_on_new_network, rules)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
		id, owner.ID, owner.GlobalKey, hash[:], t.Audience, t.Description, jsonList(t.Scopes),
		jsonList(t.IPWhitelist), t.NotBefore.UnixMilli(), sqlite.Milli(t.ExpireTime), now.UnixMilli(), t.Issuer,
		t.LockOnNewNetwork, rulesColumn(t.Rules))
	if err != nil {
		return "", fmt.Errorf("tokens: create token for %q: %w", t.Username, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("tokens: create token for %q: %w", t.Username, err)
	}
	t.ID = id
	t.Username = owner.GlobalKey
	t.IssuedAt = now
	t.NotBefore = sqlite.Time(t.NotBefore.UnixMilli())
	t.ExpireTime = sqlite.Time(sqlite.Milli(t.ExpireTime))
	t.Enabled = true
	t.LastAccessIP, t.LastAccessTime = "", sqlite.Time(sqlite.Never)
	t.GraceUntil, t.GraceUses, t.networks = time.Time{}, 0, nil
	return secret, nil
}

// Token returns the token id, or an error wrapping ErrNotFound.
func (s *Store) Token(ctx context.Context, id string) (*Token, error) {
	t, err := scanToken(s.tokenStmt.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: token %q: %w", id, err)
	}
	return t, nil
}

func tokenByID(ctx context.Context, q sqlite.Querier, id string) (*Token, error) {
	t, err := scanToken(q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens t WHERE t.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return t, err
}

// LookupToken authenticates a secret: it returns the token and its owner.
// It returns an error wrapping ErrMalformedToken, without a database
// query, if secret is not a well-formed depot token, and one wrapping
// ErrBadCredentials if no token has it. A token's previous secret,
// replaced by a regeneration with a grace window, authenticates until
// GraceUntil (see lookup, which also tells which secret it was). It does
// not check status, validity times or the IP whitelist; the caller does,
// with what it returns. Answers are cached only while the database is
// unchanged (see lookupCache), so a change made by any process applies to
// the next call.
func (s *Store) LookupToken(ctx context.Context, secret string) (*Token, *User, error) {
	t, u, _, err := s.lookup(ctx, secret)
	return t, u, err
}

// lookup is LookupToken, and reports whether secret was the token's
// previous one.
func (s *Store) lookup(ctx context.Context, secret string) (t *Token, u *User, previous bool, err error) {
	hash, err := ParseSecret(secret)
	if err != nil {
		return nil, nil, false, fmt.Errorf("tokens: lookup token: %w", err)
	}
	now := s.now()
	if t, u, prev, ok := s.cache.get(hash, now); ok {
		return t, u, prev, nil
	}
	gen, stamp, cacheable := s.cache.begin()
	t, u, err = lookupBy(ctx, s.lookupStmt, hash)
	if errors.Is(err, ErrBadCredentials) {
		previous = true
		t, u, err = lookupBy(ctx, s.prevStmt, hash)
		if err == nil && !now.Before(t.GraceUntil) {
			err = ErrBadCredentials // the grace window has ended
		}
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("tokens: lookup token: %w", err)
	}
	if cacheable {
		s.cache.put(hash, t, u, previous, gen, stamp, now)
	}
	return t, u, previous, nil
}

// lookupBy runs a lookup statement, which selects tokenColumns, the hash
// it matched and userColumns, for hash. It returns ErrBadCredentials when
// no row matches.
func lookupBy(ctx context.Context, stmt *sql.Stmt, hash [32]byte) (*Token, *User, error) {
	var stored []byte
	var u User
	var created int64
	t, err := scanToken(stmt.QueryRowContext(ctx, hash[:]), &stored,
		&u.ID, &u.GlobalKey, &u.Name, &u.Email, &u.Admin, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrBadCredentials
	}
	if err != nil {
		return nil, nil, err
	}
	// The index found the row by equality; compare again in constant time
	// so that no code path branches on secret bytes in variable time.
	if subtle.ConstantTimeCompare(stored, hash[:]) != 1 {
		return nil, nil, ErrBadCredentials
	}
	u.CreatedAt = sqlite.Time(created)
	return t, &u, nil
}

// SetTokenEnabled enables or disables the token id, at the request of a
// client at ip ("" for none, as from the CLI). Disabling an enabled token
// records a disabled event. It returns an error wrapping ErrNotFound for
// an unknown id.
func (s *Store) SetTokenEnabled(ctx context.Context, id string, enabled bool, ip string) error {
	defer s.cache.invalidate() // after the commit: see lookupCache
	if err := s.setTokenEnabled(ctx, id, enabled, ip); err != nil {
		return fmt.Errorf("tokens: set token %q enabled=%t: %w", id, enabled, err)
	}
	return nil
}

func (s *Store) setTokenEnabled(ctx context.Context, id string, enabled bool, ip string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var was bool
	if err := tx.QueryRowContext(ctx, `SELECT enabled FROM tokens WHERE id = ?`, id).Scan(&was); err != nil {
		return notFound(err)
	}
	if was == enabled {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET enabled = ? WHERE id = ?`, enabled, id); err != nil {
		return err
	}
	if !enabled {
		if err := addEvent(ctx, tx, id, s.now().UnixMilli(), ip, EventDisabled); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// UpdateToken changes the fields of id that u sets and returns the token as
// it now is. It returns an error wrapping ErrNotFound for an unknown id
// and a *input.ValidationError for bad fields.
func (s *Store) UpdateToken(ctx context.Context, id string, u TokenUpdate) (*Token, error) {
	defer s.cache.invalidate() // after the commit: see lookupCache
	t, err := s.updateToken(ctx, id, u)
	if err != nil {
		return nil, fmt.Errorf("tokens: update token %q: %w", id, err)
	}
	return t, nil
}

func (s *Store) updateToken(ctx context.Context, id string, u TokenUpdate) (*Token, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	t, err := tokenByID(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if u.Description != nil {
		if err := input.CheckDescription("description", *u.Description); err != nil {
			return nil, err
		}
		t.Description = *u.Description
	}
	if u.Scopes != nil {
		if t.Scopes, err = normalizeScopes(*u.Scopes); err != nil {
			return nil, err
		}
	}
	if u.IPWhitelist != nil {
		if t.IPWhitelist, err = NormalizeIPWhitelist(*u.IPWhitelist); err != nil {
			return nil, err
		}
	}
	if u.LockOnNewNetwork != nil {
		t.LockOnNewNetwork = *u.LockOnNewNetwork
	}
	if u.Rules != nil {
		rules := (*u.Rules).Clone()
		if err := rules.Normalize(); err != nil {
			return nil, err
		}
		t.Rules = rules
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE tokens SET description = ?, scopes = ?, ip_whitelist = ?, lock_on_new_network = ?, rules = ? WHERE id = ?`,
		t.Description, jsonList(t.Scopes), jsonList(t.IPWhitelist), t.LockOnNewNetwork, rulesColumn(t.Rules), id); err != nil {
		return nil, err
	}
	return t, tx.Commit()
}

// MaxGrace is the longest grace window of RegenerateToken: 30 days.
const MaxGrace = 30 * 24 * time.Hour

// RegenerateToken gives the token id a new secret and returns it, at the
// request of a client at ip ("" for none), and records a regenerated
// event. With grace 0 the old secret stops working at once; with a
// positive grace (at most MaxGrace) it keeps working for that long, as the
// token's previous secret, while the new one works at once. A token keeps
// one previous secret: a second regeneration forgets the first one's. It
// returns an error wrapping ErrNotFound for an unknown id and a
// *input.ValidationError naming "graceSeconds" for a grace out of range.
func (s *Store) RegenerateToken(ctx context.Context, id string, grace time.Duration, ip string) (secret string, err error) {
	if grace < 0 || grace > MaxGrace {
		return "", fmt.Errorf("tokens: regenerate token %q: %w", id,
			invalid("graceSeconds", "must be 0 to %d seconds", int64(MaxGrace/time.Second)))
	}
	defer s.cache.invalidate() // after the commit: see lookupCache
	secret, err = NewSecret()
	if err != nil {
		return "", err
	}
	if err := s.regenerate(ctx, id, hashSecret(secret), grace, ip); err != nil {
		return "", fmt.Errorf("tokens: regenerate token %q: %w", id, err)
	}
	return secret, nil
}

func (s *Store) regenerate(ctx context.Context, id string, hash [32]byte, grace time.Duration, ip string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := s.now().UnixMilli()
	var res sql.Result
	if grace > 0 {
		// The right-hand sides read the row as it was: the current
		// secret becomes the previous one.
		res, err = tx.ExecContext(ctx, `UPDATE tokens SET prev_secret_hash = secret_hash, secret_hash = ?,
			grace_until = ?, grace_uses = 0 WHERE id = ?`, hash[:], now+grace.Milliseconds(), id)
	} else {
		res, err = tx.ExecContext(ctx, `UPDATE tokens SET prev_secret_hash = NULL, secret_hash = ?,
			grace_until = -1, grace_uses = 0 WHERE id = ?`, hash[:], id)
	}
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return err
	}
	if err := addEvent(ctx, tx, id, now, ip, EventRegenerated); err != nil {
		return err
	}
	return tx.Commit()
}

// DeleteToken deletes the token id. It returns an error wrapping
// ErrNotFound for an unknown id.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	defer s.cache.invalidate() // after the commit: see lookupCache
	res, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return fmt.Errorf("tokens: delete token %q: %w", id, err)
	}
	return nil
}

// DeleteUserTokens deletes every token of the user username and returns how
// many there were. It returns an error wrapping ErrNotFound if the user
// does not exist.
func (s *Store) DeleteUserTokens(ctx context.Context, username string) (int, error) {
	defer s.cache.invalidate() // after the commit: see lookupCache
	n, err := s.deleteUserTokens(ctx, username)
	if err != nil {
		return 0, fmt.Errorf("tokens: delete tokens of %q: %w", username, err)
	}
	return n, nil
}

func (s *Store) deleteUserTokens(ctx context.Context, username string) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	u, err := userByName(ctx, tx, username)
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE user_id = ?`, u.ID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return int(n), tx.Commit()
}

// walkSortIndex reports whether a filtered list should walk the sort key's
// index, skipping the tokens that do not match, rather than read the
// matches through the username index and sort them. SQLite cannot know how
// many tokens a prefix matches; ListTokens does, having counted them, so it
// decides. Walking reads about end*all/matched index entries if the matches
// are spread evenly; sorting reads and orders every match, a few times
// dearer per token.
func walkSortIndex(matched, all, end int) bool {
	return float64(end)*float64(all) < 4*float64(matched)*float64(matched)
}

// ListTokens returns the number of tokens that opt selects and the page
// opt.PageNo of them. A page beyond the end is empty. Ties in the sort key
// are broken by issue order, so pages never overlap or skip. Tokens never
// used, or without expiry, sort as if at time -1. It returns a
// *input.ValidationError for an unknown sort key or a page size above
// MaxPageSize.
func (s *Store) ListTokens(ctx context.Context, opt ListOptions) (total int, page []*Token, err error) {
	total, page, err = s.listTokens(ctx, opt)
	if err != nil {
		return 0, nil, fmt.Errorf("tokens: list tokens: %w", err)
	}
	return total, page, nil
}

func (s *Store) listTokens(ctx context.Context, opt ListOptions) (int, []*Token, error) {
	column, index, ok := sortColumn(opt.Sort)
	switch {
	case !ok:
		return 0, nil, CheckSort(opt.Sort)
	case opt.PageNo < 0:
		return 0, nil, invalid("pageNo", "must be at least 1")
	case opt.PageSize < 0 || opt.PageSize > MaxPageSize:
		return 0, nil, invalid("pageSize", "must be between 1 and %d", MaxPageSize)
	}
	pageNo, pageSize := max(opt.PageNo, 1), opt.PageSize
	if pageSize == 0 {
		pageSize = DefaultPageSize
	}

	var where []string
	var args []any
	if opt.Username != "" {
		where = append(where, "t.username = ?")
		args = append(args, opt.Username)
	}
	pg := s.db.Dialect() == sqlite.Postgres
	switch {
	case opt.Prefix == "":
	case pg && !utf8.ValidString(opt.Prefix):
		// PostgreSQL refuses such text, and no username starts with it.
		return 0, []*Token{}, nil
	case pg:
		// starts_with is case-sensitive and takes % and _ literally; the
		// byte range below could end in invalid UTF-8, which PostgreSQL
		// refuses.
		where = append(where, "starts_with(t.username, ?)")
		args = append(args, opt.Prefix)
	default:
		// A range on the BINARY column is case-sensitive, takes % and _
		// literally and uses the index, none of which LIKE does by default.
		where = append(where, "t.username >= ?")
		args = append(args, opt.Prefix)
		if hi, ok := prefixEnd(opt.Prefix); ok {
			where = append(where, "t.username < ?")
			args = append(args, hi)
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}

	// Without a filter count(*) reads the smallest index; with one,
	// token_counts holds a row per owner instead of one per token.
	var total, all int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM tokens`).Scan(&all); err != nil {
		return 0, nil, err
	}
	total = all
	if cond != "" {
		if err := s.db.QueryRowContext(ctx,
			`SELECT coalesce(sum(t.n), 0) FROM token_counts t`+cond, args...).Scan(&total); err != nil {
			return 0, nil, err
		}
	}
	if pageNo-1 >= (total+pageSize-1)/pageSize {
		return total, []*Token{}, nil
	}
	offset := (pageNo - 1) * pageSize
	limit := min(pageSize, total-offset)

	// OFFSET steps over every row before the page, so a page past the
	// middle is read from the other end, in the opposite order, and
	// turned around: the last page costs what the first does, and no
	// page steps over more than half the rows. The order is total (ties
	// go by seq), so the reverse order is exactly the reverse.
	desc := opt.Desc && opt.Sort != ""
	reverse := offset > total/2
	if reverse {
		desc = !desc
		offset = total - offset - limit
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	order := " ORDER BY t." + column + dir
	if column != "seq" {
		order += ", t.seq" + dir
	}
	from := " FROM tokens t"
	switch {
	case cond == "" || pg:
		// The planner walks the sort index (or the table) by itself;
		// PostgreSQL's planner takes no hints, and keeps statistics.
	case !s.walkSortIndex(total, all, offset+pageSize):
		from += " INDEXED BY tokens_username"
	case index == "":
		from += " NOT INDEXED"
	default:
		from += " INDEXED BY " + index
	}
	q := `SELECT ` + tokenColumns + from + cond + order + ` LIMIT ? OFFSET ?`
	rows, err := s.db.QueryContext(ctx, q, append(args, limit, offset)...)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	page := make([]*Token, 0, limit)
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return 0, nil, err
		}
		page = append(page, t)
	}
	if reverse {
		slices.Reverse(page)
	}
	return total, page, rows.Err()
}

// prefixEnd returns the least string greater than every string that starts
// with p, or false if there is none (p is all 0xff bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
