package githttp_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/tokens"
)

// ruledToken mints a project:depot token of user with rules.
func (e *env) ruledToken(user string, rules *auth.Rules) string {
	e.t.Helper()
	secret, err := e.store.CreateToken(context.Background(), &tokens.Token{
		Username: user, Issuer: user, Scopes: []string{auth.ScopeDepot}, Rules: rules,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// refusals records what OnRulesRefused is told.
type refusals struct {
	mu   sync.Mutex
	list []string // "ref: reason"
}

func (r *refusals) watch(e *env) {
	e.gs.OnRulesRefused = func(tokenID, ip, ref, reason string) {
		if tokenID == "" || ip == "" {
			e.t.Errorf("OnRulesRefused(%q, %q, %q, %q): want a token id and an address", tokenID, ip, ref, reason)
		}
		r.mu.Lock()
		r.list = append(r.list, ref+": "+reason)
		r.mu.Unlock()
	}
}

func (r *refusals) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.list
	r.list = nil
	return l
}

// refOf returns what ref holds in owner/name on the server, "" when it
// does not exist.
func (e *env) refOf(owner, name, ref string) string {
	e.t.Helper()
	repo, err := e.repos.Open(owner, name)
	if err != nil {
		e.t.Fatal(err)
	}
	h, err := gitref.ReadRef(repo.Path, ref)
	if err != nil {
		return ""
	}
	return h.String()
}

// commit adds a commit to the work tree wt and returns its id.
func (e *env) commit(wt, msg string) string {
	e.t.Helper()
	os.WriteFile(filepath.Join(wt, "f"), []byte(msg+"\n"), 0o644)
	e.mustGit(wt, "add", ".")
	e.mustGit(wt, "commit", "-qm", msg)
	return strings.TrimSpace(e.mustGit(wt, "rev-parse", "HEAD"))
}

// TestTokenRulesPush drives pushes of tokens with rules through the real
// git client: refs outside the rules, atomic and non-atomic mixes, force
// pushes and deletes are refused per ref with the reason git prints, and
// what the rules allow goes through.
func TestTokenRulesPush(t *testing.T) {
	e := newEnv(t)
	var seen refusals
	seen.watch(e)
	owner := e.token("tester", auth.ScopeDepot)
	ciOnly := &auth.Rules{Refs: []string{"refs/heads/ci/*"}}
	const ciReason = "token may push only refs/heads/ci/*"

	for _, tc := range []struct {
		name  string
		rules *auth.Rules
		// prepare runs in the work tree from which the owner seeded the
		// repository's main, with the owner's URL of the repository, and
		// returns the arguments of the push to try.
		prepare func(wt, ownerURL string) []string
		// wantOut are texts git's output must hold; wantRefs the refs
		// afterwards ("" absent, "main" main's first value, "HEAD" the
		// clone's HEAD), wantRefused what OnRulesRefused heard.
		wantOut     []string
		failed      bool
		wantRefs    map[string]string
		wantRefused []string
	}{
		{name: "RefAllowed", rules: ciOnly,
			prepare: func(wt, ownerURL string) []string {
				e.commit(wt, "ci")
				return []string{"HEAD:refs/heads/ci/x"}
			},
			wantOut:  []string{"HEAD -> ci/x"},
			wantRefs: map[string]string{"refs/heads/ci/x": "HEAD", "refs/heads/main": "main"}},
		{name: "ErrRefOutsideRules", rules: ciOnly,
			prepare: func(wt, ownerURL string) []string {
				e.commit(wt, "not ci")
				return []string{"main"}
			},
			failed:      true,
			wantOut:     []string{"! [remote rejected] main -> main (" + ciReason + ")"},
			wantRefs:    map[string]string{"refs/heads/main": "main"},
			wantRefused: []string{"refs/heads/main: " + ciReason}},
		{name: "ErrAtomicMixed", rules: ciOnly,
			prepare: func(wt, ownerURL string) []string {
				e.commit(wt, "both")
				return []string{"--atomic", "HEAD:refs/heads/ci/y", "main"}
			},
			failed: true,
			wantOut: []string{"! [remote rejected] main -> main (" + ciReason + ")",
				"HEAD -> ci/y (atomic push failure)"},
			wantRefs:    map[string]string{"refs/heads/ci/y": "", "refs/heads/main": "main"},
			wantRefused: []string{"refs/heads/main: " + ciReason}},
		{name: "NonAtomicMixedLandsAllowed", rules: ciOnly,
			prepare: func(wt, ownerURL string) []string {
				e.commit(wt, "both")
				return []string{"HEAD:refs/heads/ci/z", "main"}
			},
			failed:      true,
			wantOut:     []string{"! [remote rejected] main -> main (" + ciReason + ")", "HEAD -> ci/z"},
			wantRefs:    map[string]string{"refs/heads/ci/z": "HEAD", "refs/heads/main": "main"},
			wantRefused: []string{"refs/heads/main: " + ciReason}},
		{name: "TagOutsideRules", rules: ciOnly,
			prepare: func(wt, ownerURL string) []string {
				e.mustGit(wt, "tag", "v1")
				return []string{"refs/tags/v1"}
			},
			failed:      true,
			wantOut:     []string{"v1 -> v1 (" + ciReason + ")"},
			wantRefs:    map[string]string{"refs/tags/v1": ""},
			wantRefused: []string{"refs/tags/v1: " + ciReason}},
		{name: "FastForward", rules: &auth.Rules{},
			prepare: func(wt, ownerURL string) []string {
				e.commit(wt, "second")
				e.commit(wt, "third")
				return []string{"main"}
			},
			wantOut:  []string{"main -> main"},
			wantRefs: map[string]string{"refs/heads/main": "HEAD"}},
		{name: "ErrForcePush", rules: &auth.Rules{},
			prepare: func(wt, ownerURL string) []string {
				e.mustGit(wt, "commit", "-q", "--amend", "-m", "rewritten")
				return []string{"--force", "main"}
			},
			failed:      true,
			wantOut:     []string{"! [remote rejected] main -> main (" + auth.ReasonForcePush + ")"},
			wantRefs:    map[string]string{"refs/heads/main": "main"},
			wantRefused: []string{"refs/heads/main: " + auth.ReasonForcePush}},
		{name: "ErrForcePushToOlder", rules: &auth.Rules{},
			prepare: func(wt, ownerURL string) []string {
				e.commit(wt, "ahead")
				e.mustGit(wt, "push", ownerURL, "main")
				e.mustGit(wt, "reset", "-q", "--hard", "HEAD~1")
				return []string{"--force", "main"}
			},
			failed:      true,
			wantOut:     []string{"! [remote rejected] main -> main (" + auth.ReasonForcePush + ")"},
			wantRefused: []string{"refs/heads/main: " + auth.ReasonForcePush}},
		{name: "ForcePushAllowed", rules: &auth.Rules{AllowForcePush: true},
			prepare: func(wt, ownerURL string) []string {
				e.mustGit(wt, "commit", "-q", "--amend", "-m", "rewritten")
				return []string{"--force", "main"}
			},
			wantOut:  []string{"main -> main (forced update)"},
			wantRefs: map[string]string{"refs/heads/main": "HEAD"}},
		{name: "ErrDelete", rules: &auth.Rules{Refs: []string{"refs/heads/ci/*"}},
			prepare: func(wt, ownerURL string) []string {
				e.mustGit(wt, "push", ownerURL, "HEAD:refs/heads/ci/old")
				return []string{":refs/heads/ci/old"}
			},
			failed:      true,
			wantOut:     []string{"! [remote rejected] ci/old (" + auth.ReasonDelete + ")"},
			wantRefs:    map[string]string{"refs/heads/ci/old": "main"},
			wantRefused: []string{"refs/heads/ci/old: " + auth.ReasonDelete}},
		{name: "DeleteAllowed", rules: &auth.Rules{Refs: []string{"refs/heads/ci/*"}, AllowDelete: true},
			prepare: func(wt, ownerURL string) []string {
				e.mustGit(wt, "push", ownerURL, "HEAD:refs/heads/ci/old")
				return []string{":refs/heads/ci/old"}
			},
			wantOut:  []string{"[deleted]"},
			wantRefs: map[string]string{"refs/heads/ci/old": ""}},
		{name: "NoRulesForcesAndDeletes", rules: nil,
			prepare: func(wt, ownerURL string) []string {
				e.mustGit(wt, "push", ownerURL, "HEAD:refs/heads/old")
				e.mustGit(wt, "commit", "-q", "--amend", "-m", "rewritten")
				return []string{"--force", "main", ":refs/heads/old"}
			},
			wantOut:  []string{"[deleted]", "main -> main (forced update)"},
			wantRefs: map[string]string{"refs/heads/old": "", "refs/heads/main": "HEAD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name
			seeded := e.seed("tester", name, "tester", owner)
			main := strings.TrimSpace(e.mustGit(seeded, "rev-parse", "HEAD"))
			tok := e.ruledToken("tester", tc.rules)
			args := tc.prepare(seeded, e.url("tester", owner, "tester/"+name))
			seen.take()
			out, err := e.git(seeded, append([]string{"push", e.url("tester", tok, "tester/"+name)}, args...)...)
			if (err != nil) != tc.failed {
				t.Fatalf("push %v: err = %v; want failure %v\n%s", args, err, tc.failed, out)
			}
			for _, want := range tc.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("push output lacks %q:\n%s", want, out)
				}
			}
			head := strings.TrimSpace(e.mustGit(seeded, "rev-parse", "HEAD"))
			for ref, want := range tc.wantRefs {
				switch want {
				case "main":
					want = main
				case "HEAD":
					want = head
				}
				if got := e.refOf("tester", name, ref); got != want {
					t.Errorf("%s = %q; want %q", ref, got, want)
				}
			}
			if got := seen.take(); !slices.Equal(got, tc.wantRefused) {
				t.Errorf("OnRulesRefused heard %q; want %q", got, tc.wantRefused)
			}
			e.fsck("tester", name)
		})
	}
}

