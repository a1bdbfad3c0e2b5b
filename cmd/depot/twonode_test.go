package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/depot/depot/tokens/sqlite/dbtest"
)

var pushRaceRounds = flag.Int("pushracerounds", 5, "rounds of TestTwoNodesPushRace: in each, two git clients push on one branch at once, one through each node")

// twoNodes is two depot serve processes on one PostgreSQL database and
// one data directory, as two nodes behind a load balancer, with the user
// tester, a token of it and the repository tester/shared.
type twoNodes struct {
	data, db string
	a, b     *liveServer
	secret   string
	g        *gitEnv
}

// startTwoNodes starts the two nodes, each with flags.
func startTwoNodes(t *testing.T, flags ...string) *twoNodes {
	t.Helper()
	n := &twoNodes{data: t.TempDir(), db: dbtest.PostgresURL(t), g: newGitEnv(t)}
	n.a = startServerFlags(t, n.data, append([]string{"--db", n.db}, flags...))
	n.b = startServerFlags(t, n.data, append([]string{"--db", n.db}, flags...))
	n.depot(t, "tester-password\n", "user", "add", "tester", "--password-stdin")
	out := n.depot(t, "", "token", "create", "--user", "tester", "--scopes", "user,user:token,project:depot")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	n.secret = lines[len(lines)-1]
	n.depot(t, "", "repo", "create", "tester/shared")
	return n
}

// depot runs the CLI on the nodes' data and database and returns its
// output; it fails the test unless the command succeeds.
func (n *twoNodes) depot(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := n.tryDepot(t, stdin, args...)
	if code != 0 {
		t.Fatalf("depot %v: exit %d: %s %s", args, code, out, errOut)
	}
	return out
}

// tryDepot runs the CLI on the nodes' data and database and returns its
// output and exit status.
func (n *twoNodes) tryDepot(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return cli(t, stdin, append(args, "--data", n.data, "--db", n.db)...)
}

// remote is the URL of tester/shared through s, with the token.
func (n *twoNodes) remote(s *liveServer) string {
	return strings.Replace(s.url, "http://", "http://tester:"+n.secret+"@", 1) + "/tester/shared.git"
}

// repoDir is the repository's directory, shared by both nodes.
func (n *twoNodes) repoDir() string {
	return filepath.Join(n.data, "repos", "tester", "shared.git")
}

// seed pushes one commit to main through node a and returns a work tree
// that has it.
func (n *twoNodes) seed(t *testing.T) string {
	t.Helper()
	wt := filepath.Join(t.TempDir(), "seed")
	n.g.must("", "init", "-q", "-b", "main", wt)
	n.g.commit(wt, "seed.txt", "seed\n")
	n.g.must(wt, "push", "-q", n.remote(n.a), "main")
	return wt
}

// fsck checks the shared repository as git sees it.
func (n *twoNodes) fsck(t *testing.T) {
	t.Helper()
	if out, err := n.g.run(n.repoDir(), "fsck", "--full", "--strict", "--no-progress"); err != nil {
		t.Fatalf("git fsck of the shared repository: %v\n%s", err, out)
	}
}

// pushRefused reports whether git's output of a push that failed is a
// refusal of a stale or non-fast-forward update, the only way a push
// racing with another may fail.
func pushRefused(out string) bool {
	return strings.Contains(out, "! [rejected]") || strings.Contains(out, "! [remote rejected]")
}

