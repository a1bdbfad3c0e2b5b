package repos

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/depot/depot/repos/holder"
)

// Each depot serve holds a lease on the directory of repositories while it
// runs: a file in ROOT/.nodes naming it (holder.Holder), touched every
// LeaseRefresh, removed when it stops. A node starting reads the others'
// to learn whether another node may be writing the repositories, which
// decides what it may take for a crash's leftovers.

// LeaseRefresh is how often a node touches its lease.
const LeaseRefresh = 5 * time.Second

// LeaseExpiry is how long a lease of another host counts as live since it
// was last touched: six refreshes, room for a stalled file server and for
// the hosts' clocks to differ by some seconds.
const LeaseExpiry = 6 * LeaseRefresh

// leasesDir is the directory of the leases under the root; its name is no
// valid owner, so nothing lists it as one.
const leasesDir = ".nodes"

// A Lease is this process's lease on the directory of repositories.
type Lease struct {
	path string
	stop func()
}

// Join writes this process's lease, removes the leases of nodes known to
// be gone, and returns the lease with the other nodes whose leases are
// live: touched within LeaseExpiry and, of this host, of a process that
// runs. Release the lease with Leave.
func (d *Dir) Join() (*Lease, []holder.Holder, error) {
	dir := filepath.Join(d.root, leasesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("repos: join: %w", err)
	}
	self := holder.Self()
	path := filepath.Join(dir, fmt.Sprintf("%d-%s.lease", self.PID, self.Instance))
	if err := os.WriteFile(path, []byte(self.String()+"\n"), 0o644); err != nil {
		return nil, nil, fmt.Errorf("repos: join: %w", err)
	}
	l := &Lease{path: path, stop: refresh(path, []byte(self.String()+"\n"))}
	others, err := d.nodes(path)
	if err != nil {
		l.Leave()
		return nil, nil, err
	}
	return l, others, nil
}

// Nodes returns the other nodes whose leases are live, as Join does.
func (d *Dir) Nodes() ([]holder.Holder, error) { return d.nodes("") }

// nodes returns the holders of the live leases other than the one at
// mine, and removes the leases of nodes that are gone.
func (d *Dir) nodes(mine string) ([]holder.Holder, error) {
	dir := filepath.Join(d.root, leasesDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repos: nodes: %w", err)
	}
	var live []holder.Holder
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if p == mine || !strings.HasSuffix(e.Name(), ".lease") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // left meanwhile
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		h, err := holder.Parse(b)
		switch {
		case time.Since(fi.ModTime()) >= LeaseExpiry, err == nil && h.Gone():
			os.Remove(p)
		case err != nil:
			live = append(live, holder.Holder{}) // being written: a node joins
		default:
			live = append(live, h)
		}
	}
	return live, nil
}

// refresh touches path every LeaseRefresh until the returned function is
// called, and writes it again with content if another node took it for
// gone and removed it while this one stalled.
func refresh(path string, content []byte) func() {
	return holder.Touch(path, LeaseRefresh, func() { _ = os.WriteFile(path, content, 0o644) })
}

// Leave stops refreshing the lease and removes it.
func (l *Lease) Leave() {
	l.stop()
	os.Remove(l.path)
}
