package api

import (
	"errors"
	"math"
	"net/http"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/git/gitref"
	"github.com/gorilla/mux"
)

func (s *Server) gitRoutes() []struct {
	method, path string
	h            func(http.ResponseWriter, *http.Request) error
} {
	const p = "/api/v1/repos/{owner}/{repo}"
	return []struct {
		method, path string
		h            func(http.ResponseWriter, *http.Request) error
	}{
		{"GET", p + "/branches", s.listBranches},
		{"POST", p + "/branches", s.createBranch},
		{"DELETE", p + "/branches/{name:.+}", s.deleteBranch},
		{"GET", p + "/tags", s.listTags},
		{"GET", p + "/commits", s.listCommits},
		{"GET", p + "/reflog", s.listReflog},
	}
}

// actor is who the reflog records for a ref update that r makes.
func actor(r *http.Request, id *auth.Identity) gitref.Actor {
	return gitref.Actor{User: id.User, TokenID: id.TokenID, Addr: auth.ClientIP(r)}
}

// branchNameError answers the *gitref.NameError of CheckBranchName as a
// 400 naming field.
func branchNameError(field string, err error) error {
	var ne *gitref.NameError
	if errors.As(err, &ne) {
		return apierr.Wrap(apierr.Invalid, err, field+": "+ne.Error())
	}
	return err
}

// gitError maps gitref's errors to API errors: its sentinels to a status,
// and the reason of a RefusedError or NameError to the message.
func gitError(err error, what string) error {
	var refused *gitref.RefusedError
	var name *gitref.NameError
	switch {
	case errors.As(err, &refused):
		return apierr.Wrap(apierr.Invalid, err, refused.Msg)
	case errors.As(err, &name):
		return apierr.Wrap(apierr.Invalid, err, name.Error())
	case errors.Is(err, gitref.ErrNotFound):
		return apierr.Wrap(apierr.NotFound, err, what+" not found")
	case errors.Is(err, gitref.ErrExists):
		return apierr.Wrap(apierr.Conflict, err, what+" already exists")
	case errors.Is(err, gitref.ErrInvalid):
		return apierr.Wrap(apierr.Invalid, err, "invalid "+what)
	case errors.Is(err, gitref.ErrStale):
		return apierr.Wrap(apierr.Conflict, err, what+" changed meanwhile; try again")
	case errors.Is(err, gitref.ErrLocked):
		return apierr.Wrap(apierr.Conflict, err, what+" is being updated by another request; try again")
	}
	return err
}

func (s *Server) listBranches(w http.ResponseWriter, r *http.Request) error {
	repo, _, err := s.repoAccess(r, auth.ScopeDepot, repos.Read)
	if err != nil {
		return err
	}
	pg, err := readPaging(r)
	if err != nil {
		return err
	}
	lo, _ := pg.bounds(math.MaxInt)
	page, total, err := gitref.BranchPage(repo.Path, lo, pg.size)
	if err != nil {
		return err
	}
	out := make([]branchView, len(page))
	for i, b := range page {
		out[i] = viewBranch(b)
	}
	writePage(w, "branches", pg, total, out)
	return nil
}

type branchView struct {
	Name    string `json:"name"`
	Commit  string `json:"commit"`
	Default bool   `json:"default"`
}

func viewBranch(b gitref.Branch) branchView {
	return branchView{Name: b.Name, Commit: b.Commit, Default: b.Default}
}

type tagView struct {
	Name      string `json:"name"`
	Commit    string `json:"commit"`
	Object    string `json:"object"`
	Annotated bool   `json:"annotated"`
	Message   string `json:"message,omitempty"`
}

type branchRequest struct {
	Name string `json:"name"`
	From string `json:"from"`
}

func (s *Server) createBranch(w http.ResponseWriter, r *http.Request) error {
	repo, id, err := s.repoAccess(r, auth.ScopeDepot, repos.Write)
	if err != nil {
		return err
	}
	var req branchRequest
	if err := apierr.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return apierr.Errorf(apierr.Invalid, "name: required")
	}
	if err := gitref.CheckBranchName(req.Name); err != nil {
		return branchNameError("name", err)
	}
	if err := pushRules(id, "refs/heads/"+req.Name, false); err != nil {
		return err
	}
	b, err := gitref.CreateBranch(repo.Path, req.Name, req.From, actor(r, id))
	if err != nil {
		if errors.Is(err, gitref.ErrNotFound) {
			return apierr.Wrap(apierr.Invalid, err, "from: no such branch, tag or commit "+req.From)
		}
		return gitError(err, "branch "+req.Name)
	}
	if err := s.store.ForgetRepoStats(r.Context(), repo.Owner, repo.Name); err != nil {
		return err
	}
	apierr.WriteJSON(w, http.StatusCreated, viewBranch(b))
	return nil
}

