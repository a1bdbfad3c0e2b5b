package browse

import (
	"html/template"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// readmeNames are the names a README goes by, in order of preference:
// Markdown first, as GitHub prefers it. Names match in any case.
var readmeNames = []string{
	"readme.md", "readme.markdown", "readme.mdown", "readme.mkdn", "readme.mkd",
	"readme", "readme.txt",
}

// Readme is a directory's README as its page shows it.
type Readme struct {
	// Name is the file's name as the tree spells it, Path its path.
	Name, Path string
	// HTML is the rendered document: Markdown rendered and sanitised,
	// any other README as preformatted text. It is "" when TooLarge.
	HTML     template.HTML
	TooLarge bool
}

// Readme finds the README of the directory dir ("" for the root) of
// commit and renders it, links rewritten to links' prefixes (links.Dir
// and links.IsDir are set here, as Markdown sets them). It returns nil and no error when the
// directory has none; a binary README counts as none.
func (r *Repo) Readme(commit plumbing.Hash, dir string, links Links) (*Readme, error) {
	entries, err := r.Tree(commit, dir)
	if err != nil {
		return nil, err
	}
	best, bestRank := -1, len(readmeNames)
	for i, e := range entries {
		if e.Kind != KindFile && e.Kind != KindExec {
			continue
		}
		for rank, name := range readmeNames[:bestRank] {
			if strings.EqualFold(e.Name, name) {
				best, bestRank = i, rank
				break
			}
		}
	}
	if best < 0 {
		return nil, nil
	}
	e := entries[best]
	rd := &Readme{Name: e.Name, Path: path.Join(dir, e.Name)}
	if e.Size > MaxRenderSize {
		rd.TooLarge = true
		return rd, nil
	}
	content, err := r.readBlob(e.ID)
	if err != nil {
		return nil, err
	}
	if isBinary(content) {
		return nil, nil
	}
	if !IsMarkdown(e.Name) {
		rd.HTML = template.HTML("<pre>" + template.HTMLEscapeString(string(content)) + "</pre>")
		return rd, nil
	}
	if rd.HTML, err = r.Markdown(commit, rd.Path, content, links); err != nil {
		return nil, err
	}
	return rd, nil
}

// IsMarkdown reports whether a file's name says it is Markdown, so that
// its page may show it rendered.
func IsMarkdown(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown", ".mdown", ".mkdn", ".mkd":
		return true
	}
	return false
}

// Markdown renders content, the Markdown file at path in commit, as
// RenderMarkdown does, its relative links resolved from the file's
// directory and leading to tree pages where they name a directory of
// commit.
func (r *Repo) Markdown(commit plumbing.Hash, p string, content []byte, links Links) (template.HTML, error) {
	info, err := r.db.CommitInfo(commit)
	if err != nil {
		return "", objectErr("commit "+commit.String(), err)
	}
	links.Dir = path.Dir(p)
	if links.Dir == "." {
		links.Dir = ""
	}
	links.IsDir = func(p string) bool {
		mode, _, err := r.lookupIn(info.Tree, p)
		return err == nil && mode.IsTree()
	}
	return RenderMarkdown(content, links), nil
}
