package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/auth/input"
	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/git/gitref"
)

type repoView struct {
	Owner         string `json:"owner"`
	Name          string `json:"name"`
	FullName      string `json:"fullName"`
	Description   string `json:"description"`
	Visibility    string `json:"visibility"`
	DefaultBranch string `json:"defaultBranch"`
	CloneURL      string `json:"cloneUrl"`
	Size          int64  `json:"size"`
	Empty         bool   `json:"empty"`
	CreatedAt     int64  `json:"created_at"`
}

// view describes repo as the API shows it. Its size and emptiness come
// from the stats the store keeps, computed from the git data only when
// none are kept, so that a listing costs the same per repository however
// large each one is.
func (s *Server) view(r *http.Request, repo *repos.Repo) (repoView, error) {
	info, err := s.store.RepoInfo(r.Context(), repo.Owner, repo.Name)
	if err != nil {
		return repoView{}, err
	}
	st, gen, ok, err := s.store.RepoStats(r.Context(), repo.Owner, repo.Name)
	if err != nil {
		return repoView{}, err
	}
	return s.viewWith(r, repo, info, repos.KeptStats{Stats: st, Gen: gen, Valid: ok})
}

// viewWith is view with the record and the kept stats already read.
func (s *Server) viewWith(r *http.Request, repo *repos.Repo, info *repos.Info, kept repos.KeptStats) (repoView, error) {
	branch, err := gitref.DefaultBranch(repo.Path)
	if err != nil {
		return repoView{}, fmt.Errorf("default branch of %s: %w", repo.FullName(), err)
	}
	st := kept.Stats
	if !kept.Valid {
		if st, err = s.computeStats(r.Context(), repo, kept.Gen); err != nil {
			return repoView{}, err
		}
	}
	created := int64(-1)
	if !info.CreatedAt.IsZero() {
		created = info.CreatedAt.UnixMilli()
	}
	return repoView{
		Owner: repo.Owner, Name: repo.Name, FullName: repo.FullName(),
		Description: info.Description, Visibility: string(info.Visibility),
		DefaultBranch: branch, CloneURL: cloneURL(r, repo), Size: st.Size,
		Empty: st.Empty, CreatedAt: created,
	}, nil
}

// computeStats reads repo's stats from its git data and keeps them,
// unless a push or a branch change came since the store answered gen:
// what was read may predate it.
func (s *Server) computeStats(ctx context.Context, repo *repos.Repo, gen int64) (repos.Stats, error) {
	var st repos.Stats
	var err error
	if st.Size, err = gitref.Size(repo.Path); err != nil {
		return st, fmt.Errorf("size of %s: %w", repo.FullName(), err)
	}
	branches, err := gitref.Branches(repo.Path)
	if err != nil {
		return st, fmt.Errorf("branches of %s: %w", repo.FullName(), err)
	}
	st.Empty = len(branches) == 0
	if err := s.store.SaveRepoStats(ctx, repo.Owner, repo.Name, gen, st); err != nil {
		return st, err
	}
	return st, nil
}

// cloneURL is repo's URL as the client reaches this server: behind a
// trusted proxy, with the scheme and host the client used.
func cloneURL(r *http.Request, repo *repos.Repo) string {
	c := auth.ClientOf(r)
	return c.Scheme + "://" + c.Host + "/" + repo.FullName() + ".git"
}

// listRepos answers a page of the repositories of owner that the caller
// may read, by name. The names come from the directory, kept until it
// changes, and only the repositories of the page are opened: a page
// costs the same however many repositories owner holds.
func (s *Server) listRepos(w http.ResponseWriter, r *http.Request, id *auth.Identity, owner string) error {
	pg, err := readPaging(r)
	if err != nil {
		return err
	}
	names, err := s.dir.Names(owner)
	if err != nil {
		return storeError(err, "namespace not found")
	}
	role, err := s.policy.OwnerRole(r.Context(), id, owner)
	if err != nil {
		return err
	}
	if role < repos.RoleViewer {
		// Only the public ones, which only records make public.
		public, err := s.store.PublicRepos(r.Context(), owner)
		if err != nil {
			return err
		}
		names = publicNames(names, public)
	}
	if id.Rules != nil {
		names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !id.Rules.AllowsRepo(owner, n) })
	}
	page := pageOf(names, pg)
	// The caller's role in owner decided which names it sees; the page's
	// records and stats come in one read.
	kept, err := s.store.RepoPage(r.Context(), owner, page)
	if err != nil {
		return err
	}
	out := make([]repoView, 0, len(page))
	for _, name := range page {
		repo, err := s.dir.Open(owner, name)
		if errors.Is(err, repos.ErrNotFound) {
			continue // removed since the listing
		}
		if err != nil {
			return err
		}
		key := strings.ToLower(name)
		info := kept.Infos[key]
		if info == nil {
			info = &repos.Info{Visibility: repos.Private} // placed by hand
		}
		v, err := s.viewWith(r, repo, info, kept.Stats[key])
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writePage(w, "repos", pg, len(names), out)
	return nil
}

// publicNames returns the names that public holds, compared
// case-insensitively as repository names are.
func publicNames(names, public []string) []string {
	pub := make(map[string]bool, len(public))
	for _, p := range public {
		pub[strings.ToLower(p)] = true
	}
	var out []string
	for _, n := range names {
		if pub[strings.ToLower(n)] {
			out = append(out, n)
		}
	}
	return out
}

