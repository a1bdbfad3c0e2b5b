package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/tokens"
	"github.com/gorilla/mux"
)

// tokenView is a token as the API shows it: Pandora's fields plus CODING's
// description, scopes and ipWhitelist. It never carries a secret or hash.
type tokenView struct {
	ID             string   `json:"id"`
	Username       string   `json:"username"`
	Audience       string   `json:"audience"`
	NotBefore      int64    `json:"notBefore"`
	ExpireTime     int64    `json:"expireTime"`
	IssuedAt       int64    `json:"issuedAt"`
	Issuer         string   `json:"issuer"`
	Status         string   `json:"status"`
	LastAccessIP   *string  `json:"lastAccessIP"`
	LastAccessTime int64    `json:"lastAccessTime"`
	Description    string   `json:"description"`
	Scopes         []string `json:"scopes"`
	IPWhitelist    []string `json:"ipWhitelist"`
	// Rotation and new-network alerts (docs/api.md, "Rotation and events").
	LockOnNewNetwork bool  `json:"lockOnNewNetwork"`
	GraceUntil       int64 `json:"graceUntil"`
	GraceUses        int64 `json:"graceUses"`
	// Rules is null for a token without rules.
	Rules *auth.Rules `json:"rules"`
}

func viewOf(t *tokens.Token) tokenView {
	v := tokenView{
		ID: t.ID, Username: t.Username, Audience: t.Audience,
		NotBefore: millis(t.NotBefore), ExpireTime: millis(t.ExpireTime),
		IssuedAt: millis(t.IssuedAt), Issuer: t.Issuer, Status: statusText(t.Enabled),
		LastAccessTime: millis(t.LastAccessTime), Description: t.Description,
		Scopes: nonNil(t.Scopes), IPWhitelist: nonNil(t.IPWhitelist),
		LockOnNewNetwork: t.LockOnNewNetwork, GraceUntil: millis(t.GraceUntil), GraceUses: t.GraceUses, Rules: t.Rules,
	}
	if t.LastAccessIP != "" {
		ip := t.LastAccessIP
		v.LastAccessIP = &ip
	}
	return v
}

func statusText(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// manager returns the caller when it may manage tokens at all: a password,
// or a token holding user:token.
func manager(r *http.Request) (*auth.Identity, error) {
	id := auth.FromContext(r.Context())
	if err := id.Require(auth.ScopeUserToken); err != nil {
		return nil, err
	}
	return id, nil
}

// ownedToken loads the token named in the path when the caller may act on
// it; another user's token is 404 to a non-admin, as if it did not exist.
func (s *Server) ownedToken(r *http.Request, id *auth.Identity) (*tokens.Token, error) {
	tokenID := mux.Vars(r)["id"]
	t, err := s.store.Token(r.Context(), tokenID)
	if err != nil {
		return nil, storeError(err, "token not found")
	}
	if !id.Admin && !strings.EqualFold(t.Username, id.User) {
		return nil, apierr.Errorf(apierr.NotFound, "token not found")
	}
	return t, nil
}

// createRequest is the body of POST /api/v1/auth/tokens.
type createRequest struct {
	Username    string    `json:"username"`
	Audience    *string   `json:"audience"`
	NotBefore   *int64    `json:"notBefore"`
	ExpireTime  *int64    `json:"expireTime"`
	Description string    `json:"description"`
	Scopes      *[]string `json:"scopes"`
	IPWhitelist []string  `json:"ipWhitelist"`
	// LockOnNewNetwork defaults to the calling token's own, so that a
	// locked token's request without it is not refused as wider.
	LockOnNewNetwork *bool `json:"lockOnNewNetwork"`
	// Rules is absent or null for no rules (decodeRules).
	Rules json.RawMessage `json:"rules"`
}

type secretResponse struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	caller, err := manager(r)
	if err != nil {
		return err
	}
	var req createRequest
	if err := apierr.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	t, err := s.validateCreate(r, caller, req)
	if err != nil {
		return err
	}
	secret, err := s.store.CreateToken(r.Context(), t)
	if err != nil {
		return storeError(err, "username: no such user")
	}
	s.record(r, audit.TokenCreate, t, tokenDetail(t))
	apierr.WriteJSON(w, http.StatusOK, secretResponse{ID: t.ID, Token: secret})
	return nil
}

