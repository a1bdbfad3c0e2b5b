package main

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/tokens"
)

// TestTokenCreateRules: depot token create --rules stores the rules it
// is given, normalised, and says so.
func TestTokenCreateRules(t *testing.T) {
	data := t.TempDir()
	if out, errOut, code := cli(t, "tester-password\n", "user", "add", "tester", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add: %d %s %s", code, out, errOut)
	}
	out, errOut, code := cli(t, "", "token", "create", "--user", "tester", "--scopes", "project:depot",
		"--rules", `{"repos":["tester/site"],"operations":["push","push"],"refs":["refs/heads/ci/*"]}`, "--data", data)
	if code != 0 {
		t.Fatalf("token create: %d %s %s", code, out, errOut)
	}
	want := &auth.Rules{Repos: []string{"tester/site"}, Operations: []string{"push"}, Refs: []string{"refs/heads/ci/*"}}
	if !strings.Contains(out, `rules {"repos":["tester/site"],"operations":["push"],"refs":["refs/heads/ci/*"]`) {
		t.Errorf("token create printed %q; want the rules", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	store, err := tokens.Open(context.Background(), filepath.Join(data, "depot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tok, _, err := store.LookupToken(context.Background(), lines[len(lines)-1])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tok.Rules, want) {
		t.Fatalf("stored rules = %+v; want %+v", tok.Rules, want)
	}
}
