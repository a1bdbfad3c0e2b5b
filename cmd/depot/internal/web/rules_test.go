package web

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/tokens"
)

// TestTokenFormRules: the token form sets, shows, checks and removes a
// token's git rules.
func TestTokenFormRules(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	csrf := b.signIn("tester")
	form := func(extra url.Values) url.Values {
		v := url.Values{"csrf": {csrf}, "description": {"ci"}, "scopes": {"project:depot"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}

	for _, tc := range []struct {
		name   string
		fields url.Values
		want   string
	}{
		{"ErrRepoPattern", url.Values{"rules": {"on"}, "rulesRepos": {"site"}, "rulesOperations": {"fetch"}},
			`id="rulesRepos-error">&#34;site&#34; is not an OWNER/NAME pattern`},
		{"ErrRefPattern", url.Values{"rules": {"on"}, "rulesRefs": {"main"}, "rulesOperations": {"push"}},
			`id="rulesRefs-error">&#34;main&#34; is not a full ref name pattern`},
		{"ErrNoOperation", url.Values{"rules": {"on"}, "rulesRepos": {"tester/site"}},
			`id="rulesOperations-error">Choose fetch, push or both.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := b.do("POST", "/settings/tokens/new", form(tc.fields))
			if code != http.StatusBadRequest || !strings.Contains(body, tc.want) || f.tokenCount(t, "tester") != 0 {
				t.Fatalf("bad rules = %d; want 400 with %q and no token:\n%s", code, tc.want, body)
			}
		})
	}

	code, _, _ := b.do("POST", "/settings/tokens/new", form(url.Values{"rules": {"on"},
		"rulesRepos": {"tester/site\n\n test/* \n"}, "rulesOperations": {"fetch", "push"},
		"rulesRefs": {"refs/heads/ci/*"}, "rulesAllowDelete": {"on"}}))
	if code != http.StatusSeeOther {
		t.Fatalf("good form = %d; want 303", code)
	}
	_, list, _ := f.store.ListTokens(context.Background(), tokens.ListOptions{Username: "tester"})
	want := &auth.Rules{Repos: []string{"tester/site", "test/*"}, Operations: []string{"fetch", "push"},
		Refs: []string{"refs/heads/ci/*"}, AllowDelete: true}
	if len(list) != 1 || !reflect.DeepEqual(list[0].Rules, want) {
		t.Fatalf("stored rules = %+v; want %+v", list[0].Rules, want)
	}
	path := "/settings/tokens/" + list[0].ID
	_, _, body := b.get(path)
	for _, s := range []string{`id="rules" name="rules" value="on" checked`, "tester/site\ntest/*</textarea>",
		"refs/heads/ci/*</textarea>", `name="rulesAllowDelete" value="on" checked`, `name="rulesAllowForcePush" value="on">`} {
		if !strings.Contains(body, s) {
			t.Errorf("edit page lacks %q", s)
		}
	}
	// Unchecking "Limit this token inside git" removes the rules.
	if code, _, _ := b.do("POST", path, form(url.Values{"rulesRepos": {"tester/site"}})); code != http.StatusSeeOther {
		t.Fatalf("edit = %d; want 303", code)
	}
	if got, _ := f.store.Token(context.Background(), list[0].ID); got.Rules != nil {
		t.Fatalf("rules after unchecking = %+v; want none", got.Rules)
	}
}
