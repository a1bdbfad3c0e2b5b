package gc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestRemoveLeftovers lays out what a killed push, repack or ref update
// leaves in a repository that holds one commit, and checks that
// exactly those go and that git still reads the repository and updates
// the ref that was locked.
func TestRemoveLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r.git")
	git(t, t.TempDir(), nil, "init", "-q", "--bare", "-b", "main", dir)
	blob := git(t, dir, []byte("hello\n"), "hash-object", "-w", "--stdin")
	tree := git(t, dir, []byte("100644 blob "+blob+"\ta.txt\n"), "mktree")
	tip := git(t, dir, nil, "commit-tree", "-m", "first", tree)
	git(t, dir, nil, "update-ref", "refs/heads/main", tip)
	leftovers := []string{
		"objects/incoming-123/pack/incoming.pack",
		"objects/tmp_objdir-incoming-abc/pack/tmp_pack_x",
		"objects/pack/tmp_pack_9",
		"objects/pack/tmp_idx_9",
		"objects/pack/tmp_bitmap_9",
		"objects/info/tmp_graph_1",
		"objects/ab/tmp_obj_Q",
		"refs/heads/main.lock",
		"refs/heads/team/x.lock",
		"logs/refs/heads/main.lock",
		"packed-refs.lock",
		"packed-refs.new",
		"HEAD.lock",
		"config.lock",
		"objects/depot-gc.lock",
	}
	for _, p := range leftovers {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		// The repack lock names a process that is gone.
		if err := os.WriteFile(p, []byte("999999999\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keep := filepath.Join(dir, "refs", "heads", "lockless") // a ref, not a lock
	os.WriteFile(keep, []byte(tip+"\n"), 0o644)

	t.Run("LiveRepackLockKeepsAll", func(t *testing.T) {
		sleep := exec.Command("sleep", "30")
		if err := sleep.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { sleep.Process.Kill(); sleep.Wait() }()
		lock := filepath.Join(dir, "objects", "depot-gc.lock")
		os.WriteFile(lock, fmt.Appendf(nil, "%d\n", sleep.Process.Pid), 0o644)
		defer os.WriteFile(lock, []byte("999999999\n"), 0o644)
		removed, err := RemoveLeftovers(dir)
		if err != nil || len(removed) != 0 {
			t.Fatalf("RemoveLeftovers while depot repo gc runs = %v, %v; want nothing removed", removed, err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		removed, err := RemoveLeftovers(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range leftovers {
			top := filepath.Join(dir, filepath.FromSlash(p))
			if _, err := os.Lstat(top); err == nil {
				t.Errorf("%s is left", p)
			}
		}
		if len(removed) != len(leftovers) {
			slices.Sort(removed)
			t.Errorf("removed %d paths, want %d: %v", len(removed), len(leftovers), removed)
		}
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("a ref went: %v", err)
		}
		git(t, dir, nil, "fsck", "--full", "--no-progress")
		// The ref whose lock was left can move again.
		git(t, dir, nil, "update-ref", "refs/heads/main", tip, tip)
		git(t, dir, nil, "update-ref", "refs/heads/team/x", tip)
		if removed, err := RemoveLeftovers(dir); err != nil || len(removed) != 0 {
			t.Errorf("second run = %v, %v; want nothing", removed, err)
		}
	})
}

// TestRemoveLeftoversMinAge is a node starting while another node sharing
// the repository writes it: with a MinAge, what was written or touched
// within it stays (a quarantine whose directory was just touched though
// its pack is older, a ref lock just taken), what is older goes, and a
// repack lock of another host keeps the whole repository untouched until
// it is stale.
func TestRemoveLeftoversMinAge(t *testing.T) {
	const minAge = 10 * time.Minute
	dir := oneCommitRepo(t)
	long := time.Now().Add(-2 * minAge)
	write := func(p string, content string, mtime time.Time) string {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
		return p
	}
	now := time.Now()
	fresh := []string{
		write("refs/heads/main.lock", "", now),
		write("packed-refs.lock", "", now),
		write("objects/incoming-live/pack/incoming.pack", "", long),
		write("objects/pack/tmp_pack_live", "", now),
	}
	// The live push touches its quarantine's directory.
	os.Chtimes(filepath.Join(dir, "objects", "incoming-live"), now, now)
	makeOld := func() []string {
		old := []string{
			write("refs/heads/dead.lock", "", long),
			write("HEAD.lock", "", long),
			filepath.Dir(filepath.Dir(write("objects/incoming-dead/pack/incoming.pack", "", long))),
			write("objects/pack/tmp_idx_dead", "", long),
		}
		os.Chtimes(filepath.Join(dir, "objects", "incoming-dead", "pack"), long, long)
		os.Chtimes(filepath.Join(dir, "objects", "incoming-dead"), long, long)
		return old
	}
	gcLock := filepath.Join(dir, "objects", "depot-gc.lock")

	for _, tc := range []struct {
		name      string
		lock      string // content of the repack lock, "" for none
		lockAge   time.Duration
		oldGo     bool // the old leftovers go
		lockStays bool
	}{
		{"OtherHostRepacks", "1 other-host/b/p run1\n", time.Minute, false, true},
		{"NamelessLockYoung", "", -1, false, true},
		{"OtherHostStale", "1 other-host/b/p run1\n", lockStale + time.Minute, true, false},
		{"NoLock", "none", 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := makeOld()
			switch tc.lock {
			case "none":
				os.Remove(gcLock)
			default:
				mtime := time.Now().Add(-tc.lockAge)
				if tc.lockAge < 0 {
					mtime = time.Now()
				}
				os.WriteFile(gcLock, []byte(tc.lock), 0o644)
				os.Chtimes(gcLock, mtime, mtime)
			}
			removed, err := RemoveLeftoversWith(dir, LeftoverOptions{MinAge: minAge})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if tc.oldGo {
				want = old
			}
			if tc.lock != "none" && !tc.lockStays {
				want = append(want, gcLock)
			}
			slices.Sort(removed)
			slices.Sort(want)
			if !slices.Equal(removed, want) {
				t.Fatalf("removed %v; want %v", removed, want)
			}
			for _, p := range fresh {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s, in use by another node, went: %v", p, err)
				}
			}
			if _, err := os.Stat(gcLock); (err == nil) != tc.lockStays {
				t.Errorf("repack lock there = %v; want %v", err == nil, tc.lockStays)
			}
		})
	}
	// Without a MinAge, as depot serve starts alone, the rest goes too.
	removed, err := RemoveLeftovers(dir)
	if err != nil || len(removed) != len(fresh) {
		t.Errorf("RemoveLeftovers = %v, %v; want %v", removed, err, fresh)
	}
	git(t, dir, nil, "fsck", "--full", "--no-progress")
}
