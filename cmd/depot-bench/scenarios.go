package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// scenario is one client workload, run against each server each round.
type scenario struct {
	name string
	// prepare, if set, runs once before the rounds, untimed, and may store
	// client repositories in b.prepared. It must not touch the servers.
	prepare func(ctx context.Context, b *bench) error
	run     func(r *runEnv) error
}

// runEnv is what one run of a scenario against one server gets.
type runEnv struct {
	ctx   context.Context
	b     *bench
	s     *server
	round int
	dir   string // an empty scratch directory, removed after the run
	m     *meter
}

// scenarios in the order they run. push comes last because it adds a
// branch to the servers, which the other scenarios would then see.
var scenarios = []*scenario{
	{name: "clone-bare", run: runCloneBare},
	{name: "clone-branch", run: runCloneBranch},
	{name: "shallow", run: runShallow},
	{name: "partial", run: runPartial},
	{name: "fetch-60", prepare: prepareFetch60, run: runFetch60},
	{name: "noop-fetch", prepare: prepareFullClone, run: runNoopFetch},
	{name: "ls-remote", run: runLsRemote},
	{name: "clone-16", run: runClone16},
	{name: "push-initial", prepare: preparePushInitial, run: runPushInitial},
	{name: "mixed-12", prepare: preparePushInitial, run: runMixed},
	{name: "push", prepare: preparePush, run: runPush},
}

func scenarioNames() []string {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return names
}

func (r *runEnv) git(dir string, args ...string) (string, error) {
	return r.b.git.run(r.ctx, dir, args...)
}

func runCloneBare(r *runEnv) error {
	dst := filepath.Join(r.dir, "clone.git")
	if err := r.m.time(func() error {
		_, err := r.git("", "clone", "-q", "--bare", r.s.url, dst)
		return err
	}); err != nil {
		return err
	}
	return r.b.checkAllRefs(r.ctx, dst)
}

func runCloneBranch(r *runEnv) error {
	dst := filepath.Join(r.dir, "clone")
	if err := r.m.time(func() error {
		_, err := r.git("", "clone", "-q", "--single-branch", "--branch", r.b.src.branch, "--no-checkout", r.s.url, dst)
		return err
	}); err != nil {
		return err
	}
	return r.b.checkRev(r.ctx, dst, "refs/remotes/origin/"+r.b.src.branch, r.b.src.head)
}

func runShallow(r *runEnv) error {
	dst := filepath.Join(r.dir, "clone")
	if err := r.m.time(func() error {
		_, err := r.git("", "clone", "-q", "--depth", "1", "--no-checkout", r.s.url, dst)
		return err
	}); err != nil {
		return err
	}
	ref := "refs/remotes/origin/" + r.b.src.branch
	if err := r.b.checkRev(r.ctx, dst, ref, r.b.src.head); err != nil {
		return err
	}
	n, err := r.git(dst, "rev-list", "--count", ref)
	if err != nil {
		return err
	}
	if strings.TrimSpace(n) != "1" {
		return fmt.Errorf("verify: shallow clone has %s commits on %s; want 1", strings.TrimSpace(n), r.b.src.branch)
	}
	return nil
}

func runPartial(r *runEnv) error {
	dst := filepath.Join(r.dir, "clone.git")
	if err := r.m.time(func() error {
		_, err := r.git("", "clone", "-q", "--filter=blob:none", "--bare", r.s.url, dst)
		return err
	}); err != nil {
		return err
	}
	if err := r.b.checkAllRefs(r.ctx, dst); err != nil {
		return err
	}
	// Every commit, tree and tag must be there; blobs may be missing. An
	// unreachable remote keeps git from fetching what is missing.
	out, err := r.git(dst, "-c", "remote.origin.url=http://127.0.0.1:1/none.git",
		"rev-list", "--objects", "--branches", "--tags", "--missing=print")
	if err != nil {
		return err
	}
	present := 0
	for _, l := range strings.Split(out, "\n") {
		if l != "" && l[0] != '?' {
			present++
		}
	}
	if present < r.b.src.nonBlobs {
		return fmt.Errorf("verify: partial clone holds %d objects; want at least the %d commits, trees and tags", present, r.b.src.nonBlobs)
	}
	return nil
}

