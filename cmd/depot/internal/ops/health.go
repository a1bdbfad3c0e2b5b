package ops

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth/apierr"
)

// Check is one condition of readiness: Run returns nil while it holds.
// Its error goes to the log only; the client sees Name.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// checkTimeout bounds each readiness check: a database that takes longer
// to answer SELECT 1 is not ready for traffic.
const checkTimeout = 2 * time.Second

// Surface routes GET /metrics, /healthz and /readyz.
type Surface struct {
	// Metrics is served at /metrics; nil answers 404 with how to turn
	// metrics on.
	Metrics *Metrics
	// Token, when set, is the bearer token /metrics requires.
	Token string
	// Checks are what /readyz asks, in order.
	Checks []Check
	Log    logrus.FieldLogger
}

// Register adds the routes to r.
func (s Surface) Register(r *mux.Router) {
	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/metrics", s.metrics).Methods(http.MethodGet, http.MethodHead)
}

// healthz answers 200 while the process serves at all.
func (s Surface) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	apierr.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when every check passes, and 503 naming the ones
// that fail otherwise.
func (s Surface) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	results := make(map[string]string, len(s.Checks))
	var failed []string
	for _, c := range s.Checks {
		ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
		err := c.Run(ctx)
		cancel()
		if err != nil {
			failed = append(failed, c.Name)
			results[c.Name] = "failing"
			if s.Log != nil {
				s.Log.WithField("request_id", apierr.RequestID(r.Context())).WithField("check", c.Name).
					WithError(err).Warn("readiness check failed")
			}
			continue
		}
		results[c.Name] = "ok"
	}
	if len(failed) > 0 {
		apierr.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{
			"code": http.StatusServiceUnavailable, "msg": "not ready: " + strings.Join(failed, ", ") + " failing",
			"checks": results})
		return
	}
	apierr.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "checks": results})
}

func (s Surface) metrics(w http.ResponseWriter, r *http.Request) {
	if s.Metrics == nil {
		apierr.Write(w, r, s.Log, apierr.Errorf(apierr.NotFound,
			"metrics are off here: start depot serve with --metrics-token or --metrics-listen"))
		return
	}
	if s.Token != "" && !bearerIs(r, s.Token) {
		apierr.Write(w, r, s.Log, apierr.Errorf(apierr.Unauthorized, "metrics need Authorization: Bearer and the --metrics-token"))
		return
	}
	s.Metrics.Handler().ServeHTTP(w, r)
}

// bearerIs reports whether r carries Authorization: Bearer token, in time
// that does not depend on where the two differ.
func bearerIs(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// WritableDir returns a check that dir takes a new file: the data
// directory, where pushes and the database write.
func WritableDir(dir string) func(context.Context) error {
	return func(context.Context) error {
		f, err := os.CreateTemp(dir, ".readyz-*")
		if err != nil {
			return fmt.Errorf("create a file in the data directory: %w", err)
		}
		name := f.Name()
		_, werr := f.Write([]byte("ok\n"))
		cerr := f.Close()
		rerr := os.Remove(name)
		for _, err := range []error{werr, cerr, rerr} {
			if err != nil {
				return fmt.Errorf("write to the data directory: %w", err)
			}
		}
		return nil
	}
}