// validateCreate turns a create request into a token, enforcing who may
// create what (docs/api.md, "Tokens").
func (s *Server) validateCreate(r *http.Request, caller *auth.Identity, req createRequest) (*tokens.Token, error) {
	if req.Username == "" {
		return nil, apierr.Errorf(apierr.Invalid, "username: required")
	}
	owner, err := s.store.UserByName(r.Context(), req.Username)
	if errors.Is(err, tokens.ErrNotFound) {
		return nil, apierr.Errorf(apierr.Invalid, "username: no such user %q", req.Username)
	}
	if err != nil {
		return nil, fmt.Errorf("load user %s: %w", req.Username, err)
	}
	if !caller.Admin && !strings.EqualFold(owner.GlobalKey, caller.User) {
		return nil, apierr.Errorf(apierr.Forbidden, "only an admin may create tokens for another user")
	}
	now := s.now()
	t := &tokens.Token{
		Username:    owner.GlobalKey,
		Audience:    "default",
		Description: req.Description,
		Issuer:      caller.User,
		NotBefore:   now,
	}
	if req.Audience != nil {
		t.Audience = *req.Audience
	}
	if err := tokens.CheckAudience(t.Audience); err != nil {
		return nil, err
	}
	if err := input.CheckDescription("description", t.Description); err != nil {
		return nil, err
	}
	if req.NotBefore != nil {
		if t.NotBefore, err = parseMillis("notBefore", *req.NotBefore); err != nil {
			return nil, err
		}
	}
	if req.ExpireTime != nil && *req.ExpireTime != -1 {
		if t.ExpireTime, err = parseMillis("expireTime", *req.ExpireTime); err != nil {
			return nil, err
		}
		if !t.ExpireTime.After(t.NotBefore) {
			return nil, apierr.Errorf(apierr.Invalid, "expireTime: must be later than notBefore")
		}
		if !t.ExpireTime.After(now) {
			return nil, apierr.Errorf(apierr.Invalid, "expireTime: must be in the future")
		}
	}
	if req.Scopes == nil {
		t.Scopes = caller.HeldScopes()
	} else if t.Scopes, err = tokens.CheckScopes(*req.Scopes); err != nil {
		return nil, err
	}
	if t.IPWhitelist, err = tokens.NormalizeIPWhitelist(req.IPWhitelist); err != nil {
		return nil, err
	}
	if t.Rules, err = decodeRules(req.Rules); err != nil {
		return nil, err
	}
	limit, err := s.limitOf(r, caller)
	if err != nil {
		return nil, err
	}
	if req.LockOnNewNetwork != nil {
		t.LockOnNewNetwork = *req.LockOnNewNetwork
	} else if limit != nil {
		t.LockOnNewNetwork = limit.LockOnNewNetwork
	}
	if err := mayGrant(limit, t, now); err != nil {
		return nil, err
	}
	return t, nil
}

// decodeRules reads the rules of a create or edit request
// (auth.ParseRules): nil for an absent field or null; bad rules are a 400
// naming the field.
func decodeRules(raw json.RawMessage) (*auth.Rules, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	return auth.ParseRules(raw)
}

// parseMillis reads a 13-digit millisecond timestamp.
func parseMillis(field string, ms int64) (time.Time, error) {
	// Seconds (10 digits) are the usual mistake; they would mean 1970.
	if ms < 1e12 || ms > 1e13-1 {
		return time.Time{}, apierr.Errorf(apierr.Invalid, "%s: must be milliseconds since the epoch (13 digits), got %d", field, ms)
	}
	return time.UnixMilli(ms), nil
}

