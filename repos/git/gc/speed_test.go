package gc

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// repackRepo is a bare repository that TestRepackSpeed repacks copies of.
var repackRepo = flag.String("repackrepo", "", "bare repository TestRepackSpeed repacks copies of, against git repack -adb")

// repackRounds is how many rounds TestRepackSpeed takes the best of.
var repackRounds = flag.Int("repackrounds", 3, "rounds of TestRepackSpeed, the best of which is reported")

// TestRepackSpeed prints the time of Repack against C git's repack -adb
// (with its commit-graph written too, as Repack writes one) on copies of
// one repository, the best of three rounds each (-repackrounds).
//
//	go test ./repos/git/gc -run TestRepackSpeed -v -args -repackrepo=/path/to/repo.git
//
// Without the flag it runs on a small generated repository, so that every
// run checks what the measurement relies on: both leave one pack with a
// bitmap that git fsck accepts.
func TestRepackSpeed(t *testing.T) {
	src := *repackRepo
	if src == "" {
		src, _ = messyRepo(t, 3)
	}
	work := t.TempDir()
	cp := func(name string) string {
		dst := filepath.Join(work, name)
		os.RemoveAll(dst)
		if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
		return dst
	}
	var depotWall, depotCPU, gitWall, gitCPU time.Duration = -1, -1, -1, -1
	best := func(cur *time.Duration, d time.Duration) {
		if *cur < 0 || d < *cur {
			*cur = d
		}
	}
	for round := range max(1, *repackRounds) {
		dir := cp("depot.git")
		w0, c0 := time.Now(), selfCPU()
		if err := Repack(context.Background(), dir); err != nil {
			t.Fatalf("Repack: %v", err)
		}
		best(&depotWall, time.Since(w0))
		best(&depotCPU, selfCPU()-c0)
		checkOnePack(t, dir)
		if round == 0 {
			// Once: git checks the bitmap against a walk of HEAD's
			// history, and the commit-graph against the commits.
			git(t, dir, nil, "rev-list", "--test-bitmap", "HEAD")
			git(t, dir, nil, "commit-graph", "verify")
		}

		dir = cp("cgit.git")
		w0 = time.Now()
		var cpu time.Duration
		for _, args := range [][]string{{"repack", "-adb", "-q"}, {"commit-graph", "write", "--reachable"}} {
			cmd := exec.Command("git", args...)
			cmd.Dir, cmd.Env = dir, gitEnv(t)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Run(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, errb.Bytes())
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		best(&gitWall, time.Since(w0))
		best(&gitCPU, cpu)
		checkOnePack(t, dir)
	}
	// Children's peak RSS is left out: on Linux it counts the parent's
	// at the fork.
	var self syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	t.Logf("repack: depot %v wall, %v CPU; git repack -adb + commit-graph %v wall, %v CPU; ratio %.2f wall, %.2f CPU; peak RSS of the test %d MiB",
		depotWall.Round(time.Millisecond), depotCPU.Round(time.Millisecond), gitWall.Round(time.Millisecond), gitCPU.Round(time.Millisecond),
		depotWall.Seconds()/gitWall.Seconds(), depotCPU.Seconds()/gitCPU.Seconds(), self.Maxrss>>10)
}

// checkOnePack fails unless dir holds one pack with a bitmap (depot
// keeps recent unreachable objects in a second pack, without one) and
// git fsck finds nothing wrong.
func checkOnePack(t *testing.T, dir string) {
	t.Helper()
	if b, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.bitmap")); len(b) != 1 {
		t.Fatalf("%s: %d bitmaps; want 1", dir, len(b))
	}
	git(t, dir, nil, "fsck", "--no-progress", "--connectivity-only")
}

// selfCPU is the user and system time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
