package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeHooks runs the binary with and without --hooks and pushes to a
// repository whose pre-receive hook prints its environment and refuses:
// only --hooks runs it, and the server's secrets stay out of its
// environment.
func TestServeHooks(t *testing.T) {
	const adminPassword = "admin-password-not-for-hooks"
	tests := []struct {
		name    string
		flags   []string
		wantRan bool
	}{
		{"Default", nil, false},
		{"Hooks", []string{"--hooks", "--hook-timeout", "1m"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			s := startServerFlags(t, data, tc.flags, "DEPOT_ADMIN_PASSWORD="+adminPassword)
			run := cliIn(t, data)
			run("tester-password\n", "user", "add", "tester", "--password-stdin")
			run("", "repo", "create", "tester/hooked")
			out := run("", "token", "create", "--user", "tester", "--scopes", "project:depot")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			token := lines[len(lines)-1]

			hooks := filepath.Join(data, "repos", "tester", "hooked.git", "hooks")
			if err := os.MkdirAll(hooks, 0o755); err != nil {
				t.Fatal(err)
			}
			script := "#!/bin/sh\nenv\necho 'refused by the hook'\nexit 1\n"
			if err := os.WriteFile(filepath.Join(hooks, "pre-receive"), []byte(script), 0o755); err != nil {
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
			url := "http://tester:" + token + "@" + strings.TrimPrefix(s.url, "http://") + "/tester/hooked.git"
			out, err := git("push", url, "main")
			if !tc.wantRan {
				if err != nil || strings.Contains(out, "refused by the hook") {
					t.Fatalf("push without --hooks = %v; want the hook not run\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("push succeeded despite the hook:\n%s", out)
			}
			for _, want := range []string{"remote: GIT_DIR=", "remote: refused by the hook", "(pre-receive hook declined)"} {
				if !strings.Contains(out, want) {
					t.Errorf("push output lacks %q:\n%s", want, out)
				}
			}
			for _, leak := range []string{adminPassword, "DEPOT_", token} {
				if strings.Contains(out, leak) {
					t.Errorf("the hook's environment holds %q:\n%s", leak, out)
				}
			}
			if !strings.Contains(s.stderr.String(), "repository hooks are on") {
				t.Errorf("the log does not say that hooks are on:\n%s", s.stderr)
			}
		})
	}
}