func (s *Server) deleteBranch(w http.ResponseWriter, r *http.Request) error {
	repo, id, err := s.repoAccess(r, auth.ScopeDepot, repos.Write)
	if err != nil {
		return err
	}
	name := mux.Vars(r)["name"]
	if err := pushRules(id, "refs/heads/"+name, true); err != nil {
		return err
	}
	if err := gitref.DeleteBranch(repo.Path, name, actor(r, id)); err != nil {
		return gitError(err, "branch "+name)
	}
	if err := s.store.ForgetRepoStats(r.Context(), repo.Owner, repo.Name); err != nil {
		return err
	}
	apierr.WriteJSON(w, http.StatusOK, map[string]int{"deleted": 1})
	return nil
}

// pushRules refuses with 403 a branch change that the caller's token rules
// would refuse in a push (auth.Rules): the API is no way around them.
func pushRules(id *auth.Identity, ref string, isDelete bool) error {
	rules := id.Rules
	switch {
	case !rules.AllowsOperation(auth.OpPush):
		return apierr.Errorf(apierr.Forbidden, "the token's rules do not allow push")
	case !rules.AllowsRef(ref):
		return apierr.Errorf(apierr.Forbidden, "%s", rules.RefsReason())
	case isDelete && rules != nil && !rules.AllowDelete:
		return apierr.Errorf(apierr.Forbidden, "%s", auth.ReasonDelete)
	}
	return nil
}

func (s *Server) listTags(w http.ResponseWriter, r *http.Request) error {
	repo, _, err := s.repoAccess(r, auth.ScopeDepot, repos.Read)
	if err != nil {
		return err
	}
	pg, err := readPaging(r)
	if err != nil {
		return err
	}
	lo, _ := pg.bounds(math.MaxInt)
	page, total, err := gitref.TagPage(repo.Path, lo, pg.size)
	if err != nil {
		return err
	}
	out := make([]tagView, len(page))
	for i, t := range page {
		out[i] = tagView{Name: t.Name, Commit: t.Commit, Object: t.Object, Annotated: t.Annotated, Message: t.Message}
	}
	writePage(w, "tags", pg, total, out)
	return nil
}

type signatureView struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Time  int64  `json:"time"`
}

type commitView struct {
	ID        string        `json:"id"`
	Message   string        `json:"message"`
	Author    signatureView `json:"author"`
	Committer signatureView `json:"committer"`
	Time      int64         `json:"time"`
	Parents   []string      `json:"parents"`
}

type commitsResponse struct {
	Total    int          `json:"total"`
	PageNo   int          `json:"pageNo"`
	PageSize int          `json:"pageSize"`
	HasMore  bool         `json:"hasMore"`
	Commits  []commitView `json:"commits"`
}

func sig(s gitref.Signature) signatureView {
	return signatureView{Name: s.Name, Email: s.Email, Time: s.When.UnixMilli()}
}

// listCommits pages through history from ref (default: the default
// branch), newest first, as git log shows it.
func (s *Server) listCommits(w http.ResponseWriter, r *http.Request) error {
	repo, _, err := s.repoAccess(r, auth.ScopeDepot, repos.Read)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	pageNo, err := apierr.IntParam(q.Get("pageNo"), "pageNo", 1, 1, 1<<20)
	if err != nil {
		return err
	}
	pageSize, err := apierr.IntParam(q.Get("pageSize"), "pageSize", 20, 1, 1000)
	if err != nil {
		return err
	}
	ref := q.Get("ref")
	list, more, err := gitref.Commits(repo.Path, ref, (pageNo-1)*pageSize, pageSize)
	var total int
	if err == nil {
		// Every list answers its total; a history's is remembered by
		// its start commit, so paging through one walks it once more.
		total, err = gitref.CountCommits(repo.Path, ref)
	}
	if err != nil {
		switch {
		case errors.Is(err, gitref.ErrNotFound):
			return apierr.Wrap(apierr.NotFound, err, "ref "+ref+" not found")
		case errors.Is(err, gitref.ErrInvalid):
			return apierr.Wrap(apierr.Invalid, err, "ref: "+ref+" does not name a commit")
		}
		return err
	}
	out := commitsResponse{Total: total, PageNo: pageNo, PageSize: pageSize, HasMore: more, Commits: make([]commitView, len(list))}
	for i, c := range list {
		out.Commits[i] = commitView{ID: c.ID, Message: c.Message, Author: sig(c.Author), Committer: sig(c.Committer),
			Time: c.Committer.When.UnixMilli(), Parents: nonNil(c.Parents)}
	}
	apierr.WriteJSON(w, http.StatusOK, out)
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
