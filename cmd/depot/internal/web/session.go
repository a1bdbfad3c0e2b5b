package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/tokens"
)

// sessionCookie holds a session's secret. It is HttpOnly, so no script
// reads it, SameSite=Lax, so no other site's form posts it, and Secure
// when the page came over TLS, to depot or to a trusted proxy in front.
const sessionCookie = "depot_session"

// csrfField is the hidden field of every form that changes state.
const csrfField = "csrf"

// visitor is who is looking at a page: signed in (sess and user set) or
// not, and in which language.
type visitor struct {
	sess   *tokens.Session
	user   *tokens.User
	secret string // the cookie's, to derive the CSRF token from; never shown
	lang   lang
}

func (v *visitor) signedIn() bool { return v.user != nil }

// csrf returns the session's CSRF token: an HMAC of a fixed text under
// the session's secret. A page can carry it, since it reveals nothing of
// the secret, and another site cannot compute it. Signed out, it is "".
func (v *visitor) csrf() string {
	if v.secret == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(v.secret))
	m.Write([]byte("depot csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

type visitorKey struct{}

// visitorOf returns the visitor withSession stored in r.
func visitorOf(r *http.Request) *visitor {
	if v, ok := r.Context().Value(visitorKey{}).(*visitor); ok {
		return v
	}
	return &visitor{lang: langEN}
}

// withSession finds the visitor of every page: the session of its
// cookie, when live, and the language. It also puts the signed-in user in
// the request's auth.Identity, so that pages asking repos.Policy see the
// user as the API does a password caller.
func (s *Server) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.switchLanguage(w, r) {
			return
		}
		v := &visitor{lang: chooseLang(r)}
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			sess, u, err := s.store.SessionBySecret(r.Context(), c.Value, auth.ClientIP(r))
			switch {
			case err == nil:
				v.sess, v.user, v.secret = sess, u, c.Value
			case errors.Is(err, tokens.ErrBadCredentials):
				clearSessionCookie(w, r) // revoked or idle: sign in again
			default:
				s.fail(w, r, err)
				return
			}
		}
		ctx := context.WithValue(r.Context(), visitorKey{}, v)
		if v.signedIn() {
			id := &auth.Identity{User: v.user.GlobalKey, Admin: v.user.Admin, Method: auth.MethodSession}
			auth.Record(w, id)
			ctx = auth.WithIdentity(ctx, id)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, secret string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: secret, Path: "/",
		MaxAge:   int(tokens.SessionIdle.Seconds()),
		HttpOnly: true, Secure: auth.ClientOf(r).Scheme == "https", SameSite: http.SameSiteLaxMode,
	})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: auth.ClientOf(r).Scheme == "https", SameSite: http.SameSiteLaxMode,
	})
}

// errCrossSite answers a state-changing request that did not come from
// one of depot's own forms; it changes nothing.
var errCrossSite = apierr.Errorf(apierr.Forbidden, "this form is out of date or came from another site; reload the page and try again")

// checkPost refuses a POST that another site made: one that the browser
// says is cross-site, one whose Origin is not this host (as the request
// names it, or as a trusted proxy forwarded it), and, from a
// signed-in visitor, one without the session's CSRF token. SameSite=Lax
// already keeps the cookie off such posts in today's browsers; the token
// is the check that does not depend on the browser.
func checkPost(r *http.Request, v *visitor) error {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return errCrossSite
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !(sameHost(u, r.Host) || sameHost(u, auth.ClientOf(r).Host)) {
			return errCrossSite
		}
	}
	if !v.signedIn() {
		return nil
	}
	want := v.csrf()
	got := r.PostFormValue(csrfField)
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errCrossSite
	}
	return nil
}

// sameHost reports whether origin names host, a Host header, which may
// spell out the port that origin's scheme implies (git.example.com:443).
func sameHost(origin *url.URL, host string) bool {
	def := map[string]string{"http": ":80", "https": ":443"}[strings.ToLower(origin.Scheme)]
	if def != "" {
		host = strings.TrimSuffix(host, def)
	}
	return host != "" && strings.EqualFold(origin.Host, host)
}

// maxForm bounds a form's body: the largest is a token's whitelist.
const maxForm = 64 << 10

// serve runs h, after checking a POST's origin and CSRF token, and
// answers its error.
func (s *Server) serve(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				s.fail(w, r, apierr.Wrap(apierr.Invalid, err, "the form could not be read"))
				return
			}
			if err := checkPost(r, visitorOf(r)); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// signedIn lets only a signed-in visitor reach h: a page sends the others
// to the sign-in form and back; a post, which has nothing to go back to,
// is refused.
func (s *Server) signedIn(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if visitorOf(r).signedIn() {
			return h(w, r)
		}
		if r.Method != http.MethodGet {
			return errCrossSite
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return nil
	}
}

// setPageHeaders keeps pages from being framed, sniffed, cached or given
// scripts from elsewhere.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}
