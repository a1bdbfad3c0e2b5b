package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/tokens"
)

// The token pages of CODING's help page, on the same store functions as
// the token API. The signed-in user acts in person, as a password caller
// of the API does: every token is theirs, and its scopes are checked
// against auth's catalogue (tokens.CheckScopes), the most a user may
// hold. A token a page makes can therefore never be stronger than its
// owner.

// tokenRow is a token as the list shows it. Its texts are made once
// here rather than by template calls: the list of a user with many
// tokens renders in a few milliseconds that way.
type tokenRow struct {
	*tokens.Token
	Expired   bool
	Secret    string // set only on the one page after creation or regeneration
	Validity  string
	LastUsed  string
	Created   string
	Whitelist string
	// The questions the dialogs ask before regenerating and deleting.
	RegenerateQ, DeleteQ string
}

const dateTime = "2006-01-02 15:04 UTC"

func newTokenRow(t *tokens.Token, l lang, now time.Time) tokenRow {
	row := tokenRow{Token: t, Expired: !t.ExpireTime.IsZero() && !now.Before(t.ExpireTime),
		Created: t.IssuedAt.UTC().Format(dateTime), Whitelist: strings.Join(t.IPWhitelist, ", "),
		RegenerateQ: l.t("tokens.regenerateQ", t.Description), DeleteQ: l.t("tokens.deleteQ", t.Description)}
	row.Validity = l.t("tokens.from", t.NotBefore.UTC().Format("2006-01-02")) + " · "
	if t.ExpireTime.IsZero() {
		row.Validity += l.t("tokens.noExpiry")
	} else {
		row.Validity += l.t("tokens.until", t.ExpireTime.UTC().Format(dateTime))
	}
	row.LastUsed = l.t("tokens.never")
	if !t.LastAccessTime.IsZero() {
		row.LastUsed = t.LastAccessTime.UTC().Format(dateTime) + " · " + t.LastAccessIP
	}
	return row
}

type tokenListData struct {
	Tokens  []tokenRow
	Rows    template.HTML // Tokens, written by tokenRowsHTML
	Created string        // the id of the token whose secret is shown, if any
	Secret  string
	Host    string
	User    string
}

func (s *Server) tokenList(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	_, list, err := s.store.ListTokens(r.Context(), tokens.ListOptions{
		Username: v.user.GlobalKey, Sort: "issuedAt", Desc: true, PageSize: tokens.MaxPageSize})
	if err != nil {
		return err
	}
	data := &tokenListData{Host: auth.ClientOf(r).Host, User: v.user.GlobalKey}
	p := newPage(r, "tokens.title", "tokens", data)
	if f, ok := s.takeNotice(r, p); ok && f.Secret != "" {
		data.Created, data.Secret = f.TokenID, f.Secret
	}
	now := s.now()
	for _, t := range list {
		row := newTokenRow(t, v.lang, now)
		if t.ID == data.Created {
			row.Secret = data.Secret
		}
		data.Tokens = append(data.Tokens, row)
	}
	data.Rows = tokenRowsHTML(data.Tokens, v.lang, p.CSRF, data.User, data.Host)
	return s.render(w, http.StatusOK, "tokens", p)
}

// scopeOption is one checkbox of the form.
type scopeOption struct {
	Name, Label, Access string
	Checked             bool
}

// tokenForm is the new and edit form: what was typed, and what is wrong
// with it, field by field.
type tokenForm struct {
	ID          string // "" for a new token
	Description string
	Scopes      []scopeOption
	IPWhitelist string
	// Rules: whether the token has git rules, and their fields as typed.
	Rules       bool
	RulesRepos  string // one pattern a line
	RulesFetch  bool
	RulesPush   bool
	RulesRefs   string // one pattern a line
	RulesForce  bool
	RulesDelete bool
	ExpiresAt   string
	Expiry      time.Time // an existing token's, which the form cannot change
	Enabled     bool
	Errors      map[string]string
}

