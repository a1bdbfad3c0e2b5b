package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var crashRounds = flag.Int("crashrounds", 5, "rounds of TestCrashLoop: each kills the server with SIGKILL at a random instant")

// TestCrashLoop kills depot serve with SIGKILL at random instants while
// the real git client pushes new branches and commits, depot repo gc
// repacks (and the server's own repack runs after pushes), branches change
// through the API and tokens are created, disabled and regenerated. After
// each kill it restarts the server on the same data directory and checks
// that git fsck --full passes, every ref names an object that is there,
// every push git reported as done is there (or a descendant of it), every
// branch change, revocation and disable answered 2xx holds, no temporary
// file or lock is left, and the pushes that were cut retry cleanly.
//
//	go test -run TestCrashLoop ./cmd/depot/ -args -crashrounds=50
func TestCrashLoop(t *testing.T) {
	c := newCrashEnv(t)
	for round := range *crashRounds {
		c.start()
		c.verify(round)
		c.retryPending()
		c.chaos(round)
	}
	c.start()
	c.verify(*crashRounds)
	c.s.cmd.Process.Kill()
	<-c.s.done
	if c.stats.pushed+c.stats.retried == 0 || c.stats.revoked == 0 || c.stats.branchOps == 0 {
		t.Errorf("the writers got nothing acknowledged, so nothing was checked: %+v", c.stats)
	}
	t.Logf("%d kills: %d pushes acknowledged, %d cut and retried; %d API branch changes; %d tokens created, %d revoked; %d repacks by depot repo gc, %d by the server, %d killed; %d leftovers found after kills, all removed on start (%s)",
		*crashRounds, c.stats.pushed, c.stats.retried, c.stats.branchOps, c.stats.tokensMade, c.stats.revoked,
		c.stats.cliRepacks, c.stats.autoRepacks, c.stats.gcKilled, c.stats.leftovers, c.leftoverKinds())
}

type crashEnv struct {
	t          *testing.T
	data, home string
	repo       string // the bare repository everything happens in
	gitSecret  string // tester's token for git
	apiSecret  string // tester's token for the API
	s          *liveServer
	work       [2]string // the pushers' work trees

	mu       sync.Mutex
	acked    map[string]string // ref → the commit a push reported done
	pending  map[int][2]string // pusher → ref and commit of a push that was cut
	branches map[string]bool   // API branch → must exist (true) or not (false)
	tokens   map[string]bool   // token secret → must authenticate or be refused
	fresh    []string          // secrets refused since the last check
	kinds    map[string]int    // leftovers found after kills, by kind
	stats    struct {
		pushed, retried, branchOps, tokensMade, revoked   int
		cliRepacks, autoRepacks, gcKilled, leftovers, seq int
	}
}

