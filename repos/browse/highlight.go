package browse

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/go-git/go-git/v5/plumbing"
)

// HighlightLimit is the largest file that is highlighted. Chroma lexes
// with backtracking regular expressions at well under a megabyte per CPU
// second (BenchmarkBlobPage), so a larger file, up to MaxRenderSize, is
// shown as plain text in the same markup, which takes milliseconds; 32
// KiB keeps a first view of most source files within tens of
// milliseconds, and later views come from the cache.
const HighlightLimit = 32 << 10

// The highlighter writes CSS classes, not inline styles, so that the
// page's Content-Security-Policy can forbid inline styles and one
// stylesheet (Stylesheet) serves every file.
var (
	formatter = chromahtml.New(
		chromahtml.WithClasses(true),
		chromahtml.ClassPrefix(classPrefix),
		chromahtml.WithLineNumbers(true),
		chromahtml.LineNumbersInTable(true),
		chromahtml.WithLinkableLineNumbers(true, "L"),
		chromahtml.TabWidth(4),
	)
	style = styles.Get("github")
)

const classPrefix = "hl-"

// Stylesheet is the CSS of the classes that Highlight and Blob.HTML
// write, for the page's stylesheet.
var Stylesheet = func() string {
	var b strings.Builder
	if err := formatter.WriteCSS(&b, style); err != nil {
		panic(fmt.Sprintf("browse: highlighter stylesheet: %v", err))
	}
	return b.String()
}()

// Highlight renders content as HTML with line numbers (each linkable as
// #L<n>) and syntax highlighting chosen by the file's name; a name no
// lexer claims, or plain text's, gets Plain. Every byte of content is
// escaped.
// It costs a second or more of CPU a megabyte: pages call Blob.HTML,
// which applies HighlightLimit and caches.
func Highlight(name string, content []byte) (template.HTML, error) {
	lexer := lexers.Match(name)
	if lexer == nil || lexer.Config().Name == "plaintext" {
		// Chroma's formatter alone costs tens of milliseconds for a few
		// thousand lines: text has nothing for it to do.
		return Plain(content), nil
	}
	it, err := chroma.Coalesce(lexer).Tokenise(nil, string(content))
	if err != nil {
		return "", fmt.Errorf("browse: highlight %s: %w", name, err)
	}
	var b bytes.Buffer
	b.Grow(len(content) * 3)
	if err := formatter.Format(&b, style, it); err != nil {
		return "", fmt.Errorf("browse: highlight %s: %w", name, err)
	}
	return template.HTML(b.String()), nil
}

// Plain renders content as Highlight does, line numbers and all, without
// highlighting: the code column is the escaped text, without a span per
// line, which keeps a megabyte's page to a few megabytes of HTML.
func Plain(content []byte) template.HTML {
	const perLine = len(`<span class="hl-lnt" id="L"><a class="hl-lnlinks" href="#L"></a>` + "\n</span>")
	lines := countLines(content)
	digits := len(strconv.Itoa(lines))
	var b strings.Builder
	b.Grow(len(content) + len(content)/4 + lines*(perLine+3*digits) + 256)
	b.WriteString(`<div class="hl-chroma">` + "\n" + `<table class="hl-lntable"><tr><td class="hl-lntd">` + "\n" + `<pre class="hl-chroma">`)
	var num []byte
	for i := 1; i <= lines; i++ {
		num = strconv.AppendInt(num[:0], int64(i), 10)
		b.WriteString(`<span class="hl-lnt" id="L`)
		b.Write(num)
		b.WriteString(`"><a class="hl-lnlinks" href="#L`)
		b.Write(num)
		b.WriteString(`">`)
		b.Write(num)
		b.WriteString("</a>\n</span>")
	}
	b.WriteString("</pre></td>\n" + `<td class="hl-lntd">` + "\n" + `<pre class="hl-chroma"><code>`)
	template.HTMLEscape(&b, content)
	b.WriteString("</code></pre></td></tr></table>\n</div>\n")
	return template.HTML(b.String())
}

// HTML is the file's content for its page: highlighted up to
// HighlightLimit, plain text with line numbers above, and "" for a
// binary or too large file, whose page shows a notice instead. Results
// are cached by object id and name, as objects never change.
func (b *Blob) HTML() (template.HTML, error) {
	if b.Content == nil {
		return "", nil
	}
	if len(b.Content) > HighlightLimit {
		return Plain(b.Content), nil
	}
	key := htmlKey{b.ID, b.Name}
	if h, ok := rendered.get(key); ok {
		return h, nil
	}
	h, err := Highlight(b.Name, b.Content)
	if err != nil {
		return "", err
	}
	rendered.add(key, h)
	return h, nil
}

// htmlKey names one rendering: the lexer depends on the file's name.
type htmlKey struct {
	id   plumbing.Hash
	name string
}

// rendered caches highlighted files, up to 32 MiB of HTML, so that the
// second view of a file costs no lexing.
var rendered = newLRU[htmlKey, template.HTML](32<<20, func(h template.HTML) int { return len(h) })
