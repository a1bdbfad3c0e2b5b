package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/depot/depot/cmd/depot-bench/internal/synth"
)

// bench is one benchmark run in progress.
type bench struct {
	git      *gitRunner
	src      *source
	work     string            // scratch directory of this run
	prepared map[string]string // client repositories made by prepare
}

// source is the repository under test and the facts the checks compare
// the clients' results with.
type source struct {
	path     string
	branch   string // HEAD's branch, "main" for synthetic repositories
	head     string // the commit at branch
	refs     string // `for-each-ref` of refs/heads and refs/tags
	refCount int
	objects  int64
	nonBlobs int    // commits, trees and tags reachable from branches and tags
	behind   int    // how far fetch-60's clone is behind, at most 60
	old      string // the commit behind commits before head
}

// fetchBehind is how many commits fetch-60's clone lacks.
const fetchBehind = 60

func loadSource(ctx context.Context, g *gitRunner, path string) (*source, error) {
	s := &source{path: path, branch: synth.Branch}
	gitIn := func(args ...string) (string, error) {
		out, err := g.run(ctx, "", append([]string{"--git-dir", path}, args...)...)
		return strings.TrimSpace(out), err
	}
	if b, err := gitIn("symbolic-ref", "--short", "HEAD"); err == nil && b != "" {
		s.branch = b
	}
	var err error
	if s.head, err = gitIn("rev-parse", "--verify", "refs/heads/"+s.branch+"^{commit}"); err != nil {
		return nil, fmt.Errorf("source has no branch %s: %w", s.branch, err)
	}
	if s.refs, err = gitIn("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags"); err != nil {
		return nil, err
	}
	s.refCount = strings.Count(s.refs, "\n") + 1
	counts, err := gitIn("count-objects", "-v")
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(counts, "\n") {
		k, v, _ := strings.Cut(l, ": ")
		if k == "count" || k == "in-pack" {
			n, _ := strconv.ParseInt(v, 10, 64)
			s.objects += n
		}
	}
	objs, err := gitIn("rev-list", "--objects", "--branches", "--tags", "--filter=blob:none")
	if err != nil {
		return nil, err
	}
	s.nonBlobs = strings.Count(objs, "\n") + 1
	n, err := gitIn("rev-list", "--count", "--first-parent", s.head)
	if err != nil {
		return nil, err
	}
	depth, _ := strconv.Atoi(n)
	s.behind = min(fetchBehind, depth-1)
	if s.behind < 1 {
		return nil, fmt.Errorf("source branch %s has %d commits; fetch-60 needs at least 2", s.branch, depth)
	}
	if s.old, err = gitIn("rev-parse", fmt.Sprintf("%s~%d", s.head, s.behind)); err != nil {
		return nil, err
	}
	return s, nil
}

// checkRev verifies that ref in the repository at dir is want.
func (b *bench) checkRev(ctx context.Context, dir, ref, want string) error {
	got, err := b.git.run(ctx, "", "-C", dir, "rev-parse", "--verify", "-q", ref)
	if got = strings.TrimSpace(got); err != nil || got != want {
		return fmt.Errorf("verify: %s is %q; want %s", ref, got, want)
	}
	return nil
}

// checkAllRefs verifies that the bare clone at dir has exactly the
// source's branches and tags.
func (b *bench) checkAllRefs(ctx context.Context, dir string) error {
	got, err := b.git.run(ctx, dir, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags")
	if err != nil {
		return err
	}
	if got = strings.TrimSpace(got); got != b.src.refs {
		g, w := strings.Split(got, "\n"), strings.Split(b.src.refs, "\n")
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				return fmt.Errorf("verify: clone has %d refs, source %d; first difference %q, want %q", len(g), len(w), g[i], w[i])
			}
		}
		return fmt.Errorf("verify: clone has %d refs; want %d", len(g), len(w))
	}
	return b.checkRev(ctx, dir, "refs/heads/"+b.src.branch, b.src.head)
}

