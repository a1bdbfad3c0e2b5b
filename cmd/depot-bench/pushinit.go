package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// The scenarios of a team moving to a server: the first push of a whole
// repository into an empty one, alone and while others clone.

// preparePushInitial makes the mirror the initial pushes come from: every
// branch and tag of the source.
func preparePushInitial(ctx context.Context, b *bench) error {
	if b.prepared["push-initial"] != "" {
		return nil
	}
	dst := filepath.Join(b.work, "push-initial.git")
	if _, err := b.git.run(ctx, "", "clone", "-q", "--mirror", "--no-local", b.src.path, dst); err != nil {
		return err
	}
	b.prepared["push-initial"] = dst
	return nil
}

// emptyRepo makes an empty bare repository beside the server's benchmark
// repository, which both servers serve as it is, and returns its URL.
func (r *runEnv) emptyRepo(name string) (url, dir string, err error) {
	dir = filepath.Join(filepath.Dir(r.s.repoDir), name+".git")
	if out, err := exec.CommandContext(r.ctx, "git", "init", "-q", "--bare", dir).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("git init %s: %w: %s", dir, err, out)
	}
	return strings.TrimSuffix(r.s.url, benchRepo+".git") + name + ".git", dir, nil
}

// pushAll pushes every branch and tag of the prepared mirror to url.
func (r *runEnv) pushAll(url string) error {
	_, err := r.git(r.b.prepared["push-initial"], "push", "-q", url, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
	return err
}

func runPushInitial(r *runEnv) error {
	url, dir, err := r.emptyRepo(fmt.Sprintf("initial-%d", r.round))
	if err != nil {
		return err
	}
	if err := r.m.time(func() error { return r.pushAll(url) }); err != nil {
		return err
	}
	return r.b.checkAllRefs(r.ctx, dir)
}

// The mixed load of the concurrency target: shallow clones and initial
// pushes at once.
const (
	mixedShallow = 8
	mixedPushes  = 4
)

func runMixed(r *runEnv) error {
	urls := make([]string, mixedPushes)
	dirs := make([]string, mixedPushes)
	for i := range mixedPushes {
		var err error
		if urls[i], dirs[i], err = r.emptyRepo(fmt.Sprintf("mixed-%d-%d", r.round, i)); err != nil {
			return err
		}
	}
	clone := func(i int) string { return filepath.Join(r.dir, fmt.Sprintf("shallow-%d", i)) }
	if err := r.m.time(func() error {
		errs := make([]error, mixedShallow+mixedPushes)
		var wg sync.WaitGroup
		for i := range mixedShallow {
			wg.Go(func() {
				_, errs[i] = r.git("", "clone", "-q", "--depth", "1", r.s.url, clone(i))
			})
		}
		for i := range mixedPushes {
			wg.Go(func() { errs[mixedShallow+i] = r.pushAll(urls[i]) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}); err != nil {
		return err
	}
	for i := range mixedShallow {
		if err := r.b.checkRev(r.ctx, filepath.Join(clone(i), ".git"), "HEAD", r.b.src.head); err != nil {
			return fmt.Errorf("shallow clone %d: %w", i, err)
		}
	}
	for i := range mixedPushes {
		if err := r.b.checkAllRefs(r.ctx, dirs[i]); err != nil {
			return fmt.Errorf("push %d: %w", i, err)
		}
	}
	return nil
}
