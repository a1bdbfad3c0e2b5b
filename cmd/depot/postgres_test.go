package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// TestPostgresTwoNodes runs two depot serve processes on one PostgreSQL
// database and one data directory, as two nodes behind a load balancer:
// one given --db, the other DEPOT_DB. The CLI works on the same database
// with --db; a push through one node is cloned through the other; a token
// disabled through one is refused by the other once its notification
// arrives (milliseconds); a use through either shows in the CLI's list.
// No depot.db is made, and the database's password reaches no log.
func TestPostgresTwoNodes(t *testing.T) {
	// The private server trusts local connections, so the password is
	// not checked; it is there to be kept out of the logs.
	const password = "pg-password-7f3a"
	dbURL := strings.Replace(dbtest.PostgresURL(t), "postgres://postgres@", "postgres://postgres:"+password+"@", 1)
	data := t.TempDir()
	a := startServerFlags(t, data, []string{"--db", dbURL}, "DEPOT_ADMIN_PASSWORD=admin-password-1")
	b := startServer(t, data, "DEPOT_DB="+dbURL)

	if out, errOut, code := cli(t, "tester-password\n", "user", "add", "tester", "--password-stdin", "--data", data, "--db", dbURL); code != 0 {
		t.Fatalf("user add: %d %s %s", code, out, errOut)
	}
	out, errOut, code := cli(t, "", "token", "create", "--user", "tester", "--scopes", "user,user:token,project:depot", "--data", data, "--db", dbURL)
	if code != 0 {
		t.Fatalf("token create: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if out, errOut, code := cli(t, "", "repo", "create", "tester/shared", "--data", data, "--db", dbURL); code != 0 {
		t.Fatalf("repo create: %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "depot.db")); err == nil {
		t.Errorf("%s/depot.db exists; with --db the database is on PostgreSQL only", data)
	}

	g := newGitEnv(t)
	remote := func(s *liveServer) string {
		return strings.Replace(s.url, "http://", "http://tester:"+secret+"@", 1) + "/tester/shared.git"
	}
	wt := filepath.Join(t.TempDir(), "wt")
	g.must("", "init", "-q", "-b", "main", wt)
	g.commit(wt, "a.txt", "through node a\n")
	g.must(wt, "push", "-q", remote(a), "main")
	want := strings.TrimSpace(g.must(wt, "rev-parse", "HEAD"))
	clone := filepath.Join(t.TempDir(), "clone")
	g.must("", "clone", "-q", remote(b), clone)
	if got := strings.TrimSpace(g.must(clone, "rev-parse", "HEAD")); got != want {
		t.Fatalf("clone through node b has %s; pushed %s through node a", got, want)
	}

	// The use through either node shows in the list the CLI reads.
	deadline := time.Now().Add(3 * time.Second)
	for {
		out, _, _ = cli(t, "", "token", "list", "--user", "tester", "--data", data, "--db", dbURL)
		if strings.Contains(out, "from 127.0.0.1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token list does not show the use within 3 s:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Both nodes answer the token, then node a disables it, and node b
	// refuses it at once.
	for _, s := range []*liveServer{a, b} {
		if code, body := s.get(t, "/api/current_user", "Authorization", "Bearer "+secret); code != 200 {
			t.Fatalf("current_user through %s = %d %s", s.url, code, body)
		}
	}
	id := tokenID(t, a, secret)
	body, _ := json.Marshal(map[string]string{"status": "disabled"})
	req, _ := http.NewRequest("PUT", a.url+"/api/v1/auth/tokens/"+id+"/status", bytes.NewReader(body))
	req.SetBasicAuth("tester", "tester-password")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("disable through node a = %v, %v", res, err)
	}
	res.Body.Close()
	// Node b hears of it through PostgreSQL (LISTEN/NOTIFY) within
	// milliseconds; 750 ms, room for a loaded machine, is well under its
	// cache's age limit of 2 s, so a node that missed it fails here.
	disabledAt := time.Now()
	for {
		code, body := b.get(t, "/api/current_user", "Authorization", "Bearer "+secret)
		if code == 401 {
			t.Logf("node b refuses the token %v after node a answered", time.Since(disabledAt))
			break
		}
		if time.Since(disabledAt) > 750*time.Millisecond {
			t.Fatalf("disabled token through node b = %d %s %v later; want 401", code, body, time.Since(disabledAt))
		}
		time.Sleep(2 * time.Millisecond)
	}
	if out, err := g.run("", "ls-remote", remote(b)); err == nil {
		t.Errorf("git ls-remote with the disabled token through node b succeeded:\n%s", out)
	}

	for _, s := range []*liveServer{a, b} {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Fatal("server did not stop on SIGTERM")
		}
		<-s.stderr.done
		if log := s.stderr.String(); strings.Contains(log, password) || strings.Contains(log, secret) {
			t.Errorf("log of %s leaks a secret:\n%s", s.url, log)
		}
	}
}

// tokenID returns the id of the token secret, asked of s with the token
// itself.
func tokenID(t *testing.T, s *liveServer, secret string) string {
	t.Helper()
	code, body := s.get(t, "/api/v1/auth/tokens?pageSize=10", "Authorization", "Bearer "+secret)
	if code != 200 {
		t.Fatalf("token list = %d %s", code, body)
	}
	var page struct {
		List []struct {
			ID string `json:"id"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.List) != 1 {
		t.Fatalf("token list = %s (%v); want one token", body, err)
	}
	return page.List[0].ID
}

// TestDBFlagErrors checks what a wrong or unreachable --db says: a clear
// reason, and never the password the URL holds.
func TestDBFlagErrors(t *testing.T) {
	const password = "pg-secret-91"
	for _, tc := range []struct {
		name     string
		args     []string
		env      string
		wantCode int
		want     string
	}{
		{"NotPostgres", []string{"user", "list", "--db", "mysql://u:" + password + "@h/db"}, "", 2,
			"--db: want a postgres:// or postgresql:// URL"},
		{"Unreachable", []string{"user", "list", "--db", "postgres://u:" + password + "@127.0.0.1:1/db?connect_timeout=5"}, "", 1,
			"postgres: open postgres://u:xxxxx@127.0.0.1:1/db"},
		{"Backup", []string{"backup", t.TempDir() + "/b", "--db", "postgres://u:" + password + "@127.0.0.1:1/db"}, "", 2,
			"pg_dump"},
		{"HelpHidesEnv", []string{"serve", "--help"}, "DEPOT_DB=postgres://u:" + password + "@h/db", 0,
			"keep the database on PostgreSQL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(depotBin, append(tc.args, "--data", t.TempDir())...)
			cmd.Env = append(os.Environ(), "DEPOT_DATA=", "DEPOT_DB=", "DEPOT_LISTEN=")
			if tc.env != "" {
				cmd.Env = append(cmd.Env, tc.env)
			}
			out, _ := cmd.CombinedOutput()
			code := cmd.ProcessState.ExitCode()
			if code != tc.wantCode || !strings.Contains(string(out), tc.want) || strings.Contains(string(out), password) {
				t.Errorf("depot %v = %d:\n%s\nwant %d, %q, and no password", tc.args, code, out, tc.wantCode, tc.want)
			}
		})
	}
}
