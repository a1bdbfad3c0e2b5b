package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/depot/depot/cmd/depot/internal/server"
	"github.com/depot/depot/githttp"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/api"
)

// newRepoFixture is newFixture served as depot serve composes it: the
// pages beside the token API and git (cmd/depot/internal/server), so
// that repositories are pushed with the real git and route order is at
// work. It adds tester/pub (public) and tester/empty (public, empty);
// tester/hello is private.
func newRepoFixture(t testing.TB) *fixture {
	t.Helper()
	f := newBenchFixture(t)
	h := server.New(server.Config{
		Auth: f.authn, Log: f.log,
		Web:  []server.Surface{f.pages},
		API:  []server.Surface{api.New(f.store, f.log)},
		Git:  []server.Surface{githttp.New(f.authn, f.policy, f.log)},
		Page: f.pages.NotFound(),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.srv, f.handler = srv, h
	ctx := context.Background()
	for _, name := range []string{"pub", "empty"} {
		if _, err := f.dir.CreateWithRecord(ctx, f.projectStore, "tester", name, repos.CreateOptions{},
			&repos.Info{Description: "a " + name + " repository", Visibility: repos.Public}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// work is a git work tree that pushes to the fixture as tester, through
// depot's git handler.
type work struct {
	t      testing.TB
	dir    string
	home   string
	remote string // http://tester:TOKEN@HOST/tester/
}

func (f *fixture) work(t testing.TB) *work {
	t.Helper()
	secret, err := f.store.CreateToken(context.Background(), &tokens.Token{Username: "tester", Description: "push", Scopes: []string{"project:depot"}})
	if err != nil {
		t.Fatal(err)
	}
	w := &work{t: t, dir: filepath.Join(t.TempDir(), "work"), home: t.TempDir(),
		remote: "http://tester:" + secret + "@" + strings.TrimPrefix(f.srv.URL, "http://") + "/tester/"}
	w.git("init", "-q", "-b", "main", w.dir)
	return w
}

// git runs the real git in the work tree and returns its output.
func (w *work) git(args ...string) string {
	w.t.Helper()
	return w.gitStdin("", args...)
}

// gitStdin is git with input on its standard input.
func (w *work) gitStdin(input string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Stdin = strings.NewReader(input)
	cmd.Dir = filepath.Dir(w.dir)
	if _, err := os.Stat(w.dir); err == nil {
		cmd.Dir = w.dir
	}
	cmd.Env = append(os.Environ(), "HOME="+w.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Tess Ter", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=Tess Ter", "GIT_COMMITTER_EMAIL=tester@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (path → content) and commits them all.
func (w *work) commit(msg string, files map[string]string) string {
	w.t.Helper()
	for p, content := range files {
		full := filepath.Join(w.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	w.git("add", "-A")
	w.git("commit", "-q", "-m", msg)
	return w.git("rev-parse", "HEAD")
}

// hostileReadme tries every way a README could run script in a reader's
// browser; a test checks none survives.
const hostileReadme = "# Hello pub\n\nSee [the guide](docs/guide.md), [the sources](src) and [home](/).\n\n" +
	"<script>document.title = 'pwned'; window.pwned = true;</script>\n\n" +
	"<img src=\"img/logo.png\" onerror=\"window.pwned = true\" alt=\"logo\">\n\n" +
	"[click me](javascript:window.pwned=true) <a href=\"javascript:window.pwned=true\">or me</a>\n\n" +
	"<iframe src=\"javascript:window.pwned=true\"></iframe><svg onload=\"window.pwned=true\"></svg>\n"

// pubFiles is tester/pub's first commit.
var pubFiles = map[string]string{
	"README.md":               hostileReadme,
	"docs/guide.md":           "# Guide\n\nBack to the [README](../README.md).\n",
	"src/main.go":             "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n",
	"page.html":               "<!doctype html><script>window.pwned = true</script><h1>hi</h1>\n",
	"data.bin":                "\x00\x01\x02binary\x00",
	"weird/<b>\"x\"&y#z?.txt": "a name to escape\n",
	"img/logo.png":            "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89",
}

// pushPub pushes tester/pub: two commits on main, a branch with a slash
// and a tag. It returns the ids of the two commits of main.
func pushPub(t testing.TB, f *fixture) (first, second string) {
	t.Helper()
	w := f.work(t)
	first = w.commit("first: the layout", pubFiles)
	w.git("tag", "v1.0")
	second = w.commit("say hello to the world\n\nThe greeting was too short.", map[string]string{
		"src/main.go": "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello, world\")\n}\n",
	})
	w.git("checkout", "-q", "-b", "feature/x")
	w.commit("a feature", map[string]string{"src/feature.go": "package main\n"})
	w.git("branch", `we"ird&<b>#1`, "main")
	w.git("push", "-q", w.remote+"pub.git", "main", "feature/x", "v1.0", `we"ird&<b>#1`)
	return first, second
}

func TestRepoPages(t *testing.T) {
	f := newRepoFixture(t)
	first, second := pushPub(t, f)
	host := strings.TrimPrefix(f.srv.URL, "http://")
	anon := f.browser(t)
	tester := f.browser(t)
	tester.signIn("tester")

	get := func(t *testing.T, b *browser, path string, want int) string {
		t.Helper()
		code, loc, body := b.get(path)
		if code != want {
			t.Fatalf("GET %s = %d (→ %q); want %d\n%s", path, code, loc, want, body)
		}
		return body
	}
	has := func(t *testing.T, body string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("page lacks %q", w)
			}
		}
		if t.Failed() {
			t.Logf("page:\n%s", body)
		}
	}

	t.Run("RepoPageAnonymous", func(t *testing.T) {
		body := get(t, anon, "/tester/pub", 200)
		has(t, body, "a pub repository", ">public<", `data-copy="http://`+host+`/tester/pub.git"`,
			`href="/tester/pub/tree/main/src"`, `href="/tester/pub/blob/main/README.md"`,
			`href="/tester/pub/blob/main/docs/guide.md"`, `href="/tester/pub/tree/main"`,
			`src="/tester/pub/raw/main/img/logo.png"`, `id="user-content-hello-pub"`,
			"say hello to the world", `href="/login?next=%2ftester%2fpub"`)
	})
	t.Run("READMEScriptless", func(t *testing.T) {
		body := get(t, anon, "/tester/pub", 200)
		readme := body[strings.Index(body, `class="markdown"`):]
		for _, bad := range []string{"<script", "onerror", "onload", "javascript:", "<iframe", "pwned"} {
			if strings.Contains(strings.ToLower(readme), bad) {
				t.Errorf("the rendered README keeps %q:\n%s", bad, readme)
			}
		}
	})
	t.Run("RepoPageSignedIn", func(t *testing.T) {
		has(t, get(t, tester, "/tester/pub", 200), `data-copy="http://tester@`+host+`/tester/pub.git"`)
		// The home and namespace pages lead here.
		has(t, get(t, tester, "/", 200), `href="/tester/pub"`)
		has(t, get(t, anon, "/tester", 200), `href="/tester/pub"`)
	})
	t.Run("Tree", func(t *testing.T) {
		body := get(t, anon, "/tester/pub/tree/main/src", 200)
		has(t, body, `href="/tester/pub/blob/main/src/main.go"`, `<strong>src</strong>`, `href="/tester/pub/tree/main"`)
		if strings.Contains(body, "feature.go") {
			t.Error("main's src lists feature/x's file")
		}
	})
	t.Run("NamesEscaped", func(t *testing.T) {
		has(t, get(t, anon, "/tester/pub/tree/main/weird", 200),
			`<a href="/tester/pub/blob/main/weird/%3Cb%3E%22x%22&amp;y%23z%3F.txt">&lt;b&gt;&#34;x&#34;&amp;y#z?.txt</a>`)
		has(t, get(t, anon, "/tester/pub/blob/main/weird/%3Cb%3E%22x%22&y%23z%3F.txt", 200), "a name to escape")
	})
	t.Run("TreeOfBranchWithSlash", func(t *testing.T) {
		has(t, get(t, anon, "/tester/pub/tree/feature/x/src", 200),
			`href="/tester/pub/blob/feature/x/src/feature.go"`, `<strong class="ref">feature/x</strong>`)
	})
	t.Run("TreeOfTag", func(t *testing.T) {
		body := get(t, anon, "/tester/pub/tree/v1.0/src", 200)
		has(t, body, `href="/tester/pub/blob/v1.0/src/main.go"`, "Tag:")
	})
	t.Run("Switcher", func(t *testing.T) {
		has(t, get(t, anon, "/tester/pub/blob/main/src/main.go", 200),
			`href="/tester/pub/blob/feature/x/src/main.go"`, `href="/tester/pub/blob/v1.0/src/main.go"`,
			`action="/tester/pub/blob"`, `name="path" value="src/main.go"`)
		// A branch's name may hold markup, quotes, '&' and '#'.
		has(t, get(t, anon, "/tester/pub/tree/main/src", 200),
			`<a class="menu-item" href="/tester/pub/tree/we%22ird&amp;%3Cb%3E%231/src">we&#34;ird&amp;&lt;b&gt;#1</a>`)
		has(t, get(t, anon, "/tester/pub/tree/we%22ird&%3Cb%3E%231/src", 200), `<strong class="ref">we&#34;ird&amp;&lt;b&gt;#1</strong>`)
		code, loc, _ := anon.get("/tester/pub/blob?ref=v1.0&path=src/main.go")
		if code != http.StatusSeeOther || loc != "/tester/pub/blob/v1.0/src/main.go" {
			t.Errorf("switching by name = %d → %q", code, loc)
		}
	})
	t.Run("Blob", func(t *testing.T) {
		body := get(t, anon, "/tester/pub/blob/main/src/main.go", 200)
		has(t, body, `id="L7"`, `class="hl-`, `href="/tester/pub/raw/main/src/main.go"`, "7 lines",
			`href="/tester/pub/commits/main/src/main.go"`, `<a href="/tester/pub/tree/main/src">src</a>`, "hello, world")
	})
	t.Run("BlobNotices", func(t *testing.T) {
		has(t, get(t, anon, "/tester/pub/blob/main/data.bin", 200), "This is a binary file.", `href="/tester/pub/raw/main/data.bin"`)
		has(t, get(t, anon, "/tester/pub/blob/main/img/logo.png", 200), `<img src="/tester/pub/raw/main/img/logo.png"`)
	})
	t.Run("BlobMarkdown", func(t *testing.T) {
		has(t, get(t, anon, "/tester/pub/blob/main/docs/guide.md", 200), `href="/tester/pub/blob/main/README.md"`, "Preview")
		has(t, get(t, anon, "/tester/pub/blob/main/docs/guide.md?plain=1", 200), "Back to the [", "../README.md")
	})
	t.Run("BlobHTMLIsText", func(t *testing.T) {
		body := get(t, anon, "/tester/pub/blob/main/page.html", 200)
		if strings.Contains(body, "<script>window") || !strings.Contains(body, "pwned") {
			t.Errorf("page.html's view does not show its script as text")
		}
	})
	t.Run("Redirects", func(t *testing.T) {
		for _, tc := range []struct{ path, want string }{
			{"/tester/pub/blob/main/src", "/tester/pub/tree/main/src"},
			{"/tester/pub/tree/main/src/main.go", "/tester/pub/blob/main/src/main.go"},
			{"/tester/pub.git", "/tester/pub"},
			{"/Tester/PUB/tree/main/src", "/tester/pub/tree/main/src"},
			{"/tester/pub/tree", "/tester/pub/tree/main"},
		} {
			code, loc, _ := anon.get(tc.path)
			if (code != http.StatusSeeOther && code != http.StatusMovedPermanently) || loc != tc.want {
				t.Errorf("GET %s = %d → %q; want a redirect to %q", tc.path, code, loc, tc.want)
			}
		}
	})
	t.Run("Raw", func(t *testing.T) {
		for _, tc := range []struct{ path, ctype, body string }{
			{"/tester/pub/raw/main/page.html", "text/plain; charset=utf-8", pubFiles["page.html"]},
			{"/tester/pub/raw/main/img/logo.png", "image/png", pubFiles["img/logo.png"]},
			{"/tester/pub/raw/main/data.bin", "application/octet-stream", pubFiles["data.bin"]},
			{"/tester/pub/raw/v1.0/src/main.go", "text/plain; charset=utf-8", pubFiles["src/main.go"]},
		} {
			res, err := http.Get(f.srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			h := res.Header
			if res.StatusCode != 200 || h.Get("Content-Type") != tc.ctype || string(b) != tc.body {
				t.Errorf("GET %s = %d %q %q; want 200 %q and the file", tc.path, res.StatusCode, h.Get("Content-Type"), b, tc.ctype)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") ||
				!strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
				t.Errorf("GET %s: nosniff %q, CSP %q", tc.path, h.Get("X-Content-Type-Options"), h.Get("Content-Security-Policy"))
			}
		}
		if code, _, _ := anon.get("/tester/pub/raw/main/src"); code != 404 {
			t.Errorf("raw of a directory = %d; want 404", code)
		}
	})
	t.Run("Commits", func(t *testing.T) {
		body := get(t, anon, "/tester/pub/commits/main", 200)
		has(t, body, "say hello to the world", "first: the layout", `href="/tester/pub/commit/`+second+`"`,
			`href="/tester/pub/tree/`+first+`"`, "Tess Ter")
		if strings.Contains(body, "a feature") {
			t.Error("main's history shows feature/x's commit")
		}
		byPath := get(t, anon, "/tester/pub/commits/main/README.md", 200)
		if !strings.Contains(byPath, "first: the layout") || strings.Contains(byPath, "say hello") {
			t.Errorf("history of README.md:\n%s", byPath)
		}
		has(t, get(t, anon, "/tester/pub/commits/feature/x", 200), "a feature", "say hello to the world")
		get(t, anon, "/tester/pub/commits/nosuchbranch", 404)
		get(t, anon, "/tester/pub/commits/main?after=x", 404)
	})
	t.Run("CommitsPaged", func(t *testing.T) {
		w := f.work(t)
		w.commit("base", map[string]string{"f": "0\n"})
		for range historyPageSize + 5 {
			w.git("commit", "-q", "--allow-empty", "-m", "step")
		}
		w.git("push", "-q", w.remote+"empty.git", "main")
		page1 := get(t, anon, "/tester/empty/commits/main", 200)
		if n := strings.Count(page1, `class="row commit"`); n != historyPageSize {
			t.Errorf("page 1 shows %d commits; want %d", n, historyPageSize)
		}
		has(t, page1, `href="/tester/empty/commits/main?after=50"`)
		page2 := get(t, anon, "/tester/empty/commits/main?after=50", 200)
		if n := strings.Count(page2, `class="row commit"`); n != 6 || !strings.Contains(page2, "base") {
			t.Errorf("page 2 shows %d commits; want 6, the last being base", n)
		}
		has(t, page2, `href="/tester/empty/commits/main" rel="prev"`)
	})
	t.Run("Commit", func(t *testing.T) {
		body := get(t, anon, "/tester/pub/commit/"+second, 200)
		has(t, body, "say hello to the world", "The greeting was too short.", "Tess Ter",
			`href="/tester/pub/commit/`+first+`"`, first[:7], "Changed files: 1", `+1</span>`, `−1</span>`,
			`href="/tester/pub/blob/`+second+`/src/main.go"`, `fmt.Println(&#34;hello, world&#34;)`,
			`<td class="num">6</td><td class="num"></td>`, `<td class="num"></td><td class="num">6</td>`)
		// An abbreviated id works; the root commit lists every file as added.
		has(t, get(t, anon, "/tester/pub/commit/"+first[:10], 200), "Changed files: 7", ">added<")
		get(t, anon, "/tester/pub/commit/0000000000000000000000000000000000000000", 404)
	})
	t.Run("EmptyRepository", func(t *testing.T) {
		// tester/empty has history by now (CommitsPaged); a new one has not.
		if _, err := f.dir.CreateWithRecord(context.Background(), f.projectStore, "tester", "fresh", repos.CreateOptions{},
			&repos.Info{Visibility: repos.Public}); err != nil {
			t.Fatal(err)
		}
		has(t, get(t, tester, "/tester/fresh", 200), "This repository is empty.", "git push -u origin main",
			"git remote add origin http://tester@"+host+"/tester/fresh.git")
		body := get(t, anon, "/tester/fresh", 200)
		has(t, body, "This repository is empty.")
		if strings.Contains(body, "git push") {
			t.Error("an anonymous visitor is shown how to push")
		}
	})
	t.Run("PrivateIsNotFound", func(t *testing.T) {
		w := f.work(t)
		w.commit("secret work", map[string]string{"secret.txt": "s3cret\n"})
		w.git("push", "-q", w.remote+"hello.git", "main")
		id := w.git("rev-parse", "HEAD")
		other := f.browser(t)
		other.signIn("other")
		missing := get(t, anon, "/tester/missing", 404)
		for _, p := range []string{"", "/tree/main", "/blob/main/secret.txt", "/raw/main/secret.txt",
			"/commits/main", "/commit/" + id, "/tree"} {
			for name, b := range map[string]*browser{"anonymous": anon, "other": other} {
				code, _, body := b.get("/tester/hello" + p)
				if code != 404 || strings.Contains(body, "s3cret") || strings.Contains(body, "secret work") {
					t.Errorf("%s: GET /tester/hello%s = %d; want the 404 page", name, p, code)
				}
			}
		}
		// The same page as a missing repository's, but for the path.
		if got := get(t, anon, "/tester/hello", 404); strings.ReplaceAll(got, "/tester/hello", "/tester/missing") != missing {
			t.Errorf("a private repository's 404 differs from a missing one's:\n%s\n---\n%s", got, missing)
		}
		has(t, get(t, tester, "/tester/hello/blob/main/secret.txt", 200), "s3cret")
		has(t, get(t, tester, "/tester/hello", 200), ">private<")
	})
	t.Run("GitStillServed", func(t *testing.T) {
		for _, p := range []string{"/tester/pub.git/info/refs?service=git-upload-pack", "/tester/pub/info/refs?service=git-upload-pack"} {
			code, _, body := anon.get(p)
			if code != 200 || !strings.Contains(body, "refs/heads/main") {
				t.Errorf("GET %s = %d; want git's advertisement", p, code)
			}
		}
		w := f.work(t)
		for _, u := range []string{f.srv.URL + "/tester/pub", f.srv.URL + "/tester/pub.git"} {
			dest := filepath.Join(t.TempDir(), "clone")
			w.git("clone", "-q", u, dest)
			if _, err := os.Stat(filepath.Join(dest, "src", "main.go")); err != nil {
				t.Errorf("clone of %s: %v", u, err)
			}
		}
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/current_user", nil)
		req.SetBasicAuth("tester", "tester-password")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET /api/current_user = %d %s; want the API's JSON", res.StatusCode, res.Header.Get("Content-Type"))
		}
		for _, p := range []string{"/static/style.css", "/static/app.js"} {
			if code, _, _ := anon.get(p); code != 200 {
				t.Errorf("GET %s = %d; the pages shadow it", p, code)
			}
		}
		has(t, get(t, anon, "/static/repo.css", 200), ".hl-chroma", "table.lines")
	})
	t.Run("Headers", func(t *testing.T) {
		res, err := http.Get(f.srv.URL + "/tester/pub")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("repository page CSP = %q; want default-src 'self' and nothing unsafe", csp)
		}
	})
	t.Run("Chinese", func(t *testing.T) {
		zh := f.browser(t)
		zh.lang = "zh-CN"
		_, _, body := zh.get("/tester/pub/commit/" + second)
		has(t, body, "改动文件：1 个", "浏览文件")
	})
}

// TestRepoPageTextsTranslated: every message key the repository pages
// use has its two texts (a missing key shows as itself).
func TestRepoPageTextsTranslated(t *testing.T) {
	keys := regexp.MustCompile(`\.T "([a-zA-Z.]+)"`)
	for _, name := range append([]string{"repo_parts"}, repoPageNames...) {
		b, err := templateFS.ReadFile("templates/" + name + ".html")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keys.FindAllStringSubmatch(string(b), -1) {
			if tr, ok := messages[m[1]]; !ok || tr[0] == "" || tr[1] == "" {
				t.Errorf("%s: message %q has no texts", name, m[1])
			}
		}
	}
	for _, k := range []string{"ref.branch", "ref.tag", "ref.commit", "status.added", "status.deleted", "status.modified"} {
		if _, ok := messages[k]; !ok {
			t.Errorf("message %q, built in a template, has no texts", k)
		}
	}
}
