package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/depot/depot/repos/browse"
)

// historyPageSize is the number of commits a history page shows.
const historyPageSize = 50

// commitsData is a page of history, of the whole tree or of a path.
type commitsData struct {
	*repoView
	Path     string
	Commits  []commitRow
	NewerURL string
	OlderURL string
}

type commitRow struct {
	Short, URL, TreeURL, Subject, Author, When string
}

// commitsPage is /OWNER/NAME/commits/REF/PATH?after=N: history as git
// log shows it, historyPageSize commits a page; after skips the newer
// ones (browse.HistoryPage.Next says why a page is not named by a
// commit). /OWNER/NAME/commits/ alone is the default branch's.
func (s *Server) commitsPage(w http.ResponseWriter, r *http.Request) error {
	rq, loc, err := s.openAt(w, r)
	if rq == nil {
		return err
	}
	defer rq.close()
	skip := 0
	if a := r.URL.Query().Get("after"); a != "" {
		if skip, err = strconv.Atoi(a); err != nil || skip < 0 || skip > 1<<30 {
			return notFound
		}
	}
	page, err := rq.br.History(loc.Commit, loc.Path, skip, historyPageSize)
	if err != nil {
		return browseErr(err)
	}
	d := &commitsData{repoView: rq.view(r, "commits"), Path: loc.Path}
	if err := d.at(rq, loc, "commits"); err != nil {
		return err
	}
	for _, c := range page.Commits {
		id := c.ID.String()
		d.Commits = append(d.Commits, commitRow{Short: c.Short, Subject: c.Subject, Author: c.Author.Name,
			When: formatTime(c.Author.When), URL: pathURL(rq.base + "/commit/" + id), TreeURL: rq.link("tree", id, "")})
	}
	self := rq.link("commits", loc.Ref, loc.Path)
	if page.Next > 0 {
		d.OlderURL = self + "?after=" + strconv.Itoa(page.Next)
	}
	if skip > 0 {
		d.NewerURL = self
		if newer := skip - historyPageSize; newer > 0 {
			d.NewerURL += "?after=" + strconv.Itoa(newer)
		}
	}
	p := newPage(r, "", "repo", d)
	p.Title = p.T("repo.commits") + " · " + rq.repo.FullName()
	return s.render(w, http.StatusOK, "repo_commits", p)
}

// commitData is one commit and its diff.
type commitData struct {
	*repoView
	C          *browse.CommitDiff
	Body       string // the message after its subject
	Author     string
	When       string
	Committer  string // when someone else committed it
	Parents    []crumb
	TreeURL    string
	Files      []fileRow
	Adds, Dels int
}

// fileRow is one changed file, with its anchor and its blob at the
// commit (or before it, for a deleted file).
type fileRow struct {
	*browse.FileDiff
	Anchor string
	URL    string
}

// commitPage is /OWNER/NAME/commit/SHA: a commit that some branch or tag
// reaches (browse.Resolve), diffed against its first parent.
func (s *Server) commitPage(w http.ResponseWriter, r *http.Request) error {
	rq, err := s.openRepo(w, r)
	if rq == nil {
		return err
	}
	defer rq.close()
	loc, err := rq.br.Resolve(mux.Vars(r)["sha"])
	if err != nil {
		return browseErr(err)
	}
	cd, err := rq.br.Commit(loc.Commit)
	if err != nil {
		return browseErr(err)
	}
	id := cd.ID.String()
	d := &commitData{repoView: rq.view(r, "commits"), C: cd, Author: cd.Author.Name, When: formatTime(cd.Author.When),
		TreeURL: rq.link("tree", id, "")}
	d.CommitsURL = rq.link("commits", id, "")
	if _, body, ok := strings.Cut(strings.TrimLeft(cd.Message, "\n"), "\n\n"); ok {
		d.Body = strings.TrimSpace(body)
	}
	if cd.Committer.Name != cd.Author.Name || cd.Committer.Email != cd.Author.Email {
		d.Committer = cd.Committer.Name
	}
	for _, p := range cd.Parents {
		d.Parents = append(d.Parents, crumb{Name: browse.ShortID(p), URL: pathURL(rq.base + "/commit/" + p.String())})
	}
	parent := ""
	if len(cd.Parents) > 0 {
		parent = cd.Parents[0].String()
	}
	for i := range cd.Files {
		f := &cd.Files[i]
		row := fileRow{FileDiff: f, Anchor: "diff-" + strconv.Itoa(i), URL: rq.link("blob", id, f.Path)}
		if f.Status == browse.Deleted {
			row.URL = rq.link("blob", parent, f.Path)
		}
		if f.Adds > 0 {
			d.Adds += f.Adds
		}
		if f.Dels > 0 {
			d.Dels += f.Dels
		}
		d.Files = append(d.Files, row)
	}
	p := newPage(r, "", "repo", d)
	p.Title = cd.Subject + " · " + cd.Short + " · " + rq.repo.FullName()
	return s.render(w, http.StatusOK, "repo_commit", p)
}
