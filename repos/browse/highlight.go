package browse

import (
	"bytes"
	"container/list"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"sync"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/go-git/go-git/v5/plumbing"
)

// HighlightLimit is the largest file that is highlighted. Chroma lexes
// with backtracking regular expressions at about a megabyte per CPU
// second, so a larger file (up to MaxRenderSize) is shown as plain text
// in the same markup, which takes milliseconds.
const HighlightLimit = 64 << 10

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
// lexer claims is shown as plain text. Every byte of content is escaped.
// It costs about a second of CPU a megabyte: pages call Blob.HTML, which
// applies HighlightLimit and caches.
func Highlight(name string, content []byte) (template.HTML, error) {
	lexer := lexers.Match(name)
	if lexer == nil {
		lexer = lexers.Fallback
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
// highlighting: every line is text.
func Plain(content []byte) template.HTML {
	lines := countLines(content)
	var b strings.Builder
	b.Grow(len(content) + len(content)/8 + lines*110)
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
	for rest := content; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		b.WriteString(`<span class="hl-line"><span class="hl-cl">`)
		template.HTMLEscape(&b, line)
		b.WriteString("\n</span></span>")
	}
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

// rendered caches highlighted files, up to 16 MiB of HTML, so that the
// second view of a file costs no lexing.
var rendered = &htmlCache{max: 16 << 20, byKey: map[htmlKey]*list.Element{}, order: list.New()}

type htmlCache struct {
	mu    sync.Mutex
	max   int
	size  int
	byKey map[htmlKey]*list.Element
	order *list.List // of *htmlEntry, most recent first
}

type htmlEntry struct {
	key  htmlKey
	html template.HTML
}

func (c *htmlCache) get(k htmlKey) (template.HTML, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(el)
	return el.Value.(*htmlEntry).html, true
}

func (c *htmlCache) add(k htmlKey, h template.HTML) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok || len(h) > c.max {
		return
	}
	c.byKey[k] = c.order.PushFront(&htmlEntry{k, h})
	c.size += len(h)
	for c.size > c.max {
		old := c.order.Remove(c.order.Back()).(*htmlEntry)
		delete(c.byKey, old.key)
		c.size -= len(old.html)
	}
}
