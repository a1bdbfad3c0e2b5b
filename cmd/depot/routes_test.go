package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/depot/depot/cmd/depot/internal/openapi"
	"github.com/depot/depot/cmd/depot/internal/server"
	"github.com/gorilla/mux"
)

// TestRoutesDocumented keeps the API's description from drifting: it walks
// the router that depot serve builds, with real stores, and compares its
// routes with the operations of the OpenAPI document. Every route under
// /api/ must be documented, every documented operation must be a route,
// and docs/api.md must name every documented operation as "METHOD path".
func TestRoutesDocumented(t *testing.T) {
	registered := registeredRoutes(t, server.Router(testSurfaces(t)))
	documented := documentedOperations(t, openapi.Document())
	slices.SortFunc(documented, func(a, b route) int { return strings.Compare(a.path+a.method, b.path+b.method) })

	for _, rt := range registered {
		if strings.HasPrefix(rt.path, "/api/") && !slices.Contains(documented, rt) {
			t.Errorf("%s is registered but not in openapi.json", rt)
		}
	}
	for _, op := range documented {
		if !slices.Contains(registered, op) {
			t.Errorf("%s is in openapi.json but no surface registers it", op)
		}
	}
	if len(documented) < 30 {
		t.Errorf("openapi.json documents %d operations; the walk or the parse is broken", len(documented))
	}

	md, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range documented {
		// The path must not go on: GET /a is not named by GET /a/{id}.
		named := regexp.MustCompile(regexp.QuoteMeta(op.String()) + `($|[^A-Za-z0-9_{}/.-])`)
		if !named.Match(md) {
			t.Errorf("docs/api.md does not name %s", op)
		}
	}
}

// route is one operation: a method and a path template whose variables
// carry no patterns.
type route struct{ method, path string }

func (r route) String() string { return r.method + " " + r.path }

func registeredRoutes(t *testing.T, r *mux.Router) []route {
	t.Helper()
	var out []route
	err := r.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := rt.GetPathTemplate()
		if err != nil {
			return nil // a subrouter's own route, which matches no path
		}
		methods, err := rt.GetMethods()
		if err != nil {
			t.Errorf("route %s matches every method; give it Methods(...)", tpl)
			return nil
		}
		for _, m := range methods {
			out = append(out, route{m, normalizePath(tpl)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func documentedOperations(t *testing.T, doc []byte) []route {
	t.Helper()
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var out []route
	for path, item := range d.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				out = append(out, route{strings.ToUpper(method), path})
			}
		}
	}
	return out
}

// normalizePath drops the patterns of a mux template's variables:
// {name:.+} becomes {name}. Patterns may hold braces of their own.
func normalizePath(tpl string) string {
	var b strings.Builder
	for i := 0; i < len(tpl); i++ {
		if tpl[i] != '{' {
			b.WriteByte(tpl[i])
			continue
		}
		depth, j := 1, i+1
		for ; j < len(tpl) && depth > 0; j++ {
			switch tpl[j] {
			case '{':
				depth++
			case '}':
				depth--
			}
		}
		name, _, _ := strings.Cut(tpl[i+1:j-1], ":")
		b.WriteString("{" + name + "}")
		i = j - 1
	}
	return b.String()
}

func TestNormalizePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/api/v1/auth/tokens", "/api/v1/auth/tokens"},
		{"/api/v1/auth/tokens/{id}/", "/api/v1/auth/tokens/{id}/"},
		{"/r/{owner}/{repo}/branches/{name:.+}", "/r/{owner}/{repo}/branches/{name}"},
		{"/x/{n:[0-9]{3}}/y", "/x/{n}/y"},
		{"/{owner}/{repo}/objects/{rest:.*}", "/{owner}/{repo}/objects/{rest}"},
	} {
		if got := normalizePath(tc.in); got != tc.want {
			t.Errorf("normalizePath(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestPublicRoutesIgnoreCredentials: the OpenAPI document and avatars
// answer anyone, even a client whose credentials are wrong, as forges
// serve avatars to pages and clients with stale logins.
func TestPublicRoutesIgnoreCredentials(t *testing.T) {
	srv := httptest.NewServer(server.New(testSurfaces(t)))
	defer srv.Close()
	for _, tc := range []struct{ path, contentType string }{
		{"/avatars/tester", "image/svg+xml"},
		{"/api/openapi.json", "application/json"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		req.SetBasicAuth("nobody", "wrong-password")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.contentType) {
			t.Errorf("GET %s with bad credentials = %d %s; want 200 %s", tc.path, res.StatusCode, res.Header.Get("Content-Type"), tc.contentType)
		}
	}
}
