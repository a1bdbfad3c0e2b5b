package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFull runs depot serve on a tmpfs of 8 MiB and fills it: a push
// is refused with a message git prints and leaves no pack, quarantine or
// ref behind; clones and API reads go on; token writes answer 503 in the
// JSON error shape; nothing panics. Once space is freed, pushes and
// writes work again without a restart. It mounts the tmpfs itself, which
// needs root (CI runs as root).
func TestDiskFull(t *testing.T) {
	mnt := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=8m,mode=0700"); err != nil {
		t.Fatalf("mount a tmpfs of 8 MiB at %s (needs root, as in CI): %v", mnt, err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })

	c := &crashEnv{t: t, data: filepath.Join(mnt, "data"), home: t.TempDir(), acked: map[string]string{}}
	c.depot("tester-password\n", "user", "add", "tester", "--password-stdin")
	c.gitSecret = lastLine(c.depot("", "token", "create", "--user", "tester", "--scopes", "project:depot"))
	c.apiSecret = lastLine(c.depot("", "token", "create", "--user", "tester", "--scopes", "user,user:token,project:depot"))
	c.depot("", "repo", "create", "tester/crash")
	c.repo = filepath.Join(c.data, "repos", "tester", "crash.git")
	c.work[0] = filepath.Join(c.home, "work")
	c.git(c.home, "init", "-q", "-b", "main", c.work[0])
	c.start()
	first, err := c.commit(0)
	if err != nil {
		t.Fatal(err)
	}
	c.git(c.work[0], "push", "-q", c.remote(), "HEAD:refs/heads/main")

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	packsBefore := packFiles(t, c.repo)

	// A push into the full disk: refused, in words git shows.
	second, err := c.commit(0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.tryGit(c.work[0], "push", c.remote(), "HEAD:refs/heads/main")
	if err == nil {
		t.Fatalf("push into a full disk succeeded:\n%s", out)
	}
	if !strings.Contains(out, "no space left on the server's disk") {
		t.Fatalf("push into a full disk: git shows\n%s\nwant the reason: no space left on the server's disk", out)
	}
	if got := c.git(c.repo, "rev-parse", "refs/heads/main"); got != first {
		t.Fatalf("main = %s after the refused push; want %s", got, first)
	}
	if left := leftovers(filepath.Join(c.data, "repos")); len(left) > 0 {
		t.Fatalf("the refused push left %v", left)
	}
	if after := packFiles(t, c.repo); after != packsBefore {
		t.Fatalf("packs after the refused push: %s; before: %s", after, packsBefore)
	}

	// Reads go on.
	clone := filepath.Join(c.home, "clone")
	if out, err := c.tryGit(c.home, "clone", "-q", c.remote(), clone); err != nil {
		t.Fatalf("clone from a server with a full disk: %v\n%s", err, out)
	}
	if code, body := c.api("GET", "/api/v1/repos/tester/crash/branches", c.apiSecret, nil); code != 200 {
		t.Fatalf("branches on a full disk = %d %v", code, body)
	}

	// Database writes answer 503, never 500 or a panic. SQLite may still
	// have room in pages it holds; it runs out within a few writes.
	unavailable := 0
	for i := 0; i < 200 && unavailable < 3; i++ {
		code, body := c.api("POST", "/api/v1/auth/tokens", c.apiSecret, map[string]any{"username": "tester", "scopes": []string{"user"}})
		switch code {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			if body["code"] != float64(503) || !strings.Contains(body["msg"].(string), "disk is full") {
				t.Fatalf("503 body = %v; want the JSON error shape saying the disk is full", body)
			}
			unavailable++
		default:
			t.Fatalf("token create on a full disk = %d %v; want 200 or 503", code, body)
		}
	}
	if unavailable == 0 {
		t.Fatal("200 token writes into a full disk all succeeded; the disk is not full")
	}

	// Room again: the same push and writes work, without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if out, err := c.tryGit(c.work[0], "push", c.remote(), "HEAD:refs/heads/main"); err != nil {
		t.Fatalf("push once space is back: %v\n%s", err, out)
	}
	if got := c.git(c.repo, "rev-parse", "refs/heads/main"); got != second {
		t.Fatalf("main = %s after the push; want %s", got, second)
	}
	if code, body := c.api("POST", "/api/v1/auth/tokens", c.apiSecret, map[string]any{"username": "tester", "scopes": []string{"user"}}); code != 200 {
		t.Fatalf("token create once space is back = %d %v", code, body)
	}
	if out, err := c.tryGit(c.repo, "fsck", "--full", "--no-progress"); err != nil {
		t.Fatalf("git fsck --full: %v\n%s", err, out)
	}
	select {
	case err := <-c.s.done:
		t.Fatalf("server exited: %v\n%s", err, c.s.stderr)
	default:
	}
	if log := c.s.stderr.String(); strings.Contains(log, "panic") || strings.Contains(log, "goroutine ") {
		t.Fatalf("server log:\n%s", log)
	}
}

// fill writes path until the file system it is on is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 64<<10)
	rand.Read(b)
	for {
		if _, err := f.Write(b); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	// The last page or so.
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(b[:n]); err != nil {
				break
			}
		}
	}
}

// packFiles lists the repository's pack directory.
func packFiles(t *testing.T, repo string) string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(repo, "objects", "pack"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, e := range ents {
		b.WriteString(e.Name() + " ")
	}
	return b.String()
}
