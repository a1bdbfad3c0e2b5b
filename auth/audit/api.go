package audit

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
)

// Paging of GET /api/v1/audit, as every list of the API.
const (
	DefaultPageSize = 10
	MaxPageSize     = 1000
)

// Lister is what the API reads the log through; *Store implements it.
type Lister interface {
	// List returns how many events q selects and its page, newest first;
	// errors are the store failing.
	List(ctx context.Context, q Query) (total int, page []Event, err error)
}

var _ Lister = (*Store)(nil)

// API serves GET /api/v1/audit under the authentication middleware.
type API struct {
	Events Lister
	Log    logrus.FieldLogger // where internal errors go, with the request id
}

// Register adds the route to r, which must run the authentication
// middleware.
func (a API) Register(r *mux.Router) {
	r.HandleFunc("/api/v1/audit", a.list).Methods(http.MethodGet)
}

// eventView is an event as the API shows it; times are milliseconds.
type eventView struct {
	ID      int64  `json:"id"`
	Time    int64  `json:"time"`
	Actor   string `json:"actor"`
	IP      string `json:"ip"`
	Via     string `json:"via"`
	Action  string `json:"action"`
	Target  string `json:"target"`
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
}

type listResponse struct {
	Total    int         `json:"total"`
	PageNo   int         `json:"pageNo"`
	PageSize int         `json:"pageSize"`
	Events   []eventView `json:"events"`
}

// list answers a page of the log: every event for an admin, the caller's
// own (as actor or subject) for anyone else. Tokens need scope user.
func (a API) list(w http.ResponseWriter, r *http.Request) {
	if err := a.serveList(w, r); err != nil {
		apierr.Write(w, r, a.Log, err)
	}
}

func (a API) serveList(w http.ResponseWriter, r *http.Request) error {
	id := auth.FromContext(r.Context())
	if err := id.Require(auth.ScopeUser); err != nil {
		return err
	}
	q := r.URL.Query()
	var err error
	query := Query{User: q.Get("user"), Action: q.Get("action")}
	if !id.Admin {
		query.Viewer = id.User
	}
	if query.Action != "" && !strings.HasSuffix(query.Action, ".") && !slices.Contains(Actions, query.Action) {
		return apierr.Errorf(apierr.Invalid, "action: unknown action %q; use one of %s, or a family such as token.",
			query.Action, strings.Join(Actions, ", "))
	}
	if query.PageNo, err = apierr.IntParam(q.Get("pageNo"), "pageNo", 1, 1, 1<<30); err != nil {
		return err
	}
	if query.PageSize, err = apierr.IntParam(q.Get("pageSize"), "pageSize", DefaultPageSize, 1, MaxPageSize); err != nil {
		return err
	}
	total, page, err := a.Events.List(r.Context(), query)
	if err != nil {
		return err
	}
	out := listResponse{Total: total, PageNo: query.PageNo, PageSize: query.PageSize, Events: make([]eventView, len(page))}
	for i, e := range page {
		out.Events[i] = eventView{ID: e.ID, Time: e.Time.UnixMilli(), Actor: e.Actor, IP: e.IP, Via: e.Via,
			Action: e.Action, Target: e.Target, Subject: e.Subject, Detail: e.Detail}
	}
	apierr.WriteJSON(w, http.StatusOK, out)
	return nil
}