// runBench prepares the repository and both servers, runs every selected
// scenario and returns the report. Progress goes to log.
func runBench(ctx context.Context, c *config, log io.Writer) (*report, error) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return nil, errors.New("needs Linux /proc")
	}
	work, err := os.MkdirTemp("", "depot-bench-")
	if err != nil {
		return nil, err
	}
	if c.keep {
		fmt.Fprintf(log, "work directory %s kept\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	g, err := newGitRunner(filepath.Join(work, "home"))
	if err != nil {
		return nil, err
	}
	repo := c.repo
	if repo == "" {
		if repo, err = synth.Ensure(ctx, c.cache, c.params, log); err != nil {
			return nil, err
		}
	}
	src, err := loadSource(ctx, g, repo)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "repository %s: %d objects, %d branches and tags\n", repo, src.objects, src.refCount)

	bin := c.depotBin
	if bin == "" {
		fmt.Fprintln(log, "building ./cmd/depot")
		if bin, err = buildDepot(ctx, work); err != nil {
			return nil, err
		}
	}
	cgit, err := startCGit(ctx, repo, work)
	if err != nil {
		return nil, err
	}
	defer cgit.stop()
	depot, err := startDepot(ctx, bin, repo, work)
	if err != nil {
		return nil, err
	}
	defer depot.stop()
	g.secrets = []string{cgit.secret, depot.secret}
	servers := []*server{cgit, depot}

	b := &bench{git: g, src: src, work: work, prepared: map[string]string{}}
	rep := newReport(c, src)
	for _, sc := range c.scenarios {
		row, err := b.runScenario(ctx, c, sc, servers, log)
		if err != nil {
			return nil, err
		}
		rep.Scenarios = append(rep.Scenarios, row)
	}
	return rep, nil
}

// runScenario runs sc for c.rounds rounds against each server, alternating
// which server goes first. A server's failure ends its rounds and is
// recorded; only a cancelled benchmark or a failed preparation of the
// client side is returned as an error.
func (b *bench) runScenario(ctx context.Context, c *config, sc *scenario, servers []*server, log io.Writer) (scenarioResult, error) {
	results := map[string]*serverResult{}
	for _, s := range servers {
		results[s.key] = &serverResult{}
	}
	if sc.prepare != nil {
		if err := sc.prepare(ctx, b); err != nil {
			return scenarioResult{}, fmt.Errorf("prepare %s: %w", sc.name, err)
		}
	}
	for round := range c.rounds {
		order := slices.Clone(servers)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		var progress []string
		for _, s := range order {
			res := results[s.key]
			if res.Error != "" {
				continue
			}
			smp, err := b.runOnce(ctx, c, sc, s, round)
			if ctx.Err() != nil {
				return scenarioResult{}, ctx.Err()
			}
			if err != nil {
				res.Error = b.git.redact(err.Error())
				progress = append(progress, s.name+" failed")
				continue
			}
			res.add(smp)
			progress = append(progress, fmt.Sprintf("%s %s (cpu %s)", s.name, fmtDur(smp.wall), fmtDur(smp.cpu)))
		}
		fmt.Fprintf(log, "%-12s round %d/%d: %s\n", sc.name, round+1, c.rounds, strings.Join(progress, ", "))
	}
	return newScenarioResult(sc.name, results["cgit"], results["depot"]), nil
}

func (b *bench) runOnce(ctx context.Context, c *config, sc *scenario, s *server, round int) (sample, error) {
	if err := s.exited(); err != nil {
		return sample{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	dir, err := os.MkdirTemp(b.work, sc.name+"-")
	if err != nil {
		return sample{}, err
	}
	defer os.RemoveAll(dir)
	m := &meter{ctx: ctx, s: s, measureRSS: s.key == "depot"}
	r := &runEnv{ctx: ctx, b: b, s: s, round: round, dir: dir, m: m}
	start := time.Now()
	if err := sc.run(r); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return sample{}, fmt.Errorf("timed out after %s: %w", time.Since(start).Round(time.Second), err)
		}
		return sample{}, err
	}
	if m.got == nil {
		return sample{}, fmt.Errorf("scenario %s measured nothing", sc.name)
	}
	return *m.got, nil
}
