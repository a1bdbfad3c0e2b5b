package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/sirupsen/logrus"
)

// withClient resolves once who r's client is, seeing through the trusted
// proxies, and stores it for auth.ClientIP and auth.ClientOf, which every
// user of a client's address asks.
func withClient(proxies auth.Proxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(auth.WithClient(r.Context(), proxies.Resolve(r))))
	})
}

// withRequestID gives every request an id, echoed in X-Request-Id and
// used to find a 500 in the log.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:]) // never fails on supported platforms (Go 1.24+)
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(apierr.WithRequestID(r.Context(), id)))
	})
}

// withRecovery turns a panic into a logged 500 instead of a dropped
// connection; the stack goes to the log only.
func withRecovery(log logrus.FieldLogger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			log.WithField("request_id", apierr.RequestID(r.Context())).
				WithField("stack", string(debug.Stack())).Errorf("panic: %v", v)
			apierr.Write(w, r, nil, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// logWriter records what the access log needs from a response.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	id     *auth.Identity
	class  string
}

// classRecorder is the writer that the router tells which class of route
// answers.
type classRecorder interface{ recordClass(string) }

func (w *logWriter) recordClass(c string) { w.class = c }

func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// RecordIdentity implements auth.IdentityRecorder.
func (w *logWriter) RecordIdentity(id *auth.Identity) { w.id = id }

// Unwrap lets http.ResponseController reach Flush on the real writer.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes through so that streamed git responses reach the client.
func (w *logWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

// withAccessLog writes one line a request, at warning level when it took
// longer than c.SlowRequest, and tells c.Observer. It never logs the
// Authorization header, and drops query strings that look like they carry
// a secret.
func withAccessLog(c Config, next http.Handler) http.Handler {
	log := c.Log
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		lw := &logWriter{ResponseWriter: w, class: ClassUnmatched}
		next.ServeHTTP(lw, r)
		took := time.Since(start)
		if lw.status == 0 {
			lw.status = http.StatusOK
		}
		if c.Observer != nil {
			c.Observer.ObserveRequest(lw.class, lw.status, took, apierr.RequestID(r.Context()))
		}
		f := logrus.Fields{
			"request_id":  apierr.RequestID(r.Context()),
			"method":      r.Method,
			"path":        r.URL.Path,
			"status":      lw.status,
			"bytes":       lw.bytes,
			"duration_ms": float64(took.Microseconds()) / 1000,
			"class":       lw.class,
			"remote":      auth.ClientIP(r),
		}
		if peer, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && peer.Addr().Unmap().String() != f["remote"] {
			f["proxy"] = peer.Addr().Unmap().String() // the trusted proxy that forwarded the request
		}
		if q := r.URL.RawQuery; q != "" && !secretQuery(q) {
			f["query"] = q
		}
		if lw.id != nil && !lw.id.Anonymous() {
			f["user"] = lw.id.User
			if lw.id.TokenID != "" {
				f["token_id"] = lw.id.TokenID
			}
		}
		if c.SlowRequest > 0 && took > c.SlowRequest {
			log.WithFields(f).Warn("slow request")
			return
		}
		log.WithFields(f).Info("request")
	})
}

func secretQuery(q string) bool {
	q = strings.ToLower(q)
	for _, s := range []string{"token", "password", "secret", "key", "auth"} {
		if strings.Contains(q, s) {
			return true
		}
	}
	return false
}