// prepareFetch60 makes a clone whose main is r.b.src.behind commits behind
// and that lacks the newer objects: it clones, through upload-pack, a
// mirror in which main was rewound and refs not contained in it deleted.
func prepareFetch60(ctx context.Context, b *bench) error {
	src := b.src
	mirror := filepath.Join(b.work, "fetch-60-mirror.git")
	defer os.RemoveAll(mirror)
	if _, err := b.git.run(ctx, "", "clone", "-q", "--mirror", "--shared", src.path, mirror); err != nil {
		return err
	}
	list, err := b.git.run(ctx, mirror, "rev-list", src.old)
	if err != nil {
		return err
	}
	old := map[string]bool{}
	for _, c := range strings.Fields(list) {
		old[c] = true
	}
	refs, err := b.git.run(ctx, mirror, "for-each-ref", "--format=%(objectname) %(*objectname) %(refname)")
	if err != nil {
		return err
	}
	var cmds strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(refs), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name, target := f[len(f)-1], f[len(f)-2]
		switch {
		case name == "refs/heads/"+src.branch:
			fmt.Fprintf(&cmds, "update %s %s\n", name, src.old)
		case !old[target]:
			fmt.Fprintf(&cmds, "delete %s\n", name)
		}
	}
	if _, err := b.git.runInput(ctx, mirror, cmds.String(), "update-ref", "--stdin"); err != nil {
		return err
	}
	dst := filepath.Join(b.work, "fetch-60-template")
	if _, err := b.git.run(ctx, "", "clone", "-q", "--no-local", "--no-checkout", mirror, dst); err != nil {
		return err
	}
	// Else git fetch would find everything local and ask the server little.
	if _, err := b.git.run(ctx, dst, "cat-file", "-e", src.head); err == nil {
		return fmt.Errorf("fetch-60 clone already holds %s", src.head)
	}
	b.prepared["fetch-60"] = dst
	return nil
}

func runFetch60(r *runEnv) error {
	dst := filepath.Join(r.dir, "clone")
	if err := copyTree(r.ctx, r.b.prepared["fetch-60"], dst); err != nil {
		return err
	}
	if _, err := r.git(dst, "remote", "set-url", "origin", r.s.url); err != nil {
		return err
	}
	if err := r.m.time(func() error {
		_, err := r.git(dst, "fetch", "-q", "origin")
		return err
	}); err != nil {
		return err
	}
	return r.b.checkRev(r.ctx, dst, "refs/remotes/origin/"+r.b.src.branch, r.b.src.head)
}

// prepareFullClone makes a complete clone of the source for noop-fetch.
func prepareFullClone(ctx context.Context, b *bench) error {
	dst := filepath.Join(b.work, "full-template")
	if _, err := b.git.run(ctx, "", "clone", "-q", "--no-local", "--no-checkout", b.src.path, dst); err != nil {
		return err
	}
	b.prepared["noop-fetch"] = dst
	return nil
}

// clientFor returns the server's own copy of the prepared client template
// name, made on first use with origin pointing at the server.
func (r *runEnv) clientFor(name string) (string, error) {
	key := name + "/" + r.s.key
	if dir, ok := r.b.prepared[key]; ok {
		return dir, nil
	}
	dir := filepath.Join(r.b.work, name+"-"+r.s.key)
	if err := copyTree(r.ctx, r.b.prepared[name], dir); err != nil {
		return "", err
	}
	r.b.prepared[key] = dir
	return dir, nil
}

