package auth

import (
	"net/http"

	"github.com/depot/depot/auth/apierr"
	"github.com/sirupsen/logrus"
)

// Middleware authenticates every request with opt and stores the Identity
// in its context; credentials that do not verify are answered at once with
// the JSON error of docs/api.md. Anonymous requests pass through: handlers ask
// the Identity for what they need.
func (a *Authenticator) Middleware(opt Options, log logrus.FieldLogger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := a.Authenticate(r, opt)
			if err != nil {
				apierr.Write(w, r, log, err)
				return
			}
			Record(w, id)
			next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
		})
	}
}

// IdentityRecorder is implemented by response writers that want to know
// who the caller was, such as the access log's.
type IdentityRecorder interface {
	RecordIdentity(*Identity)
}

// Record tells w who the caller is, when w wants to know.
func Record(w http.ResponseWriter, id *Identity) {
	if rec, ok := w.(IdentityRecorder); ok {
		rec.RecordIdentity(id)
	}
}
