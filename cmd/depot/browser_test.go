package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/cmd/depot/internal/server"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/tokens"
)

// screenshots, when set, is where TestBrowserTokens saves pictures of
// the pages it visits, at a laptop's and a phone's width: go test
// ./cmd/depot -run TestBrowserTokens -args -screenshots "$PWD/shots".
// README shows a few of them, from docs/screenshots.
var screenshots = flag.String("screenshots", "", "directory to save the browser test's screenshots in")

// chromiumPath finds Debian's chromium (or another Chrome). A missing
// browser fails the test: .ci/run installs it, and the browser tests
// never skip.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: apt-get install chromium (.ci/run does)")
	return ""
}

// browserData is testData with the user the browser tests sign in as:
// tester, password tester-password, hashed at bcrypt's lowest cost.
func browserData(t *testing.T) (*data, server.Config) {
	t.Helper()
	d, cfg := testData(t)
	d.store.SetPasswordCost(bcrypt.MinCost)
	if err := d.store.CreateUser(context.Background(), &tokens.User{GlobalKey: "tester", Name: "Tess Ter", Email: "tester@example.com"}, "tester-password"); err != nil {
		t.Fatal(err)
	}
	return d, cfg
}

// newBrowser starts a headless Chromium for the test, which accepts every
// confirmation dialog as a person clicking OK would.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx
}

// step runs browser actions, failing the test with what it was doing.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// submit clicks sel and waits for the page it loads.
func submit(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func bodyText(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatalf("body text: %v", err)
	}
	return s
}

