package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary play the CGI host too: the benchmark
// re-executes os.Executable(), which under `go test` is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == cgiHostMode {
		os.Exit(cgiHostMain(os.Args[2:], os.Stderr))
	}
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// shared holds what the smoke tests have in common, made once per test
// binary: the depot binary, built by buildDepot as the benchmark builds
// it (each test built its own, some 10 s each), and the cache of
// generated repositories, so the small preset is generated once.
var shared struct {
	once  sync.Once
	dir   string
	bin   string
	cache string
	err   error
}

// smokeArgs returns the flags that point the benchmark at the shared
// depot binary (DEPOT_BENCH_DEPOT_BIN if set) and repository cache.
func smokeArgs(t *testing.T) []string {
	t.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "depot-bench-test-"); shared.err != nil {
			return
		}
		shared.cache = filepath.Join(shared.dir, "cache")
		if shared.bin = os.Getenv("DEPOT_BENCH_DEPOT_BIN"); shared.bin == "" {
			shared.bin, shared.err = buildDepot(context.Background(), shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatalf("preparing the smoke tests: %v", shared.err)
	}
	return []string{"--depot-bin", shared.bin, "--cache", shared.cache}
}

// TestSmokeSmallPreset runs the whole benchmark on the small preset, one
// round, and checks the table and the JSON. Set DEPOT_BENCH_DEPOT_BIN to
// use a prebuilt depot instead of building ./cmd/depot once for the
// smoke tests.
func TestSmokeSmallPreset(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	args := append([]string{"--preset", "small", "--rounds", "1", "--json", jsonPath}, smokeArgs(t)...)
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; want 0\nstdout:\n%s\nstderr:\n%s", args, code, &stdout, &stderr)
	}
	t.Logf("table:\n%s", &stdout)
	table := stdout.String()
	if !strings.Contains(table, "preset small") || !strings.Contains(table, "git 2.") {
		t.Errorf("table header lacks the machine facts:\n%s", table)
	}
	for _, name := range scenarioNames() {
		if !strings.Contains(table, "| "+name+" ") {
			t.Errorf("table has no row %q", name)
		}
	}

	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, b)
	}
	if len(rep.Scenarios) != len(scenarios) || rep.Repo.Objects < 1000 || rep.Rounds != 1 {
		t.Fatalf("JSON has %d scenarios, %d objects, %d rounds; want %d, >= 1000, 1", len(rep.Scenarios), rep.Repo.Objects, rep.Rounds, len(scenarios))
	}
	for _, s := range rep.Scenarios {
		// C git is the reference: its failure is the benchmark's bug. A
		// depot failure is data.
		if s.CGit.Error != "" || len(s.CGit.Wall) != 1 || s.CGit.WallMedian <= 0 {
			t.Errorf("%s: C git = %+v; want one successful run", s.Name, s.CGit)
		}
		if s.Depot.Error != "" {
			t.Logf("%s: depot failed: %s", s.Name, s.Depot.Error)
		} else if s.Depot.PeakRSSMB <= 0 {
			t.Errorf("%s: depot peak RSS = %v; want > 0", s.Name, s.Depot.PeakRSSMB)
		}
	}
}

func TestMedian(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"Empty", nil, 0},
		{"One", ms(7), 7 * time.Millisecond},
		{"OddUnsorted", ms(9, 1, 5), 5 * time.Millisecond},
		{"EvenMeanOfMiddle", ms(4, 1, 10, 2), 3 * time.Millisecond},
		{"Duplicates", ms(3, 3, 1, 3, 8), 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.in...)
			if got := median(tt.in); got != tt.want {
				t.Fatalf("median(%v) = %v; want %v", tt.in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("median reordered its argument: %v", tt.in)
				}
			}
		})
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		name string
		a, b time.Duration
		want float64
		nil  bool
	}{
		{"OK", 3 * time.Second, 2 * time.Second, 1.5, false},
		{"ZeroNumerator", 0, time.Second, 0, false},
		{"ZeroDenominator", time.Second, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ratio(tt.a, tt.b)
			if (got == nil) != tt.nil || (got != nil && *got != tt.want) {
				t.Fatalf("ratio(%v, %v) = %v; want %v (nil %v)", tt.a, tt.b, got, tt.want, tt.nil)
			}
		})
	}
}

