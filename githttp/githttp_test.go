package githttp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/githttp"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/git/gc"
	"github.com/depot/depot/repos/projects"
	"github.com/depot/depot/repos/repostest"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/sqlite"
	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// env is a running git server over a real store and repository directory.
type env struct {
	t        *testing.T
	srv      *httptest.Server
	store    *tokens.Store       // users and tokens
	projects *projects.Store     // projects, members, repository records
	ns       *repostest.Recorder // what the policy asks of the store
	repos    *repos.Dir
	home     string
	gs       *githttp.Server // set its options before the first request
	// auto is the background gc behind gs.AfterPush; set its options
	// before the first push. The cleanup waits for what it started, which
	// rewrites files in the test's directories and logs through t.
	auto *gc.Auto
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, dbtest.Location(t)) // a copy of a migrated database
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := tokens.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	pstore := projects.New(db)
	store.SetPasswordCost(bcrypt.MinCost)
	for _, u := range []*tokens.User{{GlobalKey: "tester"}, {GlobalKey: "other"}, {GlobalKey: "admin", Admin: true}} {
		if err := store.CreateUser(ctx, u, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	rd, err := repos.OpenDir(filepath.Join(dir, "repos"))
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(testLog{t})
	r := mux.NewRouter()
	a := auth.NewAuthenticator(tokens.Verifier{Store: store}, nil)
	ns := repostest.NewRecorder(pstore)
	gs := githttp.New(a, repos.NewPolicy(ns, rd), log)
	auto := gc.NewAuto(log)
	gs.AfterPush = auto.AfterPush
	gs.Register(r)
	srv := httptest.NewServer(r)
	// Cleanups run last first: the server's handlers, which start the
	// background work after their response, end before it is waited for.
	t.Cleanup(auto.Wait)
	t.Cleanup(srv.Close)
	home := t.TempDir()
	return &env{t: t, srv: srv, store: store, projects: pstore, ns: ns, repos: rd, home: home, gs: gs, auto: auto}
}

func (e *env) token(user string, scopes ...string) string {
	e.t.Helper()
	secret, err := e.store.CreateToken(context.Background(), &tokens.Token{Username: user, Issuer: user, Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// url is the clone URL of owner/name with user:secret in it ("" for none).
func (e *env) url(user, secret, path string) string {
	u, _ := url.Parse(e.srv.URL + "/" + path)
	if user != "" {
		u.User = url.UserPassword(user, secret)
	}
	return u.String()
}

// git runs the real git binary with a clean environment; it never prompts.
func (e *env) git(dir string, args ...string) (string, error) {
	e.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+e.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *env) mustGit(dir string, args ...string) string {
	e.t.Helper()
	out, err := e.git(dir, args...)
	if err != nil {
		e.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return out
}

// fsck checks the server's copy of owner/name.
func (e *env) fsck(owner, name string) {
	e.t.Helper()
	r, err := e.repos.Open(owner, name)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mustGit("", "--git-dir", r.Path, "fsck", "--full", "--strict")
}

// seed makes a work tree with one commit and pushes it to owner/name as
// user with the token secret.
func (e *env) seed(owner, name, user, secret string) string {
	e.t.Helper()
	if _, err := e.repos.Create(owner, name, repos.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	wt := e.t.TempDir()
	e.mustGit(wt, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(wt, "README"), []byte("hello\n"), 0o644)
	e.mustGit(wt, "add", ".")
	e.mustGit(wt, "commit", "-qm", "first")
	e.mustGit(wt, "push", e.url(user, secret, owner+"/"+name+".git"), "main")
	return wt
}

func TestCloneAndPushAsOwner(t *testing.T) {
	e := newEnv(t)
	tok := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "hello", "tester", tok)
	for _, tc := range []struct{ name, proto, path string }{
		{"V0WithSuffix", "0", "tester/hello.git"},
		{"V2WithSuffix", "2", "tester/hello.git"},
		{"V2WithoutSuffix", "2", "tester/hello"},
		{"OwnerInAnyCase", "2", "TESTER/hello.git"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "clone")
			out := e.mustGit("", "-c", "protocol.version="+tc.proto, "clone", e.url("tester", tok, tc.path), dst)
			if !strings.Contains(out, "Cloning into") {
				t.Fatalf("clone output: %s", out)
			}
			if got := strings.TrimSpace(e.mustGit(dst, "log", "--format=%s")); got != "first" {
				t.Fatalf("cloned log = %q", got)
			}
		})
	}
	os.WriteFile(filepath.Join(wt, "README"), []byte("hello again\n"), 0o644)
	e.mustGit(wt, "commit", "-qam", "second")
	if out := e.mustGit(wt, "push", e.url("tester", tok, "tester/hello"), "main"); !strings.Contains(out, "main -> main") {
		t.Fatalf("push output: %s", out)
	}
	e.fsck("tester", "hello")
	// An admin reads everyone's repositories.
	admin := e.token("admin", auth.ScopeDepot)
	e.mustGit("", "ls-remote", e.url("admin", admin, "tester/hello.git"))
}

func TestAccessErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.token("tester", auth.ScopeDepot)
	e.seed("tester", "hello", "tester", tok)
	noScope := e.token("tester", auth.ScopeUser)
	otherTok := e.token("other", auth.ScopeDepot)
	for _, tc := range []struct {
		name, url, want string
	}{
		{"Anonymous", e.url("", "", "tester/hello.git"), "could not read Username"},
		{"WrongToken", e.url("tester", "dpt_"+strings.Repeat("x", 36), "tester/hello.git"), "Authentication failed"},
		{"Password", e.url("tester", "password1", "tester/hello.git"), "Authentication failed"},
		{"TokenOfAnotherUser", e.url("other", tok, "tester/hello.git"), "Authentication failed"},
		{"TokenWithoutScope", e.url("tester", noScope, "tester/hello.git"), "project:depot"},
		{"OtherUsersRepo", e.url("other", otherTok, "tester/hello.git"), "not found"},
		{"UnknownRepo", e.url("tester", tok, "tester/nope.git"), "not found"},
		{"BadName", e.url("tester", tok, "tester/..git"), "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.git("", "ls-remote", tc.url)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("ls-remote = %v\n%s\nwant failure mentioning %q", err, out, tc.want)
			}
			if strings.Contains(out, "dpt_") {
				t.Fatalf("git output shows a token: %s", out)
			}
		})
	}
	t.Run("PushToOtherUsersRepo", func(t *testing.T) {
		wt := t.TempDir()
		e.mustGit(wt, "init", "-q", "-b", "main")
		e.mustGit(wt, "commit", "-q", "--allow-empty", "-m", "x")
		out, err := e.git(wt, "push", e.url("other", otherTok, "tester/hello.git"), "main")
		if err == nil || !strings.Contains(out, "not found") {
			t.Fatalf("push = %v %s", err, out)
		}
	})
}