// shot saves the page at a laptop's and a phone's width when
// -screenshots is set.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		suffix string
		w, h   int64
		mobile bool
	}{{"", 1280, 860, false}, {"-phone", 390, 844, true}} {
		var opts []chromedp.EmulateViewportOption
		if v.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		step(t, ctx, "resize for "+name, chromedp.EmulateViewport(v.w, v.h, opts...))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(*screenshots, name+v.suffix+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	step(t, ctx, "restore the viewport", chromedp.EmulateViewport(1280, 900))
}

var secretRE = regexp.MustCompile(`^dpt_[0-9A-Za-z]{36}$`)

// TestBrowserTokens walks CODING's help page in a real browser: sign in,
// create a token with two scopes, read its secret off the page and use it
// with git and the API, reload and see it gone, take a scope away and see
// the API refuse, regenerate, disable, delete all; and a form on another
// site that posts to depot and must change nothing.
func TestBrowserTokens(t *testing.T) {
	ctx := newBrowser(t)
	d, cfg := browserData(t)
	bg := context.Background()
	if _, err := d.repos.CreateWithRecord(bg, d.projects, "tester", "hello", repos.CreateOptions{}, &repos.Info{Visibility: repos.Private}); err != nil {
		t.Fatal(err)
	}
	if err := d.projects.CreateProject(bg, &repos.Project{Name: "test", DisplayName: "Test team", Description: "CODING's example project"}, "tester"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.repos.CreateWithRecord(bg, d.projects, "test", "testRepo", repos.CreateOptions{}, &repos.Info{Visibility: repos.Private}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(cfg))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	// Signed out, / leads to the form.
	step(t, ctx, "open /", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("username")))
	shot(t, ctx, "login")
	step(t, ctx, "fill the sign-in form",
		chromedp.SendKeys(chromedp.ID("username"), "tester"),
		chromedp.SendKeys(chromedp.ID("password"), "tester-password"))
	submit(t, ctx, "form[action='/login'] button")
	if got := text(t, ctx, "h1"); got != "Repositories" {
		t.Fatalf("after signing in the page is %q; want the home page", got)
	}
	if home := bodyText(t, ctx); !strings.Contains(home, "http://tester@"+host+"/tester/hello.git") ||
		!strings.Contains(home, "http://tester@"+host+"/test/testRepo.git") || !strings.Contains(home, "Test team") {
		t.Fatalf("home page lacks tester/hello, test/testRepo or the project:\n%s", home)
	}
	shot(t, ctx, "home")

	// The project's page: its repositories and members, managed here.
	if err := d.store.CreateUser(bg, &tokens.User{GlobalKey: "dev"}, "dev-password"); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "open the project", chromedp.Navigate(srv.URL+"/test"), chromedp.WaitVisible(chromedp.CSS(".add-member input[name=user]")))
	step(t, ctx, "add a member", chromedp.SendKeys(chromedp.CSS(".add-member input[name=user]"), "dev"))
	submit(t, ctx, ".add-member button")
	if p := bodyText(t, ctx); !strings.Contains(p, "Saved: dev · developer.") || !strings.Contains(p, "test/testRepo") {
		t.Fatalf("project page after adding dev:\n%s", p)
	}
	shot(t, ctx, "project")

	// A new token with two scopes; the first try forgets the description.
	step(t, ctx, "open the new token form", chromedp.Navigate(srv.URL+"/settings/tokens/new"), chromedp.WaitVisible(chromedp.ID("description")))
	step(t, ctx, "tick two scopes",
		chromedp.Click(chromedp.CSS(`input[name=scopes][value="project:depot"]`)),
		chromedp.Click(chromedp.CSS(`input[name=scopes][value="user"]`)),
		chromedp.SendKeys(chromedp.ID("ipWhitelist"), "127.0.0.1\n::1"))
	submit(t, ctx, "form.form button.primary")
	if got := text(t, ctx, "#description-error"); got != "Enter a description." {
		t.Fatalf("error next to description = %q", got)
	}
	if ws, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("ipWhitelist"))); ws != "127.0.0.1\n::1" {
		t.Fatalf("the form lost the whitelist typed: %q", ws)
	}
	shot(t, ctx, "token-form-error")
	step(t, ctx, "describe the token", chromedp.SendKeys(chromedp.ID("description"), "laptop"))
	submit(t, ctx, "form.form button.primary")
	secret := text(t, ctx, "#new-token")
	if !secretRE.MatchString(secret) {
		t.Fatalf("the page shows %q as the new token", secret)
	}
	shot(t, ctx, "tokens-created")

	// The secret works for git and for current_user.
	work := t.TempDir()
	git := func(dir string, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+work, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
			"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.com",
			"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.com")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustGit := func(dir string, args ...string) string {
		t.Helper()
		out, err := git(dir, args...)
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return out
	}
	repoURL := func(secret string) string { return "http://tester:" + secret + "@" + host + "/tester/hello.git" }
	src := filepath.Join(work, "src")
	mustGit(work, "init", "-q", "-b", "main", src)
	os.WriteFile(filepath.Join(src, "README.md"), []byte("# hello\n"), 0o644)
	mustGit(src, "add", ".")
	mustGit(src, "commit", "-q", "-m", "first")
	mustGit(src, "push", repoURL(secret), "main")
	mustGit(work, "clone", "-q", repoURL(secret), filepath.Join(work, "clone1"))
	if got := mustGit(filepath.Join(work, "clone1"), "log", "--format=%s"); strings.TrimSpace(got) != "first" {
		t.Fatalf("clone has %q", got)
	}
	api := func(secret string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/api/current_user", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := api(secret); code != 200 || !strings.Contains(body, `"global_key":"tester"`) {
		t.Fatalf("current_user with the page's token = %d %s", code, body)
	}

	// A reload shows the description, never the secret, and the last use.
	if err := d.store.FlushTokenUse(bg); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".token .description")))
	page1 := bodyText(t, ctx)
	if strings.Contains(page1, secret) || !strings.Contains(page1, "laptop") {
		t.Fatalf("after a reload the secret is still shown, or the description is not:\n%s", page1)
	}
	if lu := text(t, ctx, ".last-used"); !strings.Contains(lu, "127.0.0.1") {
		t.Fatalf("last used = %q; want the time and 127.0.0.1", lu)
	}
	shot(t, ctx, "tokens")

	// Edit: take user away; current_user is refused, git still works.
	submit(t, ctx, ".token-actions a.button")
	step(t, ctx, "untick user", chromedp.Click(chromedp.CSS(`input[name=scopes][value="user"]`)))
	shot(t, ctx, "token-edit")
	submit(t, ctx, "form.form button.primary")
	if code, body := api(secret); code != http.StatusForbidden || !strings.Contains(body, `\"user\" scope`) {
		t.Fatalf("current_user after the scope was taken away = %d %s; want 403 naming user", code, body)
	}
	mustGit(work, "clone", "-q", repoURL(secret), filepath.Join(work, "clone2"))

	// Regenerate: a new secret, shown once; the old one stops at once.
	submit(t, ctx, ".token-actions a.button")
	submit(t, ctx, "#regenerate") // the dialog is accepted by newBrowser
	fresh := text(t, ctx, "#new-token")
	if !secretRE.MatchString(fresh) || fresh == secret {
		t.Fatalf("regenerated secret %q (old %q)", fresh, secret)
	}
	if out, err := git(work, "clone", "-q", repoURL(secret), filepath.Join(work, "clone3")); err == nil {
		t.Fatalf("clone with the old secret after regenerating succeeded:\n%s", out)
	}
	mustGit(work, "clone", "-q", repoURL(fresh), filepath.Join(work, "clone4"))

	// Disable: the token stops working, and the list says so.
	submit(t, ctx, `.token-actions button[type=submit]`)
	if got := text(t, ctx, ".token .badge"); got != "disabled" {
		t.Fatalf("badge after disabling = %q", got)
	}
	if out, err := git(work, "clone", "-q", repoURL(fresh), filepath.Join(work, "clone5")); err == nil {
		t.Fatalf("clone with a disabled token succeeded:\n%s", out)
	}

	// The profile lists this browser's session.
	step(t, ctx, "open the profile", chromedp.Navigate(srv.URL+"/settings/profile"), chromedp.WaitVisible(chromedp.CSS(".session")))
	if p := bodyText(t, ctx); !strings.Contains(p, "this browser") || !strings.Contains(p, "Headless Chrome") {
		t.Fatalf("profile does not list this browser's session:\n%s", p)
	}
	shot(t, ctx, "profile")

	// Delete all, from the list's "more" menu, after the dialog.
	step(t, ctx, "open the list", chromedp.Navigate(srv.URL+"/settings/tokens"), chromedp.WaitVisible(chromedp.CSS(".page-head details.menu summary")))
	step(t, ctx, "open the more menu", chromedp.Click(chromedp.CSS(".page-head details.menu summary")), chromedp.WaitVisible(chromedp.ID("delete-all")))
	submit(t, ctx, "#delete-all")
	if n, _, _ := d.store.ListTokens(bg, tokens.ListOptions{Username: "tester"}); n != 0 {
		t.Fatalf("after delete all, tester has %d tokens", n)
	}
	if p := bodyText(t, ctx); !strings.Contains(p, "Deleted 1 tokens.") || !strings.Contains(p, "You have no personal access tokens.") {
		t.Fatalf("list after delete all:\n%s", p)
	}

	// A page on another origin posts a complete token form to depot. The
	// browser sends the session cookie with it (same site, other port),
	// but the post lacks the CSRF token and its Origin is not depot's.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/settings/tokens/new">