// TestTokenRulesAccess checks the rules that refuse a whole request:
// operations and repositories.
func TestTokenRulesAccess(t *testing.T) {
	e := newEnv(t)
	var seen refusals
	seen.watch(e)
	owner := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "site", "tester", owner)
	e.seed("tester", "other", "tester", owner)
	e.commit(wt, "more")

	fetchOnly := e.ruledToken("tester", &auth.Rules{Operations: []string{auth.OpFetch}})
	pushOnly := e.ruledToken("tester", &auth.Rules{Operations: []string{auth.OpPush}})
	siteOnly := e.ruledToken("tester", &auth.Rules{Repos: []string{"Tester/SITE"}})
	starred := e.ruledToken("tester", &auth.Rules{Repos: []string{"tester/s*"}})
	for _, tc := range []struct {
		name, tok, repo string
		args            []string // after the URL
		cmd             string   // "clone" or "push"
		wantErr         string   // "" for success
		refused         bool     // OnRulesRefused hears of it
	}{
		{name: "FetchOnlyClones", tok: fetchOnly, repo: "tester/site", cmd: "clone"},
		{name: "ErrFetchOnlyPushes", tok: fetchOnly, repo: "tester/site", cmd: "push", args: []string{"main"},
			wantErr: "the token's rules do not allow push", refused: true},
		{name: "ErrPushOnlyClonesV0", tok: pushOnly, repo: "tester/site", cmd: "clone", args: []string{"-c", "protocol.version=0"},
			wantErr: "the token's rules do not allow fetch", refused: true},
		{name: "ErrPushOnlyClonesV2", tok: pushOnly, repo: "tester/site", cmd: "clone", args: []string{"-c", "protocol.version=2"},
			wantErr: "the token's rules do not allow fetch", refused: true},
		{name: "RepoInRules", tok: siteOnly, repo: "tester/site", cmd: "clone"},
		{name: "RepoInRulesPushes", tok: siteOnly, repo: "tester/site", cmd: "push", args: []string{"main"}},
		{name: "ErrRepoOutsideRulesClone", tok: siteOnly, repo: "tester/other", cmd: "clone",
			wantErr: "repository tester/other not found", refused: true},
		{name: "ErrRepoOutsideRulesPush", tok: siteOnly, repo: "tester/other", cmd: "push", args: []string{"main"},
			wantErr: "repository tester/other not found", refused: true},
		{name: "ErrMissingRepoSameAnswer", tok: siteOnly, repo: "tester/nope", cmd: "clone",
			wantErr: "repository tester/nope not found", refused: true},
		{name: "GlobInRules", tok: starred, repo: "tester/site", cmd: "clone"},
		{name: "ErrGlobOutsideRules", tok: starred, repo: "tester/other", cmd: "clone",
			wantErr: "repository tester/other not found", refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen.take()
			url := e.url("tester", tc.tok, tc.repo)
			var out string
			var err error
			if tc.cmd == "clone" {
				args := append(slices.Clone(tc.args), "clone", "-q", url, filepath.Join(t.TempDir(), "c"))
				out, err = e.git("", args...)
			} else {
				out, err = e.git(wt, append([]string{"push", url}, tc.args...)...)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("%s: %v\n%s", tc.cmd, err, out)
			case tc.wantErr != "" && (err == nil || !strings.Contains(out, tc.wantErr)):
				t.Fatalf("%s = %v\n%s\nwant failure with %q", tc.cmd, err, out, tc.wantErr)
			}
			if got := len(seen.take()) > 0; got != tc.refused {
				t.Errorf("OnRulesRefused called: %v; want %v", got, tc.refused)
			}
		})
	}
}