func newCrashEnv(t *testing.T) *crashEnv {
	c := &crashEnv{t: t, data: t.TempDir(), home: t.TempDir(),
		acked: map[string]string{}, pending: map[int][2]string{}, branches: map[string]bool{},
		tokens: map[string]bool{}, kinds: map[string]int{}}
	c.depot("tester-password\n", "user", "add", "tester", "--password-stdin")
	c.gitSecret = lastLine(c.depot("", "token", "create", "--user", "tester", "--scopes", "project:depot"))
	c.apiSecret = lastLine(c.depot("", "token", "create", "--user", "tester", "--scopes", "user,user:token,project:depot"))
	c.depot("", "repo", "create", "tester/crash")
	c.repo = filepath.Join(c.data, "repos", "tester", "crash.git")
	for i := range c.work {
		c.work[i] = filepath.Join(c.home, fmt.Sprintf("work%d", i))
		c.git(c.home, "init", "-q", "-b", "main", c.work[i])
	}
	// main, which API branches start from.
	c.start()
	sha, err := c.commit(0)
	if err != nil {
		t.Fatal(err)
	}
	c.git(c.work[0], "push", "-q", c.remote(), "HEAD:refs/heads/main")
	c.acked["refs/heads/main"] = sha
	for i := 1; i < len(c.work); i++ {
		c.git(c.work[i], "fetch", "-q", c.remote(), "main")
		c.git(c.work[i], "reset", "-q", "--hard", "FETCH_HEAD")
	}
	c.kill()
	return c
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func (c *crashEnv) depot(stdin string, args ...string) string {
	c.t.Helper()
	out, errOut, code := cli(c.t, stdin, append(args, "--data", c.data)...)
	if code != 0 {
		c.t.Fatalf("depot %v: exit %d: %s %s", args, code, out, errOut)
	}
	return out
}

func (c *crashEnv) tryGit(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+c.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
		"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.com")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (c *crashEnv) git(dir string, args ...string) string {
	c.t.Helper()
	out, err := c.tryGit(dir, args...)
	if err != nil {
		c.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return out
}

func (c *crashEnv) remote() string {
	return "http://tester:" + c.gitSecret + "@" + strings.TrimPrefix(c.s.url, "http://") + "/tester/crash.git"
}

// commit adds a commit to pusher i's work tree, with 64 KiB that do not
// compress so that receiving its pack takes a moment, and returns its id.
// Pushers call it from their goroutines: it reports failures as errors.
func (c *crashEnv) commit(i int) (string, error) {
	b := make([]byte, 64<<10)
	rand.Read(b)
	c.mu.Lock()
	c.stats.seq++
	n := c.stats.seq
	c.mu.Unlock()
	if err := os.WriteFile(filepath.Join(c.work[i], fmt.Sprintf("blob%d", n%7)), b, 0o644); err != nil {
		return "", err
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", fmt.Sprintf("commit %d", n)}} {
		if out, err := c.tryGit(c.work[i], args...); err != nil {
			return "", fmt.Errorf("git %v: %v: %s", args, err, out)
		}
	}
	return c.tryGit(c.work[i], "rev-parse", "HEAD")
}

func (c *crashEnv) start() {
	c.t.Helper()
	c.s = startServer(c.t, c.data)
}

func (c *crashEnv) kill() {
	c.t.Helper()
	if err := c.s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	<-c.s.done
	<-c.s.stderr.done
	c.stats.autoRepacks += strings.Count(c.s.stderr.String(), `msg=repacked`)
}

// api sends a JSON request with the API token and returns the status and
// the decoded body; a status of 0 means no answer came.
func (c *crashEnv) api(method, path, secret string, body any) (int, map[string]any) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.s.url+path, r)
	req.Header.Set("Authorization", "Bearer "+secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	cl := &http.Client{Timeout: 30 * time.Second}
	res, err := cl.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil && res.StatusCode < 300 {
		return 0, nil // cut in the middle of the answer: not acknowledged
	}
	return res.StatusCode, out
}

// chaos runs the writers against the server and kills it at a random
// instant, with the repack that depot repo gc may be running.
func (c *crashEnv) chaos(round int) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range c.work {
		wg.Go(func() { c.pusher(round, i, stop) })
	}
	wg.Go(func() { c.brancher(round, stop) })
	wg.Go(func() { c.tokener(stop) })
	var gcMu sync.Mutex
	var gcCmd *exec.Cmd // the repack running, if any
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(mrand.IntN(300)) * time.Millisecond):
			}
			cmd := exec.Command(depotBin, "repo", "gc", "tester/crash", "--data", c.data)
			cmd.Env = append(os.Environ(), "DEPOT_DATA=", "DEPOT_LISTEN=")
			gcMu.Lock()
			select {
			case <-stop:
				gcMu.Unlock()
				return
			default:
			}
			if err := cmd.Start(); err != nil {
				gcMu.Unlock()
				c.t.Error(err)
				return
			}
			gcCmd = cmd
			gcMu.Unlock()
			err := cmd.Wait()
			gcMu.Lock()
			gcCmd = nil
			gcMu.Unlock()
			if err == nil {
				c.mu.Lock()
				c.stats.cliRepacks++
				c.mu.Unlock()
			}
		}
	})
	time.Sleep(time.Duration(200+mrand.IntN(2500)) * time.Millisecond)
	// The machine dies: the server and a repack running beside it.
	gcMu.Lock()
	close(stop)
	if gcCmd != nil && gcCmd.Process.Signal(syscall.SIGKILL) == nil {
		c.stats.gcKilled++
	}
	gcMu.Unlock()
	c.kill()
	wg.Wait()
	c.countLeftovers()
}