func (s *Server) scopeOptions(l lang, checked []string) []scopeOption {
	var out []scopeOption
	for _, sc := range auth.Scopes() {
		label, access := sc.Description, l.t("tokens.access.rw")
		if l == langZH {
			label = sc.DescriptionZh
		}
		if sc.Access == "read" {
			access = l.t("tokens.access.r")
		}
		out = append(out, scopeOption{Name: sc.Scope, Label: label, Access: access, Checked: slices.Contains(checked, sc.Scope)})
	}
	return out
}

func (s *Server) newTokenForm(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	f := &tokenForm{Scopes: s.scopeOptions(v.lang, nil)}
	f.setRules(nil)
	return s.render(w, http.StatusOK, "token_form", newPage(r, "tokens.newTitle", "tokens", f))
}

// setRules fills the rules fields of f from rules (nil: none).
func (f *tokenForm) setRules(rules *auth.Rules) {
	f.Rules = rules != nil
	f.RulesFetch, f.RulesPush = true, true
	if rules == nil {
		return
	}
	f.RulesRepos, f.RulesRefs = strings.Join(rules.Repos, "\n"), strings.Join(rules.Refs, "\n")
	f.RulesFetch, f.RulesPush = rules.AllowsOperation(auth.OpFetch), rules.AllowsOperation(auth.OpPush)
	f.RulesForce, f.RulesDelete = rules.AllowForcePush, rules.AllowDelete
}

// readRules reads the rules fields into f and returns the rules they
// make, nil when the token is to have none; what is wrong goes next to
// its field.
func readRules(r *http.Request, f *tokenForm, l lang) *auth.Rules {
	f.Rules = r.PostFormValue("rules") != ""
	f.RulesRepos, f.RulesRefs = r.PostFormValue("rulesRepos"), r.PostFormValue("rulesRefs")
	ops := r.PostForm["rulesOperations"]
	f.RulesFetch, f.RulesPush = slices.Contains(ops, auth.OpFetch), slices.Contains(ops, auth.OpPush)
	f.RulesForce, f.RulesDelete = r.PostFormValue("rulesAllowForcePush") != "", r.PostFormValue("rulesAllowDelete") != ""
	if !f.Rules {
		return nil
	}
	rules := &auth.Rules{Repos: lines(f.RulesRepos), Refs: lines(f.RulesRefs),
		AllowForcePush: f.RulesForce, AllowDelete: f.RulesDelete}
	for _, op := range []string{auth.OpFetch, auth.OpPush} {
		if slices.Contains(ops, op) {
			rules.Operations = append(rules.Operations, op)
		}
	}
	if rules.Operations == nil {
		f.Errors["rulesOperations"] = l.t("err.rulesOperations")
		return nil
	}
	var ve *input.ValidationError
	if err := rules.Normalize(); errors.As(err, &ve) {
		f.Errors[rulesField(ve.Field)] = ve.Msg
		return nil
	}
	return rules
}

// rulesField is the form field of a rules field of the API.
func rulesField(apiField string) string {
	switch apiField {
	case "rules.repos":
		return "rulesRepos"
	case "rules.refs":
		return "rulesRefs"
	}
	return "rulesOperations"
}

