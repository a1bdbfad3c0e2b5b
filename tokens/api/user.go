package api

import (
	"net/http"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
)

type currentUser struct {
	GlobalKey string `json:"global_key"`
	Name      string `json:"name"`
	Avatar    string `json:"avatar"`
	Email     string `json:"email,omitempty"`
	Admin     bool   `json:"admin"`
	CreatedAt int64  `json:"created_at"`
}

// currentUser answers GET /api/current_user in CODING's shape. The email
// is shown to password callers and to tokens holding user:email only.
func (s *Server) currentUser(w http.ResponseWriter, r *http.Request) error {
	id := auth.FromContext(r.Context())
	if err := id.Require(auth.ScopeUser); err != nil {
		return err
	}
	u, err := s.store.UserByName(r.Context(), id.User)
	if err != nil {
		return storeError(err, "user not found")
	}
	out := currentUser{
		GlobalKey: u.GlobalKey,
		Name:      u.Name,
		Avatar:    AvatarURL(r, u.GlobalKey),
		Admin:     u.Admin,
		CreatedAt: u.CreatedAt.UnixMilli(),
	}
	if id.HasScope(auth.ScopeUserEmail) {
		out.Email = u.Email
	}
	apierr.WriteJSON(w, http.StatusOK, map[string]any{"code": 0, "data": out})
	return nil
}

// scopes answers GET /api/v1/auth/scopes; the catalogue is public.
func (s *Server) scopes(w http.ResponseWriter, r *http.Request) error {
	apierr.WriteJSON(w, http.StatusOK, auth.Scopes())
	return nil
}
