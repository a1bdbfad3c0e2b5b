package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/depot/depot/repos"
	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// depotBin is the binary built once for the end-to-end tests.
var depotBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "depot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	depotBin = filepath.Join(dir, "depot")
	// The version and commit are set as a release build sets them
	// (TestVersion).
	ldflags := "-X main.version=" + testVersion + " -X main.commit=" + testCommit
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", depotBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	dbtest.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliIn returns a function that runs the binary on the data directory
// data with the given stdin and arguments, failing the test unless it
// exits 0, and returns its standard output.
func cliIn(t *testing.T, data string) func(stdin string, args ...string) string {
	return func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := cli(t, stdin, append(args, "--data", data)...)
		if code != 0 {
			t.Fatalf("depot %v: exit %d: %s %s", args, code, out, errOut)
		}
		return out
	}
}

// cli runs the binary with the given stdin and returns stdout, stderr and
// the exit status.
func cli(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(depotBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "DEPOT_DATA=", "DEPOT_DB=", "DEPOT_LISTEN=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// logBuffer collects the server's stderr from the scanning goroutine.
type logBuffer struct {
	mu   sync.Mutex
	b    strings.Builder
	done chan struct{} // closed when the stream has ended
}

func (l *logBuffer) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(line + "\n")
}

// String returns what was logged so far.
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server is a running depot binary.
type liveServer struct {
	url    string
	cmd    *exec.Cmd
	stderr *logBuffer
	done   chan error
}

var listenRE = regexp.MustCompile(`depot listening"? addr="?([0-9.:\[\]]+)"?`)

func startServer(t *testing.T, data string, env ...string) *liveServer {
	t.Helper()
	return startServerFlags(t, data, nil, env...)
}

// startServerFlags starts depot serve with flags added to its command line.
func startServerFlags(t *testing.T, data string, flags []string, env ...string) *liveServer {
	t.Helper()
	cmd := exec.Command(depotBin, append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data}, flags...)...)
	cmd.Env = append(append(os.Environ(), "DEPOT_DATA=", "DEPOT_DB=", "DEPOT_LISTEN="), env...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &liveServer{cmd: cmd, stderr: &logBuffer{done: make(chan struct{})}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		defer close(s.stderr.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.stderr.add(line)
			if m := listenRE.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
	}()
	exited := make(chan struct{})
	go func() { s.done <- cmd.Wait(); pw.Close(); close(exited) }()
	// The data directory is removed after this cleanup (it was made
	// first): a killed server still dying, its last writes under way,
	// made that removal fail with "directory not empty". Kill returns
	// once the signal is sent; the process is gone once Wait returns.
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		t.Fatalf("server exited: %v\n%s", err, s.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start:\n%s", s.stderr)
	}
	return s
}

func (s *liveServer) get(t *testing.T, path string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestEndToEnd(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "DEPOT_ADMIN_PASSWORD=admin-password-1")

	// The CLI works against the same data directory while the server runs.
	if out, errOut, code := cli(t, "tester-password\n", "user", "add", "tester", "--email", "t@example.com", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add: %d %s %s", code, out, errOut)
	}
	out, errOut, code := cli(t, "", "token", "create", "--user", "tester", "--scopes", "user,user:token,project:depot", "--description", "e2e", "--data", data)
	if code != 0 {
		t.Fatalf("token create: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if !strings.HasPrefix(secret, "dpt_") || strings.Contains(errOut, secret) || strings.Count(out, secret) != 1 {
		t.Fatalf("token create printed %q / %q; want the secret once, as the last line", out, errOut)
	}

	code, body := s.get(t, "/api/current_user", "Authorization", "Bearer "+secret)
	if code != 200 || !strings.Contains(body, `"global_key":"tester"`) {
		t.Fatalf("current_user = %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", s.url+"/api/current_user", nil)
	req.SetBasicAuth("admin", "admin-password-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("admin password = %v, %v", res, err)
	}
	res.Body.Close()

	// lastAccessTime becomes visible to the CLI, a separate process,
	// within 2 s.
	deadline := time.Now().Add(2 * time.Second)
	for {
		out, _, _ = cli(t, "", "token", "list", "--user", "tester", "--data", data)
		if strings.Contains(out, "from 127.0.0.1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token list does not show the use within 2 s:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(out, secret) {
		t.Fatal("token list shows the secret")
	}

	if out, errOut, code := cli(t, "", "repo", "create", "tester/hello", "--data", data); code != 0 || !strings.Contains(out, "tester/hello") {
		t.Fatalf("repo create: %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "repos", "tester", "hello.git", "HEAD")); err != nil {
		t.Fatalf("repository not on disk: %v", err)
	}
	if out, _, code := cli(t, "", "repo", "list", "TESTER", "--data", data); code != 0 || strings.TrimSpace(out) != "tester/hello" {
		t.Fatalf("repo list TESTER = %d %q; owners ignore case", code, out)
	}
	if _, errOut, code := cli(t, "", "repo", "list", "nobody", "--data", data); code != 1 || !strings.Contains(errOut, `no user or project named "nobody"`) {
		t.Fatalf("repo list nobody = %d %q", code, errOut)
	}
	if out, _, code := cli(t, "", "repo", "list", "--data", data); code != 0 || strings.TrimSpace(out) != "tester/hello" {
		t.Fatalf("repo list = %d %q", code, out)
	}
	if out, errOut, code := cli(t, "", "repo", "gc", "tester/hello", "--data", data); code != 0 || !strings.Contains(out, "repacked tester/hello") {
		t.Fatalf("repo gc = %d %q %q", code, out, errOut)
	}

	// Nothing secret reaches the log, not even the Authorization header.
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("server exit after SIGTERM: %v\n%s", err, s.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop on SIGTERM")
	}
	<-s.stderr.done
	log := s.stderr.String()
	if strings.Contains(log, secret) || strings.Contains(log, "admin-password-1") || strings.Contains(log, "Basic ") || strings.Contains(log, "Bearer") {
		t.Fatalf("log leaks a secret:\n%s", log)
	}
	if !strings.Contains(log, "token_id=") || !strings.Contains(log, "path=/api/current_user") || !strings.Contains(log, "stopped") {
		t.Fatalf("access log lacks fields or clean stop:\n%s", log)
	}
}

func TestGeneratedAdminPasswordAndJSONLog(t *testing.T) {
	data := t.TempDir()
	cmd := exec.Command(depotBin, "serve", "--listen", "127.0.0.1:0", "--data", data, "--log-format", "json")
	cmd.Env = append(os.Environ(), "DEPOT_ADMIN_PASSWORD=", "DEPOT_DATA=")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed and waited for before the data directory is removed, when
	// the test fails before it stops the server itself.
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(stderr)
	var password string
	for sc.Scan() {
		var entry map[string]any
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		msg, _ := entry["msg"].(string)
		if m := regexp.MustCompile(`generated password (\S+)`).FindStringSubmatch(msg); m != nil {
			password = m[1]
		}
		if strings.Contains(msg, "depot listening") {
			break
		}
	}
	if len(password) < 16 {
		t.Fatalf("no generated admin password logged (got %q)", password)
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	// A second start does not create or log a password again.
	cmd2 := exec.Command(depotBin, "user", "list", "--data", data)
	out, err := cmd2.Output()
	if err != nil || !strings.Contains(string(out), "admin") || strings.Count(string(out), "\n") != 2 {
		t.Fatalf("user list = %q, %v", out, err)
	}
}

func TestCLIUsage(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stream string // "out" or "err"
		want   string
	}{
		{"Help", "", []string{"--help"}, 0, "out", "depot token create"},
		{"CommandHelp", "", []string{"token", "create", "--help"}, 0, "out", "--expires"},
		{"NoArgs", "", nil, 2, "out", "Usage"},
		{"UnknownCommand", "", []string{"frobnicate"}, 2, "err", "unknown command"},
		{"UnknownFlag", "", []string{"user", "list", "--bogus", "--data", data}, 2, "err", "unknown flag -bogus"},
		{"UserAddNoPassword", "", []string{"user", "add", "bob", "--data", data}, 2, "err", "--password-stdin"},
		{"UserAddShortPassword", "x\n", []string{"user", "add", "bob", "--password-stdin", "--data", data}, 2, "err", "at least 8"},
		{"UserAddBadName", "long-enough\n", []string{"user", "add", "bob!", "--password-stdin", "--data", data}, 2, "err", "global_key"},
		{"UserAddMissingName", "long-enough\n", []string{"user", "add", "--password-stdin", "--data", data}, 2, "err", "missing NAME"},
		{"UserAddReservedName", "long-enough\n", []string{"user", "add", "Settings", "--password-stdin", "--data", data}, 2, "err", "reserved"},
		{"ProjectCreateReservedName", "", []string{"project", "create", "static", "--owner", "x", "--data", data}, 2, "err", "reserved"},
		{"TokenCreateNoUser", "", []string{"token", "create", "--data", data}, 2, "err", "--user is required"},
		{"TokenCreateBadScope", "", []string{"token", "create", "--user", "x", "--scopes", "repo", "--data", data}, 2, "err", "unknown scope"},
		{"TokenCreateUnknownUser", "", []string{"token", "create", "--user", "ghost", "--data", data}, 1, "err", "no such user"},
		{"TokenCreateBadRules", "", []string{"token", "create", "--user", "x", "--rules", `{"operations":["clone"]}`, "--data", data}, 2, "err", `rules.operations: "clone" is not an operation`},
		{"TokenCreateRulesNotJSON", "", []string{"token", "create", "--user", "x", "--rules", `repos=a/b`, "--data", data}, 2, "err", "rules: "},
		{"TokenCreateRulesUnknownField", "", []string{"token", "create", "--user", "x", "--rules", `{"ref":["refs/heads/x"]}`, "--data", data}, 2, "err", `unknown field "ref"`},
		{"RepoCreateBadName", "", []string{"repo", "create", "tester/../x", "--data", data}, 2, "err", "invalid"},
		{"RepoCreateNoSlash", "", []string{"repo", "create", "tester", "--data", data}, 2, "err", "OWNER/NAME"},
		{"RepoGCUnknown", "", []string{"repo", "gc", "tester/nope", "--data", data}, 1, "err", "no repository tester/nope"},
		{"RepoGCNoArg", "", []string{"repo", "gc", "--data", data}, 2, "err", "OWNER/NAME"},
		{"ServeExtraArg", "", []string{"serve", "oops", "--data", data}, 2, "err", "unexpected argument"},
		{"ServeBadLogFormat", "", []string{"serve", "--log-format", "xml", "--data", data}, 2, "err", "--log-format"},
		{"ServeBadHookTimeout", "", []string{"serve", "--hook-timeout", "0s", "--data", data}, 2, "err", "--hook-timeout must be positive"},
		{"ServeBadLeakedTokenAction", "", []string{"serve", "--leaked-token-action", "warn", "--data", data}, 2, "err", "--leaked-token-action must be refuse, revoke or both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := cli(t, tc.stdin, tc.args...)
			got := out
			if tc.stream == "err" {
				got = errOut
			}
			if code != tc.code || !strings.Contains(got, tc.want) {
				t.Fatalf("depot %v = exit %d, stdout %q, stderr %q; want exit %d and %q on std%s", tc.args, code, out, errOut, tc.code, tc.want, tc.stream)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Fatalf("usage error is not one line: %q", errOut)
			}
		})
	}
}

// TestSeedExample is CODING's own example, verbatim: user tester clones
// and pushes repository testRepo of project test, on a fresh server set up
// only with the CLI.
func TestSeedExample(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	run := cliIn(t, data)
	run("tester-password\n", "user", "add", "tester", "--password-stdin")
	run("", "project", "create", "test", "--owner", "tester")
	run("", "repo", "create", "test/testRepo")
	out := run("", "token", "create", "--user", "tester", "--scopes", "project:depot")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]

	work := t.TempDir()
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+work, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
			"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.com",
			"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	host := strings.TrimPrefix(s.url, "http://")
	url := "http://tester:" + token + "@" + host + "/test/testRepo.git"
	out = git(work, "clone", url)
	if !strings.Contains(out, "Cloning into 'testRepo'") {
		t.Fatalf("clone: %s", out)
	}
	clone := filepath.Join(work, "testRepo")
	os.WriteFile(filepath.Join(clone, "README.md"), []byte("# testRepo\n"), 0o644)
	git(clone, "add", ".")
	git(clone, "commit", "-m", "first commit")
	git(clone, "push", "origin", "HEAD")
	again := filepath.Join(work, "again")
	out = git(work, "clone", "--progress", url, again)
	if !strings.Contains(out, "remote: ") {
		t.Fatalf("clone shows no remote: progress lines: %s", out)
	}
	if got := git(again, "log", "--format=%s"); strings.TrimSpace(got) != "first commit" {
		t.Fatalf("second clone has %q", got)
	}
}

// TestRepoCreateCaseVariant: depot repo create refuses a name that an
// existing repository holds in another case, and leaves that one as it is.
func TestRepoCreateCaseVariant(t *testing.T) {
	data := t.TempDir()
	if out, errOut, code := cli(t, "tester-password\n", "user", "add", "tester", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add: exit %d: %s %s", code, out, errOut)
	}
	if out, errOut, code := cli(t, "", "repo", "create", "tester/cs", "--description", "lower", "--data", data); code != 0 {
		t.Fatalf("repo create tester/cs: exit %d: %s %s", code, out, errOut)
	}
	out, errOut, code := cli(t, "", "repo", "create", "tester/CS", "--public", "--data", data)
	if code != 1 || !strings.Contains(errOut, "already exists") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Fatalf("repo create tester/CS = exit %d, stdout %q, stderr %q; want exit 1 and one line saying it exists", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "repos", "tester", "CS.git")); !os.IsNotExist(err) {
		t.Fatalf("tester/CS.git on disk: %v", err)
	}
	d, err := openData(context.Background(), &dataLoc{dir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	info, err := d.projects.RepoInfo(context.Background(), "tester", "cs")
	if err != nil || info.Visibility != repos.Private || info.Description != "lower" {
		t.Fatalf("record of tester/cs = %+v, %v; want it private and described as before", info, err)
	}
	if out, errOut, code := cli(t, "", "repo", "gc", "TESTER/CS", "--data", data); code != 0 || !strings.Contains(out, "repacked tester/cs") {
		t.Fatalf("repo gc TESTER/CS = exit %d, %q %q; want tester/cs repacked", code, out, errOut)
	}
}

// TestServeHideRefs runs depot serve with --hide-refs, given twice and
// with a comma: the refs are hidden from both fetches and pushes of every
// repository.
func TestServeHideRefs(t *testing.T) {
	data := t.TempDir()
	s := startServerFlags(t, data, []string{"--hide-refs", "refs/pull/,refs/keep-around/", "--hide-refs", "refs/tmp"})
	url, _, git := helloRepo(t, s, data)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"commit", "-q", "--allow-empty", "-m", "first"}} {
		if out, err := git(args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	out, err := git("push", "--porcelain", url, "main", "main:refs/pull/1/head", "main:refs/keep-around/a", "main:refs/tmp/x")
	if err == nil {
		t.Fatalf("push to hidden refs succeeded:\n%s", out)
	}
	for _, ref := range []string{"refs/pull/1/head", "refs/keep-around/a", "refs/tmp/x"} {
		if !strings.Contains(out, "main:"+ref+"\t[remote rejected] (deny updating a hidden ref)") {
			t.Errorf("push to %s not refused as hidden:\n%s", ref, out)
		}
	}
	// A ref put there behind depot's back is not listed either.
	repo := filepath.Join(data, "repos", "tester", "hello.git")
	if out, err := exec.Command("git", "--git-dir", repo, "update-ref", "refs/pull/2/head", "refs/heads/main").CombinedOutput(); err != nil {
		t.Fatalf("update-ref: %v\n%s", err, out)
	}
	out, err = git("ls-remote", url)
	if err != nil {
		t.Fatalf("ls-remote: %v\n%s", err, out)
	}
	if !strings.Contains(out, "refs/heads/main") || strings.Contains(out, "refs/pull") {
		t.Errorf("ls-remote lists hidden refs or misses main:\n%s", out)
	}
}

// TestServeMaxPushSize runs depot serve with --max-push-size: a push
// over it is refused with the reason in git's output, one within it
// goes through. Bad limit flags stop the server with a usage error.
func TestServeMaxPushSize(t *testing.T) {
	for _, flags := range [][]string{{"--max-push-size", "0"}, {"--max-push-size", "lots"}, {"--max-pack-ops", "-1"}, {"--stall-timeout", "0s"}, {"--pack-queue-timeout", "-1s"}} {
		if _, errOut, code := cli(t, "", append([]string{"serve", "--data", t.TempDir()}, flags...)...); code != 2 || !strings.Contains(errOut, strings.TrimLeft(flags[0], "-")) {
			t.Errorf("serve %v = exit %d, %q; want 2 naming the flag", flags, code, errOut)
		}
	}
	data := t.TempDir()
	s := startServerFlags(t, data, []string{"--max-push-size", "100KB", "--max-pack-ops", "1", "--stall-timeout", "30s"})
	url, work, git := helloRepo(t, s, data)
	big := make([]byte, 300_000)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(work, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "big"}, {"commit", "-q", "-m", "big"}} {
		if out, err := git(args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if out, err := git("push", url, "main"); err == nil || !strings.Contains(out, "remote unpack failed: pack exceeds the maximum size of 100000 bytes") {
		t.Fatalf("push over --max-push-size = %v:\n%s", err, out)
	}
	if out, err := git("reset", "-q", "--hard", "HEAD~0"); err != nil {
		t.Fatal(out)
	}
	if out, err := git("checkout", "-q", "--orphan", "small"); err != nil {
		t.Fatal(out)
	}
	if out, err := git("rm", "-q", "--cached", "big"); err != nil {
		t.Fatal(out)
	}
	if out, err := git("commit", "-q", "--allow-empty", "-m", "small"); err != nil {
		t.Fatal(out)
	}
	if out, err := git("push", url, "small:main"); err != nil {
		t.Fatalf("push within --max-push-size: %v\n%s", err, out)
	}
}

// helloRepo gives the server s over data the user tester, a project:depot
// token of it and the repository tester/hello, and returns the
// repository's URL with the token, a fresh work directory and a git
// client that runs there with its own home.
func helloRepo(t *testing.T, s *liveServer, data string) (url, work string, git func(args ...string) (string, error)) {
	t.Helper()
	if _, errOut, code := cli(t, "tester-password\n", "user", "add", "tester", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	out, errOut, code := cli(t, "", "token", "create", "--user", "tester", "--scopes", "project:depot", "--data", data)
	if code != 0 {
		t.Fatalf("token create: %d %s", code, errOut)
	}
	secret := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if _, errOut, code := cli(t, "", "repo", "create", "tester/hello", "--data", data); code != 0 {
		t.Fatalf("repo create: %d %s", code, errOut)
	}
	url = strings.Replace(s.url, "http://", "http://tester:"+secret+"@", 1) + "/tester/hello.git"
	home, work := t.TempDir(), t.TempDir()
	git = func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	return url, work, git
}
