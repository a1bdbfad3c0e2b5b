// Package apierr owns the JSON error shape of depot's API,
// {"code": N, "msg": "..."}: one Error type with a small Kind enum that maps
// one-to-one to an HTTP status, and one Write function that every handler
// sends its failures through. The client sees only Msg; the cause goes to
// the log, with the request id, and only for internal errors. Bad input
// that a domain reports as an *input.ValidationError is a 400 here, the
// one place that maps it.
package apierr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth/input"
)

// Kind classifies an error; each kind has one HTTP status.
type Kind int

// The kinds of error the API reports.
const (
	Internal             Kind = iota // 500
	Invalid                          // 400: bad input; the message names the field
	Unauthorized                     // 401: missing or bad credentials
	Forbidden                        // 403: good credentials, missing scope or permission
	NotFound                         // 404
	Conflict                         // 409
	TooLarge                         // 413
	UnsupportedMediaType             // 415
	TooManyRequests                  // 429
	Unavailable                      // 503: the server cannot store anything now (disk full, I/O errors)
)

var statuses = [...]int{
	Internal:             http.StatusInternalServerError,
	Invalid:              http.StatusBadRequest,
	Unauthorized:         http.StatusUnauthorized,
	Forbidden:            http.StatusForbidden,
	NotFound:             http.StatusNotFound,
	Conflict:             http.StatusConflict,
	TooLarge:             http.StatusRequestEntityTooLarge,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	TooManyRequests:      http.StatusTooManyRequests,
	Unavailable:          http.StatusServiceUnavailable,
}

// Status returns the HTTP status of k.
func (k Kind) Status() int {
	if k < 0 || int(k) >= len(statuses) {
		return http.StatusInternalServerError
	}
	return statuses[k]
}

// Error is an error meant for an API client.
type Error struct {
	Kind       Kind
	Msg        string        // shown to the client
	Err        error         // logged, never shown
	RetryAfter time.Duration // for TooManyRequests
}

// Errorf returns an Error of kind k whose client message is formatted.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error of kind k with client message msg and cause err.
func Wrap(k Kind, err error, msg string) *Error {
	return &Error{Kind: k, Msg: msg, Err: err}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the first *Error in err's chain; Invalid when
// the chain holds an *input.ValidationError instead; else Internal.
func KindOf(err error) Kind {
	if e := asError(err); e != nil {
		return e.Kind
	}
	return Internal
}

// asError returns the first *Error in err's chain or, failing that, an
// Invalid one carrying the text of its *input.ValidationError, which
// names the field, or an Unavailable one when err is storage failing
// (StorageFailure); nil when there is none of these.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ve *input.ValidationError
	if errors.As(err, &ve) {
		return &Error{Kind: Invalid, Msg: ve.Error(), Err: err}
	}
	if StorageFailure(err) {
		return &Error{Kind: Unavailable, Msg: unavailableMsg, Err: err}
	}
	return nil
}

const unavailableMsg = "the server cannot store anything at the moment (its disk is full or failing); try again later"

// SQLite's primary result codes (sqlite.org/rescode.html) that mean the
// database cannot be written: SQLITE_BUSY past busy_timeout,
// SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN.
const (
	sqliteBusy     = 5
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
)

// StorageFailure reports whether err is the server's storage refusing a
// write rather than a bug: the file system full, out of quota, read-only
// or failing (ENOSPC, EDQUOT, EROFS, EIO), a PostgreSQL server that does
// not answer (ECONNREFUSED), or the database saying so. The database
// drivers report their codes through methods read here without importing
// them (apierr imports nothing of the stores): modernc.org/sqlite SQLite's
// result code through Code, pgx PostgreSQL's SQLSTATE through SQLState.
func StorageFailure(err error) bool {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EIO, syscall.ECONNREFUSED} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		return postgresUnavailable(state.SQLState())
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff {
		case sqliteBusy, sqliteReadOnly, sqliteIOErr, sqliteFull, sqliteCantOpen:
			return true
		}
	}
	return false
}

// postgresUnavailable reports whether PostgreSQL's SQLSTATE code
// (postgresql.org/docs/current/errcodes-appendix.html) means the database
// cannot take the write now: class 08, the connection failed; class 53,
// insufficient resources (disk full, out of memory, too many
// connections); class 58, an I/O error; 57P01-57P03, the server shutting
// down or starting; 25006, a read-only server (a standby).
func postgresUnavailable(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "58"):
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03", "25006":
		return true
	}
	return false
}

type requestIDKey struct{}

// WithRequestID returns a copy of ctx carrying the request id used in logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// body is the wire shape of every JSON error.
type body struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// Write sends err to the client as JSON with the status of its kind; an
// *input.ValidationError is Invalid, with its own text. An error that is
// neither, or is Internal, is logged with the request id and shown to the
// client only as a generic sentence. 401 answers carry WWW-Authenticate so
// that clients such as git ask for credentials.
func Write(w http.ResponseWriter, r *http.Request, log logrus.FieldLogger, err error) {
	e := asError(err)
	if e == nil {
		e = &Error{Kind: Internal, Err: err}
	}
	if e.Kind == Unavailable {
		// The client learns to come back; whoever runs the server must
		// learn why.
		if log != nil {
			log.WithFields(logrus.Fields{"request_id": RequestID(r.Context()), "method": r.Method, "path": r.URL.Path}).
				WithError(err).Error("storage unavailable")
		}
		e = &Error{Kind: Unavailable, Msg: unavailableMsg}
		w.Header().Set("Retry-After", "60")
	}
	if e.Kind == Internal {
		rid := RequestID(r.Context())
		if log != nil {
			log.WithFields(logrus.Fields{"request_id": rid, "method": r.Method, "path": r.URL.Path}).
				WithError(err).Error("internal error")
		}
		e = &Error{Kind: Internal, Msg: "internal server error (request id " + rid + ")"}
	}
	status := e.Kind.Status()
	switch e.Kind {
	case Unauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="depot"`)
	case TooManyRequests:
		secs := int(e.RetryAfter.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	WriteJSON(w, status, body{Code: status, Msg: e.Msg})
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the status is sent; a failed write means the client left
}
