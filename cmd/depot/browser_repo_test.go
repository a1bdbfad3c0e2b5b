package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/depot/depot/cmd/depot/internal/server"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/tokens"
)

// browseReadme is the README of the repository the browser test pushes:
// what a README usually holds, and script that must never run (an
// inline script, an event handler, a javascript: link), each of which
// would set window.pwned and the page's title.
const browseReadme = "# hello\n\nA small service that greets the world, kept in **depot**.\n\n" +
	"<img src=\"docs/logo.png\" alt=\"logo\" onerror=\"document.title='pwned'; window.pwned = true\">\n\n" +
	"## Build\n\n```sh\ngo build ./src\n./src/hello --name world\n```\n\n" +
	"## Layout\n\n| path | what |\n|---|---|\n| `src/` | the program |\n| `docs/` | the [guide](docs/guide.md) |\n\n" +
	"- [x] greets\n- [ ] waves\n\n" +
	"<script>document.title = 'pwned'; window.pwned = true;</script>\n\n" +
	"[Release notes](javascript:window.pwned=true)\n"

// TestBrowserRepository pushes a repository with git, then browses it in
// headless Chromium as a visitor who is not signed in (it is public):
// the repository's page with its README, whose script must not run, a
// directory, a file, the history and a commit; a raw HTML file must not
// run either. Signed in, the clone URL names the user.
func TestBrowserRepository(t *testing.T) {
	ctx := newBrowser(t)
	d, cfg := browserData(t)
	bg := context.Background()
	if _, err := d.repos.CreateWithRecord(bg, d.projects, "tester", "hello", repos.CreateOptions{},
		&repos.Info{Description: "Greets the world", Visibility: repos.Public}); err != nil {
		t.Fatal(err)
	}
	secret, err := d.store.CreateToken(bg, &tokens.Token{Username: "tester", Description: "push", Scopes: []string{"project:depot"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(cfg))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	// Two commits, pushed by git through depot.
	work := t.TempDir()
	src := filepath.Join(work, "src")
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "HOME="+work, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
			"GIT_AUTHOR_NAME=Tess Ter", "GIT_AUTHOR_EMAIL=tester@example.com",
			"GIT_COMMITTER_NAME=Tess Ter", "GIT_COMMITTER_EMAIL=tester@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(files map[string]string) {
		for p, content := range files {
			full := filepath.Join(src, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q", "-b", "main")
	write(map[string]string{
		"README.md":     browseReadme,
		"go.mod":        "module example.com/hello\n\ngo 1.26\n",
		"docs/guide.md": "# Guide\n\nRun `hello --name you`.\n",
		"docs/logo.png": logoPNG(t),
		"page.html":     "<!doctype html><title>raw</title><script>window.pwned = true; document.title = 'pwned'</script>\n",
		"src/main.go":   "package main\n\nimport (\n\t\"flag\"\n\t\"fmt\"\n)\n\nfunc main() {\n\tname := flag.String(\"name\", \"world\", \"who to greet\")\n\tflag.Parse()\n\tfmt.Println(greet(*name))\n}\n",
		"src/greet.go":  "package main\n\n// greet returns the greeting for name.\nfunc greet(name string) string {\n\treturn \"hello \" + name\n}\n",
	})
	git("add", "-A")
	git("commit", "-q", "-m", "first: a program that greets")
	write(map[string]string{
		"src/greet.go": "package main\n\nimport \"strings\"\n\n// greet returns the greeting for name, capitalised.\nfunc greet(name string) string {\n\tif name == \"\" {\n\t\tname = \"world\"\n\t}\n\treturn \"Hello, \" + strings.ToUpper(name[:1]) + name[1:] + \"!\"\n}\n",
	})
	git("commit", "-q", "-am", "greet: capitalise the name, and say hello to the world by default\n\nAn empty --name printed \"hello \".")
	second := git("rev-parse", "HEAD")
	git("push", "-q", "http://tester:"+secret+"@"+host+"/tester/hello.git", "main")

	evalBool := func(what, js string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	noScriptRan := func(where string) {
		t.Helper()
		if evalBool("window.pwned", `typeof window.pwned !== "undefined" || document.title.includes("pwned")`) {
			t.Fatalf("%s: script from the repository ran in the page", where)
		}
	}

	// The repository's page, signed out: README rendered, its script dead.
	step(t, ctx, "open the repository", chromedp.Navigate(srv.URL+"/tester/hello"), chromedp.WaitVisible(chromedp.CSS(".markdown h1")))
	noScriptRan("repository page")
	page := bodyText(t, ctx)
	for _, want := range []string{"Greets the world", "A small service that greets the world", "go build ./src",
		"http://" + host + "/tester/hello.git", "README.md", "greet: capitalise the name"} {
		if !strings.Contains(page, want) {
			t.Fatalf("repository page lacks %q:\n%s", want, page)
		}
	}
	if !evalBool("logo", `document.querySelector(".markdown img").naturalWidth > 0`) {
		t.Error("the README's image, a relative link to docs/logo.png, did not load")
	}
	if evalBool("javascript link", `[...document.querySelectorAll(".markdown a")].some(a => a.href.startsWith("javascript:"))`) {
		t.Error("the README keeps a javascript: link")
	}
	shot(t, ctx, "repo")

	// A directory, then a file in it.
	submit(t, ctx, `table.files a[href="/tester/hello/tree/main/src"]`)
	if got := text(t, ctx, ".crumbs strong"); got != "src" {
		t.Fatalf("the directory's breadcrumb is %q", got)
	}
	submit(t, ctx, `table.files a[href="/tester/hello/blob/main/src/greet.go"]`)
	step(t, ctx, "the file", chromedp.WaitVisible(chromedp.ID("L11")))
	if !evalBool("highlighting", `document.querySelectorAll(".code .hl-kd, .code .hl-kn, .code .hl-k").length > 0`) {
		t.Error("the Go file is not highlighted")
	}
	if got := text(t, ctx, ".file-head .grow"); !strings.Contains(got, "11 lines") {
		t.Errorf("file head = %q; want 11 lines", got)
	}
	shot(t, ctx, "blob")

	// The switcher lists the branch; the raw file is text.
	step(t, ctx, "open the switcher", chromedp.Click(chromedp.CSS(".switcher summary")), chromedp.WaitVisible(chromedp.CSS(".refs .menu-item.current")))
	if got := text(t, ctx, ".refs .menu-item.current"); !strings.HasPrefix(got, "main") {
		t.Errorf("the switcher marks %q", got)
	}
	shot(t, ctx, "switcher")

	// History of the file, then the newest commit and its diff.
	step(t, ctx, "open history", chromedp.Navigate(srv.URL+"/tester/hello/commits/main"), chromedp.WaitVisible(chromedp.CSS(".commits")))
	if n := evalBool("two commits", `document.querySelectorAll(".commits .commit").length === 2`); !n {
		t.Fatalf("history:\n%s", bodyText(t, ctx))
	}
	submit(t, ctx, `.commits a.sha[href="/tester/hello/commit/`+second+`"]`)
	step(t, ctx, "the commit", chromedp.WaitVisible(chromedp.CSS(".diff table.lines")))
	page = bodyText(t, ctx)
	for _, want := range []string{"greet: capitalise the name", `An empty --name printed "hello ".`, "Tess Ter", "src/greet.go", "Changed files: 1"} {
		if !strings.Contains(page, want) {
			t.Fatalf("commit page lacks %q:\n%s", want, page)
		}
	}
	if !evalBool("added and removed lines", `document.querySelectorAll("tr.add").length === 7 && document.querySelectorAll("tr.del").length === 2`) {
		t.Errorf("the diff does not show 7 added and 2 removed lines:\n%s", page)
	}
	shot(t, ctx, "commit")

	// A raw HTML file is text, and its script does not run either.
	step(t, ctx, "open raw HTML", chromedp.Navigate(srv.URL+"/tester/hello/raw/main/page.html"), chromedp.WaitReady(chromedp.CSS("body")))
	noScriptRan("raw page.html")
	if ct, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.contentType`)); ct != "text/plain" {
		t.Errorf("raw page.html is shown as %q", ct)
	}

	// Signed in, the clone URL names the user and copies.
	step(t, ctx, "sign in", chromedp.Navigate(srv.URL+"/login?next=/tester/hello"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "tester"), chromedp.SendKeys(chromedp.ID("password"), "tester-password"))
	submit(t, ctx, "form[action='/login'] button")
	if got := text(t, ctx, ".bar .clone-url"); got != "http://tester@"+host+"/tester/hello.git" {
		t.Fatalf("signed-in clone URL = %q", got)
	}
	// The clipboard answers asynchronously; the button says so when it
	// has, for 1.5 s. Polling its text missed that window whenever a poll
	// took longer (a loaded machine), so every label it shows is recorded
	// as it changes, and the record is read.
	evalBool("watch the copy button", `(() => {
		const b = document.querySelector(".bar button.copy");
		window.copyLabels = [];
		new MutationObserver(() => window.copyLabels.push(b.textContent)).observe(b, {childList: true, characterData: true, subtree: true});
		return true;
	})()`)
	step(t, ctx, "copy", chromedp.Click(chromedp.CSS(".bar button.copy")))
	copied := false
	for deadline := time.Now().Add(10 * time.Second); !copied && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		copied = evalBool("the copy button's labels", `window.copyLabels.includes("Copied")`)
	}
	if !copied {
		labels, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.copyLabels)`))
		t.Errorf("the copy button showed %s after a click; want Copied", labels)
	}
	noScriptRan("signed-in repository page")
}

// logoPNG draws a small picture for the README to show.
func logoPNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 160, 40))
	for y := range 40 {
		for x := range 160 {
			c := color.RGBA{0x1f, 0x6f, 0x5c, 0xff}
			if (x/20+y/20)%2 == 0 {
				c = color.RGBA{0xe5, 0xf2, 0xee, 0xff}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
