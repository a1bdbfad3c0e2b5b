package browse

import (
	"bytes"
	"html/template"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	goldmarkhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"
)

// Links are the URL prefixes that relative links in a rendered document
// are rewritten to, each followed by "/" and the path in the repository:
// "/OWNER/NAME/blob/REF" and so on, unescaped (a ref "fix#1" is written
// as it is; the rewritten URL is escaped whole).
type Links struct {
	Tree, Blob, Raw string
	// Dir is the directory of the document, "" for the root: relative
	// links start there.
	Dir string
	// IsDir reports whether a path of the repository is a directory, so
	// that a link to it leads to Tree rather than Blob. Nil: always Blob.
	IsDir func(path string) bool
}

// idPrefix goes before every id a document sets, and every fragment
// link, as GitHub does, so that a README cannot take the name of an
// element of the page around it (DOM clobbering) while its own anchors
// keep working.
const idPrefix = "user-content-"

// markdown is goldmark with GitHub's flavour: tables, strikethrough,
// autolinks and task lists. Raw HTML passes (WithUnsafe) because READMEs
// use it for layout; the sanitiser, not goldmark, decides what stays.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	goldmark.WithRendererOptions(goldmarkhtml.WithUnsafe()),
)

// sanitiser is bluemonday's policy for user content (no script, no event
// handler, no style, only http, https and mailto URLs, rel=nofollow on
// links) with the disabled checkboxes of task lists.
var sanitiser = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")
	return p
}()

// RenderMarkdown renders a Markdown document as GitHub does (GFM) and
// sanitises the result, so that nothing in it can run script in a
// reader's browser: no script or style element, no event handler
// attribute, no javascript: or data: URL. Relative links and images
// (in Markdown or in raw HTML) are rewritten to links' prefixes; a link
// starting with "/" is relative to the repository's root.
func RenderMarkdown(src []byte, links Links) template.HTML {
	var out bytes.Buffer
	out.Grow(len(src) * 2)
	if err := markdown.Convert(src, &out); err != nil {
		// goldmark fails only when its writer does, and a buffer
		// does not; show the text rather than nothing.
		return template.HTML("<pre>" + template.HTMLEscapeString(string(src)) + "</pre>")
	}
	rewritten := rewriteLinks(out.Bytes(), links)
	return template.HTML(sanitiser.SanitizeBytes(rewritten))
}

// rewriteLinks rewrites the relative href of a elements and src of img
// elements, and prefixes ids and fragment links. Everything else is
// copied byte for byte: the sanitiser runs afterwards on the result.
func rewriteLinks(doc []byte, links Links) []byte {
	var out bytes.Buffer
	out.Grow(len(doc) + len(doc)/8)
	z := html.NewTokenizer(bytes.NewReader(doc))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out.Bytes()
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			out.Write(z.Raw())
			continue
		}
		raw := append([]byte(nil), z.Raw()...)
		tok := z.Token()
		changed := false
		for i, a := range tok.Attr {
			var v string
			switch {
			case a.Key == "id":
				v = idPrefix + a.Val
			case a.Key == "href" && tok.Data == "a":
				v = rewriteURL(a.Val, links, false)
			case a.Key == "src" && tok.Data == "img":
				v = rewriteURL(a.Val, links, true)
			default:
				continue
			}
			if v != a.Val {
				tok.Attr[i].Val = v
				changed = true
			}
		}
		if changed {
			out.WriteString(tok.String())
		} else {
			out.Write(raw)
		}
	}
}

// rewriteURL returns the URL u of a document at links.Dir as the
// browser should follow it: absolute URLs (left for the sanitiser to
// judge) and unparseable ones unchanged, fragments prefixed, and paths
// of the repository made links to its pages. A path never leaves the
// repository: ".." stops at its root.
func rewriteURL(u string, links Links, image bool) string {
	if u == "" {
		return u
	}
	if strings.HasPrefix(u, "#") {
		return "#" + idPrefix + u[1:]
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "" || p.Host != "" || strings.HasPrefix(u, "//") || p.Opaque != "" {
		return u
	}
	target := p.Path
	if !strings.HasPrefix(target, "/") {
		target = links.Dir + "/" + target
	}
	target = strings.TrimPrefix(path.Clean("/"+target), "/")
	prefix := links.Blob
	switch {
	case image:
		prefix = links.Raw
	case target == "" || (links.IsDir != nil && links.IsDir(target)):
		prefix = links.Tree
	}
	res := (&url.URL{Path: prefix + "/" + target}).EscapedPath()
	if target == "" {
		res = (&url.URL{Path: prefix}).EscapedPath()
	}
	if p.RawQuery != "" {
		res += "?" + p.RawQuery
	}
	if p.Fragment != "" {
		res += "#" + idPrefix + p.EscapedFragment()
	}
	return res
}
