package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTokenUseOverGit drives the real git client against depot serve
// listening on both IPv4 and IPv6 loopback, which stand for two networks:
// a push records the token's last use as the API's requests do, visible
// within 2 s; a clone from the other network records a new-network event;
// and a token with lockOnNewNetwork is refused there and disabled.
func TestTokenUseOverGit(t *testing.T) {
	data, home := t.TempDir(), t.TempDir()
	s := startServerFlags(t, data, []string{"--listen", "[::]:0", "--token-network-v4", "24", "--token-network-v6", "48"})
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	v4 := "127.0.0.1:" + u.Port()
	v6 := "[::1]:" + u.Port()
	run := func(dir string, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
			"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.com",
			"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.com")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	git := func(dir string, args ...string) {
		t.Helper()
		if out, err := run(dir, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	api := func(method, path string, body any) map[string]any {
		t.Helper()
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req, _ := http.NewRequest(method, "http://"+v4+path, bytes.NewReader(b))
		req.SetBasicAuth("tester", "tester-password")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s %s = %d %v %v", method, path, res.StatusCode, m, err)
		}
		return m
	}
	events := func(id string) string {
		t.Helper()
		var kinds []string
		for _, e := range api("GET", "/api/v1/auth/tokens/"+id+"/events", nil)["events"].([]any) {
			e := e.(map[string]any)
			kinds = append(kinds, e["kind"].(string)+" "+e["ip"].(string))
		}
		return strings.Join(kinds, ",")
	}

	if out, errOut, code := cli(t, "tester-password\n", "user", "add", "tester", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add: %s %s", out, errOut)
	}
	if out, errOut, code := cli(t, "", "repo", "create", "tester/app", "--data", data); code != 0 {
		t.Fatalf("repo create: %s %s", out, errOut)
	}
	tok := api("POST", "/api/v1/auth/tokens", map[string]any{"username": "tester", "scopes": []string{"project:depot"}})
	id, secret := tok["id"].(string), tok["token"].(string)
	if v := api("GET", "/api/v1/auth/tokens/"+id, nil); v["lastAccessTime"] != -1.0 || v["lastAccessIP"] != nil {
		t.Fatalf("a new token shows a use: %v", v)
	}

	work := filepath.Join(home, "work")
	git(home, "init", "-q", "-b", "main", work)
	os.WriteFile(filepath.Join(work, "README"), []byte("hello\n"), 0o644)
	git(work, "add", "README")
	git(work, "commit", "-q", "-m", "first")
	before := time.Now().UnixMilli()
	git(work, "push", "-q", "http://tester:"+secret+"@"+v4+"/tester/app.git", "main")

	// Last use over git, as for the API: within 2 s.
	deadline := time.Now().Add(2 * time.Second)
	for {
		v := api("GET", "/api/v1/auth/tokens/"+id, nil)
		if at, _ := v["lastAccessTime"].(float64); v["lastAccessIP"] == "127.0.0.1" && int64(at) >= before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the push's use is not visible within 2 s: %v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A clone from the other network raises one new-network event.
	git(home, "clone", "-q", "http://tester:"+secret+"@"+v6+"/tester/app.git", filepath.Join(home, "v6"))
	if got := events(id); got != "new-network ::1" {
		t.Fatalf("events after a clone over IPv6 = %q", got)
	}

	// With lockOnNewNetwork, the clone from the other network is refused
	// and the token disabled.
	tok = api("POST", "/api/v1/auth/tokens", map[string]any{"username": "tester", "scopes": []string{"project:depot"}, "lockOnNewNetwork": true})
	lockID, lock := tok["id"].(string), tok["token"].(string)
	git(home, "clone", "-q", "http://tester:"+lock+"@"+v4+"/tester/app.git", filepath.Join(home, "lock4"))
	out, err := run(home, "clone", "-q", "http://tester:"+lock+"@"+v6+"/tester/app.git", filepath.Join(home, "lock6"))
	if err == nil || !strings.Contains(out, "Authentication failed") {
		t.Fatalf("clone from a new network with a locking token = %v\n%s", err, out)
	}
	if v := api("GET", "/api/v1/auth/tokens/"+lockID, nil); v["status"] != "disabled" {
		t.Fatalf("locked token = %v", v)
	}
	if got := events(lockID); got != "disabled ::1,new-network ::1" && got != "new-network ::1,disabled ::1" {
		t.Fatalf("events of the locked token = %q", got)
	}
	if out, err := run(home, "ls-remote", "http://tester:"+lock+"@"+v4+"/tester/app.git"); err == nil {
		t.Fatalf("a locked token still works from its first network:\n%s", out)
	}
	api("PUT", "/api/v1/auth/tokens/"+lockID+"/status", map[string]string{"status": "enabled"})
	git(home, "ls-remote", "http://tester:"+lock+"@"+v6+"/tester/app.git")

	// A push its rules refuse is a rules-refused event of the token.
	tok = api("POST", "/api/v1/auth/tokens", map[string]any{"username": "tester", "scopes": []string{"project:depot"},
		"rules": map[string]any{"refs": []string{"refs/heads/ci/*"}}})
	ruledID, ruled := tok["id"].(string), tok["token"].(string)
	git(work, "push", "-q", "http://tester:"+ruled+"@"+v4+"/tester/app.git", "main:refs/heads/ci/build")
	if got := events(ruledID); got != "" {
		t.Fatalf("events after an allowed push = %q; want none", got)
	}
	if out, err := run(work, "push", "http://tester:"+ruled+"@"+v4+"/tester/app.git", "main:refs/heads/other"); err == nil ||
		!strings.Contains(out, "token may push only refs/heads/ci/*") {
		t.Fatalf("push outside the token's refs = %v\n%s", err, out)
	}
	if got := events(ruledID); got != "rules-refused 127.0.0.1" {
		t.Fatalf("events after a refused push = %q; want one rules-refused", got)
	}
}
