package apierr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth/input"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		msg     string
		header  string
		value   string
		logged  bool
		private string // must not reach the client
	}{
		{"Invalid", Errorf(Invalid, "name: required"), 400, "name: required", "", "", false, ""},
		{"Unauthorized", Errorf(Unauthorized, "bad credentials"), 401, "bad credentials", "WWW-Authenticate", `Basic realm="depot"`, false, ""},
		{"Forbidden", Errorf(Forbidden, "token lacks the %q scope", "user"), 403, `token lacks the "user" scope`, "", "", false, ""},
		{"NotFound", Wrap(NotFound, errors.New("sql: no rows"), "token not found"), 404, "token not found", "", "", false, "sql"},
		{"Conflict", Errorf(Conflict, "taken"), 409, "taken", "", "", false, ""},
		{"TooLarge", Errorf(TooLarge, "big"), 413, "big", "", "", false, ""},
		{"MediaType", Errorf(UnsupportedMediaType, "json please"), 415, "json please", "", "", false, ""},
		{"TooMany", &Error{Kind: TooManyRequests, Msg: "slow down", RetryAfter: 2500 * time.Millisecond}, 429, "slow down", "Retry-After", "3", false, ""},
		{"TooManyShortWait", &Error{Kind: TooManyRequests, Msg: "slow down", RetryAfter: time.Millisecond}, 429, "slow down", "Retry-After", "1", false, ""},
		{"PlainErrorIsInternal", fmt.Errorf("open /var/lib/depot/depot.db: disk I/O error"), 500, "request id req-1", "", "", true, "/var/lib"},
		{"WrappedInternal", Wrap(Internal, errors.New("secret detail"), "ignored"), 500, "internal server error", "", "", true, "secret detail"},
		{"ValidationError", fmt.Errorf("tokens: create token: %w", input.Invalid("audience", "longer than 255 bytes")), 400, "audience: longer than 255 bytes", "", "", false, "tokens:"},
		{"DiskFull", fmt.Errorf("tokens: create token: %w", &fs.PathError{Op: "write", Path: "/var/lib/depot/depot.db-wal", Err: syscall.ENOSPC}), 503, "disk is full", "Retry-After", "60", true, "/var/lib"},
		{"DatabaseFull", fmt.Errorf("tokens: create token: %w", sqliteError{13}), 503, "try again later", "", "", true, "database or disk"},
		{"DatabaseIOErrWrite", fmt.Errorf("tokens: flush: %w", sqliteError{778}), 503, "try again later", "", "", true, "database or disk"},
		{"DatabaseConstraintIsInternal", fmt.Errorf("tokens: %w", sqliteError{19}), 500, "request id req-1", "", "", true, "database or disk"},
		{"ErrorBeforeValidationError", Wrap(Invalid, input.Invalid("name", "x"), "name: required"), 400, "name: required", "", "", false, "name: x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logBuf bytes.Buffer
			log := logrus.New()
			log.SetOutput(&logBuf)
			r := httptest.NewRequest("GET", "/x", nil)
			r = r.WithContext(WithRequestID(r.Context(), "req-1"))
			w := httptest.NewRecorder()
			Write(w, r, log, tc.err)
			var b struct {
				Code int    `json:"code"`
				Msg  string `json:"msg"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if w.Code != tc.status || b.Code != tc.status || !strings.Contains(b.Msg, tc.msg) {
				t.Fatalf("Write(%v) = %d %+v; want %d with %q", tc.err, w.Code, b, tc.status, tc.msg)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q", ct)
			}
			if tc.header != "" && w.Header().Get(tc.header) != tc.value {
				t.Fatalf("%s = %q; want %q", tc.header, w.Header().Get(tc.header), tc.value)
			}
			if tc.private != "" && strings.Contains(w.Body.String(), tc.private) {
				t.Fatalf("client sees %q: %s", tc.private, w.Body)
			}
			if logged := strings.Contains(logBuf.String(), "req-1"); logged != tc.logged {
				t.Fatalf("logged = %v; want %v (%s)", logged, tc.logged, logBuf.String())
			}
		})
	}
}

// sqliteError is what modernc.org/sqlite returns: an error with SQLite's
// extended result code.
type sqliteError struct{ code int }

func (e sqliteError) Error() string { return fmt.Sprintf("database or disk is full (%d)", e.code) }
func (e sqliteError) Code() int     { return e.code }

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name  string   `json:"name"`
		Count int      `json:"count"`
		Tags  []string `json:"tags"`
	}
	for _, tc := range []struct {
		name, ctype, body string
		kind              Kind
		msg               string
	}{
		{"OK", "application/json", `{"name":"x","count":2,"unknown":true}`, -1, ""},
		{"OKWithCharset", "application/json; charset=utf-8", `{"name":"x"}`, -1, ""},
		{"ErrNoContentType", "", `{}`, UnsupportedMediaType, "Content-Type"},
		{"ErrFormContentType", "application/x-www-form-urlencoded", `a=b`, UnsupportedMediaType, "Content-Type"},
		{"ErrEmpty", "application/json", ``, Invalid, "empty"},
		{"ErrSyntax", "application/json", `{"name":}`, Invalid, "not valid JSON"},
		{"ErrTruncated", "application/json", `{"name":"x"`, Invalid, "truncated"},
		{"ErrWrongType", "application/json", `{"count":"two"}`, Invalid, "count: must be a number"},
		{"ErrWrongArray", "application/json", `{"tags":"a"}`, Invalid, "tags: must be an array"},
		{"ErrNotObject", "application/json", `[1,2]`, Invalid, "JSON object"},
		{"ErrTwoValues", "application/json", `{} {}`, Invalid, "single JSON object"},
		{"ErrTooLarge", "application/json", `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, TooLarge, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			var v body
			err := DecodeJSON(httptest.NewRecorder(), r, &v)
			if tc.kind < 0 {
				if err != nil {
					t.Fatalf("DecodeJSON = %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.kind || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("DecodeJSON = %v; want kind %d mentioning %q", err, tc.kind, tc.msg)
			}
		})
	}
}
