package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/depot/depot/auth/input"
)

// Operations a token's Rules may allow.
const (
	OpFetch = "fetch" // clone and fetch: upload-pack
	OpPush  = "push"  // push: receive-pack
)

// Limits on the patterns of one Rules.
const (
	MaxRulePatterns = 100
	maxPatternLen   = 256
)

// Rules are a token's limits inside git (docs/api.md, "Token rules"),
// narrowing what its user may do; a nil *Rules is no limit. Within a
// Rules, a nil list is no limit on its axis:
//   - Repos: OWNER/NAME patterns, '*' matching any run of characters
//     within one segment, compared case-insensitively as repository names
//     are; a repository that no pattern matches does not exist for the
//     token.
//   - Operations: OpFetch, OpPush, or both.
//   - Refs: full ref name patterns ("refs/heads/ci/*", '*' within one
//     segment) that a push may create, update or delete.
//   - AllowForcePush: a push may move a ref to a value that does not
//     descend from its old one; false refuses it.
//   - AllowDelete: a push may delete refs; false refuses it.
type Rules struct {
	Repos          []string `json:"repos,omitempty"`
	Operations     []string `json:"operations,omitempty"`
	Refs           []string `json:"refs,omitempty"`
	AllowForcePush bool     `json:"allowForcePush"`
	AllowDelete    bool     `json:"allowDelete"`
}

// ParseRules reads rules from JSON, as the API and the CLI take them, and
// normalises them (Normalize): nil for null. Unlike the rest of an API
// body, an unknown field is refused, so that a misspelt "allowForcePush"
// does not pass silently. Every error is a *input.ValidationError naming
// "rules" or the field within it.
func ParseRules(data []byte) (*Rules, error) {
	if string(bytes.TrimSpace(data)) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Rules
	if err := dec.Decode(&r); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return nil, input.Invalid("rules."+typeErr.Field, "must be %s", jsonKind(typeErr.Type.Kind()))
		case errors.As(err, &typeErr):
			return nil, input.Invalid("rules", "must be an object or null")
		}
		return nil, input.Invalid("rules", "%s; the fields are repos, operations, refs, allowForcePush and allowDelete",
			strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return nil, input.Invalid("rules", "must be a single JSON object")
	}
	if err := r.Normalize(); err != nil {
		return nil, err
	}
	return &r, nil
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "an object"
}

// Normalize checks r and puts it in canonical form: duplicates dropped,
// in their first order. It returns a *input.ValidationError naming the
// field ("rules.repos", "rules.operations", "rules.refs") for a malformed
// pattern, an unknown operation, an empty list (omit it instead) or more
// than MaxRulePatterns entries. A nil r is valid.
func (r *Rules) Normalize() error {
	if r == nil {
		return nil
	}
	var err error
	if r.Repos, err = normalizeList("rules.repos", r.Repos, repoPatternFault); err != nil {
		return err
	}
	if r.Operations, err = normalizeList("rules.operations", r.Operations, operationFault); err != nil {
		return err
	}
	r.Refs, err = normalizeList("rules.refs", r.Refs, refPatternFault)
	return err
}

