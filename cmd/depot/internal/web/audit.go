package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/tokens"
)

// Auditor records security events; *audit.Store implements it. Record
// fails only when the database does.
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

var _ Auditor = (*audit.Store)(nil)

// record writes an event of action by the signed-in visitor to the audit
// log. The change is made already, so a failure to record it is logged,
// not shown.
func (s *Server) record(r *http.Request, action, target, subject, detail string) {
	e := audit.Event{Action: action, IP: auth.ClientIP(r), Via: auth.MethodSession.String(),
		Target: target, Subject: subject, Detail: detail}
	if v := visitorOf(r); v.signedIn() {
		e.Actor = v.user.GlobalKey
	}
	s.recordEvent(r, e)
}

func (s *Server) recordEvent(r *http.Request, e audit.Event) {
	if s.Audit == nil {
		return
	}
	if err := s.Audit.Record(r.Context(), e); err != nil {
		s.log.WithError(err).WithField("request_id", apierr.RequestID(r.Context())).Error("audit")
	}
}

// recordToken writes an event of action on the visitor's token t.
func (s *Server) recordToken(r *http.Request, action string, t *tokens.Token, withDetail bool) {
	detail := ""
	if withDetail {
		detail = "scopes=" + strings.Join(t.Scopes, ",")
		if len(t.IPWhitelist) > 0 {
			detail += " ipWhitelist=" + strings.Join(t.IPWhitelist, ",")
		}
		if !t.ExpireTime.IsZero() {
			detail += " expires=" + t.ExpireTime.UTC().Format(time.RFC3339)
		}
	}
	s.record(r, action, t.ID, t.Username, detail)
}
