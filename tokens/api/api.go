// Package api serves depot's token-management API (/api/v1/auth/...) and
// GET /api/current_user over the token store, with the paths, fields and
// status codes of docs/api.md.
package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/tokens"
)

// Store is what the handlers need of the users and tokens in the
// database; *tokens.Store implements it. Errors other than those named
// here are the store failing.
type Store interface {
	// UserByName returns the user globalKey, compared case-insensitively,
	// or an error wrapping tokens.ErrNotFound.
	UserByName(ctx context.Context, globalKey string) (*tokens.User, error)
	// Token returns the token id, or an error wrapping tokens.ErrNotFound.
	Token(ctx context.Context, id string) (*tokens.Token, error)
	// ListTokens returns how many tokens opt selects and one page of
	// them; bad options are a *input.ValidationError.
	ListTokens(ctx context.Context, opt tokens.ListOptions) (total int, page []*tokens.Token, err error)
	// CreateToken stores t, completing its fields, and returns its
	// secret. Bad fields are a *input.ValidationError; an unknown owner
	// is an error wrapping tokens.ErrNotFound.
	CreateToken(ctx context.Context, t *tokens.Token) (secret string, err error)
	// UpdateToken changes the fields of id that u sets and returns the
	// token as it now is; an error wrapping tokens.ErrNotFound for an
	// unknown id, a *input.ValidationError for bad fields.
	UpdateToken(ctx context.Context, id string, u tokens.TokenUpdate) (*tokens.Token, error)
	// SetTokenEnabled enables or disables the token id at the request
	// of a client at ip; an error wrapping tokens.ErrNotFound for an
	// unknown id.
	SetTokenEnabled(ctx context.Context, id string, enabled bool, ip string) error
	// RegenerateToken gives the token id a new secret and returns it,
	// keeping the old one working for grace; an error wrapping
	// tokens.ErrNotFound for an unknown id, a *input.ValidationError for
	// a grace out of range.
	RegenerateToken(ctx context.Context, id string, grace time.Duration, ip string) (secret string, err error)
	// TokenEvents returns how many events the token id has and one page
	// of them, newest first; an error wrapping tokens.ErrNotFound for an
	// unknown id.
	TokenEvents(ctx context.Context, id string, pageNo, pageSize int) (total int, page []tokens.TokenEvent, err error)
	// DeleteToken deletes the token id; an error wrapping
	// tokens.ErrNotFound for an unknown id.
	DeleteToken(ctx context.Context, id string) error
	// DeleteUserTokens deletes every token of the user username and
	// returns how many there were; an error wrapping tokens.ErrNotFound
	// for an unknown user.
	DeleteUserTokens(ctx context.Context, username string) (int, error)
}

var _ Store = (*tokens.Store)(nil)

// Auditor records security events; *audit.Store implements it. Record
// fails only when the database does.
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

var _ Auditor = (*audit.Store)(nil)

// Server holds what the handlers need.
type Server struct {
	store Store
	log   logrus.FieldLogger
	now   func() time.Time
	// Audit, when set, records every change to a token in the audit log.
	Audit Auditor
}

// New returns a Server over store.
func New(store Store, log logrus.FieldLogger) *Server {
	return &Server{store: store, log: log, now: time.Now}
}

// Register adds the API's routes to r. The routes expect the
// authentication middleware to have put an Identity in the context.
func (s *Server) Register(r *mux.Router) {
	r.HandleFunc("/api/current_user", s.handle(s.currentUser)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/auth/scopes", s.handle(s.scopes)).Methods(http.MethodGet)

	const tokensPath = "/api/v1/auth/tokens"
	r.HandleFunc(tokensPath, s.handle(s.createToken)).Methods(http.MethodPost)
	r.HandleFunc(tokensPath, s.handle(s.listTokens)).Methods(http.MethodGet)
	r.HandleFunc(tokensPath, s.handle(s.deleteAllTokens)).Methods(http.MethodDelete)
	// Before {id}, which "self" would otherwise match.
	for _, p := range []string{tokensPath + "/self", tokensPath + "/self/"} {
		r.HandleFunc(p, s.handle(s.deleteSelf)).Methods(http.MethodDelete)
	}
	for _, p := range []string{tokensPath + "/{id}", tokensPath + "/{id}/"} {
		// Pandora's delete path ends in a slash; accept both spellings.
		r.HandleFunc(p, s.handle(s.getToken)).Methods(http.MethodGet)
		r.HandleFunc(p, s.handle(s.updateToken)).Methods(http.MethodPut)
		r.HandleFunc(p, s.handle(s.deleteToken)).Methods(http.MethodDelete)
	}
	r.HandleFunc(tokensPath+"/{id}/status", s.handle(s.setStatus)).Methods(http.MethodPut)
	r.HandleFunc(tokensPath+"/{id}/regenerate", s.handle(s.regenerate)).Methods(http.MethodPost)
	r.HandleFunc(tokensPath+"/{id}/events", s.handle(s.listEvents)).Methods(http.MethodGet)
}

// handle adapts a handler that returns an error to http.HandlerFunc.
func (s *Server) handle(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			apierr.Write(w, r, s.log, err)
		}
	}
}

// record writes an event of action by the caller of r on the token t to
// the audit log. The change is made already, so a failure to record it is
// logged, not answered.
func (s *Server) record(r *http.Request, action string, t *tokens.Token, detail string) {
	if s.Audit == nil {
		return
	}
	e := audit.FromRequest(r, auth.FromContext(r.Context()), action)
	e.Target, e.Subject, e.Detail = t.ID, t.Username, detail
	if err := s.Audit.Record(r.Context(), e); err != nil {
		s.log.WithError(err).WithField("request_id", apierr.RequestID(r.Context())).Error("audit")
	}
}

// storeError maps the store's sentinels to API errors. Bad input, an
// *input.ValidationError, needs no mapping: apierr.Write answers it 400.
// What maps to nothing is internal.
func storeError(err error, notFound string) error {
	switch {
	case errors.Is(err, tokens.ErrNotFound):
		return apierr.Wrap(apierr.NotFound, err, notFound)
	case errors.Is(err, tokens.ErrExists):
		return apierr.Wrap(apierr.Conflict, err, "already exists")
	}
	return err
}

// millis renders t as milliseconds since the epoch, -1 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.UnixMilli()
}