// TestTwoNodesPushRace races pushes on one branch through two nodes
// sharing the repositories: in each round two git clients commit on top
// of the tip they both fetched, then push at once, one through each node. Both start from the same tip, so exactly one may win
// and the other must be refused as stale or non-fast-forward; a round
// with two winners lost a commit. At the end every commit git reported
// pushed is on the branch, in the order the rounds ran, and git fsck is
// clean. -pushracerounds sets the rounds (5).
func TestTwoNodesPushRace(t *testing.T) {
	n := startTwoNodes(t)
	n.seed(t)
	nodes := []*liveServer{n.a, n.b}
	var wts [2]string
	for i, s := range nodes {
		wts[i] = filepath.Join(t.TempDir(), fmt.Sprintf("client%d", i))
		n.g.must("", "clone", "-q", n.remote(s), wts[i])
	}
	start := time.Now()
	var won []string // the commit each round's winner pushed
	stale := 0
	for round := 0; round < *pushRaceRounds; round++ {
		// Both read the same tip before either pushes.
		outs, shas := [2]string{}, [2]string{}
		errs := [2]error{}
		for i, wt := range wts {
			n.g.must(wt, "fetch", "-q", "origin")
			n.g.must(wt, "reset", "-q", "--hard", "origin/main")
			n.g.commit(wt, fmt.Sprintf("c%d.txt", i), fmt.Sprintf("round %d client %d\n", round, i))
			shas[i] = strings.TrimSpace(n.g.must(wt, "rev-parse", "HEAD"))
		}
		var wg sync.WaitGroup
		for i, wt := range wts {
			wg.Go(func() { outs[i], errs[i] = n.g.run(wt, "push", "origin", "HEAD:main") })
		}
		wg.Wait()
		var winners []int
		for i := range 2 {
			switch {
			case errs[i] == nil:
				winners = append(winners, i)
			case !pushRefused(outs[i]):
				t.Fatalf("round %d: push through node %d failed other than by a refusal:\n%s", round, i, outs[i])
			case strings.Contains(outs[i], "(stale info"):
				stale++ // both read one tip; the server's compare-and-swap refused this one
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d pushes from one tip accepted; want exactly 1\n%s\n%s", round, len(winners), outs[0], outs[1])
		}
		won = append(won, shas[winners[0]])
	}
	elapsed := time.Since(start)

	// Every accepted commit is on main, each the parent of the next.
	check := filepath.Join(t.TempDir(), "check")
	n.g.must("", "clone", "-q", "--bare", n.remote(n.b), check)
	history := strings.Fields(n.g.must(check, "rev-list", "--first-parent", "--reverse", "main"))
	if len(history) != len(won)+1 || !equalStrings(history[1:], won) {
		t.Fatalf("main's history through node b is %v; want the seed then the winners %v", history, won)
	}
	n.fsck(t)
	t.Logf("%d rounds in %v: %d commits kept; the loser was refused by the server's compare-and-swap (stale info) %d times, by git before sending (the winner's tip already advertised) %d times",
		len(won), elapsed.Round(time.Millisecond), len(won), stale, len(won)-stale)

	t.Run("APIBranchAgainstPush", func(t *testing.T) {
		// A branch created through node b's API races a push creating
		// it through node a with a commit that does not descend from
		// main: exactly one wins, and the branch is the winner's.
		wt := wts[0]
		n.g.must(wt, "fetch", "-q", "origin")
		main := strings.TrimSpace(n.g.must(wt, "rev-parse", "origin/main"))
		orphan := strings.TrimSpace(n.g.must(wt, "commit-tree", "-m", "orphan", "HEAD^{tree}"))
		rounds := max(*pushRaceRounds/2, 5)
		apiWins := 0
		for round := 0; round < rounds; round++ {
			branch := fmt.Sprintf("race-%d", round)
			var wg sync.WaitGroup
			go1 := make(chan struct{})
			var out string
			var pushErr error
			var code int
			var body string
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-go1
				out, pushErr = n.g.run(wt, "push", n.remote(n.a), orphan+":refs/heads/"+branch)
			}()
			go func() {
				defer wg.Done()
				<-go1
				code, body = n.apiJSON(t, n.b, "POST", "/api/v1/repos/tester/shared/branches", map[string]string{"name": branch, "from": "main"})
			}()
			close(go1)
			wg.Wait()
			pushWon, apiWon := pushErr == nil, code/100 == 2
			if pushErr != nil && !pushRefused(out) {
				t.Fatalf("round %d: push failed other than by a refusal:\n%s", round, out)
			}
			if !apiWon && code != http.StatusConflict {
				t.Fatalf("round %d: branch create = %d %s; want 2xx or 409", round, code, body)
			}
			if pushWon == apiWon {
				t.Fatalf("round %d: push won %v, API won %v (%d %s); want exactly one\n%s", round, pushWon, apiWon, code, body, out)
			}
			want := orphan
			if apiWon {
				want, apiWins = main, apiWins+1
			}
			if got := strings.Fields(n.g.must(wt, "ls-remote", n.remote(n.b), "refs/heads/"+branch)); len(got) == 0 || got[0] != want {
				t.Fatalf("round %d: %s is %v; want the winner's %s", round, branch, got, want)
			}
		}
		t.Logf("%d rounds: the API won %d, the push %d", rounds, apiWins, rounds-apiWins)
		n.fsck(t)
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// apiJSON sends body as JSON to path through s with tester's password and
// returns the status and the answer.
func (n *twoNodes) apiJSON(t *testing.T, s *liveServer, method, path string, body any) (int, string) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(b))
	req.SetBasicAuth("tester", "tester-password")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(res.Body)
	return res.StatusCode, out.String()
}

// TestTwoNodesStartDuringPush starts a node while another is in the middle
// of a push to the repositories they share: the push waits in its
// pre-receive hook, its pack in quarantine, while node b restarts. Node b
// sees node a's lease, so it keeps what is young (the quarantine, a ref
// lock just taken) and removes what is old, then removes what stayed
// young once --leftover-age has passed; the push completes.
func TestTwoNodesStartDuringPush(t *testing.T) {
	const leftoverAge = 2 * time.Second
	n := startTwoNodes(t, "--hooks", "--leftover-age", leftoverAge.String())
	wt := n.seed(t)
	hooks := filepath.Join(n.repoDir(), "hooks")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	started, release := filepath.Join(t.TempDir(), "started"), filepath.Join(t.TempDir(), "release")
	script := fmt.Sprintf("#!/bin/sh\ntouch %s\nwhile [ ! -e %s ]; do sleep 0.02; done\n", started, release)
	if err := os.WriteFile(filepath.Join(hooks, "pre-receive"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	n.g.commit(wt, "second.txt", "pushed while node b starts\n")
	want := strings.TrimSpace(n.g.must(wt, "rev-parse", "HEAD"))
	type result struct {
		out string
		err error
	}
	pushed := make(chan result, 1)
	go func() {
		out, err := n.g.run(wt, "push", n.remote(n.a), "main")
		pushed <- result{out, err}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the push did not reach its pre-receive hook within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	quarantine, _ := filepath.Glob(filepath.Join(n.repoDir(), "objects", "incoming-*"))
	if len(quarantine) != 1 {
		t.Fatalf("quarantines while the push waits: %v; want 1", quarantine)
	}
	// A ref lock another node just took, and one a crash left an hour ago.
	freshLock := filepath.Join(n.repoDir(), "refs", "heads", "fresh.lock")
	oldLock := filepath.Join(n.repoDir(), "refs", "heads", "old.lock")
	for _, p := range []string{freshLock, oldLock} {
		if err := os.WriteFile(p, []byte(want+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hourAgo := time.Now().Add(-time.Hour)
	os.Chtimes(oldLock, hourAgo, hourAgo)

	if err := n.b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-n.b.done
	n.b = startServerFlags(t, n.data, []string{"--db", n.db, "--leftover-age", leftoverAge.String()})
	bStarted := time.Now()
	if _, err := os.Stat(quarantine[0]); err != nil {
		t.Fatalf("node b's start removed the quarantine of node a's push: %v\n%s", err, n.b.stderr)
	}
	if _, err := os.Stat(freshLock); err != nil {
		t.Errorf("node b's start removed a ref lock just taken: %v", err)
	}
	if _, err := os.Stat(oldLock); err == nil {
		t.Errorf("node b's start left a ref lock an hour old:\n%s", n.b.stderr)
	}
	if log := n.b.stderr.String(); !strings.Contains(log, "other nodes share the repositories") {
		t.Errorf("node b's log does not say other nodes share the repositories:\n%s", log)
	}

	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := <-pushed
	if r.err != nil {
		t.Fatalf("the push through node a, while node b started: %v\n%s", r.err, r.out)
	}
	if got := strings.Fields(n.g.must(wt, "ls-remote", n.remote(n.b), "refs/heads/main")); len(got) == 0 || got[0] != want {
		t.Fatalf("main through node b is %v; want the pushed %s", got, want)
	}
	n.fsck(t)

	// Once the leftover age has passed, node b looks again and removes
	// the lock that nobody touched since.
	for {
		if _, err := os.Stat(freshLock); err != nil {
			t.Logf("node b removed the untouched lock %v after it started (--leftover-age %v)", time.Since(bStarted).Round(time.Millisecond), leftoverAge)
			break
		}
		if time.Since(bStarted) > leftoverAge+10*time.Second {
			t.Fatalf("node b did not remove the untouched lock %v after it started:\n%s", time.Since(bStarted), n.b.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.g.must(wt, "push", "-q", n.remote(n.b), "main:fresh")

	// And it keeps looking: a lock left after it started, as by a node
	// that dies later, goes too.
	lateLock := filepath.Join(n.repoDir(), "refs", "heads", "late.lock")
	if err := os.WriteFile(lateLock, []byte(want+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	left := time.Now()
	for {
		if _, err := os.Stat(lateLock); err != nil {
			t.Logf("node b removed a lock left while it ran %v after it was left", time.Since(left).Round(time.Millisecond))
			break
		}
		if time.Since(left) > 2*leftoverAge+10*time.Second {
			t.Fatalf("node b did not remove a lock left while it ran, %v later:\n%s", time.Since(left), n.b.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.g.must(wt, "push", "-q", n.remote(n.b), "main:late")
}

// TestTwoNodesRepack repacks the shared repository from two processes,
// as `depot repo gc` run on two nodes: while one holds the repack lock
// (caught and stopped with SIGSTOP mid-repack, as a long repack looks),
// the other is refused as busy and a node restarting leaves the lock;
// once the first is killed, the lock, of a process of this host that is
// gone, is taken over at once; a lock naming another host is taken over
// only once stale. Of two repacks started together, each completes or is
// refused as busy, and the repository stays whole.
func TestTwoNodesRepack(t *testing.T) {
	n := startTwoNodes(t)
	wt := n.seed(t)
	// Enough history that a repack lasts long enough to be caught.
	var fi strings.Builder
	fmt.Fprintf(&fi, "reset refs/heads/main\nfrom refs/heads/main^0\n")
	for i := range 300 {
		content := strings.Repeat(fmt.Sprintf("line %d\n", i), 20+i%50)
		fmt.Fprintf(&fi, "commit refs/heads/main\ncommitter T <t@example.com> %d +0000\ndata 2\nc\nM 644 inline f%d.txt\ndata %d\n%s\n", 1700000000+i, i%40, len(content), content)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir, cmd.Stdin = wt, strings.NewReader(fi.String())
	cmd.Env = append(os.Environ(), "HOME="+n.g.home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git fast-import: %v\n%s", err, out)
	}
	n.g.must(wt, "push", "-q", n.remote(n.a), "main")
	for i, s := range []*liveServer{n.b, n.a, n.b} {
		n.g.must(wt, "reset", "-q", "--hard", "main")
		n.g.commit(wt, fmt.Sprintf("more%d.txt", i), "more\n")
		n.g.must(wt, "push", "-q", n.remote(s), "main")
	}
	want := strings.TrimSpace(n.g.must(wt, "rev-parse", "main"))
	lock := filepath.Join(n.repoDir(), "objects", "depot-gc.lock")

	type gcProc struct {
		cmd  *exec.Cmd
		out  *bytes.Buffer
		done chan error
	}
	startGC := func() *gcProc {
		p := &gcProc{cmd: exec.Command(depotBin, "repo", "gc", "tester/shared", "--data", n.data, "--db", n.db), out: new(bytes.Buffer), done: make(chan error, 1)}
		p.cmd.Env = append(os.Environ(), "DEPOT_DATA=", "DEPOT_DB=")
		p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { p.done <- p.cmd.Wait(); close(exited) }()
		// Gone before the data directory it repacks is removed.
		t.Cleanup(func() { p.cmd.Process.Signal(syscall.SIGCONT); p.cmd.Process.Kill(); <-exited })
		return p
	}
	// caught starts depot repo gc and stops it while it holds the lock.
	caught := func() (*gcProc, []byte) {
		for attempt := 0; attempt < 30; attempt++ {
			p := startGC()
			prefix := []byte(fmt.Sprintf("%d ", p.cmd.Process.Pid))
			for running := true; running; {
				select {
				case <-p.done:
					running = false
					continue
				default:
				}
				if b, err := os.ReadFile(lock); err == nil && bytes.HasPrefix(b, prefix) {
					p.cmd.Process.Signal(syscall.SIGSTOP)
					if b2, err := os.ReadFile(lock); err == nil && bytes.Equal(b, b2) {
						return p, b
					}
					p.cmd.Process.Signal(syscall.SIGCONT)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
		t.Fatal("no depot repo gc caught holding the lock in 30 attempts")
		return nil, nil
	}
	gcBusy := func(name string, wantBusy bool) {
		t.Helper()
		out, errOut, code := n.tryDepot(t, "", "repo", "gc", "tester/shared")
		busy := code != 0 && strings.Contains(errOut, "is being repacked already")
		if busy != wantBusy || (!busy && (code != 0 || !strings.Contains(out, "repacked tester/shared"))) {
			t.Fatalf("%s: depot repo gc = %d %s %s; want busy %v", name, code, out, errOut, wantBusy)
		}
	}

	a, held := caught()
	gcBusy("while another repacks", true)
	// A node starting meanwhile leaves the live repack's lock.
	n.b.cmd.Process.Kill()
	<-n.b.done
	n.b = startServerFlags(t, n.data, []string{"--db", n.db})
	if b, err := os.ReadFile(lock); err != nil || !bytes.Equal(b, held) {
		t.Fatalf("after node b started, the lock holds %q, %v; want the live repack's %q", b, err, held)
	}
	a.cmd.Process.Signal(syscall.SIGCONT)
	if err := <-a.done; err != nil || !strings.Contains(a.out.String(), "repacked") {
		t.Fatalf("the stopped repack, continued: %v %s", err, a.out)
	}
	if _, err := os.Stat(lock); err == nil {
		t.Fatal("the repack left its lock")
	}

	a, _ = caught()
	a.cmd.Process.Kill()
	<-a.done
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("the killed repack left no lock: %v", err)
	}
	gcBusy("after the holder was killed", false)

	os.WriteFile(lock, []byte("1 other-host/0f4c9b9e/pid:[4026531836] r1\n"), 0o644)
	gcBusy("with another host's fresh lock", true)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(lock, old, old)
	gcBusy("with another host's stale lock", false)

	// Both at once: each repacks or is refused as busy.
	busy := 0
	for range 3 {
		p, q := startGC(), startGC()
		for _, r := range []*gcProc{p, q} {
			err := <-r.done
			switch {
			case err == nil && strings.Contains(r.out.String(), "repacked"):
			case err != nil && strings.Contains(r.out.String(), "is being repacked already"):
				busy++
			default:
				t.Fatalf("depot repo gc: %v %s", err, r.out)
			}
		}
	}
	t.Logf("3 rounds of two repacks started together: %d refused as busy", busy)
	n.fsck(t)
	if got := strings.Fields(n.g.must(wt, "ls-remote", n.remote(n.b), "refs/heads/main")); len(got) == 0 || got[0] != want {
		t.Fatalf("main is %v after the repacks; want %s", got, want)
	}
	if packs, _ := filepath.Glob(filepath.Join(n.repoDir(), "objects", "pack", "*.pack")); len(packs) != 1 {
		t.Errorf("packs after the repacks: %v; want 1", packs)
	}
}

// TestTwoNodesLastUse uses tokens through both nodes within the same
// second, through a proxy that names the client (X-Forwarded-For, from a
// trusted address): half with the API, half with git. Each node buffers
// its uses and flushes them on its own; for every token the last use
// wins, its time and its address, whichever node flushes last.
func TestTwoNodesLastUse(t *testing.T) {
	n := startTwoNodes(t, "--trusted-proxies", "127.0.0.1/32")
	n.seed(t)
	const tokens = 8
	type use struct {
		id, secret    string
		first, second *liveServer
		lastIP        string
		before, after int64 // ms around the last use
	}
	uses := make([]*use, tokens)
	for i := range uses {
		code, body := n.apiJSON(t, n.a, "POST", "/api/v1/auth/tokens", map[string]any{
			"username": "tester", "description": fmt.Sprintf("use %d", i), "scopes": []string{"user", "project:depot"}})
		var created struct{ ID, Token string }
		if err := json.Unmarshal([]byte(body), &created); code != 200 || err != nil {
			t.Fatalf("create token: %d %s", code, body)
		}
		u := &use{id: created.ID, secret: created.Token, first: n.a, second: n.b, lastIP: fmt.Sprintf("10.0.%d.2", i)}
		if i%2 == 1 {
			u.first, u.second = n.b, n.a
		}
		uses[i] = u
	}
	useOnce := func(u *use, s *liveServer, ip string, git bool) error {
		if git {
			url := strings.Replace(s.url, "http://", "http://tester:"+u.secret+"@", 1) + "/tester/shared.git"
			if out, err := n.g.run("", "-c", "http.extraHeader=X-Forwarded-For: "+ip, "ls-remote", url); err != nil {
				return fmt.Errorf("git ls-remote through %s: %v\n%s", s.url, err, out)
			}
			return nil
		}
		req, _ := http.NewRequest("GET", s.url+"/api/current_user", nil)
		req.Header.Set("Authorization", "Bearer "+u.secret)
		req.Header.Set("X-Forwarded-For", ip)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("current_user through %s = %d", s.url, res.StatusCode)
		}
		return nil
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, tokens)
	for i, u := range uses {
		wg.Go(func() {
			git := i%4 >= 2
			if err := useOnce(u, u.first, fmt.Sprintf("10.0.%d.1", i), git); err != nil {
				errs <- err
				return
			}
			time.Sleep(3 * time.Millisecond) // a later millisecond
			u.before = time.Now().UnixMilli()
			if err := useOnce(u, u.second, u.lastIP, git); err != nil {
				errs <- err
				return
			}
			u.after = time.Now().UnixMilli()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	usedIn := time.Since(start)

	type listed struct {
		ID             string  `json:"id"`
		LastAccessIP   *string `json:"lastAccessIP"`
		LastAccessTime int64   `json:"lastAccessTime"`
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		code, body := n.getJSON(t, n.b, "/api/v1/auth/tokens?pageSize=100")
		var page struct {
			Tokens []listed `json:"tokens"`
		}
		if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil {
			t.Fatalf("token list = %d %s", code, body)
		}
		got := map[string]listed{}
		for _, l := range page.Tokens {
			got[l.ID] = l
		}
		var wrong []string
		for i, u := range uses {
			l := got[u.id]
			if l.LastAccessIP == nil || *l.LastAccessIP != u.lastIP || l.LastAccessTime < u.before || l.LastAccessTime > u.after {
				ip := "null"
				if l.LastAccessIP != nil {
					ip = *l.LastAccessIP
				}
				wrong = append(wrong, fmt.Sprintf("token %d: %s at %d; want %s within [%d, %d]", i, ip, l.LastAccessTime, u.lastIP, u.before, u.after))
			}
		}
		if len(wrong) == 0 {
			t.Logf("%d tokens used twice, through both nodes, in %v; every last use listed %v after", tokens, usedIn.Round(time.Millisecond), time.Since(start)-usedIn)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 s after the uses:\n%s", strings.Join(wrong, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getJSON gets path through s with tester's password.
func (n *twoNodes) getJSON(t *testing.T, s *liveServer, path string) (int, string) {
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.SetBasicAuth("tester", "tester-password")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(res.Body)
	return res.StatusCode, out.String()
}
