package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
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

// view describes repo as the API shows it.
func (s *Server) view(r *http.Request, repo *repos.Repo) (repoView, error) {
	info, err := s.store.RepoInfo(r.Context(), repo.Owner, repo.Name)
	if err != nil {
		return repoView{}, err
	}
	branch, err := gitref.DefaultBranch(repo.Path)
	if err != nil {
		return repoView{}, fmt.Errorf("default branch of %s: %w", repo.FullName(), err)
	}
	size, err := gitref.Size(repo.Path)
	if err != nil {
		return repoView{}, fmt.Errorf("size of %s: %w", repo.FullName(), err)
	}
	branches, err := gitref.Branches(repo.Path)
	if err != nil {
		return repoView{}, fmt.Errorf("branches of %s: %w", repo.FullName(), err)
	}
	created := int64(-1)
	if !info.CreatedAt.IsZero() {
		created = info.CreatedAt.UnixMilli()
	}
	return repoView{
		Owner: repo.Owner, Name: repo.Name, FullName: repo.FullName(),
		Description: info.Description, Visibility: string(info.Visibility),
		DefaultBranch: branch, CloneURL: cloneURL(r, repo), Size: size,
		Empty: len(branches) == 0, CreatedAt: created,
	}, nil
}

func cloneURL(r *http.Request, repo *repos.Repo) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/" + repo.FullName() + ".git"
}

// listRepos answers the repositories of owner that the caller may read.
func (s *Server) listRepos(w http.ResponseWriter, r *http.Request, id *auth.Identity, owner string) error {
	list, err := s.dir.List(owner)
	if err != nil {
		return storeError(err, "namespace not found")
	}
	out := make([]repoView, 0, len(list))
	for _, listed := range list {
		// Each listed repository is opened as a request for it would be.
		repo, err := s.policy.Open(r.Context(), id, listed.Owner, listed.Name, repos.Read)
		switch {
		case errors.Is(err, repos.ErrNotFound), errors.Is(err, repos.ErrForbidden), errors.Is(err, repos.ErrUnauthenticated):
			continue
		case err != nil:
			return err
		}
		v, err := s.view(r, repo)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	apierr.WriteJSON(w, http.StatusOK, out)
	return nil
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
	repo, _, err := s.repoAccess(r, auth.ScopeDepot, repos.Manage)
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
		if err := gitref.SetDefaultBranch(repo.Path, *req.DefaultBranch); err != nil {
			return err
		}
	}
	if err := s.store.SaveRepoInfo(r.Context(), repo.Owner, repo.Name, info); err != nil {
		return storeError(err, "")
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
	apierr.WriteJSON(w, http.StatusOK, map[string]int{"deleted": 1})
	return nil
}
