// Package gitconfig reads git's configuration files as git-config(1)
// describes them ("CONFIGURATION FILE"): sections and subsections, the
// deprecated [section.subsection] form, quoting and escapes, line
// continuations, comments and multi-valued variables, so that depot honours
// what an administrator wrote in a repository's config the way git would.
// It only reads, and it does not follow include directives.
package gitconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// MaxFileSize bounds the configuration file ReadFile accepts; git's own
// are a few hundred bytes.
const MaxFileSize = 1 << 20

// ErrNoValue is returned, wrapped, for a variable written without "="
// (git's shorthand for true) when a value was needed.
var ErrNoValue = errors.New("gitconfig: missing value")

// Config is a parsed configuration file: its variables in file order.
type Config struct {
	vars []variable
}

type variable struct {
	key      string // section.subsection.name, canonical: see canonicalKey
	value    string
	hasValue bool
}

// SyntaxError reports where a file stops being valid configuration.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("gitconfig: line %d: %s", e.Line, e.Msg)
}

// ReadFile parses the configuration file at path. A missing file is an
// empty configuration, as it is to git.
func ReadFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gitconfig: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("gitconfig: read %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("gitconfig: %s is larger than %d bytes", path, MaxFileSize)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return c, nil
}

// All returns every value of the keys ("section.name" or
// "section.subsection.name"; section and name in any case, the subsection
// exactly) in file order, several keys interleaved as the file has them.
// A variable written without a value makes it fail with ErrNoValue, as
// git's readers of valued variables do.
func (c *Config) All(keys ...string) ([]string, error) {
	canon := make([]string, len(keys))
	for i, k := range keys {
		canon[i] = canonicalKey(k)
	}
	var out []string
	for _, v := range c.vars {
		if !slices.Contains(canon, v.key) {
			continue
		}
		if !v.hasValue {
			return nil, fmt.Errorf("%w for %s", ErrNoValue, v.key)
		}
		out = append(out, v.value)
	}
	return out, nil
}

// canonicalKey lowers the section and the variable name of key and keeps
// the subsection between them as it is, git's comparison rule.
func canonicalKey(key string) string {
	first, last := strings.IndexByte(key, '.'), strings.LastIndexByte(key, '.')
	if first < 0 {
		return strings.ToLower(key)
	}
	return strings.ToLower(key[:first]) + key[first:last] + strings.ToLower(key[last:])
}

// Parse parses the contents of a configuration file.
func Parse(b []byte) (*Config, error) {
	p := &parser{src: bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), line: 1}
	c := &Config{}
	section := "" // canonical "section" or "section.subsection"
	for {
		ch, ok := p.next()
		switch {
		case !ok:
			return c, nil
		case ch == '\n' || isSpace(ch):
		case ch == '#' || ch == ';':
			p.skipLine()
		case ch == '[':
			s, err := p.header()
			if err != nil {
				return nil, err
			}
			section = s
		case isAlpha(ch):
			v, err := p.variable(ch)
			if err != nil {
				return nil, err
			}
			if section != "" {
				// git reads a variable before any section too, under no
				// section: no key of ours names it.
				v.key = section + "." + v.key
			}
			c.vars = append(c.vars, v)
		default:
			return nil, p.errorf("unexpected character %q", ch)
		}
	}
}

// parser walks the file byte by byte; CRLF reads as LF, as in git.
type parser struct {
	src  []byte
	pos  int
	line int
}

func (p *parser) next() (byte, bool) {
	if p.pos >= len(p.src) {
		return 0, false
	}
	c := p.src[p.pos]
	p.pos++
	if c == '\r' && p.pos < len(p.src) && p.src[p.pos] == '\n' {
		c = '\n'
		p.pos++
	}
	if c == '\n' {
		p.line++
	}
	return c, true
}

func (p *parser) peek() (byte, bool) {
	if p.pos >= len(p.src) {
		return 0, false
	}
	return p.src[p.pos], true
}

