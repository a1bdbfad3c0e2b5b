package object

import (
	"bytes"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Commit is a commit object, parsed in full.
type Commit struct {
	Tree    plumbing.Hash
	Parents []plumbing.Hash
	// Author and Committer are the first author and committer headers;
	// zero when the commit has none.
	Author    Signature
	Committer Signature
	// Encoding is the encoding header, the character set of the message;
	// "" when absent, which means UTF-8.
	Encoding string
	// Headers are the other headers, in order: gpgsig, mergetag and any
	// that git does not know.
	Headers []Header
	// Message is everything after the blank line that ends the headers,
	// as stored.
	Message string
}

// Header is one header of a commit beyond the standard ones. A value
// continued on following lines (each starting with a space, as gpgsig and
// mergetag are) has those lines joined with "\n", their space removed.
type Header struct {
	Key, Value string
}

// CommitInfo is the part of a commit that history walks need.
type CommitInfo struct {
	Tree    plumbing.Hash
	Parents []plumbing.Hash
	// Time is the committer time in seconds since the epoch, read as git
	// reads it for ordering (parse_commit_date): 0 when the author and
	// committer lines are not where git expects them.
	Time int64
}

// ParseCommit parses the content of a commit object. As git does, it
// requires the first line to name the tree and the parent lines to follow
// it directly; everything else is taken as it comes.
func ParseCommit(b []byte) (*Commit, error) {
	c := &Commit{}
	tree, rest, err := readTree(b)
	if err != nil {
		return nil, err
	}
	c.Tree = tree
	if c.Parents, rest, err = appendParents(nil, rest); err != nil {
		return nil, err
	}
	var haveAuthor, haveCommitter, haveEncoding bool
	for len(rest) > 0 {
		line, after := cutLine(rest)
		if len(line) == 0 {
			c.Message = string(after)
			break
		}
		// Continuation lines belong to the header above them.
		for len(after) > 0 && after[0] == ' ' {
			_, after = cutLine(after)
		}
		field := bytes.TrimSuffix(rest[:len(rest)-len(after)], []byte("\n"))
		rest = after
		key, val, _ := bytes.Cut(field, []byte(" "))
		switch string(key) {
		case "tree", "parent":
			// Out of place: git ignores them (standard_header_field).
		case "author":
			if !haveAuthor {
				c.Author, haveAuthor = parseSignature(val), true
			}
		case "committer":
			if !haveCommitter {
				c.Committer, haveCommitter = parseSignature(val), true
			}
		case "encoding":
			if !haveEncoding {
				c.Encoding, haveEncoding = string(val), true
			}
		default:
			c.Headers = append(c.Headers, Header{Key: string(key), Value: strings.ReplaceAll(string(val), "\n ", "\n")})
		}
	}
	return c, nil
}

// ParseCommitInfo parses the tree, parents and committer time of a
// commit into c without allocating: the parents are appended to
// c.Parents[:0], which grows only when too short. It validates what it
// reads as ParseCommit does and stops there.
func ParseCommitInfo(b []byte, c *CommitInfo) error {
	tree, rest, err := readTree(b)
	if err != nil {
		return err
	}
	parents, rest, err := appendParents(c.Parents[:0], rest)
	if err != nil {
		return err
	}
	c.Tree, c.Parents, c.Time = tree, parents, commitTime(rest)
	return nil
}

// readTree reads the "tree <id>" line that starts every commit and
// returns the id and what follows the line. Like git, it refuses a
// commit that ends there.
func readTree(b []byte) (plumbing.Hash, []byte, error) {
	const n = len("tree ") + HexSize
	if len(b) <= n+1 || !bytes.HasPrefix(b, []byte("tree ")) || b[n] != '\n' {
		return plumbing.ZeroHash, nil, malformed("commit", "no tree line")
	}
	h, ok := ParseHex(b[len("tree "):n])
	if !ok {
		return plumbing.ZeroHash, nil, malformed("commit", "bad tree id")
	}
	return h, b[n+1:], nil
}

// appendParents appends the ids of the "parent <id>" lines at the start of
// b to dst and returns what follows them.
func appendParents(dst []plumbing.Hash, b []byte) ([]plumbing.Hash, []byte, error) {
	const n = len("parent ") + HexSize
	for i := 1; bytes.HasPrefix(b, []byte("parent ")); i++ {
		if len(b) <= n+1 || b[n] != '\n' {
			return dst, nil, malformed("commit", "bad parent line %d", i)
		}
		h, ok := ParseHex(b[len("parent "):n])
		if !ok {
			return dst, nil, malformed("commit", "bad parent line %d", i)
		}
		dst = append(dst, h)
		b = b[n+1:]
	}
	return dst, b, nil
}

// commitTime reads the committer time from b, the rest of a commit after
// its parent lines, as git's parse_commit_date does: the author line must
// come first and the committer line next; the time follows the last '>'
// of the committer line.
func commitTime(b []byte) int64 {
	if len(b) <= len("author") || !bytes.HasPrefix(b, []byte("author")) {
		return 0
	}
	_, b = cutLine(b)
	if len(b) <= len("committer") || !bytes.HasPrefix(b, []byte("committer")) {
		return 0
	}
	line, _ := cutLine(b)
	gt := bytes.LastIndexByte(line, '>')
	if gt < 0 {
		return 0
	}
	t, _, ok := parseTimestamp(skipSpace(line[gt+1:]))
	if !ok {
		return 0
	}
	return t
}

// cutLine returns the first line of b without its newline, and what
// follows the newline (nil when there is none).
func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}