// TestHiddenAndMissingDoTheSameWork: git's answer for a private
// repository the caller may not see must not differ from the answer for a
// missing one, in content or in time. Rather than time them, which would
// flake, it checks that both ask the store the same questions in the same
// order.
func TestHiddenAndMissingDoTheSameWork(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.projects.CreateProject(ctx, &repos.Project{Name: "test"}, "tester"); err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{"tester", "test"} {
		if _, err := e.repos.Create(owner, "secret", repos.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := e.projects.SaveRepoInfo(ctx, owner, "secret", &repos.Info{Visibility: repos.Private}); err != nil {
			t.Fatal(err)
		}
	}
	other := "Basic " + base64.StdEncoding.EncodeToString([]byte("other:"+e.token("other", auth.ScopeDepot)))
	for _, tc := range []struct {
		name, hidden, missing, authz string
	}{
		{"UserRepoFetch", "tester/secret.git", "tester/missing.git", other},
		{"UserRepoAnonymous", "tester/secret.git", "tester/missing.git", ""},
		{"ProjectRepoFetch", "test/secret.git", "test/missing.git", other},
		{"ProjectRepoAnonymous", "test/secret", "test/missing", ""},
		{"OwnerCase", "TEST/secret.git", "TEST/missing.git", other},
		{"UnknownOwner", "test/secret.git", "nobody/secret.git", other},
	} {
		for _, sv := range []string{"git-upload-pack", "git-receive-pack"} {
			t.Run(tc.name+"/"+sv, func(t *testing.T) {
				get := func(path string) (int, string, []string) {
					e.ns.Reset()
					res, body := e.do("GET", "/"+path+"/info/refs?service="+sv, nil, "Authorization", tc.authz)
					return res.StatusCode, strings.ReplaceAll(body, strings.TrimSuffix(path, ".git"), "X"), e.ns.Calls()
				}
				hs, hb, hc := get(tc.hidden)
				ms, mb, mc := get(tc.missing)
				if hs != ms || hs < 400 {
					t.Fatalf("%s = %d, %s = %d; want the same refusal", tc.hidden, hs, tc.missing, ms)
				}
				if !slices.Equal(hc, mc) {
					t.Errorf("%s asks the store %v\n%s asks %v\nwant the same questions", tc.hidden, hc, tc.missing, mc)
				}
				if len(hc) == 0 {
					t.Errorf("no questions recorded; is the recorder wired in?")
				}
				if hb != mb {
					t.Errorf("answers differ: %q / %q", hb, mb)
				}
			})
		}
	}
}

// TestRepositoryNamesIgnoreCase: a repository's URL reaches it in any
// case, and only it, with its own permissions.
func TestRepositoryNamesIgnoreCase(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "hello", "tester", tok)
	if err := e.projects.SaveRepoInfo(ctx, "tester", "hello", &repos.Info{Visibility: repos.Private}); err != nil {
		t.Fatal(err)
	}
	want := e.revParse(wt, "HEAD")
	dst := filepath.Join(t.TempDir(), "clone")
	e.mustGit("", "clone", "-q", e.url("tester", tok, "tester/HELLO.git"), dst)
	if got := e.revParse(dst, "HEAD"); got != want {
		t.Fatalf("clone of tester/HELLO.git has HEAD %s; want %s", got, want)
	}
	os.WriteFile(filepath.Join(dst, "README"), []byte("pushed through another case\n"), 0o644)
	e.mustGit(dst, "commit", "-qam", "second")
	e.mustGit(dst, "push", "-q", e.url("tester", tok, "tester/Hello"), "main")
	if got, want := e.serverRev("tester", "hello", "main"), e.revParse(dst, "HEAD"); got != want {
		t.Fatalf("tester/hello main = %s after a push to tester/Hello; want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(e.repos.Root(), "tester", "Hello.git")); !os.IsNotExist(err) {
		t.Fatalf("a push to tester/Hello made a second directory: %v", err)
	}
	other := e.token("other", auth.ScopeDepot)
	for _, tc := range []struct{ name, url, want string }{
		{"AnonymousPrivate", e.url("", "", "tester/HELLO.git"), "could not read Username"},
		{"OutsiderPrivate", e.url("other", other, "TESTER/HELLO.git"), "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.git("", "ls-remote", tc.url)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("ls-remote = %v\n%s\nwant failure mentioning %q", err, out, tc.want)
			}
		})
	}
	e.fsck("tester", "hello")
}

