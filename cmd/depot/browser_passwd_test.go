package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/depot/depot/cmd/depot/internal/server"
)

// TestBrowserPassword changes a password on the profile page in a real
// browser: a wrong current password is shown next to its field, the
// right one changes it, this browser stays signed in with the notice,
// and another client's session is signed out. With -screenshots it saves
// the page with the form, refused and done.
func TestBrowserPassword(t *testing.T) {
	ctx := newBrowser(t)
	d, cfg := browserData(t)
	bg := context.Background()
	srv := httptest.NewServer(server.New(cfg))
	t.Cleanup(srv.Close)

	// Another client, signed in first: the change must sign it out.
	jar, _ := cookiejar.New(nil)
	other := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := other.PostForm(srv.URL+"/login", url.Values{"username": {"tester"}, "password": {"tester-password"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	otherProfile := func() int {
		t.Helper()
		res, err := other.Get(srv.URL + "/settings/profile")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := otherProfile(); code != http.StatusOK {
		t.Fatalf("the other client's profile = %d; want 200", code)
	}

	step(t, ctx, "open the sign-in form", chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("username")))
	step(t, ctx, "fill the sign-in form",
		chromedp.SendKeys(chromedp.ID("username"), "tester"),
		chromedp.SendKeys(chromedp.ID("password"), "tester-password"))
	submit(t, ctx, "form[action='/login'] button")
	step(t, ctx, "open the profile", chromedp.Navigate(srv.URL+"/settings/profile"), chromedp.WaitVisible(chromedp.ID("current_password")))
	shot(t, ctx, "profile-password")

	fill := func(current, next string) {
		t.Helper()
		step(t, ctx, "fill the password form",
			chromedp.SendKeys(chromedp.ID("current_password"), current),
			chromedp.SendKeys(chromedp.ID("new_password"), next),
			chromedp.SendKeys(chromedp.ID("confirm_password"), next))
		submit(t, ctx, "form[action='/settings/password'] button")
	}
	fill("not-my-password", "correct horse battery")
	if got := text(t, ctx, "#current_password-error"); got != "The current password is wrong." {
		t.Fatalf("error next to the current password = %q", got)
	}
	shot(t, ctx, "profile-password-error")
	if code := otherProfile(); code != http.StatusOK {
		t.Fatalf("after a refused change, the other client's profile = %d; want 200", code)
	}

	fill("tester-password", "correct horse battery")
	if p := bodyText(t, ctx); !strings.Contains(p, "Password changed; your other sessions were signed out.") || !strings.Contains(p, "this browser") {
		t.Fatalf("profile after the change lacks the notice or this session:\n%s", p)
	}
	shot(t, ctx, "profile-password-changed")
	if code := otherProfile(); code != http.StatusSeeOther {
		t.Errorf("after the change, the other client's profile = %d; want 303 to the sign-in form", code)
	}
	if _, err := d.store.VerifyPassword(bg, "tester", "correct horse battery"); err != nil {
		t.Errorf("the new password does not verify: %v", err)
	}
}
