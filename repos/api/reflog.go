package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/git/gitref"
)

// Paging of the reflog, as the token list pages.
const (
	reflogPageSize    = 20
	reflogMaxPageSize = 1000
)

type reflogEntryView struct {
	Ref     string `json:"ref"`
	Old     string `json:"old"`
	New     string `json:"new"`
	User    string `json:"user"`
	TokenID string `json:"tokenId"`
	IP      string `json:"ip"`
	Time    int64  `json:"time"`
	Message string `json:"message"`
}

type reflogResponse struct {
	Total    int               `json:"total"`
	PageNo   int               `json:"pageNo"`
	PageSize int               `json:"pageSize"`
	Entries  []reflogEntryView `json:"entries"`
}

// reflogRef reads the ref query parameter: a full ref name, HEAD, a
// branch's short name, or "" for every ref.
func reflogRef(v string) (string, error) {
	if v == "" || v == "HEAD" {
		return v, nil
	}
	if !strings.HasPrefix(v, "refs/") {
		v = "refs/heads/" + v
	}
	if err := gitref.CheckRefName(v); err != nil {
		var ne *gitref.NameError
		errors.As(err, &ne)
		return "", apierr.Wrap(apierr.Invalid, err, "ref: "+ne.Error())
	}
	return v, nil
}

// listReflog pages through the reflog of one ref or of all, newest first,
// deleted refs included: what an admin needs to undo a force push or a
// branch deletion with depot repo restore-ref.
func (s *Server) listReflog(w http.ResponseWriter, r *http.Request) error {
	repo, _, err := s.repoAccess(r, auth.ScopeDepot, repos.Manage)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	pageNo, err := apierr.IntParam(q.Get("pageNo"), "pageNo", 1, 1, 1<<30)
	if err != nil {
		return err
	}
	pageSize, err := apierr.IntParam(q.Get("pageSize"), "pageSize", reflogPageSize, 1, reflogMaxPageSize)
	if err != nil {
		return err
	}
	ref, err := reflogRef(q.Get("ref"))
	if err != nil {
		return err
	}
	entries, err := gitref.ReadReflog(repo.Path, ref)
	if err != nil {
		return err
	}
	out := reflogResponse{Total: len(entries), PageNo: pageNo, PageSize: pageSize, Entries: []reflogEntryView{}}
	start := min(len(entries), (pageNo-1)*pageSize)
	for _, e := range entries[start:min(len(entries), start+pageSize)] {
		out.Entries = append(out.Entries, reflogEntryView{
			Ref: e.Ref, Old: e.Old.String(), New: e.New.String(), User: e.By.User,
			TokenID: e.By.TokenID, IP: e.By.Addr, Time: e.Time.UnixMilli(), Message: e.Message,
		})
	}
	apierr.WriteJSON(w, http.StatusOK, out)
	return nil
}
