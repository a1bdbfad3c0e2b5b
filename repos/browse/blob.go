package browse

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
)

// MaxRenderSize is the largest file a page shows: larger ones get a
// notice and a link to the raw file instead of their content, so that
// one page never highlights more than a megabyte.
const MaxRenderSize = 1 << 20

// Blob is a file as its page shows it.
type Blob struct {
	// Path is the file's path in the commit, Name its last segment.
	Path, Name string
	ID         plumbing.Hash
	Kind       Kind // KindFile, KindExec or KindSymlink
	Size       int64
	// Binary reports a NUL among the first 8000 bytes, as git decides
	// it; TooLarge a size above MaxRenderSize. Either way the page shows
	// a notice instead of the content, and Content is nil.
	Binary   bool
	TooLarge bool
	// Lines is the number of lines, the last one counted even without
	// its newline.
	Lines int
	// Content is the file, shared with the object cache: it must not be
	// modified.
	Content []byte
}

// Blob reads the file at path in commit. A file larger than
// MaxRenderSize is not read, only its size from the object's header.
//
// It returns ErrNotFound when the path does not exist and ErrNotBlob
// when it names a directory or a submodule.
func (r *Repo) Blob(commit plumbing.Hash, p string) (*Blob, error) {
	mode, id, err := r.lookup(commit, p)
	if err != nil {
		return nil, err
	}
	if !mode.IsBlob() {
		return nil, fmt.Errorf("browse: blob %s:%s: %w", ShortID(commit), p, ErrNotBlob)
	}
	b := &Blob{Path: p, Name: path.Base(p), ID: id, Kind: kindOf(mode)}
	_, b.Size, err = r.db.Header(id)
	if err != nil {
		return nil, objectErr("blob "+id.String(), err)
	}
	if b.Size > MaxRenderSize {
		b.TooLarge = true
		return b, nil
	}
	content, err := r.readBlob(id)
	if err != nil {
		return nil, err
	}
	if isBinary(content) {
		b.Binary = true
		return b, nil
	}
	b.Content = content
	b.Lines = countLines(content)
	return b, nil
}

// readBlob reads the content of the blob id.
func (r *Repo) readBlob(id plumbing.Hash) ([]byte, error) {
	t, content, err := r.db.Read(id)
	if err != nil {
		return nil, objectErr("blob "+id.String(), err)
	}
	if t != plumbing.BlobObject {
		return nil, fmt.Errorf("browse: %s is a %s, not a blob: %w", id, t, ErrNotBlob)
	}
	return content, nil
}

// isBinary reports whether b looks binary as git decides it
// (xdiff-interface.c, buffer_is_binary): a NUL among its first 8000
// bytes.
func isBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), firstFewBytes)], 0) >= 0
}

// firstFewBytes is git's FIRST_FEW_BYTES.
const firstFewBytes = 8000

// countLines counts lines as an editor numbers them: a final line
// without a newline counts.
func countLines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// Raw is a file's bytes for a /raw/ download.
type Raw struct {
	Size int64
	// ContentType is never one a browser renders as a page: text is
	// text/plain, raster images keep their type, everything else is
	// application/octet-stream (see ContentType).
	ContentType string
	// Content reads the file and must be closed, before the Repo is. A
	// blob stored whole is streamed from its pack or loose file, so that
	// a large download does not sit in memory; a delta is read into
	// memory first, and then Content is also an io.Seeker.
	Content io.ReadCloser
}

// Raw opens the file at path in commit for download, with the same
// errors as Blob.
func (r *Repo) Raw(commit plumbing.Hash, p string) (*Raw, error) {
	mode, id, err := r.lookup(commit, p)
	if err != nil {
		return nil, err
	}
	if !mode.IsBlob() {
		return nil, fmt.Errorf("browse: raw %s:%s: %w", ShortID(commit), p, ErrNotBlob)
	}
	rc, size, err := r.openBlob(id)
	if err != nil {
		return nil, err
	}
	head := make([]byte, min(size, firstFewBytes))
	if _, err := io.ReadFull(rc, head); err != nil {
		rc.Close()
		return nil, fmt.Errorf("browse: blob %s: %w", id, err)
	}
	content := rc
	if s, ok := rc.(*seekReader); ok {
		s.Seek(0, io.SeekStart)
	} else {
		content = &streamReader{io.MultiReader(bytes.NewReader(head), rc), rc}
	}
	return &Raw{Size: size, ContentType: ContentType(head), Content: content}, nil
}

// openBlob opens the blob id for reading: streamed when it is stored
// whole, in a pack or loose, and otherwise read into memory.
func (r *Repo) openBlob(id plumbing.Hash) (io.ReadCloser, int64, error) {
	if loc, ok := r.db.Locate(id); ok {
		if e, err := loc.Pack.Entry(loc.Offset); err == nil && e.Type == plumbing.BlobObject {
			z, err := loc.Pack.Reader(e)
			if err == nil {
				return &streamReader{io.LimitReader(z, e.Size), z}, e.Size, nil
			}
		}
	} else if rc, t, size, err := r.db.OpenLoose(id); err == nil {
		if t == plumbing.BlobObject {
			return rc, size, nil
		}
		rc.Close()
	}
	content, err := r.readBlob(id)
	if err != nil {
		return nil, 0, err
	}
	return &seekReader{bytes.NewReader(content)}, int64(len(content)), nil
}

// streamReader reads an object as it is inflated.
type streamReader struct {
	io.Reader
	c io.Closer
}

func (s *streamReader) Close() error { return s.c.Close() }

// seekReader is an object read into memory.
type seekReader struct{ *bytes.Reader }

func (*seekReader) Close() error { return nil }

// safeImages are the types, as http.DetectContentType names them, that a
// browser only ever decodes as pictures. SVG is not among them: it can
// carry script, so it goes out as text.
var safeImages = map[string]bool{
	"image/png":                true,
	"image/jpeg":               true,
	"image/gif":                true,
	"image/webp":               true,
	"image/bmp":                true,
	"image/x-icon":             true,
	"image/vnd.microsoft.icon": true,
}

// ContentType is the Content-Type for a repository file's raw bytes, b
// being the file or its first 8000 bytes (a rune cut at the end counts
// as valid UTF-8). A
// repository is written by its pushers, not by depot, so nothing is
// served as HTML, SVG, script or anything else a browser would run: text
// (no NUL in the first 8000 bytes) is "text/plain; charset=utf-8" when it
// is valid UTF-8 and "text/plain" otherwise, raster images keep their
// sniffed type so that READMEs can show them, and the rest is
// application/octet-stream. The handler still adds
// X-Content-Type-Options: nosniff and a restrictive CSP.
func ContentType(b []byte) string {
	sniffed, _, _ := strings.Cut(http.DetectContentType(b), ";")
	switch {
	case safeImages[sniffed]:
		return sniffed
	case isBinary(b):
		return "application/octet-stream"
	case validUTF8Prefix(b):
		return "text/plain; charset=utf-8"
	}
	return "text/plain"
}

// validUTF8Prefix reports whether b is valid UTF-8 but for a last rune
// that may be cut short.
func validUTF8Prefix(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	// A rune is at most 4 bytes: look for its start among the last 3.
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		if utf8.RuneStart(b[i]) {
			return !utf8.FullRune(b[i:]) && utf8.Valid(b[:i])
		}
	}
	return false
}
