package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/cmd/depot/internal/server"
	"github.com/depot/depot/tokens"
	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
)

// TestReservedCoversRoutes walks the routes that depot serve registers:
// every fixed first path segment (/api, /avatars, ...) must be a name that
// no user or project may take, or the namespace would be unreachable.
func TestReservedCoversRoutes(t *testing.T) {
	r := server.Router(testSurfaces(t))
	seen := 0
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(tpl, "/"), "/")
		if tpl == "/" {
			return nil // the home page names nothing
		}
		if strings.HasPrefix(first, "{") {
			return nil // /{owner}/...: the namespaces themselves
		}
		seen++
		if !input.Reserved(first) {
			t.Errorf("route %s: %q is not reserved, so a user or project may take it", tpl, first)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("walked no fixed routes")
	}
}

// TestDataDirModes: the data directory holds the database and every
// repository, so only depot's own user may enter it. A directory an older
// depot made with looser modes is tightened when it holds only depot's
// files; one that holds other files too is the user's, and left alone.
func TestDataDirModes(t *testing.T) {
	mode := func(t *testing.T, p string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	open := func(t *testing.T, dir string) {
		t.Helper()
		d, err := openData(context.Background(), &dataLoc{dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		d.close()
	}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    os.FileMode
	}{
		{"New", func(*testing.T, string) {}, 0o700},
		{"TightensDepots", func(t *testing.T, dir string) {
			open(t, dir)
			for _, p := range []string{dir, filepath.Join(dir, "depot.db")} {
				if err := os.Chmod(p, 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}, 0o700},
		{"LeavesUsers", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
				t.Fatal(err)
			}
		}, 0o755},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			tc.prepare(t, dir)
			open(t, dir)
			if m := mode(t, dir); m != tc.want {
				t.Errorf("data directory has mode %#o; want %#o", m, tc.want)
			}
			if m := mode(t, filepath.Join(dir, "depot.db")); m != 0o600 {
				t.Errorf("depot.db has mode %#o; want 0600", m)
			}
		})
	}
}

// testSurfaces returns the surfaces depot serve runs, over a new data
// directory that the test's cleanup closes.
func testSurfaces(t *testing.T) server.Config {
	t.Helper()
	_, c := testData(t)
	return c
}

// testData is testSurfaces with the data directory they serve, for tests
// that put users and repositories in it first.
func testData(t *testing.T) (*data, server.Config) {
	t.Helper()
	d, err := openData(context.Background(), &dataLoc{dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	log := logrus.New()
	log.SetOutput(io.Discard)
	authn := auth.NewAuthenticator(tokens.Verifier{Store: d.store}, nil)
	return d, surfaces(d, authn, log, defaultOptions())
}

// TestNotFoundPage: a browser that asks for a path nothing routes gets a
// page; API clients, and anything under /api/, keep the JSON error.
func TestNotFoundPage(t *testing.T) {
	srv := httptest.NewServer(server.New(testSurfaces(t)))
	defer srv.Close()
	for _, tc := range []struct{ path, accept, contentType string }{
		{"/settings/nothing/here", "text/html,application/xhtml+xml", "text/html"},
		{"/settings/nothing/here", "", "application/json"},
		{"/api/v1/nothing", "text/html", "application/json"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.contentType) {
			t.Errorf("GET %s (Accept %q) = %d %s; want 404 %s", tc.path, tc.accept, res.StatusCode, res.Header.Get("Content-Type"), tc.contentType)
		}
	}
}
