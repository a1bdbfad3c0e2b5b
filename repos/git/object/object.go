// Package object owns git's object format: object ids written in hex, and
// the content of commits, tags and trees, read as git itself reads them
// (parse_commit_buffer in commit.c, parse_tag_buffer in tag.c,
// decode_tree_entry in tree-walk.c). Every other package parses objects
// through it.
//
// The parsers take an object's content, without the "<type> <size>\0"
// header of gitformat-loose(5). The paths that walks take allocate
// nothing: ParseHex, ParseCommitInfo (into a CommitInfo whose parents have
// room), TagTarget, TreeIter, and Tree.Children and AppendLinks (into
// slices with room). The full parsers, ParseCommit and ParseTag, return
// strings a caller may keep.
package object

import (
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error about content that does not
// follow git's object format; the rest of the message names what is
// wrong.
var ErrMalformed = errors.New("object: malformed")

// malformed returns an error wrapping ErrMalformed: "object: malformed
// <kind>: <detail>".
func malformed(kind, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrMalformed, kind, fmt.Sprintf(format, args...))
}