func (e *env) do(method, path string, body io.Reader, header ...string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestHTTPDetails(t *testing.T) {
	e := newEnv(t)
	tok := e.token("tester", auth.ScopeDepot)
	e.seed("tester", "hello", "tester", tok)
	bearer := "Bearer " + tok

	t.Run("AdvertisementHeaders", func(t *testing.T) {
		res, body := e.do("GET", "/tester/hello.git/info/refs?service=git-upload-pack", nil, "Authorization", bearer)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-git-upload-pack-advertisement" ||
			!strings.HasPrefix(body, "001e# service=git-upload-pack\n0000") || !strings.Contains(res.Header.Get("Cache-Control"), "no-cache") {
			t.Fatalf("info/refs = %d %v %q", res.StatusCode, res.Header, body[:min(len(body), 80)])
		}
	})
	t.Run("V2Advertisement", func(t *testing.T) {
		_, body := e.do("GET", "/tester/hello.git/info/refs?service=git-upload-pack", nil, "Authorization", bearer, "Git-Protocol", "version=2")
		if !strings.Contains(body, "version 2\n") || !strings.Contains(body, "ls-refs") {
			t.Fatalf("v2 advertisement = %q", body)
		}
	})
	t.Run("ReceivePackAdvertisement", func(t *testing.T) {
		res, body := e.do("GET", "/tester/hello/info/refs?service=git-receive-pack", nil, "Authorization", bearer)
		if res.Header.Get("Content-Type") != "application/x-git-receive-pack-advertisement" || !strings.Contains(body, "report-status") {
			t.Fatalf("receive-pack info/refs = %v %q", res.Header, body)
		}
	})
	t.Run("DumbProtocolRefused", func(t *testing.T) {
		for _, p := range []string{"/tester/hello.git/info/refs", "/tester/hello.git/HEAD", "/tester/hello.git/objects/info/packs"} {
			res, body := e.do("GET", p, nil, "Authorization", bearer)
			if res.StatusCode != 403 || !strings.Contains(body, "smart HTTP") {
				t.Fatalf("GET %s = %d %q", p, res.StatusCode, body)
			}
		}
	})
	t.Run("UnknownService", func(t *testing.T) {
		res, body := e.do("GET", "/tester/hello.git/info/refs?service=git-upload-archive", nil, "Authorization", bearer)
		if res.StatusCode != 403 || !strings.Contains(body, "unsupported service") {
			t.Fatalf("= %d %q", res.StatusCode, body)
		}
	})
	t.Run("AnonymousGets401WithChallenge", func(t *testing.T) {
		res, _ := e.do("GET", "/tester/hello.git/info/refs?service=git-upload-pack", nil)
		if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") != `Basic realm="depot"` {
			t.Fatalf("= %d %v", res.StatusCode, res.Header)
		}
	})
	lsRefs := "0014command=ls-refs\n0001" + "0009peel\n0000"
	t.Run("GzipBody", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(lsRefs))
		zw.Close()
		res, body := e.do("POST", "/tester/hello.git/git-upload-pack", &buf, "Authorization", bearer, "Git-Protocol", "version=2",
			"Content-Type", "application/x-git-upload-pack-request", "Content-Encoding", "gzip")
		if res.StatusCode != 200 || !strings.Contains(body, "refs/heads/main") {
			t.Fatalf("gzip ls-refs = %d %q", res.StatusCode, body)
		}
	})
	t.Run("BadGzip", func(t *testing.T) {
		res, body := e.do("POST", "/tester/hello.git/git-upload-pack", strings.NewReader("not gzip"), "Authorization", bearer,
			"Content-Type", "application/x-git-upload-pack-request", "Content-Encoding", "gzip")
		if res.StatusCode != 400 || !strings.Contains(body, "gzip") {
			t.Fatalf("= %d %q", res.StatusCode, body)
		}
	})
	t.Run("WrongContentType", func(t *testing.T) {
		res, _ := e.do("POST", "/tester/hello.git/git-upload-pack", strings.NewReader(lsRefs), "Authorization", bearer, "Content-Type", "text/plain")
		if res.StatusCode != 415 {
			t.Fatalf("= %d", res.StatusCode)
		}
	})
	t.Run("GarbageBody", func(t *testing.T) {
		for _, svc := range []string{"git-upload-pack", "git-receive-pack"} {
			res, body := e.do("POST", "/tester/hello.git/"+svc, strings.NewReader("zzzz garbage"), "Authorization", bearer,
				"Content-Type", "application/x-"+svc+"-request")
			if res.StatusCode == 200 && !strings.Contains(body, "ERR") && !strings.Contains(body, "unpack") {
				t.Fatalf("%s garbage = %d %q; want an error", svc, res.StatusCode, body)
			}
			if res.StatusCode >= 500 {
				t.Fatalf("%s garbage = %d %q", svc, res.StatusCode, body)
			}
		}
	})
	e.fsck("tester", "hello")
}