// pusher commits and pushes, to a new branch every third push.
func (c *crashEnv) pusher(round, i int, stop chan struct{}) {
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		ref := fmt.Sprintf("refs/heads/p%d/r%d-%d", i, round, k/3)
		sha, err := c.commit(i)
		if err != nil {
			c.t.Error(err)
			return
		}
		out, err := c.tryGit(c.work[i], "push", "-q", c.remote(), "HEAD:"+ref)
		c.mu.Lock()
		if err == nil {
			c.acked[ref] = sha
			c.stats.pushed++
			c.mu.Unlock()
			continue
		}
		c.pending[i] = [2]string{ref, sha}
		c.mu.Unlock()
		select {
		case <-stop:
			return
		default:
			if !strings.Contains(out, "Connection refused") && !strings.Contains(out, "Empty reply") {
				c.t.Logf("push %s before the kill: %v\n%s", ref, err, out)
			}
			return
		}
	}
}

// retryPending pushes again what the kill cut; it must go through.
func (c *crashEnv) retryPending() {
	c.t.Helper()
	for i, p := range c.pending {
		out, err := c.tryGit(c.work[i], "push", c.remote(), p[1]+":"+p[0])
		if err != nil {
			c.t.Fatalf("push %s cut by the kill does not retry cleanly: %v\n%s\nserver log:\n%s", p[0], err, out, c.s.stderr)
		}
		c.acked[p[0]] = p[1]
		c.stats.retried++
	}
	clear(c.pending)
}

// brancher creates branches from main through the API and deletes every
// other one it made.
func (c *crashEnv) brancher(round int, stop chan struct{}) {
	var made []string
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		name := fmt.Sprintf("api/r%d-%d", round, k)
		code, _ := c.api("POST", "/api/v1/repos/tester/crash/branches", c.apiSecret, map[string]string{"name": name, "from": "main"})
		c.mu.Lock()
		if code == http.StatusCreated {
			c.branches[name] = true
			c.stats.branchOps++
			made = append(made, name)
		}
		c.mu.Unlock()
		if code == 0 {
			return
		}
		if len(made) >= 2 {
			name := made[0]
			made = made[1:]
			code, _ := c.api("DELETE", "/api/v1/repos/tester/crash/branches/"+name, c.apiSecret, nil)
			c.mu.Lock()
			if code == http.StatusOK {
				c.branches[name] = false
				c.stats.branchOps++
			} else {
				delete(c.branches, name) // unknown: the answer did not come
			}
			c.mu.Unlock()
			if code == 0 {
				return
			}
		}
	}
}

// tokener creates tokens and disables or regenerates each.
func (c *crashEnv) tokener(stop chan struct{}) {
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		code, body := c.api("POST", "/api/v1/auth/tokens", c.apiSecret, map[string]any{"username": "tester", "scopes": []string{"user"}})
		if code != http.StatusOK {
			return
		}
		id, _ := body["id"].(string)
		secret, _ := body["token"].(string)
		c.mu.Lock()
		c.tokens[secret] = true
		c.stats.tokensMade++
		c.mu.Unlock()
		if k%2 == 0 {
			code, _ = c.api("PUT", "/api/v1/auth/tokens/"+id+"/status", c.apiSecret, map[string]string{"status": "disabled"})
		} else {
			var again map[string]any
			code, again = c.api("POST", "/api/v1/auth/tokens/"+id+"/regenerate", c.apiSecret, map[string]any{})
			if s, ok := again["token"].(string); code == http.StatusOK && ok {
				c.mu.Lock()
				c.tokens[s] = true
				c.mu.Unlock()
			}
		}
		c.mu.Lock()
		if code == http.StatusOK {
			c.tokens[secret] = false
			c.fresh = append(c.fresh, secret)
			c.stats.revoked++
		} else {
			delete(c.tokens, secret) // unknown
		}
		c.mu.Unlock()
		if code == 0 {
			return
		}
	}
}

