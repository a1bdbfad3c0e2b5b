// Package tokens owns users and their personal access tokens: what makes
// them valid, their queries on depot's database (opened and migrated by
// tokens/sqlite), password hashing, token secrets and their hashes, the
// cached lookup and the coalesced recording of token use, and the
// Verifier through which auth checks secrets.
package tokens

import (
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/input"
)

// Errors returned by the Store, wrapped with the operation that failed.
// Test for them with errors.Is.
var (
	// ErrNotFound means that the user or token does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means that a user or a project already holds the
	// global_key, compared case-insensitively: the two share one
	// namespace.
	ErrExists = errors.New("already exists")
	// ErrBadCredentials means a wrong password, an unknown user or an
	// unknown token.
	ErrBadCredentials = errors.New("bad credentials")
	// ErrMalformedToken means that a text is not a depot token at all: its
	// prefix, length, alphabet or checksum is wrong. It is detected without
	// touching the database.
	ErrMalformedToken = errors.New("malformed token")
)

// invalid reports bad input: an *input.ValidationError, which names the
// field and matches input.ErrInvalid.
var invalid = input.Invalid

// User is an account. GlobalKey is its login name and its namespace.
type User struct {
	ID        int64
	GlobalKey string    // login name and namespace: input.ValidNamespace
	Name      string    // display name, defaults to GlobalKey
	Email     string    // may be empty
	Admin     bool      // site administrator
	CreatedAt time.Time // millisecond precision
}

// Limits on free text, generous but finite.
const (
	maxNameLen     = 100
	maxEmailLen    = 254
	maxScopes      = 100
	maxScopeLen    = 100
	maxIPWhitelist = 100
)

// Validate returns a *input.ValidationError naming the first field that is not
// acceptable, or nil.
func (u *User) Validate() error {
	switch {
	case u.GlobalKey == "":
		return invalid("global_key", "required")
	case !input.ValidNamespace(u.GlobalKey):
		return invalid("global_key", "must be 1 to 39 letters, digits, '_', '.' or '-', starting with a letter or digit")
	case input.Reserved(u.GlobalKey):
		return invalid("global_key", "%q is reserved for the server's own pages", u.GlobalKey)
	case !utf8.ValidString(u.Name) || utf8.RuneCountInString(u.Name) > maxNameLen:
		return invalid("name", "must be valid text of at most %d characters", maxNameLen)
	case u.Email != "" && !validEmail(u.Email):
		return invalid("email", "is not an email address")
	}
	return nil
}

func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return len(s) <= maxEmailLen && at > 0 && at < len(s)-1 &&
		utf8.ValidString(s) && !strings.ContainsAny(s, " \t\r\n<>")
}

// Token is a personal access token. Its secret is never stored, only its
// SHA-256 hash; see NewSecret.
type Token struct {
	ID             string    // UUIDv4 text
	Username       string    // owner's global_key
	Audience       string    // default "default"
	Description    string    //
	Scopes         []string  // order preserved, no duplicates
	IPWhitelist    []string  // addresses and CIDR ranges, canonical (NormalizeIPWhitelist); empty = anywhere
	NotBefore      time.Time // millisecond precision
	ExpireTime     time.Time // zero = never expires
	IssuedAt       time.Time //
	Issuer         string    // global_key of whoever created it
	Enabled        bool      // status "enabled" or "disabled"
	LastAccessIP   string    // "" = never used
	LastAccessTime time.Time // zero = never used

	// LockOnNewNetwork refuses, and disables the token at, its first use
	// from a network it was never used from (see Store.TokenUsed).
	LockOnNewNetwork bool
	// GraceUntil is when the previous secret, replaced by a regeneration
	// with a grace window, stops working; zero = no previous secret.
	GraceUntil time.Time
	// GraceUses counts the uses of the previous secret since the last
	// regeneration.
	GraceUses int64

	// networks are the networks the token was used from, as stored
	// (canonical CIDR text, oldest first); see network.go.
	networks []string
	// Rules are the token's limits inside git; nil = none (auth.Rules).
	Rules *auth.Rules
}

// Validate checks the fields a caller sets on a new or updated token and
// normalises them: Audience defaults to "default", duplicate scopes are
// dropped (keeping the first), nil slices become empty ones. Scope names are
// not checked against a catalogue; that belongs to the caller.
func (t *Token) Validate() error {
	if t.Username == "" {
		return invalid("username", "required")
	}
	if t.Audience == "" {
		t.Audience = "default"
	}
	if err := CheckAudience(t.Audience); err != nil {
		return err
	}
	if err := input.CheckDescription("description", t.Description); err != nil {
		return err
	}
	if !t.ExpireTime.IsZero() && !t.NotBefore.IsZero() &&
		t.ExpireTime.UnixMilli() <= t.NotBefore.UnixMilli() {
		return invalid("expireTime", "must be later than notBefore")
	}
	scopes, err := normalizeScopes(t.Scopes)
	if err != nil {
		return err
	}
	t.Scopes = scopes
	ips, err := NormalizeIPWhitelist(t.IPWhitelist)
	if err != nil {
		return err
	}
	t.IPWhitelist = ips
	return t.Rules.Normalize()
}