// listResponse is Pandora's paged token list.
type listResponse struct {
	Total    int         `json:"total"`
	PageNo   int         `json:"pageNo"`
	PageSize int         `json:"pageSize"`
	Tokens   []tokenView `json:"tokens"`
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	caller, err := manager(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	opt := tokens.ListOptions{Prefix: q.Get("prefix"), Sort: q.Get("sort"), Desc: true}
	if !caller.Admin {
		opt.Username = caller.User
	}
	if opt.PageNo, err = apierr.IntParam(q.Get("pageNo"), "pageNo", 1, 1, 1<<30); err != nil {
		return err
	}
	if opt.PageSize, err = apierr.IntParam(q.Get("pageSize"), "pageSize", tokens.DefaultPageSize, 1, tokens.MaxPageSize); err != nil {
		return err
	}
	if err := tokens.CheckSort(opt.Sort); err != nil {
		return err
	}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		opt.Desc = false
	default:
		return apierr.Errorf(apierr.Invalid, "order: must be asc or desc")
	}
	total, page, err := s.store.ListTokens(r.Context(), opt)
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	out := listResponse{Total: total, PageNo: opt.PageNo, PageSize: opt.PageSize, Tokens: make([]tokenView, len(page))}
	for i, t := range page {
		out.Tokens[i] = viewOf(t)
	}
	apierr.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) error {
	caller, err := manager(r)
	if err != nil {
		return err
	}
	t, err := s.ownedToken(r, caller)
	if err != nil {
		return err
	}
	apierr.WriteJSON(w, http.StatusOK, viewOf(t))
	return nil
}

type statusRequest struct {
	Status string `json:"status"`
}

func (s *Server) setStatus(w http.ResponseWriter, r *http.Request) error {
	caller, err := manager(r)
	if err != nil {
		return err
	}
	var req statusRequest
	if err := apierr.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Status != "enabled" && req.Status != "disabled" {
		return apierr.Errorf(apierr.Invalid, "status: must be enabled or disabled")
	}
	// Disabling only takes power away; enabling gives back what the
	// owner took, and a leaked token must not undo that.
	if req.Status == "enabled" && caller.Method == auth.MethodToken {
		return apierr.Errorf(apierr.Forbidden, "token may not enable tokens; use a password")
	}
	t, err := s.ownedToken(r, caller)
	if err != nil {
		return err
	}
	if err := s.store.SetTokenEnabled(r.Context(), t.ID, req.Status == "enabled", auth.ClientIP(r)); err != nil {
		return storeError(err, "token not found")
	}
	t.Enabled = req.Status == "enabled"
	action := audit.TokenDisable
	if t.Enabled {
		action = audit.TokenEnable
	}
	s.record(r, action, t, "")
	apierr.WriteJSON(w, http.StatusOK, viewOf(t))
	return nil
}

type updateRequest struct {
	Description      *string   `json:"description"`
	Scopes           *[]string `json:"scopes"`
	IPWhitelist      *[]string `json:"ipWhitelist"`
	LockOnNewNetwork *bool     `json:"lockOnNewNetwork"`
	// Rules absent leaves them; null removes them (decodeRules).
	Rules json.RawMessage `json:"rules"`
}

