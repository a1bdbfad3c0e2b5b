package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/tokens"
)

// from returns a client whose connections leave from the loopback
// address ip (127.0.0.0/8 is all loopback on Linux), so that the server
// sees uses from several networks.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// doFrom is fixture.do through client c.
func (f *fixture) doFrom(c *http.Client, method, path string, cr cred, body any) response {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if cr != "" {
		req.Header.Set("Authorization", string(cr))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// eventList returns "kind ip" of each event of the token id, newest
// first, as its owner reads them.
func (f *fixture) eventList(id string, c cred) []string {
	f.t.Helper()
	r := f.do("GET", "/api/v1/auth/tokens/"+id+"/events?pageSize=100", c, nil)
	if r.status != 200 {
		f.t.Fatalf("events = %d %s", r.status, r.body)
	}
	var out struct {
		Total, PageNo, PageSize int
		Events                  []struct {
			Time int64
			IP   *string
			Kind string
		}
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		f.t.Fatal(err)
	}
	if out.Total != len(out.Events) || out.PageNo != 1 || out.PageSize != 100 {
		f.t.Fatalf("events page = %s", r.body)
	}
	var list []string
	for _, e := range out.Events {
		ip := "null"
		if e.IP != nil {
			ip = *e.IP
		}
		if e.Time < 1e12 {
			f.t.Fatalf("event time %d is not in milliseconds", e.Time)
		}
		list = append(list, e.Kind+" "+ip)
	}
	return list
}

func TestRegenerateWithGrace(t *testing.T) {
	f := newFixture(t)
	id, old := f.mint("tester", []string{auth.ScopeUser, auth.ScopeUserToken}, func(tk *tokens.Token) {
		tk.Description = "CI"
		tk.IPWhitelist = []string{"127.0.0.0/8"}
	})
	path := "/api/v1/auth/tokens/" + id + "/regenerate"

	for _, tc := range []struct {
		name, body, want string
		status           int
	}{
		{"ErrNegative", `{"graceSeconds":-1}`, "graceSeconds", 400},
		{"ErrTooLong", `{"graceSeconds":2592001}`, "graceSeconds", 400},
		{"ErrFraction", `{"graceSeconds":1.5}`, "graceSeconds", 400},
		{"ErrString", `{"graceSeconds":"60"}`, "graceSeconds", 400},
		{"ErrNotJSON", `graceSeconds=60`, "JSON", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, f.do("POST", path, testerPW, tc.body), tc.status, tc.want)
		})
	}
	wantError(t, f.do("POST", path, testerPW, `{"graceSeconds":60}`, "text/plain"), 415, "application/json")
	if r := f.do("GET", "/api/current_user", bearer(old), nil); r.status != 200 {
		t.Fatalf("refused regenerations changed the secret: %d", r.status)
	}

	sent := time.Now()
	r := f.do("POST", path, testerPW, map[string]any{"graceSeconds": 2})
	answered := time.Now()
	if r.status != 200 {
		t.Fatalf("regenerate = %d %s", r.status, r.body)
	}
	secret := r.json(t)["token"].(string)
	view := f.do("GET", "/api/v1/auth/tokens/"+id, testerPW, nil).json(t)
	graceUntil := int64(view["graceUntil"].(float64))
	// The regeneration happened between sending and the answer, however
	// long a loaded machine took: its window ends 2 s after, to the
	// millisecond.
	if g := time.UnixMilli(graceUntil); g.Before(sent.Add(2*time.Second).Truncate(time.Millisecond)) || g.After(answered.Add(2*time.Second)) {
		t.Fatalf("graceUntil %v; want 2 s after the regeneration, sent at %v and answered at %v", g, sent, answered)
	}
	if view["description"] != "CI" || fmt.Sprint(view["ipWhitelist"]) != "[127.0.0.0/8]" || fmt.Sprint(view["scopes"]) != "[user user:token]" {
		t.Fatalf("regeneration lost settings: %v", view)
	}
	for _, s := range []string{secret, old, old} {
		if r := f.do("GET", "/api/current_user", bearer(s), nil); r.status != 200 {
			t.Fatalf("current_user in the grace window = %d %s", r.status, r.body)
		}
	}
	// The window ends on time, whatever the cache holds.
	time.Sleep(time.Until(time.UnixMilli(graceUntil)))
	wantError(t, f.do("GET", "/api/current_user", bearer(old), nil), 401, "bad credentials")
	if r := f.do("GET", "/api/current_user", bearer(secret), nil); r.status != 200 {
		t.Fatalf("new secret after the window = %d", r.status)
	}
	view = f.do("GET", "/api/v1/auth/tokens/"+id, testerPW, nil).json(t)
	if view["graceUses"] != 2.0 {
		t.Errorf("graceUses = %v; want 2", view["graceUses"])
	}
	got := strings.Join(f.eventList(id, testerPW), ",")
	if got != "grace-secret-used 127.0.0.1,grace-secret-used 127.0.0.1,regenerated 127.0.0.1" {
		t.Errorf("events = %s", got)
	}

	// Without a body (or with 0) the old secret dies at once.
	for _, body := range []any{nil, map[string]any{"graceSeconds": 0}} {
		r = f.do("POST", path, bearer(secret), body)
		if r.status != 200 {
			t.Fatalf("regenerate %v = %d %s", body, r.status, r.body)
		}
		wantError(t, f.do("GET", "/api/current_user", bearer(secret), nil), 401, "bad credentials")
		secret = r.json(t)["token"].(string)
		if v := f.do("GET", "/api/v1/auth/tokens/"+id, bearer(secret), nil).json(t); v["graceUntil"] != -1.0 {
			t.Fatalf("graceUntil after a plain regeneration = %v", v["graceUntil"])
		}
	}
}

