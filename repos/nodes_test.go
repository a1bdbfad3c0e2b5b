package repos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/depot/depot/repos/git/gc"
	"github.com/depot/depot/repos/holder"
)

// TestJoin: a node joining sees the leases of live nodes, of this host
// (a process that runs) and of others (touched lately), and removes those
// of nodes that are gone; Leave removes its own.
func TestJoin(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	done := exec.Command("true")
	done.Run()
	host := holder.Self().Host
	dir := filepath.Join(d.Root(), leasesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lease := func(name, content string, age time.Duration) string {
		p := filepath.Join(dir, name+".lease")
		os.WriteFile(p, []byte(content), 0o644)
		mt := time.Now().Add(-age)
		os.Chtimes(p, mt, mt)
		return p
	}
	alive := []string{
		lease("here-live", fmt.Sprintf("%d %s r1\n", sleep.Process.Pid, host), 0),
		lease("there-live", "1 other-host/b/p r1\n", LeaseExpiry/2),
		lease("joining", "", 0),
	}
	gone := []string{
		lease("here-gone", fmt.Sprintf("%d %s r1\n", done.Process.Pid, host), 0),
		lease("there-gone", "1 other-host/b/p r1\n", LeaseExpiry+time.Second),
		lease("here-live-silent", fmt.Sprintf("%d %s r1\n", sleep.Process.Pid, host), LeaseExpiry+time.Second),
	}
	self, others, err := d.Join()
	if err != nil {
		t.Fatal(err)
	}
	if len(others) != len(alive) {
		t.Errorf("Join sees %d other nodes: %v; want %d", len(others), others, len(alive))
	}
	for _, p := range alive {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("live lease %s went: %v", p, err)
		}
	}
	for _, p := range gone {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("lease %s of a node gone is left", p)
		}
	}
	if n, err := d.Nodes(); err != nil || len(n) != len(alive)+1 {
		t.Errorf("Nodes = %v, %v; want the %d others and this one", n, err, len(alive))
	}
	self.Leave()
	if n, err := d.Nodes(); err != nil || len(n) != len(alive) {
		t.Errorf("Nodes after Leave = %v, %v; want the %d others", n, err, len(alive))
	}
}

// TestRemoveLeftoversMinAge: a repository being created by another node
// stays while it is young.
func TestRemoveLeftoversMinAge(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	owner := filepath.Join(d.Root(), "tester")
	young := filepath.Join(owner, ".new.tmp-1")
	old := filepath.Join(owner, ".old.tmp-2")
	for _, p := range []string{young, old} {
		if err := os.MkdirAll(filepath.Join(p, "objects"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(old, "objects"), long, long)
	os.Chtimes(old, long, long)
	removed, err := d.RemoveLeftoversWith(gc.LeftoverOptions{MinAge: 10 * time.Minute})
	if err != nil || len(removed) != 1 || removed[0] != old {
		t.Fatalf("RemoveLeftoversWith = %v, %v; want [%s]", removed, err, old)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("the repository being created went: %v", err)
	}
}
