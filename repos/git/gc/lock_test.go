package gc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/repos/holder"
)

// sleeper starts a process that runs until the test ends and returns its
// pid: a live holder of this host.
func sleeper(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

// deadPID returns the pid of a process of this host that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestRepackLock checks who may take over a repack lock another process
// left, as two hosts sharing the repositories see it: a process of this
// host that is gone, at once; a live one, never before the lock is stale;
// one of another host, whose pid says nothing here, only once stale.
// Repack and HoldOff either take the lock, and leave none behind, or
// answer ErrBusy and leave it as it was.
func TestRepackLock(t *testing.T) {
	dir := oneCommitRepo(t)
	self := holder.Self()
	live, dead := sleeper(t), deadPID(t)
	other := "other-host/0f4c9b9e-boot/pid:[4026531836]"
	for _, tc := range []struct {
		name    string
		content string
		age     time.Duration
		busy    bool
	}{
		{"ThisHostGone", fmt.Sprintf("%d %s run1\n", dead, self.Host), 0, false},
		{"ThisHostLive", fmt.Sprintf("%d %s run1\n", live, self.Host), 0, true},
		{"ThisHostLiveStale", fmt.Sprintf("%d %s run1\n", live, self.Host), 2 * lockStale, false},
		{"ThisProcessEarlierRun", fmt.Sprintf("%d %s earlier\n", self.PID, self.Host), 0, false},
		{"ThisProcess", self.String() + "\n", 0, true},
		{"PidOnlyGone", fmt.Sprintf("%d\n", dead), 0, false},
		{"PidOnlyLive", fmt.Sprintf("%d\n", live), 0, true},
		// The pid is of no process here; on its host it may run.
		{"OtherHost", fmt.Sprintf("%d %s run1\n", dead, other), 0, true},
		{"OtherHostRefreshed", fmt.Sprintf("%d %s run1\n", dead, other), lockStale - 10*time.Minute, true},
		{"OtherHostStale", fmt.Sprintf("%d %s run1\n", dead, other), lockStale + time.Minute, false},
		{"NamesNobody", "", 0, true},
		{"NamesNobodyStale", "", 2 * lockStale, false},
	} {
		for _, op := range []string{"Repack", "HoldOff"} {
			t.Run(tc.name+"/"+op, func(t *testing.T) {
				path := filepath.Join(dir, "objects", "depot-gc.lock")
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
				mtime := time.Now().Add(-tc.age)
				os.Chtimes(path, mtime, mtime)
				defer os.Remove(path)
				var err error
				if op == "Repack" {
					err = Repack(context.Background(), dir)
				} else {
					var release func()
					release, err = HoldOff(dir)
					if err == nil {
						b, _ := os.ReadFile(path)
						if got := strings.TrimSpace(string(b)); got != self.String() {
							t.Errorf("lock held by HoldOff holds %q; want %q", got, self.String())
						}
						release()
					}
				}
				b, rerr := os.ReadFile(path)
				switch {
				case tc.busy && !errors.Is(err, ErrBusy):
					t.Fatalf("%s = %v; want ErrBusy", op, err)
				case tc.busy && string(b) != tc.content:
					t.Fatalf("after ErrBusy the lock holds %q, %v; want it untouched", b, rerr)
				case !tc.busy && err != nil:
					t.Fatalf("%s = %v; want the lock taken over", op, err)
				case !tc.busy && rerr == nil:
					t.Fatalf("lock left after %s: %q", op, b)
				}
				if stale, _ := filepath.Glob(path + ".*"); len(stale) > 0 {
					t.Errorf("%s left %v", op, stale)
				}
			})
		}
	}
	git(t, dir, nil, "fsck", "--full", "--no-progress")
}

// TestRepackLockReleaseKeepsAnothers: a holder that stalled past
// lockStale and lost its lock to another process removes nothing of the
// new holder's when it finishes.
func TestRepackLockReleaseKeepsAnothers(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "objects"), 0o755)
	path := filepath.Join(dir, "objects", "depot-gc.lock")
	release, err := HoldOff(dir)
	if err != nil {
		t.Fatal(err)
	}
	theirs := []byte(fmt.Sprintf("%d other-host/b/p run2\n", sleeper(t)))
	if err := os.WriteFile(path, theirs, 0o644); err != nil {
		t.Fatal(err)
	}
	release()
	if b, err := os.ReadFile(path); err != nil || string(b) != string(theirs) {
		t.Fatalf("after release the lock holds %q, %v; want the new holder's %q", b, err, theirs)
	}
}

// oneCommitRepo returns a bare repository whose main holds one commit.
func oneCommitRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "r.git")
	git(t, t.TempDir(), nil, "init", "-q", "--bare", "-b", "main", dir)
	blob := git(t, dir, []byte("hello\n"), "hash-object", "-w", "--stdin")
	tree := git(t, dir, []byte("100644 blob "+blob+"\ta.txt\n"), "mktree")
	tip := git(t, dir, nil, "commit-tree", "-m", "first", tree)
	git(t, dir, nil, "update-ref", "refs/heads/main", tip)
	return dir
}
