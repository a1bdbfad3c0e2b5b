package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fromAddr returns an HTTP client whose connections leave from the
// loopback address ip (Linux answers on all of 127.0.0.0/8), so that one
// test can play several clients. It follows no redirects.
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// reverseProxy starts a real httputil.ReverseProxy in front of target, as
// nginx with proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for,
// X-Forwarded-Host $host and X-Forwarded-Proto $scheme would be: it
// appends its peer to X-Forwarded-For and sends the request on from
// 127.0.0.2, under the Host of target.
func reverseProxy(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			pr.SetXForwarded()
		},
		Transport:     &http.Transport{DialContext: d.DialContext},
		FlushInterval: -1, // git's streams pass as they come
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestBehindProxy runs the binary behind a reverse proxy that it trusts:
// IP whitelists, last use, the failure limiter, hooks, sessions and the
// web's Origin check see the client, not the proxy, and a client's own
// forwarding headers count for nothing.
func TestBehindProxy(t *testing.T) {
	const adminPassword = "admin-password-behind-proxy"
	data := t.TempDir()
	s := startServerFlags(t, data, []string{"--trusted-proxies", "127.0.0.2/32", "--hooks",
		"--auth-fail-burst", "3", "--auth-fail-refill", "1h"}, "DEPOT_ADMIN_PASSWORD="+adminPassword)
	proxy := reverseProxy(t, s.url)
	run := cliIn(t, data)
	run("tester-password\n", "user", "add", "tester", "--password-stdin")
	run("", "repo", "create", "tester/proxied")

	// Tokens that only the client's address, and only the proxy's, may use.
	direct := fromAddr("127.0.0.1")
	newToken := func(whitelist ...string) (id, secret string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"username": "tester", "scopes": []string{"user", "project", "project:depot"}, "ipWhitelist": whitelist})
		req, _ := http.NewRequest("POST", s.url+"/api/v1/auth/tokens", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("admin", adminPassword)
		res, err := direct.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct{ ID, Token string }
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
			t.Fatalf("create token = %d, %v", res.StatusCode, err)
		}
		return out.ID, out.Token
	}
	clientID, clientToken := newToken("127.0.0.1/32")
	_, proxyToken := newToken("127.0.0.2")
	_, spoofToken := newToken("10.9.9.9")
	_, anyToken := newToken()

	call := func(c *http.Client, base, path string, header ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	t.Run("Whitelist", func(t *testing.T) {
		// The failures come from 127.0.0.8, whose limit the other
		// subtests do not need.
		for _, tc := range []struct {
			name   string
			from   string
			base   string
			token  string
			spoof  string // X-Forwarded-For the client sends itself
			status int
		}{
			{"ClientThroughProxy", "127.0.0.1", proxy, clientToken, "", 200},
			{"ProxysOwnAddressIsNotTheClient", "127.0.0.8", proxy, proxyToken, "", 401},
			{"SpoofedThroughProxy", "127.0.0.8", proxy, spoofToken, "10.9.9.9", 401},
			{"SpoofedDirect", "127.0.0.8", s.url, spoofToken, "10.9.9.9", 401},
			{"ClientDirect", "127.0.0.1", s.url, clientToken, "", 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h := []string{"Authorization", "Bearer " + tc.token}
				if tc.spoof != "" {
					h = append(h, "X-Forwarded-For", tc.spoof, "X-Real-IP", tc.spoof, "Forwarded", "for="+tc.spoof)
				}
				if code, body := call(fromAddr(tc.from), tc.base, "/api/current_user", h...); code != tc.status {
					t.Fatalf("current_user = %d %s; want %d", code, body, tc.status)
				}
			})
		}
	})

	t.Run("LastUseAndCloneURL", func(t *testing.T) {
		c := fromAddr("127.0.0.5")
		if code, body := call(c, proxy, "/api/v1/repos/tester/proxied", "Authorization", "Bearer "+clientToken); code != 401 {
			t.Fatalf("from 127.0.0.5, outside the whitelist = %d %s; want 401", code, body)
		}
		code, body := call(direct, proxy, "/api/v1/repos/tester/proxied", "Authorization", "Bearer "+clientToken)
		if code != 200 || !strings.Contains(body, `"`+proxy+`/tester/proxied.git"`) {
			t.Fatalf("repository through the proxy = %d %s; want the proxy's clone URL %s", code, body, proxy)
		}
		deadline := time.Now().Add(3 * time.Second)
		for {
			req, _ := http.NewRequest("GET", s.url+"/api/v1/auth/tokens?username=tester&pageSize=100", nil)
			req.SetBasicAuth("admin", adminPassword)
			res, err := direct.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var list struct {
				Tokens []struct{ ID, LastAccessIP string }
			}
			err = json.NewDecoder(res.Body).Decode(&list)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var ip string
			for _, tok := range list.Tokens {
				if tok.ID == clientID {
					ip = tok.LastAccessIP
				}
			}
			if ip == "127.0.0.1" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("lastAccessIP = %q; want the client's 127.0.0.1", ip)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("GitAndHooks", func(t *testing.T) {
		hooks := filepath.Join(data, "repos", "tester", "proxied.git", "hooks")
		if err := os.MkdirAll(hooks, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(hooks, "pre-receive"), []byte("#!/bin/sh\necho \"pushed from $REMOTE_ADDR\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		work := t.TempDir()
		git := func(args ...string) (string, error) {
			cmd := exec.Command("git", args...)
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "HOME="+work, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
				"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.com",
				"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.com")
			b, err := cmd.CombinedOutput()
			return string(b), err
		}
		for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"commit", "-q", "--allow-empty", "-m", "first"}} {
			if out, err := git(args...); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		remote := func(token string) string {
			return "http://tester:" + token + "@" + strings.TrimPrefix(proxy, "http://") + "/tester/proxied.git"
		}
		out, err := git("push", remote(clientToken), "main")
		if err != nil || !strings.Contains(out, "remote: pushed from 127.0.0.1") {
			t.Fatalf("push through the proxy = %v; want the hook to see 127.0.0.1\n%s", err, out)
		}
		if out, err := git("clone", "-q", remote(clientToken), "copy"); err != nil {
			t.Fatalf("clone through the proxy: %v\n%s", err, out)
		}
		if out, err := git("ls-remote", remote(proxyToken)); err == nil || !strings.Contains(out, "Authentication failed") {
			t.Fatalf("ls-remote with the proxy's token = %v; want Authentication failed\n%s", err, out)
		}
	})

	t.Run("Limiter", func(t *testing.T) {
		attacker, office := fromAddr("127.0.0.3"), fromAddr("127.0.0.4")
		for i := 0; i < 3; i++ {
			req, _ := http.NewRequest("GET", proxy+"/api/current_user", nil)
			req.SetBasicAuth("admin", "guess-"+string(rune('a'+i)))
			res, err := attacker.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 401 {
				t.Fatalf("guess %d = %d; want 401", i, res.StatusCode)
			}
		}
		req, _ := http.NewRequest("GET", proxy+"/api/current_user", nil)
		req.SetBasicAuth("admin", adminPassword)
		res, err := attacker.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
			t.Fatalf("right password from the guessing client = %d; want 429 with Retry-After", res.StatusCode)
		}
		req, _ = http.NewRequest("GET", proxy+"/api/current_user", nil)
		req.SetBasicAuth("admin", adminPassword)
		res, err = office.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("another client through the same proxy = %d; want 200", res.StatusCode)
		}
		if code, body := call(attacker, proxy, "/api/current_user", "Authorization", "Bearer "+anyToken); code != 200 {
			t.Fatalf("valid token from the blocked client = %d %s; want 200", code, body)
		}
		if !strings.Contains(s.stderr.String(), "proxy=127.0.0.2 remote=127.0.0.3") {
			t.Errorf("the access log does not name the client 127.0.0.3 and its proxy:\n%s", s.stderr)
		}
	})

	t.Run("WebSignIn", func(t *testing.T) {
		c := fromAddr("127.0.0.6")
		post := func(origin string) *http.Response {
			t.Helper()
			form := url.Values{"username": {"tester"}, "password": {"tester-password"}}
			req, _ := http.NewRequestWithContext(context.Background(), "POST", proxy+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", origin)
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}
		if res := post("http://evil.test"); res.StatusCode != http.StatusForbidden {
			t.Fatalf("sign-in with a foreign Origin = %d; want 403", res.StatusCode)
		}
		res := post(proxy)
		var session *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "depot_session" && ck.Value != "" {
				session = ck
			}
		}
		if res.StatusCode != http.StatusSeeOther || session == nil {
			t.Fatalf("sign-in through the proxy = %d, cookies %v; want 303 and a session", res.StatusCode, res.Cookies())
		}
		req, _ := http.NewRequest("GET", proxy+"/settings/profile", nil)
		req.AddCookie(session)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(page), "127.0.0.6") {
			t.Fatalf("profile = %d; want the session's address 127.0.0.6 on it:\n%s", res.StatusCode, page)
		}
	})
}

