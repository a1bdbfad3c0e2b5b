package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/browse"
)

// The repository browser: /OWNER/NAME and its tree, blob, raw, commits
// and commit pages. Who may read a repository is repos.Policy.Open's
// decision, exactly as for git and the API; a repository the visitor may
// not read is the same 404 page as a missing one. Objects are read only
// through repos/browse, whose HTML is built or sanitised there.

// registerRepoPages adds the browser's routes to pages, after every
// fixed path. They never take a first segment that the server keeps for
// itself (input.Reserved: /api/current_user, /static/style.css, …), and
// their third segments (tree, blob, raw, commits, commit) are not git's
// (info, git-upload-pack, git-receive-pack, HEAD, objects), so git
// clients reach githttp whatever the order of the surfaces.
func (s *Server) registerRepoPages(pages *mux.Router) {
	const repo = "/{owner}/{repo}"
	for _, rt := range []struct {
		path    string
		h       handler
		methods []string
	}{
		{repo, s.repoHome, nil},
		{repo + "/{kind:tree|blob|commits}", s.switchRef, nil},
		{repo + "/tree/{rest:.*}", s.treePage, nil},
		{repo + "/blob/{rest:.+}", s.blobPage, nil},
		{repo + "/raw/{rest:.+}", s.rawFile, []string{http.MethodGet, http.MethodHead}},
		{repo + "/commits/{rest:.*}", s.commitsPage, nil},
		{repo + "/commit/{sha}", s.commitPage, nil},
	} {
		methods := rt.methods
		if methods == nil {
			methods = []string{http.MethodGet}
		}
		pages.Handle(rt.path, s.serve(rt.h)).Methods(methods...).MatcherFunc(notReserved)
	}
}

// notReserved matches a path whose first segment may be a namespace.
func notReserved(r *http.Request, _ *mux.RouteMatch) bool {
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return !input.Reserved(first)
}

// repoReq is one repository opened for one page.
type repoReq struct {
	repo *repos.Repo
	info *repos.Info
	br   *browse.Repo
	base string // "/OWNER/NAME", canonical, unescaped
}

func (rq *repoReq) close() { rq.br.Close() }

// openAt is openRepo for the pages under /OWNER/NAME/KIND/REF/PATH: it
// also resolves REF/PATH in the repository. As openRepo, it returns a nil
// *repoReq when it answered or failed; otherwise the caller closes it.
func (s *Server) openAt(w http.ResponseWriter, r *http.Request) (*repoReq, browse.Location, error) {
	rq, err := s.openRepo(w, r)
	if rq == nil {
		return nil, browse.Location{}, err
	}
	loc, err := rq.br.Resolve(mux.Vars(r)["rest"])
	if err != nil {
		rq.close()
		return nil, browse.Location{}, browseErr(err)
	}
	return rq, loc, nil
}

// openRepo opens the repository of the request for reading, or answers:
// a 404 for one that is missing or hidden from the visitor, a redirect
// from OWNER/NAME.git (a clone URL pasted into the browser) or from
// another letter case to the canonical URL. It returns nil when it
// answered or failed; the caller returns the error.
func (s *Server) openRepo(w http.ResponseWriter, r *http.Request) (*repoReq, error) {
	vars := mux.Vars(r)
	owner, name := vars["owner"], vars["repo"]
	trimmed := strings.TrimSuffix(name, ".git")
	id := auth.FromContext(r.Context())
	repo, err := s.policy.Open(r.Context(), id, owner, trimmed, repos.Read)
	var denied *repos.DeniedError
	switch {
	case errors.Is(err, input.ErrInvalid), errors.Is(err, repos.ErrNotFound), errors.As(err, &denied):
		return nil, notFound
	case err != nil:
		return nil, fmt.Errorf("open %s/%s: %w", owner, trimmed, err)
	}
	if repo.Owner != owner || repo.Name != name {
		// Everything after /OWNER/NAME stays as it was asked.
		rest := ""
		if parts := strings.SplitN(r.URL.EscapedPath(), "/", 4); len(parts) == 4 {
			rest = "/" + parts[3]
		}
		u := url.URL{Path: "/" + repo.Owner + "/" + repo.Name, RawQuery: r.URL.RawQuery}
		http.Redirect(w, r, u.EscapedPath()+rest+query(u.RawQuery), http.StatusMovedPermanently)
		return nil, nil
	}
	info, err := s.projects.RepoInfo(r.Context(), repo.Owner, repo.Name)
	if err != nil {
		return nil, fmt.Errorf("record of %s: %w", repo.FullName(), err)
	}
	br, err := browse.Open(repo.Path)
	if err != nil {
		return nil, err
	}
	return &repoReq{repo: repo, info: info, br: br, base: "/" + repo.Owner + "/" + repo.Name}, nil
}

func query(raw string) string {
	if raw == "" {
		return ""
	}
	return "?" + raw
}

// browseErr turns what browse reports of a URL into the page's answer:
// a ref, path or object that is not there is a 404, an argument out of
// range a 400.
func browseErr(err error) error {
	switch {
	case errors.Is(err, browse.ErrNotFound):
		return notFound
	case errors.Is(err, browse.ErrInvalid):
		return apierr.Wrap(apierr.Invalid, err, "out of range")
	}
	return err
}

// pathURL escapes p, an unescaped path of this site, for a link: a ref
// or a file name may hold '#', '?', '%' or spaces.
func pathURL(p string) string { return (&url.URL{Path: p}).EscapedPath() }