func (s *Server) updateToken(w http.ResponseWriter, r *http.Request) error {
	caller, err := manager(r)
	if err != nil {
		return err
	}
	var req updateRequest
	if err := apierr.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	t, err := s.ownedToken(r, caller)
	if err != nil {
		return err
	}
	limit, err := s.limitOf(r, caller)
	if err != nil {
		return err
	}
	now := s.now()
	if err := mayActOn(limit, t, now); err != nil {
		return err
	}
	var up tokens.TokenUpdate
	edited := *t
	if req.Description != nil {
		if err := input.CheckDescription("description", *req.Description); err != nil {
			return err
		}
		up.Description = req.Description
	}
	if req.Scopes != nil {
		scopes, err := tokens.CheckScopes(*req.Scopes)
		if err != nil {
			return err
		}
		up.Scopes, edited.Scopes = &scopes, scopes
	}
	if req.IPWhitelist != nil {
		wl, err := tokens.NormalizeIPWhitelist(*req.IPWhitelist)
		if err != nil {
			return err
		}
		up.IPWhitelist, edited.IPWhitelist = &wl, wl
	}
	if req.LockOnNewNetwork != nil {
		up.LockOnNewNetwork, edited.LockOnNewNetwork = req.LockOnNewNetwork, *req.LockOnNewNetwork
	}
	if req.Rules != nil {
		rules, err := decodeRules(req.Rules)
		if err != nil {
			return err
		}
		up.Rules, edited.Rules = &rules, rules
	}
	// The result must be within the caller as it is now, which also
	// keeps a token from widening its own whitelist.
	if err := mayGrant(limit, &edited, now); err != nil {
		return err
	}
	updated, err := s.store.UpdateToken(r.Context(), t.ID, up)
	if err != nil {
		return storeError(err, "token not found")
	}
	s.record(r, audit.TokenEdit, updated, tokenDetail(updated))
	apierr.WriteJSON(w, http.StatusOK, viewOf(updated))
	return nil
}

// regenerateRequest is the optional body of POST .../{id}/regenerate.
type regenerateRequest struct {
	GraceSeconds *int64 `json:"graceSeconds"`
}

// regenerate gives the token a new secret. A token caller may only do so
// for tokens no stronger than itself, or it could read a stronger secret.
func (s *Server) regenerate(w http.ResponseWriter, r *http.Request) error {
	caller, err := manager(r)
	if err != nil {
		return err
	}
	var req regenerateRequest
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		// The body is optional: without one the old secret dies at once.
		if err := apierr.DecodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	var grace time.Duration
	if req.GraceSeconds != nil {
		maxSec := int64(tokens.MaxGrace / time.Second)
		if *req.GraceSeconds < 0 || *req.GraceSeconds > maxSec {
			return apierr.Errorf(apierr.Invalid, "graceSeconds: must be 0 to %d (30 days)", maxSec)
		}
		grace = time.Duration(*req.GraceSeconds) * time.Second
	}
	t, err := s.ownedToken(r, caller)
	if err != nil {
		return err
	}
	limit, err := s.limitOf(r, caller)
	if err != nil {
		return err
	}
	if err := mayActOn(limit, t, s.now()); err != nil {
		return err
	}
	secret, err := s.store.RegenerateToken(r.Context(), t.ID, grace, auth.ClientIP(r))
	if err != nil {
		return storeError(err, "token not found")
	}
	s.record(r, audit.TokenRegen, t, "")
	apierr.WriteJSON(w, http.StatusOK, secretResponse{ID: t.ID, Token: secret})
	return nil
}

type deletedResponse struct {
	Deleted int `json:"deleted"`
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	caller, err := manager(r)
	if err != nil {
		return err
	}
	t, err := s.ownedToken(r, caller)
	if err != nil {
		return err
	}
	if err := s.store.DeleteToken(r.Context(), t.ID); err != nil {
		return storeError(err, "token not found")
	}
	s.record(r, audit.TokenDelete, t, "")
	apierr.WriteJSON(w, http.StatusOK, deletedResponse{Deleted: 1})
	return nil
}