func normalizeList(field string, in []string, fault func(string) string) ([]string, error) {
	switch {
	case in == nil:
		return nil, nil
	case len(in) == 0:
		return nil, input.Invalid(field, "must not be empty; leave it out for no limit")
	case len(in) > MaxRulePatterns:
		return nil, input.Invalid(field, "at most %d entries", MaxRulePatterns)
	}
	out := make([]string, 0, len(in))
	for _, e := range in {
		if why := fault(e); why != "" {
			return nil, input.Invalid(field, "%q %s", e, why)
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func operationFault(op string) string {
	if op != OpFetch && op != OpPush {
		return "is not an operation; use fetch or push"
	}
	return ""
}

// repoPatternFault says why p is not an OWNER/NAME pattern: each segment,
// with its '*'s taken as letters, must be a valid owner or name.
func repoPatternFault(p string) string {
	owner, name, ok := strings.Cut(p, "/")
	const form = "is not an OWNER/NAME pattern ('*' matches within a segment)"
	if !ok || len(p) > maxPatternLen {
		return form
	}
	if !input.ValidNamespace(strings.ReplaceAll(owner, "*", "x")) ||
		!input.ValidRepoName(strings.ReplaceAll(name, "*", "x")) ||
		strings.HasSuffix(strings.ToLower(name), ".git") {
		return form
	}
	return ""
}

// refPatternFault says why p is not a full ref name pattern: with its
// '*'s taken as letters it must be a valid full ref name.
func refPatternFault(p string) string {
	if len(p) > maxPatternLen {
		return "is too long"
	}
	if why := input.RefNameFault(strings.ReplaceAll(p, "*", "x")); why != "" {
		return "is not a full ref name pattern like refs/heads/ci/*: " + why
	}
	return ""
}

// globMatch reports whether pattern matches name, '*' standing for any
// run of characters other than '/'. Valid patterns hold no other
// metacharacter of path.Match, nor do valid names.
func globMatch(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return ok && err == nil
}

// AllowsRepo reports whether r lets the token use the repository
// owner/name at all. A nil r allows every repository.
func (r *Rules) AllowsRepo(owner, name string) bool {
	if r == nil || r.Repos == nil {
		return true
	}
	full := strings.ToLower(owner + "/" + name)
	for _, p := range r.Repos {
		if globMatch(strings.ToLower(p), full) {
			return true
		}
	}
	return false
}

// AllowsOperation reports whether r lets the token perform op, OpFetch or
// OpPush.
func (r *Rules) AllowsOperation(op string) bool {
	return r == nil || r.Operations == nil || slices.Contains(r.Operations, op)
}

// AllowsRef reports whether r lets a push create, update or delete the
// ref name.
func (r *Rules) AllowsRef(name string) bool {
	if r == nil || r.Refs == nil {
		return true
	}
	for _, p := range r.Refs {
		if globMatch(p, name) {
			return true
		}
	}
	return false
}

// RefsReason is the reason a push gets for a ref outside r's Refs, as
// git shows it: "token may push only refs/heads/ci/*".
func (r *Rules) RefsReason() string {
	return "token may push only " + strings.Join(r.Refs, ", ")
}

// The reasons a push gets for what AllowForcePush and AllowDelete refuse.
const (
	ReasonForcePush = "token may not force-push"
	ReasonDelete    = "token may not delete refs"
)

// RulesWithin reports whether rules allow nothing that limit does not, as
// the "stronger token" comparison of docs/api.md needs; nil rules are the
// loosest. When they allow more, field names the first field that does:
// "" when rules are nil and limit is not, else "repos", "operations",
// "refs", "allowForcePush" or "allowDelete"; entry is the first pattern or
// operation of that list beyond limit's, or "" when the list is nil (no
// limit) and limit's is not. A pattern counts as within limit only when a
// pattern of limit matches it with its '*'s taken as letters, which proves
// that every name it matches, limit matches too: the answer may be too
// cautious, never too lax.
func RulesWithin(rules, limit *Rules) (field, entry string, ok bool) {
	switch {
	case limit == nil:
		return "", "", true
	case rules == nil:
		return "", "", false
	}
	if p, ok := patternsWithin(rules.Repos, limit.Repos, true); !ok {
		return "repos", p, false
	}
	if limit.Operations != nil {
		if rules.Operations == nil {
			return "operations", "", false
		}
		for _, op := range rules.Operations {
			if !slices.Contains(limit.Operations, op) {
				return "operations", op, false
			}
		}
	}
	if p, ok := patternsWithin(rules.Refs, limit.Refs, false); !ok {
		return "refs", p, false
	}
	if rules.AllowForcePush && !limit.AllowForcePush {
		return "allowForcePush", "", false
	}
	if rules.AllowDelete && !limit.AllowDelete {
		return "allowDelete", "", false
	}
	return "", "", true
}

// patternsWithin reports whether every pattern of list is within limit;
// outside is the first that is not, or "" when list is nil (no limit)
// and limit is not.
func patternsWithin(list, limit []string, fold bool) (outside string, ok bool) {
	if limit == nil {
		return "", true
	}
	if list == nil {
		return "", false
	}
	for _, p := range list {
		covered := false
		for _, q := range limit {
			if fold {
				covered = globMatch(strings.ToLower(q), strings.ToLower(p))
			} else {
				covered = globMatch(q, p)
			}
			if covered {
				break
			}
		}
		if !covered {
			return p, false
		}
	}
	return "", true
}

// Clone returns a deep copy of r; nil for nil.
func (r *Rules) Clone() *Rules {
	if r == nil {
		return nil
	}
	c := *r
	c.Repos, c.Operations, c.Refs = slices.Clone(r.Repos), slices.Clone(r.Operations), slices.Clone(r.Refs)
	return &c
}