// TestProjectPermissions drives git against a project repository as each
// kind of caller (docs/api.md, "Repositories").
func TestProjectPermissions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, u := range []string{"viewer", "dev"} {
		if err := e.store.CreateUser(ctx, &tokens.User{GlobalKey: u}, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.projects.CreateProject(ctx, &repos.Project{Name: "test"}, "tester"); err != nil {
		t.Fatal(err)
	}
	e.projects.SetMember(ctx, "test", "viewer", repos.RoleViewer)
	e.projects.SetMember(ctx, "test", "dev", repos.RoleDeveloper)
	owner := e.token("tester", auth.ScopeDepot)
	wt := e.seed("test", "testRepo", "tester", owner)
	viewer, dev, other := e.token("viewer", auth.ScopeDepot), e.token("dev", auth.ScopeDepot), e.token("other", auth.ScopeDepot)

	commit := func(msg string) {
		os.WriteFile(filepath.Join(wt, "README"), []byte(msg+"\n"), 0o644)
		e.mustGit(wt, "commit", "-qam", msg)
	}
	t.Run("ViewerClones", func(t *testing.T) {
		e.mustGit("", "clone", "-q", e.url("viewer", viewer, "test/testRepo.git"), filepath.Join(t.TempDir(), "c"))
	})
	t.Run("ViewerPushRefused", func(t *testing.T) {
		commit("by viewer")
		out, err := e.git(wt, "push", e.url("viewer", viewer, "test/testRepo.git"), "main")
		if err == nil || !strings.Contains(out, "viewer may not push to test/testRepo") {
			t.Fatalf("viewer push = %v\n%s", err, out)
		}
	})
	t.Run("DeveloperPushes", func(t *testing.T) {
		e.mustGit(wt, "push", e.url("dev", dev, "test/testRepo.git"), "main")
	})
	t.Run("NonMemberNotFound", func(t *testing.T) {
		out, err := e.git("", "ls-remote", e.url("other", other, "test/testRepo.git"))
		if err == nil || !strings.Contains(out, "not found") {
			t.Fatalf("non-member = %v\n%s", err, out)
		}
	})
	t.Run("RemovedMemberLosesAccessAtOnce", func(t *testing.T) {
		e.mustGit("", "ls-remote", e.url("dev", dev, "test/testRepo.git"))
		if err := e.projects.RemoveMember(ctx, "test", "dev"); err != nil {
			t.Fatal(err)
		}
		out, err := e.git("", "ls-remote", e.url("dev", dev, "test/testRepo.git"))
		if err == nil || !strings.Contains(out, "not found") {
			t.Fatalf("removed member = %v\n%s", err, out)
		}
	})
	t.Run("PublicAnonymousClone", func(t *testing.T) {
		if err := e.projects.SaveRepoInfo(ctx, "test", "testRepo", &repos.Info{Visibility: repos.Public}); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(t.TempDir(), "anon")
		e.mustGit("", "clone", "-q", e.url("", "", "test/testRepo.git"), dst)
		e.mustGit("", "-c", "protocol.version=0", "ls-remote", e.url("", "", "test/testRepo"))
	})
	t.Run("PublicAnonymousPushAsksForCredentials", func(t *testing.T) {
		commit("anonymous")
		out, err := e.git(wt, "push", e.url("", "", "test/testRepo.git"), "main")
		if err == nil || !strings.Contains(out, "could not read Username") {
			t.Fatalf("anonymous push = %v\n%s", err, out)
		}
	})
	t.Run("PublicOutsiderPushForbidden", func(t *testing.T) {
		out, err := e.git(wt, "push", e.url("other", other, "test/testRepo.git"), "main")
		if err == nil || !strings.Contains(out, "other may not push to test/testRepo") {
			t.Fatalf("outsider push = %v\n%s", err, out)
		}
	})
	e.fsck("test", "testRepo")
}

// testLog sends the server's log to the test's, shown when a test fails.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestPushesTriggerRepack pushes one commit at a time until more than
// gc.MaxPacks packs pile up, as a busy repository's history of pushes
// does, and checks that the server consolidates them in the background
// (git's auto-gc) while clones and fetches keep working, and that the
// repository is whole afterwards.
func TestPushesTriggerRepack(t *testing.T) {
	e := newEnv(t)
	// The metrics count each background repack through Observe.
	repacked := make(chan error, 100)
	e.auto.Observe = func(d time.Duration, err error) {
		if d <= 0 {
			err = fmt.Errorf("repack observed with duration %v", d)
		}
		repacked <- err
	}
	tok := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "busy", "tester", tok)
	u := e.url("tester", tok, "tester/busy.git")
	r, err := e.repos.Open("tester", "busy")
	if err != nil {
		t.Fatal(err)
	}
	packs := func() int {
		m, _ := filepath.Glob(filepath.Join(r.Path, "objects", "pack", "pack-*.idx"))
		return len(m)
	}
	follower := filepath.Join(t.TempDir(), "follower")
	e.mustGit("", "clone", "-q", u, follower)
	// Each push leaves a pack: without a repack there would be more than
	// gc.MaxPacks of them, so fewer than half as many at the end means one
	// ran.
	for i := range gc.MaxPacks + 5 {
		os.WriteFile(filepath.Join(wt, fmt.Sprintf("f%d.txt", i%7)), []byte(strings.Repeat(fmt.Sprintf("push %d\n", i), 50)), 0o644)
		e.mustGit(wt, "add", ".")
		e.mustGit(wt, "commit", "-qm", fmt.Sprintf("push %d", i))
		e.mustGit(wt, "push", "-q", u, "main")
		if i%5 == 0 {
			e.mustGit(follower, "pull", "-q", "--ff-only")
		}
	}
	// The repack runs in the background; wait for it without timing it.
	deadline := time.Now().Add(2 * time.Minute)
	for packs() > gc.MaxPacks/2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := packs(); n > gc.MaxPacks/2 {
		t.Fatalf("%d packs two minutes after the last push; no background repack", n)
	}
	select {
	case err := <-repacked:
		if err != nil {
			t.Errorf("observed repack: %v", err)
		}
	case <-time.After(time.Minute):
		t.Error("the repack ran but Observe was not called")
	}
	e.mustGit(follower, "pull", "-q", "--ff-only")
	if a, b := e.mustGit(wt, "rev-parse", "HEAD"), e.mustGit(follower, "rev-parse", "HEAD"); a != b {
		t.Errorf("follower at %s after pulling; pusher at %s", b, a)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	e.mustGit("", "clone", "-q", u, fresh)
	e.mustGit(fresh, "fsck", "--strict")
	e.fsck("tester", "busy")
}

// TestPushNegotiate pushes with push.negotiate, which first asks
// upload-pack what the server has (fetch --negotiate-only, wait-for-done)
// and then sends a pack of only what is missing.
func TestPushNegotiate(t *testing.T) {
	e := newEnv(t)
	tok := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "hello", "tester", tok)
	url := e.url("tester", tok, "tester/hello.git")
	for i := range 3 {
		os.WriteFile(filepath.Join(wt, "README"), []byte(fmt.Sprintf("hello %d\n", i)), 0o644)
		e.mustGit(wt, "commit", "-qam", fmt.Sprintf("change %d", i))
	}
	out := e.mustGit(wt, "-c", "push.negotiate=true", "-c", "protocol.version=2", "push", url, "main")
	if strings.Contains(out, "wait-for-done") || !strings.Contains(out, "main -> main") {
		t.Fatalf("git push with push.negotiate:\n%s", out)
	}
	if got, want := strings.Fields(e.mustGit("", "ls-remote", url, "refs/heads/main"))[0], strings.TrimSpace(e.mustGit(wt, "rev-parse", "main")); got != want {
		t.Errorf("server main = %s; want %s", got, want)
	}
	e.fsck("tester", "hello")
}

