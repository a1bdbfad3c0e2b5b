package githttp_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/githttp"
)

// TestObserveOps: every upload-pack and receive-pack request is reported
// once, a clone (no haves) told from a fetch, with the objects of its pack
// and the bytes both ways, for the server's metrics.
func TestObserveOps(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var ops []githttp.Op
	e.gs.Observe = func(op githttp.Op) {
		mu.Lock()
		defer mu.Unlock()
		ops = append(ops, op)
	}
	// take returns the ops reported since the last call.
	take := func() []githttp.Op {
		mu.Lock()
		defer mu.Unlock()
		got := ops
		ops = nil
		return got
	}
	tok := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "watched", "tester", tok)
	u := e.url("tester", tok, "tester/watched.git")

	// count returns how many ops of kind there were and the last one.
	count := func(got []githttp.Op, kind githttp.OpKind) (int, githttp.Op) {
		n, last := 0, githttp.Op{}
		for _, op := range got {
			if op.Kind == kind {
				n, last = n+1, op
			}
		}
		return n, last
	}
	// One commit, its tree and its blob went each way.
	check := func(what string, got []githttp.Op, kind githttp.OpKind, objects int) {
		t.Helper()
		n, op := count(got, kind)
		if n != 1 {
			t.Fatalf("%s: %d %s ops in %+v; want 1", what, n, kind, got)
		}
		if op.Objects != objects || op.Received <= 0 || op.Sent <= 0 || op.Duration <= 0 || op.Failed {
			t.Errorf("%s: %+v; want %d objects, bytes both ways, a duration, no failure", what, op, objects)
		}
	}
	check("seed push", take(), githttp.OpPush, 3)

	var clones []string
	for _, proto := range []string{"0", "2"} {
		dst := filepath.Join(t.TempDir(), "clone")
		e.mustGit("", "-c", "protocol.version="+proto, "clone", "-q", u, dst)
		clones = append(clones, dst)
		got := take()
		check("clone v"+proto, got, githttp.OpClone, 3)
		if n, _ := count(got, githttp.OpFetch); n != 0 {
			t.Errorf("clone v%s counted as a fetch too: %+v", proto, got)
		}
	}

	os.WriteFile(filepath.Join(wt, "README"), []byte("hello again\n"), 0o644)
	e.mustGit(wt, "commit", "-qam", "second")
	e.mustGit(wt, "push", "-q", u, "main")
	check("second push", take(), githttp.OpPush, 3)
	for i, proto := range []string{"0", "2"} {
		e.mustGit(clones[i], "-c", "protocol.version="+proto, "fetch", "-q", "origin")
		got := take()
		check("fetch v"+proto, got, githttp.OpFetch, 3)
		if n, _ := count(got, githttp.OpClone); n != 0 {
			t.Errorf("fetch v%s counted as a clone: %+v", proto, got)
		}
	}
}
