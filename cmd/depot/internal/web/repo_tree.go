package web

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/browse"
)

// treeData is the repository's page and its tree pages: the listing of
// a directory and its README; on the repository's page also the clone
// URL, and for an empty repository how to push to it.
type treeData struct {
	*repoView
	Home    bool // the repository's own page
	Clone   string
	Empty   bool
	CanPush bool
	Branch  string // the branch an empty repository's first push makes
	Entries []entryRow
	Listing template.HTML // the rows of Entries (listingHTML)
	Readme  *browse.Readme
	Last    *lastCommit
	Up      string // the parent directory's page, "" at the root
}

// entryRow is one line of a listing, its link made once in Go.
type entryRow struct {
	Name, URL, Kind, Size string
}

// lastCommit is the newest commit of the listed ref, as the head of the
// listing shows it.
type lastCommit struct {
	Short, URL, Subject, Author, When string
}

// repoHome is /OWNER/NAME: the default branch's root, or push
// instructions while the repository has no branch.
func (s *Server) repoHome(w http.ResponseWriter, r *http.Request) error {
	rq, err := s.openRepo(w, r)
	if rq == nil {
		return err
	}
	defer rq.close()
	d := &treeData{repoView: rq.view(r, "code"), Home: true, Clone: cloneBase(r) + rq.repo.FullName() + ".git"}
	refs, err := rq.br.Refs()
	if err != nil {
		return err
	}
	ref := refs.Default
	if !contains(refs.Branches(), ref) && len(refs.Branches()) > 0 {
		// HEAD names a branch nobody pushed: show one that exists.
		ref = refs.Branches()[0]
	}
	if !contains(refs.Branches(), ref) {
		return s.emptyRepo(w, r, rq, d, refs)
	}
	loc, err := rq.br.Resolve(ref)
	if err != nil {
		return browseErr(err)
	}
	return s.renderTree(w, r, rq, d, loc)
}

// listingHTML writes the table rows of a listing. A directory may hold
// thousands of entries, and html/template's escapers cost a microsecond
// or more an action, milliseconds a page (BenchmarkTreePage): so the rows
// are written here, each value escaped, each URL one that pathURL made
// from a path of this site.
func listingHTML(rows []entryRow) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 160)
	for _, e := range rows {
		b.WriteString(`<tr><td class="icon `)
		b.WriteString(e.Kind) // a browse.Kind's name: letters only
		b.WriteString(`"></td><td>`)
		if e.URL != "" {
			b.WriteString(`<a href="`)
			template.HTMLEscape(&b, []byte(e.URL))
			b.WriteString(`">`)
		}
		template.HTMLEscape(&b, []byte(e.Name))
		if e.URL != "" {
			b.WriteString(`</a>`)
		}
		b.WriteString(`</td><td class="size">`)
		template.HTMLEscape(&b, []byte(e.Size))
		b.WriteString("</td></tr>\n")
	}
	return template.HTML(b.String())
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// emptyRepo shows how to make the first push; only to those who may push.
func (s *Server) emptyRepo(w http.ResponseWriter, r *http.Request, rq *repoReq, d *treeData, refs *browse.Refs) error {
	d.Empty = true
	d.Branch = refs.Default
	if d.Branch == "" {
		d.Branch = repos.DefaultBranch
	}
	_, err := s.policy.Open(r.Context(), auth.FromContext(r.Context()), rq.repo.Owner, rq.repo.Name, repos.Write)
	var denied *repos.DeniedError
	switch {
	case err == nil:
		d.CanPush = true
	case !errors.As(err, &denied):
		return err
	}
	p := newPage(r, "", "repo", d)
	p.Title = rq.repo.FullName()
	return s.render(w, http.StatusOK, "repo_tree", p)
}

// treePage is /OWNER/NAME/tree/REF/PATH; a path that names a file leads
// to its blob page.
func (s *Server) treePage(w http.ResponseWriter, r *http.Request) error {
	rq, loc, err := s.openAt(w, r)
	if rq == nil {
		return err
	}
	defer rq.close()
	return s.renderTree(w, r, rq, &treeData{repoView: rq.view(r, "code")}, loc)
}

func (s *Server) renderTree(w http.ResponseWriter, r *http.Request, rq *repoReq, d *treeData, loc browse.Location) error {
	entries, err := rq.br.Tree(loc.Commit, loc.Path)
	if errors.Is(err, browse.ErrNotTree) {
		http.Redirect(w, r, rq.link("blob", loc.Ref, loc.Path), http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return browseErr(err)
	}
	if err := d.at(rq, loc, "tree"); err != nil {
		return err
	}
	d.Entries = make([]entryRow, len(entries))
	for i, e := range entries {
		row := entryRow{Name: e.Name, Kind: e.Kind.String(), Size: humanSize(e.Size)}
		p := e.Name
		if loc.Path != "" {
			p = loc.Path + "/" + e.Name
		}
		switch e.Kind {
		case browse.KindDir:
			row.URL = rq.link("tree", loc.Ref, p)
		case browse.KindSubmodule:
			row.Size = browse.ShortID(e.ID) // another repository's commit: nothing to open here
		default:
			row.URL = rq.link("blob", loc.Ref, p)
		}
		d.Entries[i] = row
	}
	d.Listing = listingHTML(d.Entries)
	if loc.Path != "" {
		up := ""
		if i := strings.LastIndexByte(loc.Path, '/'); i >= 0 {
			up = loc.Path[:i]
		}
		d.Up = rq.link("tree", loc.Ref, up)
	}
	page, err := rq.br.History(loc.Commit, loc.Path, 0, 1)
	if err != nil {
		return err
	}
	if len(page.Commits) > 0 {
		c := page.Commits[0]
		d.Last = &lastCommit{Short: c.Short, URL: pathURL(rq.base + "/commit/" + c.ID.String()),
			Subject: c.Subject, Author: c.Author.Name, When: formatTime(c.Author.When)}
	}
	d.Readme, err = rq.br.Readme(loc.Commit, loc.Path, browse.Links{
		Tree: rq.base + "/tree/" + loc.Ref, Blob: rq.base + "/blob/" + loc.Ref, Raw: rq.base + "/raw/" + loc.Ref,
	})
	if err != nil {
		return err
	}
	p := newPage(r, "", "repo", d)
	p.Title = rq.repo.FullName()
	if loc.Path != "" {
		p.Title = loc.Path + " · " + p.Title
	}
	return s.render(w, http.StatusOK, "repo_tree", p)
}