// deleteAllTokens deletes every token of the caller, or of ?username= for
// an admin.
func (s *Server) deleteAllTokens(w http.ResponseWriter, r *http.Request) error {
	caller, err := manager(r)
	if err != nil {
		return err
	}
	user := caller.User
	if name := r.URL.Query().Get("username"); name != "" && !strings.EqualFold(name, caller.User) {
		if !caller.Admin {
			return apierr.Errorf(apierr.Forbidden, "only an admin may delete another user's tokens")
		}
		u, err := s.store.UserByName(r.Context(), name)
		if err != nil {
			return storeError(err, fmt.Sprintf("username: no such user %q", name))
		}
		user = u.GlobalKey
	}
	n, err := s.store.DeleteUserTokens(r.Context(), user)
	if err != nil {
		return fmt.Errorf("delete tokens of %s: %w", user, err)
	}
	s.record(r, audit.TokenDeleteAll, &tokens.Token{Username: user}, fmt.Sprintf("%d tokens", n))
	apierr.WriteJSON(w, http.StatusOK, deletedResponse{Deleted: n})
	return nil
}

// deleteSelf deletes the calling token, whatever its scopes: a script
// that finds its token leaked revokes it at once. A password or session
// caller has no token of its own: 400.
func (s *Server) deleteSelf(w http.ResponseWriter, r *http.Request) error {
	caller := auth.FromContext(r.Context())
	switch {
	case caller.Anonymous():
		return auth.ErrCredentialsRequired
	case caller.Method != auth.MethodToken:
		return apierr.Errorf(apierr.Invalid, "self: only a token can revoke itself; this request authenticated with a %s (use DELETE /api/v1/auth/tokens/{id})", caller.Method)
	}
	if err := s.store.DeleteToken(r.Context(), caller.TokenID); err != nil {
		// Deleted by a concurrent request since it authenticated this one.
		return storeError(err, "token not found")
	}
	s.log.WithFields(map[string]any{"token": caller.TokenID, "user": caller.User, "ip": auth.ClientIP(r)}).
		Info("token revoked itself")
	s.record(r, audit.TokenDelete, &tokens.Token{ID: caller.TokenID, Username: caller.User}, "revoked itself")
	apierr.WriteJSON(w, http.StatusOK, deletedResponse{Deleted: 1})
	return nil
}

// eventView is a token event as the API shows it.
type eventView struct {
	Time int64   `json:"time"`
	IP   *string `json:"ip"`
	Kind string  `json:"kind"`
}

// eventsResponse is a page of a token's events, paged like the token list.
type eventsResponse struct {
	Total    int         `json:"total"`
	PageNo   int         `json:"pageNo"`
	PageSize int         `json:"pageSize"`
	Events   []eventView `json:"events"`
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	caller, err := manager(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	pageNo, err := apierr.IntParam(q.Get("pageNo"), "pageNo", 1, 1, 1<<30)
	if err != nil {
		return err
	}
	pageSize, err := apierr.IntParam(q.Get("pageSize"), "pageSize", tokens.DefaultPageSize, 1, tokens.MaxPageSize)
	if err != nil {
		return err
	}
	t, err := s.ownedToken(r, caller)
	if err != nil {
		return err
	}
	total, page, err := s.store.TokenEvents(r.Context(), t.ID, pageNo, pageSize)
	if err != nil {
		return storeError(err, "token not found")
	}
	out := eventsResponse{Total: total, PageNo: pageNo, PageSize: pageSize, Events: make([]eventView, len(page))}
	for i, e := range page {
		out.Events[i] = eventView{Time: e.Time.UnixMilli(), Kind: e.Kind}
		if e.IP != "" {
			ip := e.IP
			out.Events[i].IP = &ip
		}
	}
	apierr.WriteJSON(w, http.StatusOK, out)
	return nil
}

// tokenDetail describes what a token may do, for the audit log: its
// scopes, whitelist and expiry, never its secret.
func tokenDetail(t *tokens.Token) string {
	d := "scopes=" + strings.Join(t.Scopes, ",")
	if len(t.IPWhitelist) > 0 {
		d += " ipWhitelist=" + strings.Join(t.IPWhitelist, ",")
	}
	if !t.ExpireTime.IsZero() {
		d += " expires=" + t.ExpireTime.UTC().Format(time.RFC3339)
	}
	return d
}