func (p *parser) skipLine() {
	for {
		if c, ok := p.next(); !ok || c == '\n' {
			return
		}
	}
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// header reads a section header after its '[': "[name]", "[name
// "subsection"]" or the deprecated "[name.subsection]", whose subsection
// git lowers.
func (p *parser) header() (string, error) {
	var name []byte
	for {
		c, ok := p.next()
		switch {
		case !ok || c == '\n':
			return "", p.errorf("unterminated section header")
		case c == ']':
			if len(name) == 0 {
				return "", p.errorf("empty section name")
			}
			return strings.ToLower(string(name)), nil
		case isSpace(c):
			return p.subsection(strings.ToLower(string(name)))
		case isAlnum(c) || c == '-' || c == '.':
			name = append(name, c)
		default:
			return "", p.errorf("invalid character %q in section name", c)
		}
	}
}

// subsection reads ` "subsection"]` after a section name and a space.
func (p *parser) subsection(section string) (string, error) {
	if section == "" {
		return "", p.errorf("empty section name")
	}
	c, ok := p.next()
	for ok && isSpace(c) {
		c, ok = p.next()
	}
	if c != '"' {
		return "", p.errorf("expected a quoted subsection name")
	}
	var sub []byte
	for {
		c, ok := p.next()
		switch {
		case !ok || c == '\n':
			return "", p.errorf("unterminated subsection name")
		case c == '"':
			if c, _ := p.next(); c != ']' {
				return "", p.errorf("expected ] after subsection name")
			}
			return section + "." + string(sub), nil
		case c == '\\':
			// Any escaped character stands for itself here.
			e, ok := p.next()
			if !ok || e == '\n' {
				return "", p.errorf("unterminated subsection name")
			}
			sub = append(sub, e)
		default:
			sub = append(sub, c)
		}
	}
}

// variable reads a variable whose name starts with first, and its value.
func (p *parser) variable(first byte) (variable, error) {
	name := []byte{first}
	for {
		c, ok := p.peek()
		if !ok || !(isAlnum(c) || c == '-') {
			break
		}
		p.next()
		name = append(name, c)
	}
	v := variable{key: strings.ToLower(string(name))}
	for {
		// Only blanks may follow the name, then "=" or the end of the line.
		c, ok := p.next()
		switch {
		case !ok || c == '\n':
			return v, nil
		case c == ' ' || c == '\t':
		case c == '=':
			val, err := p.value()
			v.value, v.hasValue = val, true
			return v, err
		default:
			return v, p.errorf("invalid character %q after variable %s", c, name)
		}
	}
}

// value reads a value up to the end of its line, as git's parse_value
// does: outside quotes a comment ends it and each run of white space
// becomes one space per character, dropped at either end; escapes are \n,
// \t, \b, \\ and \"; a backslash before a newline continues the line.
func (p *parser) value() (string, error) {
	var b []byte
	quoted, spaces := false, 0
	for {
		c, ok := p.next()
		if !ok || c == '\n' {
			if quoted {
				return "", p.errorf("unterminated quoted value")
			}
			return string(b), nil
		}
		if !quoted && (c == '#' || c == ';') {
			p.skipLine()
			return string(b), nil
		}
		if !quoted && isSpace(c) {
			if len(b) > 0 {
				spaces++
			}
			continue
		}
		for ; spaces > 0; spaces-- {
			b = append(b, ' ')
		}
		switch c {
		case '"':
			quoted = !quoted
		case '\\':
			e, ok := p.next()
			switch {
			case !ok || e == '\n':
				// git reads the end of the file as a newline.
			case e == 'n':
				b = append(b, '\n')
			case e == 't':
				b = append(b, '\t')
			case e == 'b':
				b = append(b, '\b')
			case e == '\\' || e == '"':
				b = append(b, e)
			default:
				return "", p.errorf("bad escape \\%c in value", e)
			}
		default:
			b = append(b, c)
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || '0' <= c && c <= '9' }