// TestPushManyRefs pushes a repository's 150 branches and 150 annotated
// tags at once, as a team moving to depot does: the server packs them
// in one write, and what git reads back over both protocols is exactly
// what was pushed, each annotated tag with its peeled value, and a clone
// has them all.
func TestPushManyRefs(t *testing.T) {
	e := newEnv(t)
	tok := e.token("tester", auth.ScopeDepot)
	if _, err := e.repos.Create("tester", "many", repos.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wt := t.TempDir()
	e.mustGit(wt, "init", "-q", "-b", "main")
	var script strings.Builder
	for i := range 3 {
		fmt.Fprintf(&script, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 2\nc\n", i+1, 1700000000+i)
		if i > 0 {
			fmt.Fprintf(&script, "from :%d\n", i)
		}
		fmt.Fprintf(&script, "M 100644 inline f\ndata 2\n%d\n\n", i)
	}
	for i := range 150 {
		fmt.Fprintf(&script, "reset refs/heads/b/%03d\nfrom :%d\n\n", i, i%3+1)
		fmt.Fprintf(&script, "tag v%03d\nfrom :%d\ntagger T <t@example.com> 1700000100 +0000\ndata 4\ntag\n\n", i, i%3+1)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir, cmd.Stdin = wt, strings.NewReader(script.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fast-import: %v\n%s", err, out)
	}
	remote := e.url("tester", tok, "tester/many.git")
	e.mustGit(wt, "push", "-q", remote, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")

	want := e.mustGit(wt, "show-ref", "-d")
	var wantLines []string
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		wantLines = append(wantLines, strings.Replace(line, " ", "\t", 1))
	}
	for _, proto := range []string{"0", "2"} {
		got := e.mustGit("", "-c", "protocol.version="+proto, "ls-remote", "--refs", remote)
		peeled := e.mustGit("", "-c", "protocol.version="+proto, "ls-remote", remote)
		var gotLines []string
		for _, line := range strings.Split(strings.TrimSpace(peeled), "\n") {
			if !strings.HasSuffix(line, "\tHEAD") {
				gotLines = append(gotLines, line)
			}
		}
		if g, w := sortedLines(gotLines), sortedLines(wantLines); strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("protocol %s: ls-remote =\n%s\nwant\n%s", proto, strings.Join(g, "\n"), strings.Join(w, "\n"))
		}
		if n := strings.Count(got, "\n"); n != 301 {
			t.Errorf("protocol %s: %d refs; want 301", proto, n)
		}
	}
	dst := filepath.Join(t.TempDir(), "clone")
	e.mustGit("", "clone", "-q", "--mirror", remote, dst)
	if got := e.mustGit(dst, "show-ref", "-d"); got != want {
		t.Errorf("clone's refs differ from the pushed ones:\n%s\nwant\n%s", got, want)
	}
	// The push left its pack with a reverse index, as git index-pack
	// writes one, and git reads the objects' sizes on disk through it
	// exactly as from the offsets themselves.
	r, err := e.repos.Open("tester", "many")
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := filepath.Glob(filepath.Join(r.Path, "objects", "pack", "pack-*.idx"))
	rev, _ := filepath.Glob(filepath.Join(r.Path, "objects", "pack", "pack-*.rev"))
	if len(idx) == 0 || len(rev) != len(idx) {
		t.Errorf("%d packs, %d reverse indexes; want one each", len(idx), len(rev))
	}
	sizes := func(readRev bool) string {
		return e.mustGit("", "--git-dir", r.Path, "-c", fmt.Sprintf("pack.readReverseIndex=%v", readRev),
			"cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objectsize:disk)")
	}
	if a, b := sizes(true), sizes(false); a != b {
		t.Errorf("sizes on disk read through the .rev differ from those computed without it")
	}
	e.fsck("tester", "many")
}

func sortedLines(lines []string) []string {
	out := slices.Clone(lines)
	slices.Sort(out)
	return out
}

// TestPushPacksLooseRefs places a repository with more loose refs than
// gc.MaxLooseRefs, as a mirror copied by hand has, and pushes to it: the
// refs are packed in the background, every one keeping its value, and the
// objects are left as they are (no repack for refs alone).
func TestPushPacksLooseRefs(t *testing.T) {
	e := newEnv(t)
	tok := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "placed", "tester", tok)
	r, err := e.repos.Open("tester", "placed")
	if err != nil {
		t.Fatal(err)
	}
	head := strings.TrimSpace(e.mustGit(wt, "rev-parse", "HEAD"))
	for i := range gc.MaxLooseRefs + 50 {
		p := filepath.Join(r.Path, "refs", "heads", "old", fmt.Sprintf("b%03d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(head+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := e.mustGit("", "--git-dir", r.Path, "show-ref")
	packs := func() []string {
		m, _ := filepath.Glob(filepath.Join(r.Path, "objects", "pack", "pack-*"))
		return m
	}
	e.auto.Observe = func(time.Duration, error) { t.Errorf("a repack ran for loose refs alone") }
	packsBefore := packs()

	os.WriteFile(filepath.Join(wt, "README"), []byte("again\n"), 0o644)
	e.mustGit(wt, "commit", "-qam", "again")
	e.mustGit(wt, "push", "-q", e.url("tester", tok, "tester/placed.git"), "main")
	// The push's response is written before AfterPush runs, so wait for
	// the handler to have started it, then for it to finish: checking
	// NeedsPackRefs alone returned while PackRefs still removed the
	// emptied directories under refs/heads/old.
	deadline := time.Now().Add(time.Minute)
	for gc.NeedsPackRefs(r.Path) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	e.auto.Wait()
	if gc.NeedsPackRefs(r.Path) {
		t.Fatal("the loose refs are still loose a minute after the push")
	}
	after := e.mustGit("", "--git-dir", r.Path, "show-ref")
	want := strings.Replace(before, head+" refs/heads/main", strings.TrimSpace(e.mustGit(wt, "rev-parse", "HEAD"))+" refs/heads/main", 1)
	if after != want {
		t.Errorf("refs after packing:\n%s\nwant\n%s", after, want)
	}
	// The push added its objects; nothing rewrote the old ones.
	for _, p := range packsBefore {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s is gone: the objects were repacked", filepath.Base(p))
		}
	}
	e.fsck("tester", "placed")
}
