package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/depot/depot/githttp/receivepack"
	"github.com/depot/depot/repos"
	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
)

// TestReservedCoversRoutes walks the routes that depot serve registers:
// every fixed first path segment (/api, /avatars, ...) must be a name that
// no user or project may take, or the namespace would be unreachable.
func TestReservedCoversRoutes(t *testing.T) {
	d, err := openData(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	log := logrus.New()
	log.SetOutput(io.Discard)
	c := serverConfig(d, log, receivepack.DefaultMaxObjectBytes)
	r := mux.NewRouter()
	for _, s := range append(c.API, c.Git...) {
		s.Register(r)
	}
	seen := 0
	err = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(tpl, "/"), "/")
		if strings.HasPrefix(first, "{") {
			return nil // /{owner}/...: the namespaces themselves
		}
		seen++
		if !repos.Reserved(first) {
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
