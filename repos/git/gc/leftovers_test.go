package gc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
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
