package browse

import (
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

var repoLinks = Links{Tree: "/o/n/tree/main", Blob: "/o/n/blob/main", Raw: "/o/n/raw/main"}

// hostile is a README that tries every way of running script that
// Markdown and raw HTML offer.
const hostile = `# Title

<script>alert('script')</script>
<img src="x.png" onerror="alert('onerror')">
<svg onload="alert('onload')"><circle r="1"/></svg>
<iframe src="https://example.com/"></iframe>
<style>body { display: none }</style>
<a href="javascript:alert('href')">js link</a>
<a href="JaVaScRiPt:alert('case')">js case</a>
<a href="java&#x09;script:alert('tab')">js tab</a>
<a href="  javascript:alert('space')">js space</a>
<form action="/settings/tokens" method="post"><input name="x"><button>go</button></form>
<div style="position:fixed" onclick="alert('click')">styled</div>
<object data="x.swf"></object><embed src="x.swf">
<meta http-equiv="refresh" content="0;url=javascript:alert('meta')">
<img srcset="javascript:alert('srcset') 1x" src="data:image/svg+xml,&lt;svg onload=alert(1)&gt;">
<a href="&#106;avascript:alert('entity')">js entity</a>
<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">data link</a>
<base href="javascript:alert('base')//"><link rel="stylesheet" href="x.css">

[md js](javascript:alert('md'))
[md data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
![md img js](javascript:alert('img'))
<https://example.com/auto>
`

// unsafeMarkup parses doc as a browser would and returns what in it
// could run script or restyle the page: elements other than content,
// event handler and style attributes, URLs of a scheme other than http,
// https and mailto.
func unsafeMarkup(t *testing.T, doc string) []string {
	t.Helper()
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(doc), body)
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "iframe", "object", "embed", "form", "input", "button", "math", "svg",
				"base", "link", "meta", "noscript", "template", "textarea", "frame", "frameset":
				if !(n.Data == "input" && attr(n, "type") == "checkbox") {
					bad = append(bad, "<"+n.Data+">")
				}
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				switch {
				case strings.HasPrefix(key, "on"), key == "style", key == "srcset", key == "formaction":
					bad = append(bad, key)
				case key == "href" || key == "src" || key == "action" || key == "background":
					v := strings.ToLower(strings.TrimSpace(a.Val))
					if i := strings.IndexAny(v, ":/?#"); i >= 0 && v[i] == ':' &&
						!strings.HasPrefix(v, "http:") && !strings.HasPrefix(v, "https:") && !strings.HasPrefix(v, "mailto:") {
						bad = append(bad, key+"="+a.Val)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return bad
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestRenderMarkdownSanitises(t *testing.T) {
	got := string(RenderMarkdown([]byte(hostile), repoLinks))
	if bad := unsafeMarkup(t, got); len(bad) > 0 {
		t.Errorf("rendered README has unsafe markup %q:\n%s", bad, got)
	}
	lower := strings.ToLower(got)
	for _, bad := range []string{
		"<script", "onerror", "onload", "onclick", "javascript:", "data:", "<iframe", "<style", "style=",
		"<form", "<object", "<embed", "<meta", "<svg", "alert(", "<button", "<math", "<base", "<link", "srcset",
	} {
		if strings.Contains(lower, bad) {
			t.Errorf("rendered README contains %q:\n%s", bad, got)
		}
	}
	// The harmless parts stay.
	for _, good := range []string{"<h1", "Title", "js link", "styled", `href="https://example.com/auto"`, `rel="nofollow"`} {
		if !strings.Contains(got, good) {
			t.Errorf("rendered README lacks %q:\n%s", good, got)
		}
	}
}

// TestRenderMarkdownSnippets renders hostile snippets that would swallow
// the rest of a document, one at a time.
func TestRenderMarkdownSnippets(t *testing.T) {
	for _, tc := range []struct{ name, md string }{
		{"mutation XSS", "<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')>"},
		{"unclosed script", "<script>alert(1)"},
		{"noscript", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">"},
		{"textarea", "<textarea><img src=x onerror=alert(1)></textarea>"},
		{"template", "<template><img src=x onerror=alert(1)></template>"},
		{"comment", "<!--><img src=x onerror=alert(1)>-->"},
		{"link reference", "[x]\n\n[x]: javascript:alert(1)"},
		{"autolink", "<javascript:alert(1)>"},
		{"image reference", "![x]\n\n[x]: javascript:alert(1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(RenderMarkdown([]byte(tc.md), repoLinks))
			if bad := unsafeMarkup(t, got); len(bad) > 0 {
				t.Errorf("RenderMarkdown(%q) = %s\nunsafe: %q", tc.md, got, bad)
			}
		})
	}
}

func TestRenderMarkdownLinks(t *testing.T) {
	isDir := func(p string) bool { return p == "docs" || p == "sub/deeper" }
	for _, tc := range []struct {
		name string
		dir  string
		md   string
		want string // a substring of the output
		blob string // links.Blob, when not repoLinks'
	}{
		{"relative link", "", "[g](docs/guide.md)", `href="/o/n/blob/main/docs/guide.md"`, ""},
		{"relative image", "", "![l](logo.png)", `src="/o/n/raw/main/logo.png"`, ""},
		{"raw html image", "", `<img src="img/a b.png" alt="x">`, `src="/o/n/raw/main/img/a%20b.png"`, ""},
		{"raw html link", "", `<a href="docs/guide.md">g</a>`, `href="/o/n/blob/main/docs/guide.md"`, ""},
		{"directory link", "", "[d](docs)", `href="/o/n/tree/main/docs"`, ""},
		{"directory link with slash", "", "[d](docs/)", `href="/o/n/tree/main/docs"`, ""},
		{"from a subdirectory", "sub", "[x](deeper)", `href="/o/n/tree/main/sub/deeper"`, ""},
		{"parent", "sub/deeper", "[x](../../README.md)", `href="/o/n/blob/main/README.md"`, ""},
		{"cannot leave the repository", "sub", "[x](../../../../etc/passwd)", `href="/o/n/blob/main/etc/passwd"`, ""},
		{"root relative", "sub", "[x](/src/main.go)", `href="/o/n/blob/main/src/main.go"`, ""},
		{"root", "sub", "[x](/)", `href="/o/n/tree/main"`, ""},
		{"query and fragment", "", "[x](a.md?plain=1#part)", `href="/o/n/blob/main/a.md?plain=1#user-content-part"`, ""},
		{"fragment", "", "[x](#install)", `href="#user-content-install"`, ""},
		{"heading id prefixed", "", "## Install it", `id="user-content-install-it"`, ""},
		{"raw html id prefixed", "", `<p id="csrf">x</p>`, `id="user-content-csrf"`, ""},
		{"absolute untouched", "", "[x](https://example.com/a.md)", `href="https://example.com/a.md"`, ""},
		{"protocol relative untouched", "", "[x](//example.com/a.md)", `href="//example.com/a.md"`, ""},
		{"mailto untouched", "", "[x](mailto:a@example.com)", `href="mailto:a@example.com"`, ""},
		{"ref with a hash", "", "[x](a.md)", `href="/o/n/blob/fix%231/a.md"`, "/o/n/blob/fix#1"},
		{"table", "", "| a | b |\n|---|---|\n| 1 | 2 |", "<td>1</td>", ""},
		{"strikethrough", "", "~~gone~~", "<del>gone</del>", ""},
		{"task list", "", "- [x] done", `<input checked="" disabled="" type="checkbox"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			links := repoLinks
			if tc.blob != "" {
				links.Blob = tc.blob
			}
			links.Dir, links.IsDir = tc.dir, isDir
			got := string(RenderMarkdown([]byte(tc.md), links))
			if !strings.Contains(got, tc.want) {
				t.Errorf("RenderMarkdown(%q) =\n%s\nwant it to contain %s", tc.md, got, tc.want)
			}
		})
	}
}

func TestReadme(t *testing.T) {
	g := newWorkRepo(t)
	g.write(map[string]string{
		"README.md":                hostile + "\n[guide](docs/guide.md) [docs](docs) ![logo](logo.png)\n",
		"README":                   "the plain one loses to Markdown\n",
		"docs/guide.md":            "# Guide\n",
		"docs/readme.TXT":          "plain <b>text</b>\n",
		"none/file.go":             "package none\n",
		"bin/README.md":            "\x00binary\n",
		"markdown/ReadMe.markdown": "*emphasis*\n",
		"huge/README.md":           strings.Repeat("# big\n", MaxRenderSize/6+1),
	})
	commit := g.commit("readmes")
	r := g.open()
	for _, tc := range []struct {
		name     string
		dir      string
		wantName string // "" for none
		want     *regexp.Regexp
	}{
		{"markdown wins", "", "README.md", regexp.MustCompile(`href="/o/n/blob/main/docs/guide.md"[^>]*>guide</a> <a href="/o/n/tree/main/docs"[^>]*>docs</a> <img src="/o/n/raw/main/logo.png"`)},
		{"plain text", "docs", "readme.TXT", regexp.MustCompile(`^<pre>plain &lt;b&gt;text&lt;/b&gt;\n</pre>$`)},
		{"other case and extension", "markdown", "ReadMe.markdown", regexp.MustCompile(`<em>emphasis</em>`)},
		{"none", "none", "", nil},
		{"too large", "huge", "README.md", regexp.MustCompile(`^$`)},
		{"binary counts as none", "bin", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd, err := r.Readme(commit, tc.dir, repoLinks)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantName == "" {
				if rd != nil {
					t.Fatalf("Readme(%q) = %s; want none", tc.dir, rd.Name)
				}
				return
			}
			if rd == nil || rd.Name != tc.wantName {
				t.Fatalf("Readme(%q) = %+v; want %s", tc.dir, rd, tc.wantName)
			}
			if !tc.want.MatchString(string(rd.HTML)) {
				t.Errorf("Readme(%q).HTML =\n%s\nwant it to match %s", tc.dir, rd.HTML, tc.want)
			}
			if strings.Contains(strings.ToLower(string(rd.HTML)), "<script") {
				t.Errorf("Readme(%q) carries a script", tc.dir)
			}
		})
	}
}

func TestMarkdownFile(t *testing.T) {
	g := newWorkRepo(t)
	g.write(map[string]string{
		"docs/guide.md": "[up](../src) [next](next.md) ![pic](img/p.png)\n",
		"docs/next.md":  "next\n",
		"src/main.go":   "package main\n",
	})
	commit := g.commit("docs")
	r := g.open()
	b, err := r.Blob(commit, "docs/guide.md")
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Markdown(commit, b.Path, b.Content, repoLinks)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`href="/o/n/tree/main/src"`, `href="/o/n/blob/main/docs/next.md"`, `src="/o/n/raw/main/docs/img/p.png"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("Markdown(docs/guide.md) =\n%s\nwant it to contain %s", got, want)
		}
	}
	for name, want := range map[string]bool{"a.md": true, "B.MARKDOWN": true, "x.mkd": true, "README": false, "a.md.txt": false, "md": false} {
		if IsMarkdown(name) != want {
			t.Errorf("IsMarkdown(%q) = %v; want %v", name, !want, want)
		}
	}
}