func TestDeleteSelf(t *testing.T) {
	f := newFixture(t)
	id, depotOnly := f.mint("tester", []string{auth.ScopeDepot})
	otherID, _ := f.mint("tester", []string{auth.ScopeDepot})

	for _, tc := range []struct {
		name   string
		cred   cred
		status int
		want   string
	}{
		{"ErrAnonymous", "", 401, "authentication required"},
		{"ErrPassword", testerPW, 400, "only a token can revoke itself"},
		{"ErrAdminPassword", adminPW, 400, "only a token can revoke itself"},
		{"ErrBadToken", bearer("dpt_" + strings.Repeat("0", 36)), 401, "bad credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, f.do("DELETE", "/api/v1/auth/tokens/self", tc.cred, nil), tc.status, tc.want)
		})
	}
	// A token holding only project:depot revokes itself, with or without
	// the trailing slash.
	r := f.do("DELETE", "/api/v1/auth/tokens/self/", basic("tester", depotOnly), nil)
	if r.status != 200 || r.json(t)["deleted"] != 1.0 {
		t.Fatalf("DELETE self = %d %s", r.status, r.body)
	}
	wantError(t, f.do("DELETE", "/api/v1/auth/tokens/self", bearer(depotOnly), nil), 401, "bad credentials")
	wantError(t, f.do("GET", "/api/v1/auth/tokens/"+id, testerPW, nil), 404, "not found")
	if r := f.do("GET", "/api/v1/auth/tokens/"+otherID, testerPW, nil); r.status != 200 {
		t.Fatalf("the other token = %d; self-revocation deleted more than itself", r.status)
	}
}

func TestTokenEventsAPI(t *testing.T) {
	f := newFixture(t)
	id, secret := f.mint("tester", []string{auth.ScopeUserToken})
	otherID, _ := f.mint("other", []string{auth.ScopeUserToken})
	if r := f.do("PUT", "/api/v1/auth/tokens/"+id+"/status", bearer(secret), map[string]string{"status": "disabled"}); r.status != 200 {
		t.Fatalf("disable = %d %s", r.status, r.body)
	}
	if got := strings.Join(f.eventList(id, testerPW), ","); got != "disabled 127.0.0.1" {
		t.Fatalf("events = %s", got)
	}
	if got := f.eventList(id, adminPW); len(got) != 1 {
		t.Fatalf("admin reads %q", got)
	}
	if got := f.eventList(otherID, otherPW); len(got) != 0 {
		t.Fatalf("a new token has events %q", got)
	}
	for _, tc := range []struct {
		name, path string
		cred       cred
		status     int
		want       string
	}{
		{"ErrOthersToken", "/api/v1/auth/tokens/" + otherID + "/events", testerPW, 404, "not found"},
		{"ErrUnknown", "/api/v1/auth/tokens/nope/events", testerPW, 404, "not found"},
		{"ErrAnonymous", "/api/v1/auth/tokens/" + id + "/events", "", 401, "authentication required"},
		{"ErrPageSize", "/api/v1/auth/tokens/" + id + "/events?pageSize=1001", testerPW, 400, "pageSize"},
		{"ErrPageNo", "/api/v1/auth/tokens/" + id + "/events?pageNo=0", testerPW, 400, "pageNo"},
		{"ErrScope", "/api/v1/auth/tokens/" + id + "/events", bearer(f.mintSecret("tester", auth.ScopeUser)), 403, "user:token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, f.do("GET", tc.path, tc.cred, nil), tc.status, tc.want)
		})
	}
}

func (f *fixture) mintSecret(user string, scopes ...string) string {
	_, s := f.mint(user, scopes)
	return s
}

