// Package web serves depot's pages: signing in and out, the sessions it
// keeps in depot.db, and the account settings of CODING's help page,
// above all the personal access tokens. Pages are html/template, their
// CSS and the little JavaScript of copy buttons and confirmations are
// embedded, and every word is in English and Simplified Chinese.
//
// The repository browser (/OWNER/NAME, …/tree/, …/blob/, …/raw/,
// …/commits/, …/commit/) reads objects through repos/browse only.
package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/tokens"
)

// Store is what the pages keep in the database: users, their sessions and
// their tokens. *tokens.Store implements it; each method's errors are as
// documented there (ErrNotFound, ErrBadCredentials, *input.ValidationError).
type Store interface {
	UserByName(ctx context.Context, globalKey string) (*tokens.User, error)

	CreateSession(ctx context.Context, username, ip, userAgent string) (*tokens.Session, string, error)
	SessionBySecret(ctx context.Context, secret, ip string) (*tokens.Session, *tokens.User, error)
	ListSessions(ctx context.Context, username string) ([]*tokens.Session, error)
	DeleteSession(ctx context.Context, username, id string) error
	DeleteIdleSessions(ctx context.Context) (int, error)
	ChangePassword(ctx context.Context, username, password, keepSession string) (ended int, err error)

	CreateToken(ctx context.Context, t *tokens.Token) (secret string, err error)
	Token(ctx context.Context, id string) (*tokens.Token, error)
	ListTokens(ctx context.Context, opt tokens.ListOptions) (total int, page []*tokens.Token, err error)
	UpdateToken(ctx context.Context, id string, u tokens.TokenUpdate) (*tokens.Token, error)
	SetTokenEnabled(ctx context.Context, id string, enabled bool, ip string) error
	RegenerateToken(ctx context.Context, id string, grace time.Duration, ip string) (secret string, err error)
	DeleteToken(ctx context.Context, id string) error
	DeleteUserTokens(ctx context.Context, username string) (int, error)
}

var _ Store = (*tokens.Store)(nil)

// Projects is what the home, namespace and project pages keep in the
// database: projects, their members and repository records.
// *projects.Store implements it; its errors wrap repos' sentinels
// (ErrNotFound, ErrExists, ErrLastOwner) or are *input.ValidationError.
type Projects interface {
	repos.Records // for repos.Dir.CreateWithRecord
	Namespace(ctx context.Context, name string) (kind, canonical string, err error)
	CreateProject(ctx context.Context, p *repos.Project, owner string) error
	Project(ctx context.Context, name string) (*repos.Project, error)
	ListProjects(ctx context.Context, member string) ([]*repos.Project, error)
	Members(ctx context.Context, project string) ([]repos.Member, error)
	SetMember(ctx context.Context, project, user string, role repos.Role) error
	RemoveMember(ctx context.Context, project, user string) error
	RepoInfo(ctx context.Context, owner, name string) (*repos.Info, error)
}

// Server serves the pages. Its fields are its dependencies; none is
// optional but Audit.
type Server struct {
	store    Store
	auth     *auth.Authenticator
	projects Projects
	dir      *repos.Dir
	policy   *repos.Policy // the one permission function, as for git and the API
	log      logrus.FieldLogger
	now      func() time.Time
	flashes  flashes
	// Audit, when set, records sign-ins and the changes made through the
	// pages in the audit log.
	Audit Auditor
}

// New returns the pages over store and p, signing in through a (and so
// its failure limiter) and asking policy who may see and change what.
func New(store Store, a *auth.Authenticator, p Projects, dir *repos.Dir, policy *repos.Policy, log logrus.FieldLogger) *Server {
	return &Server{store: store, auth: a, projects: p, dir: dir, policy: policy, log: log, now: time.Now,
		flashes: flashes{m: map[string]flash{}}}
}

// handler is a page: it writes a response or returns an error for
// s.fail to answer.
type handler func(w http.ResponseWriter, r *http.Request) error

