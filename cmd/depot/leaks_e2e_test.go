package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServePushProtection runs the binary with each --leaked-token-action
// and pushes, with the real git client, a file holding the very token the
// push authenticates with: git shows where it is, the push is refused or
// kept, and the token stops working or not, as the flag says. The log
// names the token's id and owner, never its secret.
func TestServePushProtection(t *testing.T) {
	tests := []struct {
		name                  string
		flags                 []string
		wantRefused, wantLive bool
	}{
		{"Default", nil, true, false},
		{"Both", []string{"--leaked-token-action", "both"}, true, false},
		{"Refuse", []string{"--leaked-token-action", "refuse"}, true, true},
		{"Revoke", []string{"--leaked-token-action", "revoke"}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			s := startServerFlags(t, data, tc.flags)
			run := cliIn(t, data)
			run("tester-password\n", "user", "add", "tester", "--password-stdin")
			run("", "repo", "create", "tester/site")
			out := run("", "token", "create", "--user", "tester", "--scopes", "project:depot,user")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			token := lines[len(lines)-1]

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
			if err := os.WriteFile(filepath.Join(work, "deploy.sh"), []byte("curl -H 'Authorization: Bearer "+token+"' ...\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "deploy.sh"}, {"commit", "-q", "-m", "deploy script"}} {
				if out, err := git(args...); err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			commit, _ := git("rev-parse", "--short=7", "HEAD")
			commit = strings.TrimSpace(commit)
			url := "http://tester:" + token + "@" + strings.TrimPrefix(s.url, "http://") + "/tester/site.git"
			out, err := git("push", url, "main")
			if refused := err != nil; refused != tc.wantRefused {
				t.Fatalf("push refused = %v (%v); want %v\n%s", refused, err, tc.wantRefused, out)
			}
			if !strings.Contains(out, "remote: ") || !strings.Contains(out, "deploy.sh in commit "+commit) {
				t.Errorf("git's output does not name deploy.sh in commit %s:\n%s", commit, out)
			}
			if tc.wantRefused && !strings.Contains(out, "[remote rejected] main -> main (push contains a depot token: deploy.sh in commit "+commit+")") {
				t.Errorf("git's output lacks the refusal of main:\n%s", out)
			}
			if ls, err := git("ls-remote", "http://"+strings.TrimPrefix(s.url, "http://")+"/tester/site.git"); err == nil && strings.Contains(ls, "refs/heads/main") == tc.wantRefused {
				t.Errorf("ls-remote after the push:\n%s", ls)
			}

			req, _ := http.NewRequest("GET", s.url+"/api/current_user", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if live := resp.StatusCode == http.StatusOK; live != tc.wantLive {
				t.Errorf("current_user with the token = %d; want live %v", resp.StatusCode, tc.wantLive)
			}

			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(s.stderr.String(), "push holds a live token") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			log := s.stderr.String()
			if !strings.Contains(log, "push holds a live token") || !strings.Contains(log, "owner=tester") || !strings.Contains(log, "token_id=") {
				t.Errorf("the log does not name the leaked token's id and owner:\n%s", log)
			}
			if strings.Contains(log, token) {
				t.Errorf("the log holds the secret:\n%s", log)
			}
		})
	}
}
