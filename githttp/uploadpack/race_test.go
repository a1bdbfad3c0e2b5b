package uploadpack

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/gitref"
	"github.com/depot/depot/repos/git/odb"
)

// TestLsRemoteDuringPackRefs runs git ls-remote against the server, in
// protocol v0 and v2, while another goroutine creates branches and packs
// the refs over and over, as pushes and gc do at once: every listing must
// show every branch created before it began (issue #12, item 7).
func TestLsRemoteDuringPackRefs(t *testing.T) {
	t.Parallel()
	g := newGit(t)
	dir := filepath.Join(t.TempDir(), "race.git")
	g.run(t.TempDir(), "init", "-q", "--bare", "-b", "main", dir)
	tree := g.run(dir, "mktree")
	id := g.run(dir, "commit-tree", "-m", "first", tree)
	g.run(dir, "update-ref", "refs/heads/main", id)
	var in strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&in, "create refs/heads/old/%05d %s\n", i, id)
	}
	g.runStdin(dir, in.String(), "update-ref", "--stdin")
	g.run(dir, "pack-refs", "--all")
	srv := newTestServer(t, dir)

	db, release, err := odb.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	name := func(i int) string { return fmt.Sprintf("refs/heads/new/%03d/n%05d", i%50, i) }
	var created atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			// A push of 100 branches, then gc's ref packing.
			tx := gitref.Begin(dir)
			first := int(created.Load())
			for i := first; i < first+100; i++ {
				if err := tx.Update(name(i), plumbing.ZeroHash, plumbing.NewHash(id)); err != nil {
					t.Errorf("create %s: %v", name(i), err)
				}
			}
			failed := tx.Commit()
			tx.Close()
			if len(failed) > 0 {
				t.Errorf("push: %v", failed)
				return
			}
			created.Add(100)
			if _, err := gitref.PackRefs(db); err != nil {
				t.Errorf("PackRefs: %v", err)
				return
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()

	for i := range 30 {
		version := []string{"0", "2"}[i%2]
		n := int(created.Load())
		out := g.run(t.TempDir(), "-c", "protocol.version="+version, "ls-remote", srv.URL)
		listed := map[string]bool{}
		for _, line := range strings.Split(out, "\n") {
			if _, ref, ok := strings.Cut(line, "\t"); ok {
				listed[ref] = true
			}
		}
		var missing []string
		for j := range 2000 {
			if r := fmt.Sprintf("refs/heads/old/%05d", j); !listed[r] {
				missing = append(missing, r)
			}
		}
		for j := range n {
			if !listed[name(j)] {
				missing = append(missing, name(j))
			}
		}
		if len(missing) > 0 {
			t.Fatalf("ls-remote (protocol v%s) #%d missed %d refs, such as %q", version, i, len(missing), missing[:min(3, len(missing))])
		}
	}
	if errs := srv.errors(); len(errs) > 0 {
		t.Errorf("server errors: %v", errs)
	}
}

// runStdin is run with stdin; it returns trimmed stdout.
func (g *gitRunner) runStdin(dir, stdin string, args ...string) string {
	g.tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env, cmd.Stdin = dir, g.env, strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		g.tb.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}
