package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/tokens"
)

// routes is a surface of fixed routes, each answering its own path.
type routes []string

func (rs routes) Register(r *mux.Router) {
	for _, p := range rs {
		r.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) }).Methods("GET")
	}
}

// observed records what a RequestObserver is told.
type observed struct {
	mu  sync.Mutex
	got []string
}

func (o *observed) ObserveRequest(class string, status int, d time.Duration, id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if d <= 0 || len(id) != 16 {
		class += "?" // a missing duration or request id shows in the comparison
	}
	o.got = append(o.got, class+" "+http.StatusText(status))
}

func (o *observed) last() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.got[len(o.got)-1]
}

// TestRequestClasses: each request is counted under the class of the
// surface whose route answered, static files apart from the pages, and
// requests no route takes as unmatched; a slow one is logged as such.
func TestRequestClasses(t *testing.T) {
	store, err := tokens.Open(context.Background(), filepath.Join(t.TempDir(), "depot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var logBuf strings.Builder
	var logMu sync.Mutex
	log := logrus.New()
	log.SetOutput(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logBuf.Write(p)
	}))
	obs := &observed{}
	h := New(Config{
		Auth: auth.NewAuthenticator(tokens.Verifier{Store: store}, nil), Log: log, Observer: obs,
		SlowRequest: time.Nanosecond,
		Ops:         []Surface{routes{"/healthz"}},
		Public:      []Surface{routes{"/api/openapi.json"}},
		Web:         []Surface{routes{"/login", "/static/{file}"}},
		API:         []Surface{routes{"/api/v1/thing"}},
		Git:         []Surface{routes{"/{owner}/{repo}/info/refs"}},
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/healthz", "ops OK"},
		{"GET", "/api/openapi.json", "public OK"},
		{"GET", "/login", "web OK"},
		{"GET", "/static/site.css", "static OK"},
		{"GET", "/api/v1/thing", "api OK"},
		{"GET", "/tester/hello.git/info/refs", "git OK"},
		{"GET", "/nowhere", "unmatched Not Found"},
		{"POST", "/login", "unmatched Method Not Allowed"},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := obs.last(); got != tc.want {
				t.Errorf("%s %s observed as %q; want %q", tc.method, tc.path, got, tc.want)
			}
		})
	}
	logMu.Lock()
	defer logMu.Unlock()
	if n := strings.Count(logBuf.String(), `level=warning msg="slow request"`); n != 8 {
		t.Errorf("%d slow requests logged with --slow-request 1ns; want 8:\n%s", n, logBuf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