// TestServeProxyFlags: a bad --trusted-proxies, from the flag or its
// environment variable, or a limit that is not positive, stops depot
// serve before it listens, with a reason.
func TestServeProxyFlags(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"BadProxy", []string{"--trusted-proxies", "10.0.0.0/8,proxy.example"}, "", `--trusted-proxies: trusted proxy "proxy.example" is not an IP address or CIDR range`},
		{"BadProxyEnv", nil, "DEPOT_TRUSTED_PROXIES=10.0.0.0/33", `--trusted-proxies: trusted proxy "10.0.0.0/33"`},
		{"ZeroBurst", []string{"--auth-fail-burst", "0"}, "", "--auth-fail-burst must be at least 1"},
		{"ZeroUserBurst", []string{"--auth-user-fail-burst", "0"}, "", "--auth-user-fail-burst must be at least 1"},
		{"NegativeRefill", []string{"--auth-fail-refill", "-1s"}, "", "--auth-fail-refill must be positive"},
		{"ZeroUserRefill", []string{"--auth-user-fail-refill", "0s"}, "", "--auth-user-fail-refill must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(depotBin, append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data}, tc.args...)...)
			cmd.Env = append(os.Environ(), "DEPOT_DATA=", "DEPOT_LISTEN=", "DEPOT_TRUSTED_PROXIES=")
			if tc.env != "" {
				cmd.Env = append(cmd.Env, tc.env) // the last value of a variable wins
			}
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
				t.Fatalf("depot serve %v = %v; want exit 2 saying %q:\n%s", tc.args, err, tc.want, out)
			}
		})
	}
}