// lines returns the lines of text that are not blank, trimmed; nil when
// there are none.
func lines(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// readTokenForm reads the posted fields into f and checks them, writing a
// message next to each field that is wrong. It returns the scopes,
// whitelist and rules as the store takes them.
func (s *Server) readTokenForm(r *http.Request, f *tokenForm, l lang) (scopes, whitelist []string, rules *auth.Rules) {
	f.Errors = map[string]string{}
	f.Description = r.PostFormValue("description")
	f.IPWhitelist = r.PostFormValue("ipWhitelist")
	requested := r.PostForm["scopes"]
	f.Scopes = s.scopeOptions(l, requested)

	switch d := strings.TrimSpace(f.Description); {
	case d == "":
		f.Errors["description"] = l.t("err.description")
	case input.CheckDescription("description", d) != nil:
		f.Errors["description"] = l.t("err.descriptionLong")
	default:
		f.Description = d
	}
	scopes, err := tokens.CheckScopes(requested)
	switch {
	case err != nil:
		f.Errors["scopes"] = l.t("err.scopesUnknown")
	case len(scopes) == 0:
		f.Errors["scopes"] = l.t("err.scopes")
	}
	entries := lines(f.IPWhitelist)
	if len(entries) > tokens.MaxIPWhitelist {
		f.Errors["ipWhitelist"] = l.t("err.ipWhitelistMany")
	} else {
		for _, line := range entries {
			if _, err := auth.ParseWhitelistEntry(line); err != nil {
				f.Errors["ipWhitelist"] = l.t("err.ipWhitelist", line)
				break
			}
		}
	}
	if whitelist, err = tokens.NormalizeIPWhitelist(entries); err != nil && f.Errors["ipWhitelist"] == "" {
		f.Errors["ipWhitelist"] = err.Error()
	}
	return scopes, whitelist, readRules(r, f, l)
}

// expiryOf reads expiresAt, a day: the token works through its end, UTC.
func expiryOf(day string, now time.Time, l lang) (time.Time, string) {
	day = strings.TrimSpace(day)
	if day == "" {
		return time.Time{}, ""
	}
	d, err := time.Parse("2006-01-02", day)
	if err != nil {
		return time.Time{}, l.t("err.expiresAt")
	}
	end := d.Add(24 * time.Hour)
	if !end.After(now.Add(24 * time.Hour)) {
		return time.Time{}, l.t("err.expiresPast")
	}
	return end, ""
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	f := &tokenForm{ExpiresAt: r.PostFormValue("expiresAt")}
	scopes, whitelist, rules := s.readTokenForm(r, f, v.lang)
	now := s.now()
	expiry, msg := expiryOf(f.ExpiresAt, now, v.lang)
	if msg != "" {
		f.Errors["expiresAt"] = msg
	}
	p := newPage(r, "tokens.newTitle", "tokens", f)
	if len(f.Errors) > 0 {
		p.Notice, p.Bad = p.T("err.form"), true
		return s.render(w, http.StatusBadRequest, "token_form", p)
	}
	t := &tokens.Token{
		Username: v.user.GlobalKey, Issuer: v.user.GlobalKey, Description: f.Description,
		Scopes: scopes, IPWhitelist: whitelist, NotBefore: now, ExpireTime: expiry, Rules: rules,
	}
	secret, err := s.store.CreateToken(r.Context(), t)
	if err != nil {
		return s.formError(w, p, f, err)
	}
	s.recordToken(r, audit.TokenCreate, t, true)
	s.flashes.put(v.sess.ID, flash{Notice: "tokens.created", TokenID: t.ID, Secret: secret, at: now})
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
	return nil
}

// formError shows a field the store refused next to that field; any
// other error is the page's.
func (s *Server) formError(w http.ResponseWriter, p *page, f *tokenForm, err error) error {
	var ve *input.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	field := ve.Field
	switch {
	case field == "expireTime" || field == "notBefore":
		field = "expiresAt"
	case strings.HasPrefix(field, "rules"):
		field = rulesField(field)
	}
	f.Errors[field] = ve.Msg
	p.Notice, p.Bad = p.T("err.form"), true
	return s.render(w, http.StatusBadRequest, "token_form", p)
}

// ownToken loads the token of the path when it is the visitor's; any
// other is 404, as if it did not exist.
func (s *Server) ownToken(r *http.Request) (*tokens.Token, error) {
	t, err := s.store.Token(r.Context(), mux.Vars(r)["id"])
	if errors.Is(err, tokens.ErrNotFound) {
		return nil, apierr.Errorf(apierr.NotFound, "token not found")
	}
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(t.Username, visitorOf(r).user.GlobalKey) {
		return nil, apierr.Errorf(apierr.NotFound, "token not found")
	}
	return t, nil
}

func (s *Server) editTokenForm(w http.ResponseWriter, r *http.Request) error {
	t, err := s.ownToken(r)
	if err != nil {
		return err
	}
	f := &tokenForm{ID: t.ID, Description: t.Description, Scopes: s.scopeOptions(visitorOf(r).lang, t.Scopes),
		IPWhitelist: strings.Join(t.IPWhitelist, "\n"), Expiry: t.ExpireTime, Enabled: t.Enabled}
	f.setRules(t.Rules)
	p := newPage(r, "tokens.editTitle", "tokens", f)
	return s.render(w, http.StatusOK, "token_form", p)
}

func (s *Server) updateToken(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	t, err := s.ownToken(r)
	if err != nil {
		return err
	}
	f := &tokenForm{ID: t.ID, Expiry: t.ExpireTime, Enabled: t.Enabled}
	scopes, whitelist, rules := s.readTokenForm(r, f, v.lang)
	p := newPage(r, "tokens.editTitle", "tokens", f)
	if len(f.Errors) > 0 {
		p.Notice, p.Bad = p.T("err.form"), true
		return s.render(w, http.StatusBadRequest, "token_form", p)
	}
	updated, err := s.store.UpdateToken(r.Context(), t.ID, tokens.TokenUpdate{
		Description: &f.Description, Scopes: &scopes, IPWhitelist: &whitelist, Rules: &rules})
	if err != nil {
		return s.formError(w, p, f, err)
	}
	s.recordToken(r, audit.TokenEdit, updated, true)
	s.flashes.put(v.sess.ID, flash{Notice: "tokens.saved", at: s.now()})
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
	return nil
}

func (s *Server) regenerateToken(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	t, err := s.ownToken(r)
	if err != nil {
		return err
	}
	if ok, err := s.confirm(w, r, v.lang.t("tokens.regenerateQ", t.Description), "tokens.regenerate", "/settings/tokens"); !ok {
		return err
	}
	secret, err := s.store.RegenerateToken(r.Context(), t.ID, 0, auth.ClientIP(r))
	if err != nil {
		return err
	}
	s.recordToken(r, audit.TokenRegen, t, false)
	s.flashes.put(v.sess.ID, flash{Notice: "tokens.regenerated", TokenID: t.ID, Secret: secret, at: s.now()})
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
	return nil
}

func (s *Server) setTokenStatus(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	t, err := s.ownToken(r)
	if err != nil {
		return err
	}
	var enabled bool
	switch r.PostFormValue("status") {
	case "enabled":
		enabled = true
	case "disabled":
	default:
		return apierr.Errorf(apierr.Invalid, "status: must be enabled or disabled")
	}
	if err := s.store.SetTokenEnabled(r.Context(), t.ID, enabled, auth.ClientIP(r)); err != nil {
		return err
	}
	notice, action := "tokens.nowDisabled", audit.TokenDisable
	if enabled {
		notice, action = "tokens.nowEnabled", audit.TokenEnable
	}
	s.recordToken(r, action, t, false)
	s.flashes.put(v.sess.ID, flash{Notice: notice, at: s.now()})
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
	return nil
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	t, err := s.ownToken(r)
	if err != nil {
		return err
	}
	if ok, err := s.confirm(w, r, v.lang.t("tokens.deleteQ", t.Description), "tokens.delete", "/settings/tokens"); !ok {
		return err
	}
	if err := s.store.DeleteToken(r.Context(), t.ID); err != nil && !errors.Is(err, tokens.ErrNotFound) {
		return err
	}
	s.recordToken(r, audit.TokenDelete, t, false)
	s.flashes.put(v.sess.ID, flash{Notice: "tokens.deleted", at: s.now()})
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
	return nil
}

func (s *Server) deleteAllTokens(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	total, _, err := s.store.ListTokens(r.Context(), tokens.ListOptions{Username: v.user.GlobalKey, PageSize: 1})
	if err != nil {
		return err
	}
	if ok, err := s.confirm(w, r, v.lang.t("tokens.deleteAllQ", total), "tokens.deleteAll", "/settings/tokens"); !ok {
		return err
	}
	n, err := s.store.DeleteUserTokens(r.Context(), v.user.GlobalKey)
	if err != nil {
		return fmt.Errorf("delete tokens of %s: %w", v.user.GlobalKey, err)
	}
	s.record(r, audit.TokenDeleteAll, "", v.user.GlobalKey, fmt.Sprintf("%d tokens", n))
	s.flashes.put(v.sess.ID, flash{Notice: "tokens.deletedAll", Arg: n, at: s.now()})
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
	return nil
}