// TestNewNetworkAPI: a use from a new network (here a /32, loopback
// addresses standing for networks) is an event; on a token with
// lockOnNewNetwork it is a 401 that disables the token until its owner
// enables it.
func TestNewNetworkAPI(t *testing.T) {
	f := newFixture(t)
	if err := f.store.SetNetworkBits(32, 128); err != nil {
		t.Fatal(err)
	}
	create := func(body map[string]any) (string, string) {
		t.Helper()
		r := f.do("POST", "/api/v1/auth/tokens", testerPW, body)
		if r.status != 200 {
			t.Fatalf("create = %d %s", r.status, r.body)
		}
		m := r.json(t)
		return m["id"].(string), m["token"].(string)
	}
	alertID, alert := create(map[string]any{"username": "tester", "scopes": []string{"user"}})
	lockID, lock := create(map[string]any{"username": "tester", "scopes": []string{"user", "user:token"}, "lockOnNewNetwork": true})
	if v := f.do("GET", "/api/v1/auth/tokens/"+lockID, testerPW, nil).json(t); v["lockOnNewNetwork"] != true || v["graceUntil"] != -1.0 {
		t.Fatalf("created token = %v", v)
	}

	steps := []struct {
		ip     string
		secret string
		status int
	}{
		{"127.0.0.1", alert, 200}, // first use: no alert
		{"127.0.0.1", alert, 200},
		{"127.0.0.2", alert, 200}, // new-network event
		{"127.0.0.2", alert, 200},
		{"127.0.0.1", lock, 200}, // first use
		{"127.0.0.3", lock, 401}, // locked
		{"127.0.0.1", lock, 401}, // and stays so
	}
	for i, s := range steps {
		r := f.doFrom(from(s.ip), "GET", "/api/current_user", bearer(s.secret), nil)
		if r.status != s.status {
			t.Fatalf("step %d from %s = %d %s; want %d", i, s.ip, r.status, r.body, s.status)
		}
		if i == 5 {
			wantError(t, r, 401, "new network")
		}
	}
	if got := strings.Join(f.eventList(alertID, testerPW), ","); got != "new-network 127.0.0.2" {
		t.Fatalf("events of the alerting token = %s", got)
	}
	got := f.eventList(lockID, testerPW)
	if strings.Join(got, ",") != "disabled 127.0.0.3,new-network 127.0.0.3" && strings.Join(got, ",") != "new-network 127.0.0.3,disabled 127.0.0.3" {
		t.Fatalf("events of the locking token = %q", got)
	}
	if v := f.do("GET", "/api/v1/auth/tokens/"+lockID, testerPW, nil).json(t); v["status"] != "disabled" {
		t.Fatalf("locked token = %v", v)
	}
	// The owner enables it again: the network is known from then on.
	if r := f.do("PUT", "/api/v1/auth/tokens/"+lockID+"/status", testerPW, map[string]string{"status": "enabled"}); r.status != 200 {
		t.Fatalf("enable = %d %s", r.status, r.body)
	}
	for _, ip := range []string{"127.0.0.3", "127.0.0.1"} {
		if r := f.doFrom(from(ip), "GET", "/api/current_user", bearer(lock), nil); r.status != 200 {
			t.Fatalf("after enabling, from %s = %d %s", ip, r.status, r.body)
		}
	}

	t.Run("EditAndLimits", func(t *testing.T) {
		r := f.do("PUT", "/api/v1/auth/tokens/"+alertID, testerPW, map[string]any{"lockOnNewNetwork": true})
		if r.status != 200 || r.json(t)["lockOnNewNetwork"] != true {
			t.Fatalf("edit = %d %s", r.status, r.body)
		}
		wantError(t, f.do("PUT", "/api/v1/auth/tokens/"+alertID, testerPW, map[string]any{"lockOnNewNetwork": "yes"}), 400, "lockOnNewNetwork")
		// A locking token may not mint or make a token that does not lock.
		wantError(t, f.do("POST", "/api/v1/auth/tokens", bearer(lock),
			map[string]any{"username": "tester", "scopes": []string{"user"}, "lockOnNewNetwork": false}), 403, "lockOnNewNetwork")
		r = f.do("POST", "/api/v1/auth/tokens", bearer(lock), map[string]any{"username": "tester", "scopes": []string{"user"}})
		if r.status != 200 {
			t.Fatalf("create by a locking token = %d %s", r.status, r.body)
		}
		child := r.json(t)["id"].(string)
		if v := f.do("GET", "/api/v1/auth/tokens/"+child, testerPW, nil).json(t); v["lockOnNewNetwork"] != true {
			t.Fatalf("a locking token's child does not lock: %v", v)
		}
		wantError(t, f.do("PUT", "/api/v1/auth/tokens/"+child, bearer(lock), map[string]any{"lockOnNewNetwork": false}), 403, "lockOnNewNetwork")
	})
}
