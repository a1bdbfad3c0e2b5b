// Package server assembles depot's HTTP surfaces into one handler: the
// public documents, the web pages, the token API, git over smart HTTP, the
// client's address behind trusted proxies, request ids, the access log and
// panic recovery. It holds no business logic of its own.
package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
)

// Surface is one part of the API that registers its routes.
type Surface interface {
	Register(r *mux.Router)
}

// Config is what New wires together.
type Config struct {
	Auth *auth.Authenticator
	Log  logrus.FieldLogger
	// TrustedProxies are the peers whose forwarding headers name the
	// client; none by default.
	TrustedProxies auth.Proxies
	// Ops surfaces are the operator's endpoints (metrics, health); they
	// come first of all and look at no session or API credentials.
	Ops []Surface
	// Public surfaces answer anyone without looking at credentials, such
	// as the API's own description.
	Public []Surface
	// Web surfaces are the pages, which authenticate by their own
	// session cookie; they come before the API and git, whose paths they
	// do not share.
	Web []Surface
	// API surfaces are served under the authentication middleware, which
	// accepts passwords and tokens and answers bad credentials itself.
	API []Surface
	// Git surfaces authenticate on their own, as git needs 401s and 404s
	// of its own shape, and take tokens only.
	Git []Surface
	// Page, when set, answers a browser's request for a page that no
	// surface routes (one that accepts text/html, outside /api/), so that
	// a person sees a page rather than JSON.
	Page http.Handler
	// Observer, when set, is told of every request: which class of route
	// answered it (ClassOf), its status and how long it took.
	Observer RequestObserver
	// SlowRequest, when positive, logs every request that takes longer
	// at warning level, with its request id.
	SlowRequest time.Duration
}

// RequestObserver receives one call per request answered; it must return
// quickly. class is one of the Class constants.
type RequestObserver interface {
	ObserveRequest(class string, status int, d time.Duration, requestID string)
}

// The classes of route that requests are counted by: which surface
// answered, never the path, so that metrics stay bounded.
const (
	ClassOps       = "ops"
	ClassPublic    = "public"
	ClassWeb       = "web"
	ClassStatic    = "static" // web routes under /static/
	ClassAPI       = "api"
	ClassGit       = "git"
	ClassUnmatched = "unmatched" // 404 and 405 from the router itself
)

// New returns the handler for the whole server.
func New(c Config) http.Handler {
	return withClient(c.TrustedProxies, withRequestID(withAccessLog(c, withRecovery(c.Log, Router(c)))))
}

// Router returns the routes of every surface of c, without the request
// ids, access log and recovery that New puts around them. Public routes
// come first, so no other surface can shadow them.
func Router(c Config) *mux.Router {
	root := mux.NewRouter()
	classes := map[*mux.Route]string{}
	classify := func(class string) {
		_ = root.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
			if _, ok := classes[rt]; !ok {
				if tpl, _ := rt.GetPathTemplate(); class == ClassWeb && strings.HasPrefix(tpl, "/static/") {
					classes[rt] = ClassStatic
				} else {
					classes[rt] = class
				}
			}
			return nil
		})
	}
	for _, s := range c.Ops {
		s.Register(root)
	}
	classify(ClassOps)
	for _, s := range c.Public {
		s.Register(root)
	}
	classify(ClassPublic)
	for _, s := range c.Web {
		s.Register(root)
	}
	classify(ClassWeb)
	api := root.NewRoute().Subrouter()
	api.Use(c.Auth.Middleware(auth.Options{Passwords: true}, c.Log))
	for _, s := range c.API {
		s.Register(api)
	}
	classify(ClassAPI)
	for _, s := range c.Git {
		s.Register(root)
	}
	classify(ClassGit)
	root.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cr, ok := w.(classRecorder); ok {
				if class, ok := classes[mux.CurrentRoute(r)]; ok {
					cr.recordClass(class)
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	root.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.Page != nil && !strings.HasPrefix(r.URL.Path, "/api/") && strings.Contains(r.Header.Get("Accept"), "text/html") {
			c.Page.ServeHTTP(w, r)
			return
		}
		apierr.Write(w, r, c.Log, apierr.Errorf(apierr.NotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	root.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierr.WriteJSON(w, http.StatusMethodNotAllowed, map[string]any{
			"code": http.StatusMethodNotAllowed, "msg": "method " + r.Method + " is not allowed on " + r.URL.Path})
	})
	return root
}