// MaxAudience bounds a token's audience, in bytes.
const MaxAudience = 255

// CheckAudience returns a *input.ValidationError naming "audience" unless
// a is a line of text of at most MaxAudience bytes (input.CheckText).
func CheckAudience(a string) error { return input.CheckText("audience", a, MaxAudience) }

// CheckScopes returns in without duplicates, in their first order, when
// every name is a scope of auth's catalogue, and otherwise a
// *input.ValidationError naming "scopes" that lists the valid ones. The
// API and the web pages check a requested token's scopes with it.
func CheckScopes(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, sc := range in {
		if !auth.ValidScope(sc) {
			return nil, invalid("scopes", "unknown scope %q; valid scopes are %s",
				sc, strings.Join(auth.ScopeNames(), ", "))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// normalizeScopes returns scopes without duplicates, in their first order.
func normalizeScopes(scopes []string) ([]string, error) {
	if len(scopes) > maxScopes {
		return nil, invalid("scopes", "at most %d", maxScopes)
	}
	out := make([]string, 0, len(scopes))
	seen := make(map[string]bool, len(scopes))
	for _, s := range scopes {
		if s == "" || len(s) > maxScopeLen || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return nil, invalid("scopes", "%q is not a scope name", s)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// MaxIPWhitelist bounds the entries of a token's ipWhitelist.
const MaxIPWhitelist = 100

// NormalizeIPWhitelist returns ips in canonical form, without duplicates,
// in their first order. Each entry, trimmed of spaces, is read by
// auth.ParseWhitelistEntry, the one reading that matching
// (auth.AddressAllowed) and comparing (auth.WhitelistWithin) use, and
// written back as an address (a v4-mapped one as IPv4) or as a masked
// CIDR range. It returns a *input.ValidationError naming "ipWhitelist" for
// more than MaxIPWhitelist entries or an entry that is neither an address
// nor a range.
func NormalizeIPWhitelist(ips []string) ([]string, error) {
	if len(ips) > MaxIPWhitelist {
		return nil, invalid("ipWhitelist", "more than %d entries", MaxIPWhitelist)
	}
	out := make([]string, 0, len(ips))
	for _, e := range ips {
		e = strings.TrimSpace(e)
		p, err := auth.ParseWhitelistEntry(e)
		if err != nil {
			return nil, invalid("ipWhitelist", "%q is not an IP address or CIDR range", e)
		}
		canon := p.String()
		if p.IsSingleIP() {
			canon = p.Addr().String()
		}
		if !slices.Contains(out, canon) {
			out = append(out, canon)
		}
	}
	return out, nil
}

// ListOptions selects and orders a page of tokens for ListTokens.
type ListOptions struct {
	Username string // exact owner ("" = every user)
	Prefix   string // start of the owner's username, case-sensitive, taken literally
	Sort     string // "", "username", "audience", "issuedAt", "expireTime" or "lastAccessTime"
	Desc     bool   // descending; ignored when Sort is "" (natural order: oldest first)
	PageNo   int    // 1-based; 0 means 1
	PageSize int    // 1..1000; 0 means 10
}

// Paging limits of ListOptions.
const (
	DefaultPageSize = 10
	MaxPageSize     = 1000
)

// sortKeys are the values ListOptions.Sort accepts besides "", in the
// order messages list them, each with its column and the index that holds
// the tokens in (column, seq) order.
var sortKeys = []struct{ name, column, index string }{
	{"username", "username", "tokens_username"},
	{"audience", "audience", "tokens_audience"},
	{"issuedAt", "issued_at", "tokens_issued_at"},
	{"expireTime", "expire_time", "tokens_expire_time"},
	{"lastAccessTime", "last_access_time", "tokens_last_access_time"},
}

// SortKeys returns the values ListOptions.Sort accepts besides "".
func SortKeys() []string {
	names := make([]string, len(sortKeys))
	for i, k := range sortKeys {
		names[i] = k.name
	}
	return names
}

// CheckSort returns a *input.ValidationError naming "sort" unless key is
// "" (issue order) or one of SortKeys.
func CheckSort(key string) error {
	if _, _, ok := sortColumn(key); !ok {
		return invalid("sort", "must be one of %s", strings.Join(SortKeys(), ", "))
	}
	return nil
}

// sortColumn returns the column and the index of the sort key, seq and no
// index for "", and false for an unknown key.
func sortColumn(key string) (column, index string, ok bool) {
	if key == "" {
		return "seq", "", true
	}
	for _, k := range sortKeys {
		if k.name == key {
			return k.column, k.index, true
		}
	}
	return "", "", false
}

// TokenUpdate lists the fields UpdateToken changes; nil leaves a field as
// it is.
type TokenUpdate struct {
	Description      *string
	Scopes           *[]string
	IPWhitelist      *[]string
	LockOnNewNetwork *bool
	// Rules, when set, replaces the rules: a nil *auth.Rules removes them.
	Rules **auth.Rules
}