func runNoopFetch(r *runEnv) error {
	dir, err := r.clientFor("noop-fetch")
	if err != nil {
		return err
	}
	if _, err := r.git(dir, "remote", "set-url", "origin", r.s.url); err != nil {
		return err
	}
	if err := r.m.time(func() error {
		_, err := r.git(dir, "-c", "protocol.version=2", "fetch", "-q", "origin")
		return err
	}); err != nil {
		return err
	}
	return r.b.checkRev(r.ctx, dir, "refs/remotes/origin/"+r.b.src.branch, r.b.src.head)
}

// clones is the number of concurrent clones of clone-16.
const clones = 16

func runClone16(r *runEnv) error {
	dst := func(i int) string { return filepath.Join(r.dir, "clone-"+strconv.Itoa(i)+".git") }
	if err := r.m.time(func() error {
		errs := make([]error, clones)
		var wg sync.WaitGroup
		for i := range clones {
			wg.Go(func() {
				_, errs[i] = r.git("", "clone", "-q", "--bare", r.s.url, dst(i))
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}); err != nil {
		return err
	}
	for i := range clones {
		if err := r.b.checkAllRefs(r.ctx, dst(i)); err != nil {
			return fmt.Errorf("clone %d: %w", i, err)
		}
	}
	return nil
}

// preparePush makes a bare clone from which each round pushes a new commit.
func preparePush(ctx context.Context, b *bench) error {
	dst := filepath.Join(b.work, "push-template.git")
	if _, err := b.git.run(ctx, "", "clone", "-q", "--bare", "--no-local", b.src.path, dst); err != nil {
		return err
	}
	b.prepared["push"] = dst
	return nil
}

func runPush(r *runEnv) error {
	dir, err := r.clientFor("push")
	if err != nil {
		return err
	}
	// A commit on top of main adding one new file.
	name := fmt.Sprintf("bench-push-%s-%d", r.s.key, r.round)
	blob, err := r.b.git.runInput(r.ctx, dir, fmt.Sprintf("pushed by depot-bench to %s in round %d\n", r.s.name, r.round), "hash-object", "-w", "--stdin")
	if err != nil {
		return err
	}
	entries, err := r.git(dir, "ls-tree", r.b.src.head)
	if err != nil {
		return err
	}
	entries += fmt.Sprintf("100644 blob %s\t%s.txt\n", strings.TrimSpace(blob), name)
	tree, err := r.b.git.runInput(r.ctx, dir, entries, "mktree")
	if err != nil {
		return err
	}
	commit, err := r.git(dir, "commit-tree", strings.TrimSpace(tree), "-p", r.b.src.head, "-m", name)
	if err != nil {
		return err
	}
	commit = strings.TrimSpace(commit)
	ref := "refs/heads/bench/" + name
	if err := r.m.time(func() error {
		_, err := r.git(dir, "push", "-q", r.s.url, commit+":"+ref)
		return err
	}); err != nil {
		return err
	}
	return r.b.checkRev(r.ctx, r.s.repoDir, ref, commit)
}

// runLsRemote lists every ref in protocol v2, then asks for one branch
// by ref-prefix, as scripts and CI systems do: the first costs a pass
// over the refs, the second must not.
func runLsRemote(r *runEnv) error {
	var all, one string
	if err := r.m.time(func() error {
		var err error
		if all, err = r.git("", "-c", "protocol.version=2", "ls-remote", r.s.url); err != nil {
			return err
		}
		one, err = r.git("", "-c", "protocol.version=2", "ls-remote", r.s.url, "refs/heads/"+r.b.src.branch)
		return err
	}); err != nil {
		return err
	}
	if got := strings.Count(all, "\n"); got < r.b.src.refCount {
		return fmt.Errorf("verify: ls-remote listed %d refs; want at least %d", got, r.b.src.refCount)
	}
	if want := r.b.src.head + "\trefs/heads/" + r.b.src.branch + "\n"; one != want {
		return fmt.Errorf("verify: ls-remote of one branch = %q; want %q", one, want)
	}
	return nil
}