func (s *Server) listProjectRepos(w http.ResponseWriter, r *http.Request) error {
	p, id, _, err := s.projectAccess(r, auth.ScopeProject, repos.RoleViewer)
	if err != nil {
		return err
	}
	return s.listRepos(w, r, id, p.Name)
}

func (s *Server) listUserRepos(w http.ResponseWriter, r *http.Request) error {
	id, err := caller(r, auth.ScopeProject)
	if err != nil {
		return err
	}
	return s.listRepos(w, r, id, id.User)
}

type createRepoRequest struct {
	Name          string `json:"name"`
	Description   string `json:"description"`
	Visibility    string `json:"visibility"`
	DefaultBranch string `json:"defaultBranch"`
}

func (s *Server) createProjectRepo(w http.ResponseWriter, r *http.Request) error {
	p, _, _, err := s.projectAccess(r, auth.ScopeDepot, repos.RoleAdmin)
	if err != nil {
		return err
	}
	return s.createRepo(w, r, p.Name)
}

func (s *Server) createUserRepo(w http.ResponseWriter, r *http.Request) error {
	id, err := caller(r, auth.ScopeDepot)
	if err != nil {
		return err
	}
	return s.createRepo(w, r, id.User)
}

func (s *Server) createRepo(w http.ResponseWriter, r *http.Request, owner string) error {
	var req createRepoRequest
	if err := apierr.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return apierr.Errorf(apierr.Invalid, "name: required")
	}
	if err := repos.ValidateName(req.Name); err != nil {
		return err // a *input.ValidationError naming "name"
	}
	info := &repos.Info{Description: req.Description, Visibility: repos.Private}
	switch req.Visibility {
	case "", "private":
	case "public":
		info.Visibility = repos.Public
	default:
		return apierr.Errorf(apierr.Invalid, "visibility: must be private or public")
	}
	if err := input.CheckDescription("description", req.Description); err != nil {
		return err
	}
	if req.DefaultBranch != "" {
		if err := gitref.CheckBranchName(req.DefaultBranch); err != nil {
			return branchNameError("defaultBranch", err)
		}
	}
	repo, err := s.dir.CreateWithRecord(r.Context(), s.store, owner, req.Name, repos.CreateOptions{DefaultBranch: req.DefaultBranch}, info)
	if errors.Is(err, repos.ErrExists) {
		return apierr.Wrap(apierr.Conflict, err, fmt.Sprintf("name: repository %s/%s already exists (names ignore case)", owner, req.Name))
	}
	if err != nil {
		return storeError(err, "")
	}
	s.record(r, audit.RepoCreate, repo.FullName(), repo.Owner, string(info.Visibility))
	v, err := s.view(r, repo)
	if err != nil {
		return err
	}
	apierr.WriteJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) error {
	repo, _, err := s.repoAccess(r, auth.ScopeProject, repos.Read)
	if err != nil {
		return err
	}
	v, err := s.view(r, repo)
	if err != nil {
		return err
	}
	apierr.WriteJSON(w, http.StatusOK, v)
	return nil
}

type patchRepoRequest struct {
	Description   *string `json:"description"`
	Visibility    *string `json:"visibility"`
	DefaultBranch *string `json:"defaultBranch"`
}

func (s *Server) patchRepo(w http.ResponseWriter, r *http.Request) error {
	repo, id, err := s.repoAccess(r, auth.ScopeDepot, repos.Manage)
	if err != nil {
		return err
	}
	var req patchRepoRequest
	if err := apierr.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	info, err := s.store.RepoInfo(r.Context(), repo.Owner, repo.Name)
	if err != nil {
		return err
	}
	was := info.Visibility
	if req.Description != nil {
		// Checked before anything changes, so that a refusal changes nothing.
		if err := input.CheckDescription("description", *req.Description); err != nil {
			return err
		}
		info.Description = *req.Description
	}
	if req.Visibility != nil {
		v := repos.Visibility(*req.Visibility)
		if v != repos.Private && v != repos.Public {
			return apierr.Errorf(apierr.Invalid, "visibility: must be private or public")
		}
		info.Visibility = v
	}
	if req.DefaultBranch != nil {
		if err := gitref.CheckBranchName(*req.DefaultBranch); err != nil {
			return branchNameError("defaultBranch", err)
		}
		if err := gitref.SetDefaultBranch(repo.Path, *req.DefaultBranch, actor(r, id)); err != nil {
			return err
		}
	}
	if err := s.store.SaveRepoInfo(r.Context(), repo.Owner, repo.Name, info); err != nil {
		return storeError(err, "")
	}
	if info.Visibility != was {
		s.record(r, audit.RepoVisibility, repo.FullName(), repo.Owner, string(was)+" -> "+string(info.Visibility))
	}
	v, err := s.view(r, repo)
	if err != nil {
		return err
	}
	apierr.WriteJSON(w, http.StatusOK, v)
	return nil
}

// deleteRepo removes the repository, named in any case, and its record.
// The directory is first renamed aside so that no request sees half of
// it.
func (s *Server) deleteRepo(w http.ResponseWriter, r *http.Request) error {
	repo, _, err := s.repoAccess(r, auth.ScopeDepot, repos.Manage)
	if err != nil {
		return err
	}
	if err := s.dir.DeleteWithRecord(r.Context(), s.store, repo); err != nil {
		return err
	}
	s.record(r, audit.RepoDelete, repo.FullName(), repo.Owner, "")
	apierr.WriteJSON(w, http.StatusOK, map[string]int{"deleted": 1})
	return nil
}
