// Command depot-bench measures depot's git smart HTTP side by side with C
// git's `git http-backend` on the same synthetic (or given) repository,
// driving both with the real git client.
//
//	go run ./cmd/depot-bench --preset medium --rounds 3 --json bench.json
//	go run ./cmd/depot-bench --scale full
//
// It generates a deterministic repository with git fast-import (cached under
// --cache), starts depot and a CGI host for git http-backend on loopback on
// separate copies of it, then runs each scenario against both servers in
// alternation and prints the medians of wall time, server CPU time and
// depot's peak RSS. Every client result is verified against the source
// repository. A scenario a server fails is reported, not fatal: the exit
// status is non-zero only when the benchmark itself could not run.
//
// With --scale it times depot's API instead, alone, at the sizes of the
// scale issue: p50 and p95 of each list with one client and with many.
//
// Linux only: server CPU and memory come from /proc.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/depot/depot/cmd/depot-bench/internal/synth"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == cgiHostMode {
		os.Exit(cgiHostMain(os.Args[2:], os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// config is the parsed command line.
type config struct {
	preset    string
	params    synth.Params
	repo      string // an existing bare repository instead of a synthetic one
	cache     string
	depotBin  string
	rounds    int
	scenarios []*scenario
	jsonPath  string
	timeout   time.Duration
	keep      bool
	scale     string    // "" or a scaleShapes key: the API scale run instead
	load      loadShape // Duration > 0: the load run instead
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("depot-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	var p synth.Params
	var scenarios string
	fs.StringVar(&c.preset, "preset", "medium", "repository size: small, medium or large")
	fs.IntVar(&p.Commits, "commits", 0, "commits on main (overrides the preset)")
	fs.IntVar(&p.Files, "files", 0, "files in the tree (overrides the preset)")
	fs.IntVar(&p.Refs, "refs", 0, "extra branches and tags (overrides the preset)")
	fs.IntVar(&p.FileSize, "file-size", 0, "average file size in bytes (overrides the preset)")
	fs.Int64Var(&p.Seed, "seed", 0, "PRNG seed (overrides the preset)")
	fs.StringVar(&c.repo, "repo", "", "benchmark this existing bare repository instead of a synthetic one")
	fs.StringVar(&c.cache, "cache", "", "directory of generated repositories (default: the user cache dir/depot-bench)")
	fs.StringVar(&c.depotBin, "depot-bin", "", "depot binary to run (default: go build ./cmd/depot)")
	fs.IntVar(&c.rounds, "rounds", 5, "rounds of each scenario against each server")
	fs.StringVar(&scenarios, "scenarios", "", "comma-separated scenarios to run (default all): "+strings.Join(scenarioNames(), ","))
	fs.StringVar(&c.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "limit of one scenario run against one server")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (servers' data, clones) for inspection")
	fs.StringVar(&c.scale, "scale", "", "instead of git: time the API at scale (full: 100,000 tokens, 10,000 repositories, 50,000 branches; small: a smoke run)")
	fs.DurationVar(&c.load.Duration, "load", 0, "instead of comparing with C git: run depot alone this long under a mixed load of API clients, cloners and pushers")
	fs.IntVar(&c.load.APIClients, "api-clients", 200, "with --load: concurrent API clients")
	fs.IntVar(&c.load.Cloners, "cloners", 16, "with --load: concurrent cloners")
	fs.IntVar(&c.load.Pushers, "pushers", 8, "with --load: concurrent pushers, each to a branch of its own")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	preset, ok := synth.Presets[c.preset]
	if !ok {
		return nil, fmt.Errorf("unknown preset %q (small, medium or large)", c.preset)
	}
	c.params = preset
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "commits":
			c.params.Commits = p.Commits
		case "files":
			c.params.Files = p.Files
		case "refs":
			c.params.Refs = p.Refs
		case "file-size":
			c.params.FileSize = p.FileSize
		case "seed":
			c.params.Seed = p.Seed
		}
	})
	if c.params != preset {
		c.preset = "custom"
	}
	if err := c.params.Validate(); err != nil {
		return nil, err
	}
	if c.load.Duration < 0 || c.load.APIClients < 0 || c.load.Cloners < 0 || c.load.Pushers < 0 {
		return nil, errors.New("--load, --api-clients, --cloners and --pushers must not be negative")
	}
	if c.rounds < 1 {
		return nil, errors.New("--rounds must be at least 1")
	}
	sel, err := selectScenarios(scenarios)
	if err != nil {
		return nil, err
	}
	c.scenarios = sel
	if c.cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no --cache and no user cache dir: %w", err)
		}
		c.cache = filepath.Join(dir, "depot-bench")
	}
	return c, nil
}

// selectScenarios returns the named scenarios in their canonical order, so
// that push, which adds branches to the servers, always runs last.
func selectScenarios(list string) ([]*scenario, error) {
	if strings.TrimSpace(list) == "" {
		return scenarios, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(scenarioNames(), n) {
			return nil, fmt.Errorf("unknown scenario %q (have %s)", n, strings.Join(scenarioNames(), ", "))
		}
		want[n] = true
	}
	var sel []*scenario
	for _, s := range scenarios {
		if want[s.name] {
			sel = append(sel, s)
		}
	}
	return sel, nil
}

// run executes the benchmark and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "depot-bench: %v\n", err)
		return 2
	}
	if c.load.Duration > 0 {
		if err := runLoadMode(ctx, c, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "depot-bench: %v\n", err)
			return 1
		}
		return 0
	}
	if c.scale != "" {
		if err := runScaleMode(ctx, c, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "depot-bench: %v\n", err)
			return 1
		}
		return 0
	}
	rep, err := runBench(ctx, c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "depot-bench: %v\n", err)
		return 1
	}
	writeTable(stdout, rep)
	if c.jsonPath != "" {
		if err := writeJSON(c.jsonPath, rep); err != nil {
			fmt.Fprintf(stderr, "depot-bench: %v\n", err)
			return 1
		}
	}
	return 0
}
