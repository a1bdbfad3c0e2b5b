package web

import (
	"fmt"
	"net/http"

	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/auth/audit"
	"github.com/depot/depot/tokens"
)

// The password form's fields, as posted to /settings/password.
const (
	fieldCurrentPassword = "current_password"
	fieldNewPassword     = "new_password"
	fieldConfirmPassword = "confirm_password"
)

// passwordForm is the profile page's password section after a refused
// change: why, next to the field or above the form. It never holds a
// password; the page shows the fields empty again.
type passwordForm struct {
	Errors map[string]string // by field name
	Error  string            // not about one field: too many attempts
}

// changePassword sets the visitor's new password once the current one
// verifies, through the sign-in form's failure limiter, and ends every
// other session of theirs; this one stays signed in. Personal access
// tokens stay valid, as on GitHub.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	v := visitorOf(r)
	l := v.lang
	current := r.PostFormValue(fieldCurrentPassword)
	next := r.PostFormValue(fieldNewPassword)
	f := &passwordForm{Errors: map[string]string{}}
	// What needs no password checked comes first, so that a slip costs
	// no attempt of the limiter's.
	if current == "" {
		f.Errors[fieldCurrentPassword] = l.t("err.passwordCurrent")
	}
	switch {
	case tokens.CheckNewPassword(next) != nil:
		f.Errors[fieldNewPassword] = l.t("err.passwordRule", tokens.MinPasswordLen, tokens.MaxPasswordBytes)
	case next == current:
		f.Errors[fieldNewPassword] = l.t("err.passwordSame")
	}
	if r.PostFormValue(fieldConfirmPassword) != next {
		f.Errors[fieldConfirmPassword] = l.t("err.passwordMismatch")
	}
	if len(f.Errors) > 0 {
		return s.profilePage(w, r, http.StatusBadRequest, f)
	}

	user := v.user.GlobalKey
	err := s.auth.ConfirmPassword(r, user, current)
	switch kind := apierr.KindOf(err); {
	case err == nil:
	case kind == apierr.Unauthorized:
		s.record(r, audit.AuthFail, user, user, "password change: wrong current password")
		f.Errors[fieldCurrentPassword] = l.t("err.passwordWrong")
		return s.profilePage(w, r, http.StatusUnauthorized, f)
	case kind == apierr.TooManyRequests:
		secs := retrySeconds(err)
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		f.Error = l.t("login.throttled", secs)
		return s.profilePage(w, r, http.StatusTooManyRequests, f)
	default:
		return err
	}

	// CheckNewPassword passed above, so the store has no reason to refuse.
	ended, err := s.store.ChangePassword(r.Context(), user, next, v.sess.ID)
	if err != nil {
		return fmt.Errorf("change password of %s: %w", user, err)
	}
	s.record(r, audit.PasswordChange, user, user, fmt.Sprintf("sessions ended: %d", ended))
	s.flashes.put(v.sess.ID, flash{Notice: "password.changed", at: s.now()})
	http.Redirect(w, r, "/settings/profile", http.StatusSeeOther)
	return nil
}