<input name="description" value="stolen"><input name="scopes" value="project:depot">
<button id="go" type="submit">win a prize</button></form>`, srv.URL)
	}))
	t.Cleanup(evil.Close)
	step(t, ctx, "open the other site", chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.ID("go")))
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("go")))
	if err != nil {
		t.Fatalf("cross-site post: %v", err)
	}
	if resp.Status != http.StatusForbidden {
		t.Errorf("cross-site post answered %d; want 403", resp.Status)
	}
	if n, _, _ := d.store.ListTokens(bg, tokens.ListOptions{Username: "tester"}); n != 0 {
		t.Fatalf("the cross-site post made %d tokens", n)
	}

	// The pages in Chinese, with CODING's words.
	step(t, ctx, "switch to Chinese", chromedp.Navigate(srv.URL+"/settings/tokens/new?lang=zh-CN"), chromedp.WaitVisible(chromedp.ID("description")))
	if p := bodyText(t, ctx); !strings.Contains(p, "新建个人访问令牌") || !strings.Contains(p, "令牌描述") || !strings.Contains(p, "代码仓库") {
		t.Fatalf("the Chinese form lacks CODING's words:\n%s", p)
	}
	shot(t, ctx, "token-new-zh")
	step(t, ctx, "list in Chinese", chromedp.Navigate(srv.URL+"/settings/tokens"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := text(t, ctx, "h1"); got != "个人访问令牌" {
		t.Fatalf("Chinese list title = %q", got)
	}

	// Signing out ends the session: / leads to the form again.
	submit(t, ctx, "form[action='/logout'] button")
	if _, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("username"))); err != nil {
		t.Fatalf("after signing out: %v", errors.Join(err, fmt.Errorf("page: %s", bodyText(t, ctx))))
	}
}