// link is the URL of a kind of page (tree, blob, raw, commits) at ref
// and path p.
func (rq *repoReq) link(kind, ref, p string) string {
	s := rq.base + "/" + kind + "/" + ref
	if p != "" {
		s += "/" + p
	}
	return pathURL(s)
}

// switcherMax bounds the branches, and the tags, that the switcher
// lists: a repository with thousands of refs would otherwise send them
// all on every page. The switcher's field reaches the others by name.
const switcherMax = 50

// repoView is what every repository page shows above its content: the
// name and badges, the tabs, the branch and tag switcher and the path's
// breadcrumbs.
type repoView struct {
	Owner, Name, Base string
	Description       string
	Public            bool
	Default           string
	Tab               string // "code" or "commits"
	CodeURL           string
	CommitsURL        string

	// The switcher: the ref the page shows and where other refs lead.
	Ref      string
	RefKind  string        // "branch", "tag" or "commit"
	RefLabel string        // the ref, or a commit's short id
	Branches template.HTML // the switcher's links, at most switcherMax
	Tags     template.HTML
	// DefaultLabel is the badge of the default branch, in the visitor's
	// language.
	DefaultLabel string
	MoreRefs     int    // refs the lists leave out
	SwitchKind   string // the kind of page the switcher leads to
	SwitchPath   string
	Switcher     bool

	Crumbs []crumb // the path's directories, the last one being the page's own
}

type crumb struct{ Name, URL string }

// view starts the header of a page for r's visitor, marking tab ("code"
// or "commits"); at fills in the rest for a page at a ref.
func (rq *repoReq) view(r *http.Request, tab string) *repoView {
	v := &repoView{
		Owner: rq.repo.Owner, Name: rq.repo.Name, Base: pathURL(rq.base),
		Description: rq.info.Description, Public: rq.info.Visibility == repos.Public,
		Tab: tab, CodeURL: pathURL(rq.base), CommitsURL: pathURL(rq.base + "/commits"),
		DefaultLabel: visitorOf(r).lang.t("ref.default"),
	}
	if refs, err := rq.br.Refs(); err == nil {
		v.Default = refs.Default
	}
	return v
}

// at fills the switcher and the breadcrumbs for loc, on a page of kind.
func (v *repoView) at(rq *repoReq, loc browse.Location, kind string) error {
	refs, err := rq.br.Refs()
	if err != nil {
		return err
	}
	v.Ref, v.RefKind, v.RefLabel = loc.Ref, loc.Kind.String(), loc.Ref
	if loc.Kind == browse.RefCommit {
		v.RefLabel = browse.ShortID(loc.Commit)
	}
	if loc.Ref != v.Default {
		v.CodeURL = rq.link("tree", loc.Ref, "")
	}
	v.CommitsURL = rq.link("commits", loc.Ref, "")
	v.SwitchKind, v.SwitchPath, v.Switcher = kind, loc.Path, true
	list := func(names []string, current bool) template.HTML {
		// Written here, escaped, as the listing's rows are (listingHTML):
		// a hundred links through html/template's escapers cost most of
		// a millisecond on every page (BenchmarkTreePage).
		var b strings.Builder
		for i, n := range names {
			if i == switcherMax {
				v.MoreRefs += len(names) - switcherMax
				break
			}
			b.WriteString(`<a class="menu-item`)
			if current && n == loc.Ref {
				b.WriteString(` current`)
			}
			b.WriteString(`" href="`)
			template.HTMLEscape(&b, []byte(rq.link(kind, n, loc.Path)))
			b.WriteString(`">`)
			template.HTMLEscape(&b, []byte(n))
			if n == v.Default && v.DefaultLabel != "" {
				b.WriteString(` <span class="badge off">`)
				template.HTMLEscape(&b, []byte(v.DefaultLabel))
				b.WriteString(`</span>`)
			}
			b.WriteString("</a>")
		}
		return template.HTML(b.String())
	}
	v.Branches = list(refs.Branches(), loc.Kind == browse.RefBranch)
	v.Tags = list(refs.Tags(), loc.Kind == browse.RefTag)
	if loc.Path != "" {
		v.Crumbs = append(v.Crumbs, crumb{Name: v.Name, URL: rq.link("tree", loc.Ref, "")})
		segs := strings.Split(loc.Path, "/")
		for i, seg := range segs {
			k := "tree"
			if i == len(segs)-1 && kind == "blob" {
				k = "blob"
			}
			v.Crumbs = append(v.Crumbs, crumb{Name: seg, URL: rq.link(k, loc.Ref, strings.Join(segs[:i+1], "/"))})
		}
	}
	return nil
}

// switchRef answers the switcher's field (…/tree?ref=NAME&path=P), and a
// URL without a ref: it leads to the page of that ref, or of the default
// branch.
func (s *Server) switchRef(w http.ResponseWriter, r *http.Request) error {
	rq, err := s.openRepo(w, r)
	if rq == nil {
		return err
	}
	defer rq.close()
	kind := mux.Vars(r)["kind"]
	ref := strings.Trim(strings.TrimSpace(r.URL.Query().Get("ref")), "/")
	if ref == "" {
		refs, err := rq.br.Refs()
		if err != nil {
			return err
		}
		ref = refs.Default
	}
	p := strings.Trim(r.URL.Query().Get("path"), "/")
	if ref == "" || (kind == "blob" && p == "") {
		http.Redirect(w, r, pathURL(rq.base), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, rq.link(kind, ref, p), http.StatusSeeOther)
	return nil
}

// humanSize writes n bytes as people read sizes.
func humanSize(n int64) string {
	switch {
	case n < 0:
		return ""
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// formatTime writes a commit's time in the zone it was recorded in, as
// git log does.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02 15:04 -0700")
}