// verify checks the repository and the database after a restart.
func (c *crashEnv) verify(round int) {
	c.t.Helper()
	if left := leftovers(filepath.Join(c.data, "repos")); len(left) > 0 {
		c.t.Fatalf("round %d: leftovers after start: %v", round, left)
	}
	if out, err := c.tryGit(c.repo, "fsck", "--full", "--no-progress"); err != nil {
		c.t.Fatalf("round %d: git fsck --full: %v\n%s", round, err, out)
	}
	refs := map[string]string{}
	out := c.git(c.repo, "for-each-ref", "--format=%(objectname) %(refname)")
	for _, line := range strings.Split(out, "\n") {
		if sha, name, ok := strings.Cut(line, " "); ok {
			refs[name] = sha
			if _, err := c.tryGit(c.repo, "cat-file", "-e", sha); err != nil {
				c.t.Fatalf("round %d: %s points at %s, which is missing", round, name, sha)
			}
		}
	}
	for ref, sha := range c.acked {
		got, ok := refs[ref]
		if !ok {
			c.t.Fatalf("round %d: %s, pushed as %s, is gone", round, ref, sha)
		}
		if got != sha {
			if _, err := c.tryGit(c.repo, "merge-base", "--is-ancestor", sha, got); err != nil {
				c.t.Fatalf("round %d: %s is %s, which does not contain the pushed %s", round, ref, got, sha)
			}
		}
	}
	for name, exists := range c.branches {
		if _, ok := refs["refs/heads/"+name]; ok != exists {
			c.t.Fatalf("round %d: branch %s exists = %v; the API acknowledged %v", round, name, ok, exists)
		}
	}
	// Every revocation made since the last check, and a sample of the
	// older ones and of the live tokens; the failure limiter allows about
	// 30 refusals a start.
	check := map[string]bool{}
	for _, s := range c.fresh {
		check[s] = false
	}
	for s, valid := range c.tokens {
		if len(check) >= len(c.fresh)+40 {
			break
		}
		check[s] = valid
	}
	n := 0
	for secret, valid := range check {
		code := c.currentUser(secret, n/20)
		n++
		want := http.StatusUnauthorized
		if valid {
			want = http.StatusOK
		}
		if code != want {
			c.t.Fatalf("round %d: a token that must be %s answers %d", round, map[bool]string{true: "valid", false: "refused"}[valid], code)
		}
	}
	c.fresh = nil
}

// currentUser asks for the current user with secret from 127.0.0.(2+from),
// so that the failure limiter, which counts refusals by address, lets
// every check through, and returns the status.
func (c *crashEnv) currentUser(secret string, from int) int {
	c.t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+from%250))}}
	cl := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	defer cl.CloseIdleConnections()
	req, _ := http.NewRequest("GET", c.s.url+"/api/current_user", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := cl.Do(req)
	if err != nil {
		c.t.Fatalf("current_user: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

// countLeftovers notes what the kill left for the next start to remove.
func (c *crashEnv) countLeftovers() {
	for _, p := range leftovers(filepath.Join(c.data, "repos")) {
		c.stats.leftovers++
		c.kinds[leftoverKind(filepath.Base(p))]++
	}
}

func (c *crashEnv) leftoverKinds() string {
	var parts []string
	for k, n := range c.kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, n))
	}
	return strings.Join(parts, ", ")
}

func leftoverKind(name string) string {
	switch {
	case strings.HasPrefix(name, "incoming-"):
		return "quarantined push"
	case strings.HasPrefix(name, "tmp_"):
		return name[:strings.LastIndexByte(name, '_')+1] + "*"
	case name == "depot-gc.lock":
		return "repack lock"
	case strings.HasSuffix(name, ".lock"):
		return "ref lock"
	}
	return name
}

// leftovers lists what an interrupted write leaves under the repositories'
// root: quarantines, temporary files, locks, half-made repositories.
func leftovers(root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		switch {
		case strings.HasPrefix(name, "incoming-"), strings.HasPrefix(name, "tmp_"),
			strings.HasSuffix(name, ".lock"), strings.HasSuffix(name, ".new"), strings.Contains(name, ".tmp-"), strings.HasPrefix(name, ".deleted-"):
			out = append(out, p)
			if d.IsDir() {
				return fs.SkipDir
			}
		}
		return nil
	})
	return out
}