func TestFmtDur(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0ms"},
		{123456 * time.Microsecond, "123ms"},
		{1234 * time.Millisecond, "1.23s"},
		{12345 * time.Millisecond, "12.3s"},
		{123456 * time.Millisecond, "123s"},
	}
	for _, tt := range tests {
		if got := fmtDur(tt.in); got != tt.want {
			t.Errorf("fmtDur(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		preset    string
		commits   int
		scenarios []string
		err       bool
	}{
		{"Default", nil, "medium", 4900, scenarioNames(), false},
		{"Preset", []string{"--preset", "small"}, "small", 300, scenarioNames(), false},
		{"Override", []string{"--preset", "small", "--commits", "50"}, "custom", 50, scenarioNames(), false},
		{"ScenariosCanonicalOrder", []string{"--scenarios", "push, clone-bare"}, "medium", 4900, []string{"clone-bare", "push"}, false},
		{"ErrUnknownScenario", []string{"--scenarios", "clone-all"}, "", 0, nil, true},
		{"ErrUnknownPreset", []string{"--preset", "huge"}, "", 0, nil, true},
		{"ErrRounds", []string{"--rounds", "0"}, "", 0, nil, true},
		{"ErrArgument", []string{"extra"}, "", 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(append(tt.args, "--cache", t.TempDir()), &bytes.Buffer{})
			if tt.err {
				if err == nil {
					t.Fatalf("parseFlags(%q) = nil error; want one", tt.args)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range c.scenarios {
				names = append(names, s.name)
			}
			if c.preset != tt.preset || c.params.Commits != tt.commits || strings.Join(names, ",") != strings.Join(tt.scenarios, ",") {
				t.Fatalf("parseFlags(%q) = preset %s, commits %d, scenarios %v; want %s, %d, %v", tt.args, c.preset, c.params.Commits, names, tt.preset, tt.commits, tt.scenarios)
			}
		})
	}
}

func TestWriteTableErrors(t *testing.T) {
	ok := &serverResult{walls: []time.Duration{time.Second}, cpus: []time.Duration{time.Second}}
	failed := &serverResult{Error: "git clone: exit status 128: fatal: the remote end hung up"}
	rep := &report{Rounds: 1, Scenarios: []scenarioResult{newScenarioResult("partial", ok, failed)}}
	var b bytes.Buffer
	writeTable(&b, rep)
	out := b.String()
	for _, want := range []string{"| partial ", "error [1]", "[1] git clone: exit status 128"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestSmokeScale runs the scale mode at its small size: every endpoint
// answers 200 with one client and with several, and the JSON parses.
func TestSmokeScale(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 85*time.Second)
	defer cancel()
	jsonPath := filepath.Join(t.TempDir(), "scale.json")
	args := append([]string{"--scale", "small", "--json", jsonPath}, smokeArgs(t)...)
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; want 0\nstdout:\n%s\nstderr:\n%s", args, code, &stdout, &stderr)
	}
	t.Logf("table:\n%s", &stdout)
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep scaleReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, b)
	}
	if len(rep.Results) < 8 {
		t.Fatalf("JSON has %d results; want every endpoint", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.One.P50 <= 0 || r.Many.P95 <= 0 || r.One.Bytes == 0 {
			t.Errorf("%s: %+v; want latencies and an answer", r.Name, r)
		}
	}
}

// TestSmokeLoad runs the load mode for five seconds at the client
// counts (200 API clients, 16 cloners, 8 pushers) on the small synthetic
// repository: no request may fail and no acknowledged push be lost, and
// every kind of client must have done some work.
func TestSmokeLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	jsonPath := filepath.Join(t.TempDir(), "load.json")
	args := append([]string{"--load", "5s", "--preset", "small", "--json", jsonPath}, smokeArgs(t)...)
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; want 0\nstdout:\n%s\nstderr:\n%s", args, code, &stdout, &stderr)
	}
	t.Logf("table:\n%s", &stdout)
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep loadReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, b)
	}
	if len(rep.Kinds) != 3 {
		t.Fatalf("JSON has %d kinds of operation; want 3", len(rep.Kinds))
	}
	for _, k := range rep.Kinds {
		if k.Ops == 0 || k.Errors != 0 || k.P50 <= 0 {
			t.Errorf("%s: %+v; want operations, latencies and no error", k.Name, k)
		}
	}
	if rep.Pushes == 0 || rep.LostPushes != 0 {
		t.Errorf("%d pushes acknowledged, %d lost; want some and none", rep.Pushes, rep.LostPushes)
	}
}