// Register adds every page to r. The order matters where templates
// overlap: /settings/tokens/new and /settings/tokens/delete-all before
// /settings/tokens/{id}, every fixed path before /{owner}. The repository
// browser's routes (/{owner}/{repo}, …/tree/…, …/blob/…, …/raw/…,
// …/commits/…, …/commit/…) come last and skip the reserved names of
// auth/input (registerRepoPages); they do not overlap git's.
func (s *Server) Register(r *mux.Router) {
	pages := r.NewRoute().Subrouter()
	pages.Use(s.withSession)
	for _, rt := range []struct {
		method, path string
		h            handler
	}{
		{http.MethodGet, "/", s.home},
		{http.MethodGet, "/login", s.loginForm},
		{http.MethodPost, "/login", s.login},
		{http.MethodPost, "/logout", s.signedIn(s.logout)},
		{http.MethodGet, "/settings", s.signedIn(s.settings)},
		{http.MethodGet, "/settings/profile", s.signedIn(s.profile)},
		{http.MethodPost, "/settings/password", s.signedIn(s.changePassword)},
		{http.MethodPost, "/settings/sessions/{id}/delete", s.signedIn(s.deleteSession)},
		{http.MethodGet, "/settings/tokens", s.signedIn(s.tokenList)},
		{http.MethodGet, "/settings/tokens/new", s.signedIn(s.newTokenForm)},
		{http.MethodPost, "/settings/tokens/new", s.signedIn(s.createToken)},
		{http.MethodPost, "/settings/tokens/delete-all", s.signedIn(s.deleteAllTokens)},
		{http.MethodGet, "/settings/tokens/{id}", s.signedIn(s.editTokenForm)},
		{http.MethodPost, "/settings/tokens/{id}", s.signedIn(s.updateToken)},
		{http.MethodPost, "/settings/tokens/{id}/regenerate", s.signedIn(s.regenerateToken)},
		{http.MethodPost, "/settings/tokens/{id}/status", s.signedIn(s.setTokenStatus)},
		{http.MethodPost, "/settings/tokens/{id}/delete", s.signedIn(s.deleteToken)},
		{http.MethodPost, "/settings/projects/{project}/members", s.signedIn(s.setMember)},
		{http.MethodPost, "/settings/projects/{project}/members/{user}/delete", s.signedIn(s.removeMember)},
		{http.MethodGet, "/new", s.signedIn(s.newRepoForm)},
		{http.MethodPost, "/new", s.signedIn(s.createRepo)},
		{http.MethodGet, "/new/project", s.signedIn(s.newProjectForm)},
		{http.MethodPost, "/new/project", s.signedIn(s.createProject)},
		// A user's or a project's page. The repository browser's
		// /{owner}/{repo}/… pages go right after it.
		{http.MethodGet, "/{owner}", s.namespace},
	} {
		pages.Handle(rt.path, s.serve(rt.h)).Methods(rt.method)
	}
	s.registerRepoPages(pages)
	r.Handle("/static/repo.css", repoStylesheet()).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/static/{file}", staticHandler()).Methods(http.MethodGet, http.MethodHead)
}

// NotFound returns the page that answers a browser's request for a path
// nothing routes: the 404 page, in the visitor's language.
func (s *Server) NotFound() http.Handler {
	return s.withSession(s.serve(func(http.ResponseWriter, *http.Request) error { return notFound }))
}

// flash is what one page shows once to the session that caused it: a
// token's new secret, or a notice. It is kept in memory, never in a
// cookie, so that a secret never travels back from the browser.
type flash struct {
	Notice  string // a message key
	Arg     any    // its argument, if it takes one
	Bad     bool   // it reports a refusal
	TokenID string
	Secret  string
	at      time.Time
}

// flashTTL bounds how long a secret waits in memory for its page.
const flashTTL = 5 * time.Minute

// flashes holds at most one flash per session id.
type flashes struct {
	mu sync.Mutex
	m  map[string]flash
}

func (f *flashes) put(session string, v flash) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, old := range f.m {
		if v.at.Sub(old.at) > flashTTL {
			delete(f.m, k)
		}
	}
	f.m[session] = v
}

// take returns and forgets the session's flash: a reload shows nothing.
func (f *flashes) take(session string, now time.Time) (flash, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[session]
	delete(f.m, session)
	if !ok || now.Sub(v.at) > flashTTL {
		return flash{}, false
	}
	return v, true
}
