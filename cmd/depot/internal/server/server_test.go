package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/tokens"
	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
)

// panicky is a surface whose handler panics, standing in for a bug.
type panicky struct{}

func (panicky) Register(r *mux.Router) {
	r.HandleFunc("/api/boom", func(http.ResponseWriter, *http.Request) { panic("kaboom at /secret/path") }).Methods("GET")
	r.HandleFunc("/api/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") }).Methods("GET")
}

// public is a surface that needs no credentials, as the API description.
type public struct{}

func (public) Register(r *mux.Router) {
	r.HandleFunc("/api/open", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "open") }).Methods("GET")
}

func TestServerAssembly(t *testing.T) {
	store, err := tokens.Open(context.Background(), filepath.Join(t.TempDir(), "depot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var logBuf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&logBuf)
	h := New(Config{Auth: auth.NewAuthenticator(tokens.Verifier{Store: store}, nil), Log: log, Public: []Surface{public{}}, API: []Surface{panicky{}}})
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, tc := range []struct {
		name, method, path, header string
		status                     int
		body                       string
	}{
		{"OK", "GET", "/api/ok", "", 200, "fine"},
		{"PanicBecomes500", "GET", "/api/boom", "", 500, "request id"},
		{"UnknownRoute", "GET", "/nowhere", "", 404, `"msg":"no such endpoint: GET /nowhere"`},
		{"WrongMethod", "DELETE", "/api/ok", "", 405, `"code":405`},
		{"BadCredentialsOnAnyAPIRoute", "GET", "/api/ok", "Bearer dpt_nope", 401, "bad credentials"},
		{"PublicIgnoresCredentials", "GET", "/api/open", "Bearer dpt_nope", 200, "open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
				t.Fatalf("%s %s = %d %s; want %d with %q", tc.method, tc.path, res.StatusCode, b, tc.status, tc.body)
			}
			if res.Header.Get("X-Request-Id") == "" {
				t.Fatal("no X-Request-Id")
			}
			if strings.Contains(string(b), "/secret/path") || strings.Contains(string(b), "goroutine") {
				t.Fatalf("client sees internals: %s", b)
			}
		})
	}
	logged := logBuf.String()
	if !strings.Contains(logged, "kaboom") || !strings.Contains(logged, "stack=") {
		t.Fatalf("panic not logged with its stack:\n%s", logged)
	}
	if strings.Count(logged, `msg=request`) != 6 {
		t.Fatalf("want one access-log line a request:\n%s", logged)
	}
	if strings.Contains(logged, "dpt_nope") {
		t.Fatal("log shows a credential")
	}
}
