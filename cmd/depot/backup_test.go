package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var backupRounds = flag.Int("backuprounds", 1, "backups TestBackupWhilePushing takes while pushes run, each restored and checked")

// TestBackupWhilePushing takes backups of a live server while the real
// git client pushes to its repositories without pause (new commits and
// new branches) and depot repo gc repacks one of them, restores each
// backup into a new data directory, and checks that every repository of
// the copy passes git fsck --full with every ref resolving; then it
// serves the last copy and uses it with the tokens of the original.
func TestBackupWhilePushing(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	tok := depotUser(t, data, "tester", "user,project:depot")
	g := newGitEnv(t)
	host := strings.TrimPrefix(s.url, "http://")
	url := func(repo string) string { return "http://tester:" + tok + "@" + host + "/tester/" + repo + ".git" }

	work := map[string]string{}
	for _, name := range []string{"a", "b"} {
		if _, errOut, code := cli(t, "", "repo", "create", "tester/"+name, "--data", data); code != 0 {
			t.Fatalf("repo create: %s", errOut)
		}
		wt := filepath.Join(g.home, name)
		g.must("", "init", "-q", "-b", "main", wt)
		g.commit(wt, "README", "repository "+name+"\n")
		g.must(wt, "push", "-q", url(name), "main")
		work[name] = wt
	}
	// c borrows a's objects, as a bare clone --shared placed by hand.
	reposDir := filepath.Join(data, "repos", "tester")
	g.must("", "clone", "-q", "--bare", "--shared", filepath.Join(reposDir, "a.git"), filepath.Join(reposDir, "c.git"))

	var (
		stop               chan struct{} = make(chan struct{})
		wg                 sync.WaitGroup
		started, finished  atomic.Int64
		pushErrMu          sync.Mutex
		pushErr            error
		gcRuns, gcRefusals atomic.Int64
	)
	pusher := func(name string, branches bool) {
		defer wg.Done()
		wt := work[name]
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			g.commit(wt, fmt.Sprintf("f%d.txt", i%5), strings.Repeat(fmt.Sprintf("%s %d\n", name, i), 20+i))
			refspec := "main"
			if branches {
				refspec = fmt.Sprintf("HEAD:refs/heads/topic-%d", i)
			}
			started.Add(1)
			out, err := g.run(wt, "push", "-q", url(name), refspec)
			finished.Add(1)
			if err != nil {
				pushErrMu.Lock()
				pushErr = fmt.Errorf("push to %s: %v\n%s", name, err, out)
				pushErrMu.Unlock()
				return
			}
		}
	}
	wg.Add(3)
	go pusher("a", false)
	go pusher("b", true)
	go func() {
		// Repacks delete the packs they replace; a backup must hold
		// them off or wait for them.
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, _, code := cli(t, "", "repo", "gc", "tester/a", "--data", data); code == 0 {
				gcRuns.Add(1)
			} else {
				gcRefusals.Add(1)
			}
		}
	}()
	stopAll := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}
	t.Cleanup(stopAll)

	// Each backup starts while a push is under way or pushes start during
	// it; a backup that saw none is not counted.
	var backups []string
	overlapped := 0
	for round := 0; len(backups) < *backupRounds && round < 10**backupRounds; round++ {
		for started.Load()-finished.Load() == 0 {
			// A pusher that failed has stopped: with both stopped no push
			// would ever be in flight again.
			pushErrMu.Lock()
			err := pushErr
			pushErrMu.Unlock()
			if err != nil {
				t.Fatalf("a push failed while backups ran: %v", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		before := started.Load()
		inFlight := before - finished.Load()
		dir := filepath.Join(t.TempDir(), "backup")
		begin := time.Now()
		out, errOut, code := cli(t, "", "backup", dir, "--data", data)
		took := time.Since(begin)
		if code != 0 {
			t.Fatalf("backup: %d %s %s", code, out, errOut)
		}
		if !strings.Contains(out, "and 3 repositories") {
			t.Fatalf("backup said %q; want 3 repositories", out)
		}
		during := started.Load() - before
		t.Logf("backup %d: %v, %d pushes in flight at its start, %d started during it", round, took, inFlight, during)
		if inFlight > 0 || during > 0 {
			overlapped++
			backups = append(backups, dir)
		}
	}
	stopAll()
	if pushErr != nil {
		t.Fatalf("a push failed while backups ran: %v", pushErr)
	}
	if len(backups) < *backupRounds {
		t.Fatalf("only %d of the backups overlapped a push", overlapped)
	}
	t.Logf("%d pushes, %d repacks (%d refused while busy)", finished.Load(), gcRuns.Load(), gcRefusals.Load())

	var restored string
	for i, b := range backups {
		restored = filepath.Join(t.TempDir(), "data")
		if out, errOut, code := cli(t, "", "restore", b, "--data", restored); code != 0 || !strings.Contains(out, "restored the database and 3 repositories") {
			t.Fatalf("restore of backup %d: %d %s %s", i, code, out, errOut)
		}
		for _, name := range []string{"a", "b", "c"} {
			checkRepository(t, g, filepath.Join(restored, "repos", "tester", name+".git"))
		}
		// c borrows from the copy of a, not from the original.
		objs := filepath.Join(restored, "repos", "tester", "c.git", "objects")
		alt, err := os.ReadFile(filepath.Join(objs, "info", "alternates"))
		if err != nil {
			t.Fatal(err)
		}
		if p := strings.TrimSpace(string(alt)); filepath.IsAbs(p) || filepath.Clean(filepath.Join(objs, p)) != filepath.Join(restored, "repos", "tester", "a.git", "objects") {
			t.Fatalf("restored c.git borrows from %q; want a relative path to the restored a.git", p)
		}
	}

	// Neither command writes over what is there, but restore --force
	// replaces a data directory's database and repositories.
	if _, errOut, code := cli(t, "", "backup", backups[0], "--data", data); code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("backup into a backup = %d %q; want a refusal", code, errOut)
	}
	if _, errOut, code := cli(t, "", "restore", backups[0], "--data", restored); code != 1 || !strings.Contains(errOut, "pass --force") {
		t.Errorf("restore into a data directory = %d %q; want a refusal naming --force", code, errOut)
	}
	if _, errOut, code := cli(t, "", "restore", data, "--data", t.TempDir()); code != 1 || !strings.Contains(errOut, "not a depot backup") {
		t.Errorf("restore of a data directory = %d %q; want a refusal", code, errOut)
	}
	stale := t.TempDir()
	for _, f := range []string{"depot.db", "repos/tester/old.git/HEAD"} {
		os.MkdirAll(filepath.Dir(filepath.Join(stale, f)), 0o700)
		os.WriteFile(filepath.Join(stale, f), []byte("not a database"), 0o600)
	}
	if out, errOut, code := cli(t, "", "restore", backups[0], "--data", stale, "--force"); code != 0 {
		t.Fatalf("restore --force = %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(stale, "repos", "tester", "old.git")); err == nil {
		t.Error("restore --force kept a repository the backup does not have")
	}
	checkRepository(t, g, filepath.Join(stale, "repos", "tester", "a.git"))

	// The restored data serves, and the original's token works on it.
	r := startServer(t, restored)
	if code, body := r.get(t, "/api/current_user", "Authorization", "Bearer "+tok); code != 200 || !strings.Contains(body, `"global_key":"tester"`) {
		t.Fatalf("current_user on the restored server = %d %s", code, body)
	}
	rhost := strings.TrimPrefix(r.url, "http://")
	for _, name := range []string{"a", "b", "c"} {
		dst := filepath.Join(t.TempDir(), name)
		g.must("", "clone", "-q", "http://tester:"+tok+"@"+rhost+"/tester/"+name+".git", dst)
		g.must(dst, "fsck", "--full", "--strict")
	}
}

// checkRepository runs git fsck --full on the bare repository at dir and
// checks that every ref names an object that is there.
func checkRepository(t *testing.T, g *gitEnv, dir string) {
	t.Helper()
	g.must("", "--git-dir", dir, "fsck", "--full", "--strict", "--no-progress")
	refs := strings.TrimSpace(g.must("", "--git-dir", dir, "for-each-ref", "--format=%(objectname)"))
	if refs == "" {
		t.Fatalf("%s has no refs", dir)
	}
	for _, id := range strings.Fields(refs) {
		if _, err := g.run("", "--git-dir", dir, "cat-file", "-e", id); err != nil {
			t.Fatalf("%s: a ref names %s, which is missing", dir, id)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "objects", "depot-gc.lock")); err == nil {
		t.Fatalf("%s: the backup kept the repack lock", dir)
	}
}
