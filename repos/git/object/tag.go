package object

import (
	"bytes"

	"github.com/go-git/go-git/v5/plumbing"
)

// Tag is an annotated tag object, parsed.
type Tag struct {
	// Object and Type are what the tag points at, as the tag says.
	Object plumbing.Hash
	Type   plumbing.ObjectType
	// Name is the tag header, the tag's name when it was made.
	Name string
	// Tagger is zero for the old tags that have no tagger line.
	Tagger Signature
	// Message is everything after the blank line that ends the headers,
	// up to the signature; Signature is the rest, "" for a tag that is
	// not signed (gitformat-signature(5)). Message + Signature is the
	// stored text.
	Message   string
	Signature string
}

// ParseTag parses the content of a tag object. As git's parse_tag_buffer
// does, it requires the object, type and tag lines, in that order.
func ParseTag(b []byte) (*Tag, error) {
	obj, typ, name, rest, err := readTagHead(b)
	if err != nil {
		return nil, err
	}
	t := &Tag{Object: obj, Type: typ, Name: string(name)}
	haveTagger := false
	for len(rest) > 0 {
		line, after := cutLine(rest)
		rest = after
		if len(line) == 0 {
			msg, sig := splitSignature(after)
			t.Message, t.Signature = string(msg), string(sig)
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("tagger ")); ok && !haveTagger {
			t.Tagger, haveTagger = parseSignature(v), true
		}
	}
	return t, nil
}

// TagTarget returns the object a tag points at and its type as the tag
// says, validating the tag's header as ParseTag does, without allocating.
func TagTarget(b []byte) (plumbing.Hash, plumbing.ObjectType, error) {
	obj, typ, _, _, err := readTagHead(b)
	return obj, typ, err
}

// readTagHead reads the object, type and tag lines of a tag and returns
// them and what follows.
func readTagHead(b []byte) (obj plumbing.Hash, typ plumbing.ObjectType, name, rest []byte, err error) {
	const n = len("object ") + HexSize
	if len(b) < HexSize+24 {
		return obj, typ, nil, nil, malformed("tag", "too short")
	}
	if !bytes.HasPrefix(b, []byte("object ")) || b[n] != '\n' {
		return obj, typ, nil, nil, malformed("tag", "no object line")
	}
	obj, ok := ParseHex(b[len("object "):n])
	if !ok {
		return obj, typ, nil, nil, malformed("tag", "bad object id")
	}
	line, rest := cutLine(b[n+1:])
	v, ok := bytes.CutPrefix(line, []byte("type "))
	if !ok || rest == nil {
		return obj, typ, nil, nil, malformed("tag", "no type line")
	}
	if typ = objectType(v); typ == plumbing.InvalidObject {
		return obj, typ, nil, nil, malformed("tag", "unknown type %q", v)
	}
	line, rest = cutLine(rest)
	name, ok = bytes.CutPrefix(line, []byte("tag "))
	if !ok || rest == nil {
		return obj, typ, nil, nil, malformed("tag", "no tag line")
	}
	return obj, typ, name, rest, nil
}

// objectType returns the type a tag's type line names, or InvalidObject.
func objectType(name []byte) plumbing.ObjectType {
	switch string(name) {
	case "commit":
		return plumbing.CommitObject
	case "tree":
		return plumbing.TreeObject
	case "blob":
		return plumbing.BlobObject
	case "tag":
		return plumbing.TagObject
	}
	return plumbing.InvalidObject
}

// signatureStarts are the lines that open a signature block, as git's
// gpg-interface.c lists them for OpenPGP, X.509 and SSH.
var signatureStarts = [][]byte{
	[]byte("-----BEGIN PGP SIGNATURE-----"),
	[]byte("-----BEGIN PGP MESSAGE-----"),
	[]byte("-----BEGIN SIGNED MESSAGE-----"),
	[]byte("-----BEGIN SSH SIGNATURE-----"),
}

// splitSignature splits a tag's message at the last line that opens a
// signature block, as git's parse_signed_buffer does.
func splitSignature(b []byte) (msg, sig []byte) {
	at := len(b)
	for off := 0; off < len(b); {
		for _, s := range signatureStarts {
			if bytes.HasPrefix(b[off:], s) {
				at = off
				break
			}
		}
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	return b[:at], b[at:]
}
