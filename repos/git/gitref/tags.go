package gitref

import (
	"fmt"
	"math"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Tag is one ref under refs/tags/.
type Tag struct {
	// Name is the short name, "v1.0" for refs/tags/v1.0.
	Name string
	// Commit is the object the tag finally points at once every annotated
	// tag on the way is peeled: a commit, but for odd tags of a tree or a
	// blob.
	Commit string
	// Object is what the ref holds: the tag object of an annotated tag,
	// else the same as Commit.
	Object string
	// Annotated reports whether the ref points at a tag object.
	Annotated bool
	// Message is the annotated tag's message without its trailing
	// newlines; "" for a lightweight tag.
	Message string
}

const tagsPrefix = "refs/tags/"

// Tags returns the tags of the repository, loose and packed, sorted by
// name, with annotated tags (nested ones too) peeled.
func Tags(dir string) ([]Tag, error) {
	list, _, err := TagPage(dir, 0, math.MaxInt)
	return list, err
}

// TagPage returns at most limit tags, sorted by name, from the offset-th
// on, and how many tags there are. Only the page's tags are read from
// the object store (to peel them and take an annotated tag's message).
func TagPage(dir string, offset, limit int) ([]Tag, int, error) {
	s, err := readSnapshot(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("gitref: tags: %w", err)
	}
	var page []Ref
	n := 0
	for _, r := range s.Prefix(tagsPrefix) {
		if r.Target != "" {
			continue
		}
		if n >= offset && len(page) < limit {
			page = append(page, r)
		}
		n++
	}
	out := make([]Tag, 0, len(page))
	if len(page) == 0 {
		return out, n, nil
	}
	o, err := openObjects(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("gitref: tags: %w", err)
	}
	defer o.close()
	for _, r := range page {
		short := r.Name[len(tagsPrefix):]
		t, err := o.tag(short, r.Hash)
		if err != nil {
			return nil, 0, fmt.Errorf("gitref: tag %s: %w", short, err)
		}
		out = append(out, t)
	}
	return out, n, nil
}

// tag describes the tag ref name, which holds h.
func (o *objects) tag(name string, h plumbing.Hash) (Tag, error) {
	t := Tag{Name: name, Commit: h.String(), Object: h.String()}
	typ, err := o.db.Type(h)
	if err != nil {
		return t, objectErr(h, err)
	}
	if typ != plumbing.TagObject {
		return t, nil
	}
	at, err := o.db.Tag(h)
	if err != nil {
		return Tag{}, objectErr(h, err)
	}
	target, _, err := o.peel(h)
	if err != nil {
		return Tag{}, err
	}
	t.Annotated = true
	t.Commit = target.String()
	t.Message = strings.TrimRight(at.Message, "\n")
	return t, nil
}
