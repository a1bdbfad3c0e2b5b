package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/depot/depot/cmd/depot-bench/internal/procfs"
	"github.com/depot/depot/cmd/depot-bench/internal/synth"
)

// The load run (--load DURATION) drives one depot server with a mix of
// clients for a while, as a team's working day compresses it: API
// clients reading and writing tokens and listings, cloners cloning the
// repository over and over, pushers each pushing one commit at a time to
// a branch of their own. It reports throughput, latency and errors per
// kind, the server's CPU and peak memory, and counts lost pushes: at the
// end every pusher's branch must be the last commit the server
// acknowledged to it.
type loadShape struct {
	Duration   time.Duration `json:"-"`
	Seconds    float64       `json:"seconds"`
	APIClients int           `json:"api_clients"`
	Cloners    int           `json:"cloners"`
	Pushers    int           `json:"pushers"`
}

// loadKind is the summary of one kind of client's operations.
type loadKind struct {
	Name   string  `json:"name"`
	Ops    int     `json:"ops"`
	PerSec float64 `json:"per_second"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
	Errors int     `json:"errors"`
	// FirstError is the first failure's message, to say what broke.
	FirstError string `json:"first_error,omitempty"`
	// ServerP50 and ServerP99 are the server's own time for the kind's
	// HTTP requests, from its request duration histogram: the upper bound
	// of the bucket the quantile falls in. A client's latency adds the
	// time its request waited on the shared machine.
	ServerP50 float64 `json:"server_p50_ms,omitempty"`
	ServerP99 float64 `json:"server_p99_ms,omitempty"`
}

type loadReport struct {
	Machine     machine    `json:"machine"`
	Shape       loadShape  `json:"shape"`
	Repo        string     `json:"repo"`
	Kinds       []loadKind `json:"kinds"`
	Pushes      int        `json:"pushes_acknowledged"`
	LostPushes  int        `json:"lost_pushes"`
	ServerCPU   float64    `json:"server_cpu_s"`
	ServerPeakM float64    `json:"server_peak_rss_mb"`
}

// recorder collects the latencies and errors of one kind of operation.
type recorder struct {
	mu    sync.Mutex
	ds    []time.Duration
	errs  int
	first string
}

func (r *recorder) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.errs == 0 {
			r.first = err.Error()
		}
		r.errs++
		return
	}
	r.ds = append(r.ds, d)
}

func (r *recorder) summary(name string, elapsed time.Duration) loadKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := loadKind{Name: name, Ops: len(r.ds), Errors: r.errs, FirstError: r.first}
	sort.Slice(r.ds, func(i, j int) bool { return r.ds[i] < r.ds[j] })
	if n := len(r.ds); n > 0 {
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		k.P50 = ms(r.ds[n/2])
		k.P99 = ms(r.ds[min(n-1, n*99/100)])
		k.PerSec = float64(n) / elapsed.Seconds()
	}
	return k
}

// runLoadMode is depot-bench --load: depot alone under a mixed load.
func runLoadMode(ctx context.Context, c *config, stdout, log io.Writer) error {
	work, err := os.MkdirTemp("", "depot-bench-load-")
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Fprintf(log, "work directory %s kept\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	src := c.repo
	if src == "" {
		if src, err = synth.Ensure(ctx, c.cache, c.params, log); err != nil {
			return err
		}
	}
	bin := c.depotBin
	if bin == "" {
		fmt.Fprintln(log, "building ./cmd/depot")
		if bin, err = buildDepot(ctx, work); err != nil {
			return err
		}
	}
	rep, err := runLoad(ctx, bin, src, work, c.load, log)
	if err != nil {
		return err
	}
	rep.Repo = c.preset
	if c.repo != "" {
		rep.Repo = filepath.Base(c.repo)
	}
	writeLoadTable(stdout, rep)
	if c.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	var failed []string
	for _, k := range rep.Kinds {
		if k.Errors > 0 {
			failed = append(failed, fmt.Sprintf("%d %s failed (first: %s)", k.Errors, k.Name, k.FirstError))
		}
	}
	if rep.LostPushes > 0 {
		failed = append(failed, fmt.Sprintf("%d acknowledged pushes lost", rep.LostPushes))
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// runLoad starts depot on a copy of src and runs shape against it.
func runLoad(ctx context.Context, bin, src, work string, shape loadShape, log io.Writer) (*loadReport, error) {
	s, err := startDepot(ctx, bin, src, work)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	g, err := newGitRunner(filepath.Join(work, "home"))
	if err != nil {
		return nil, err
	}
	g.secrets = append(g.secrets, s.secret)
	// The API clients need more than the git token's scope.
	apiSecret, err := s.mint(ctx, "user,user:token,project,project:depot")
	if err != nil {
		return nil, err
	}
	g.secrets = append(g.secrets, apiSecret)

	// Each pusher commits on top of the repository's main branch in a
	// bare copy of its own, so that every push sends one small commit.
	tip, err := g.run(ctx, src, "rev-parse", synth.Branch)
	if err != nil {
		return nil, err
	}
	tip = strings.TrimSpace(tip)
	pushers := make([]*pusher, shape.Pushers)
	for i := range pushers {
		dir := filepath.Join(work, fmt.Sprintf("pusher%d.git", i))
		if _, err := g.run(ctx, "", "clone", "-q", "--bare", "--no-tags", "--single-branch", "--branch", synth.Branch, src, dir); err != nil {
			return nil, err
		}
		pushers[i] = &pusher{dir: dir, branch: fmt.Sprintf("refs/heads/load/p%02d", i), parent: tip}
	}

	fmt.Fprintf(log, "load: %d API clients, %d cloners, %d pushers for %v\n", shape.APIClients, shape.Cloners, shape.Pushers, shape.Duration)
	before, err := scrapeDurations(ctx, http.DefaultClient, s.base, s.metricsToken)
	if err != nil {
		return nil, fmt.Errorf("reading the server's metrics: %w", err)
	}
	cpu0, _ := procfs.CPUTime(s.pid())
	_ = procfs.ResetPeakRSS(s.pid())
	var api, clones, pushes recorder
	runCtx, cancel := context.WithTimeout(ctx, shape.Duration)
	defer cancel()
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: shape.APIClients + 8}, Timeout: time.Minute}
	start := time.Now()
	for i := range shape.APIClients {
		wg.Go(func() { apiClient(runCtx, ctx, client, s, apiSecret, i, &api) })
	}
	var cloneN atomic.Int64
	for range shape.Cloners {
		wg.Go(func() {
			for runCtx.Err() == nil {
				dir := filepath.Join(work, fmt.Sprintf("clone%d", cloneN.Add(1)))
				t0 := time.Now()
				// The operation, once begun, finishes: only the loop
				// stops at the end of the run, so that an operation cut by
				// the benchmark itself is never counted as an error.
				_, err := g.run(ctx, "", "clone", "-q", "--bare", s.url, dir)
				clones.add(time.Since(t0), err)
				os.RemoveAll(dir)
			}
		})
	}
	for _, p := range pushers {
		wg.Go(func() { p.run(runCtx, ctx, g, s.url, &pushes) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	s.settle(ctx)
	cpu1, _ := procfs.CPUTime(s.pid())
	peak, _ := procfs.PeakRSS(s.pid())

	rep := &loadReport{
		Machine:     machineFacts(),
		Shape:       shape,
		ServerCPU:   (cpu1 - cpu0).Seconds(),
		ServerPeakM: float64(peak) / (1 << 20),
	}
	rep.Shape.Seconds = elapsed.Seconds()
	rep.Kinds = []loadKind{
		api.summary("API requests", elapsed),
		clones.summary("clones", elapsed),
		pushes.summary("pushes", elapsed),
	}
	after, err := scrapeDurations(ctx, http.DefaultClient, s.base, s.metricsToken)
	if err != nil {
		return nil, fmt.Errorf("reading the server's metrics: %w", err)
	}
	// The API requests are the api class; a clone or push is two git
	// requests or more, so the git class is shown beside both.
	for i, class := range []string{"api", "git", "git"} {
		d := after[class].since(before[class])
		rep.Kinds[i].ServerP50 = boundMS(d.quantile(0.5))
		rep.Kinds[i].ServerP99 = boundMS(d.quantile(0.99))
	}
	// Every acknowledged push must be on the server: each pusher's branch
	// is the last commit it was told had landed.
	out, err := g.run(ctx, "", "ls-remote", s.url, "refs/heads/load/*")
	if err != nil {
		return nil, err
	}
	have := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if sha, ref, ok := strings.Cut(line, "\t"); ok {
			have[ref] = sha
		}
	}
	for _, p := range pushers {
		rep.Pushes += p.acked
		if p.acked > 0 && have[p.branch] != p.parent {
			rep.LostPushes++
			fmt.Fprintf(log, "load: %s is %q on the server; the last acknowledged push was %s\n", p.branch, have[p.branch], p.parent)
		}
	}
	return rep, nil
}

// apiClient sends a mix of API requests until runCtx ends: mostly reads
// (current_user, the token list, the user's repositories, the branches),
// and every tenth round a token created and deleted again.
func apiClient(runCtx, ctx context.Context, c *http.Client, s *server, secret string, n int, rec *recorder) {
	reads := []string{
		"/api/current_user",
		"/api/v1/auth/tokens?pageSize=10",
		"/api/v1/user/repos?pageSize=10",
		fmt.Sprintf("/api/v1/repos/%s/%s/branches?pageSize=10", benchOwner, benchRepo),
	}
	for round := n; runCtx.Err() == nil; round++ {
		t0 := time.Now()
		if round%10 == 9 {
			err := createDeleteToken(ctx, c, s.base, secret)
			rec.add(time.Since(t0), err)
			continue
		}
		_, err := get(ctx, c, s.base+reads[round%len(reads)], secret)
		rec.add(time.Since(t0), err)
	}
}

// createDeleteToken creates a token and deletes it, two requests timed as
// one operation.
func createDeleteToken(ctx context.Context, c *http.Client, base, secret string) error {
	body := fmt.Sprintf(`{"username":%q,"description":"load","scopes":["project:depot"]}`, benchOwner)
	var created struct {
		ID string `json:"id"`
	}
	if err := send(ctx, c, "POST", base+"/api/v1/auth/tokens", secret, body, &created); err != nil {
		return err
	}
	if created.ID == "" {
		return errors.New("POST /api/v1/auth/tokens answered no id")
	}
	return send(ctx, c, "DELETE", base+"/api/v1/auth/tokens/"+created.ID, secret, "", nil)
}

func send(ctx context.Context, c *http.Client, method, url, secret, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, res.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// pusher pushes one new commit at a time to its branch.
type pusher struct {
	dir    string
	branch string
	parent string // the last commit the server acknowledged, or main's tip
	acked  int
}

func (p *pusher) run(runCtx, ctx context.Context, g *gitRunner, url string, rec *recorder) {
	for n := 0; runCtx.Err() == nil; n++ {
		commit, err := g.run(ctx, p.dir, "commit-tree", p.parent+"^{tree}", "-p", p.parent, "-m", fmt.Sprintf("load %s %d", p.branch, n))
		if err != nil {
			rec.add(0, err)
			return
		}
		commit = strings.TrimSpace(commit)
		t0 := time.Now()
		_, err = g.run(ctx, p.dir, "push", "-q", url, commit+":"+p.branch)
		rec.add(time.Since(t0), err)
		if err == nil {
			p.parent = commit
			p.acked++
		}
	}
}

// boundMS is a histogram bound in milliseconds, -1 past the last bound
// (JSON has no infinity).
func boundMS(sec float64) float64 {
	if math.IsInf(sec, 1) {
		return -1
	}
	return 1000 * sec
}

// fmtBound formats a bound of boundMS.
func fmtBound(ms float64) string {
	switch {
	case ms < 0:
		return "∞"
	case ms >= 1000:
		return fmt.Sprintf("%g s", ms/1000)
	}
	return fmt.Sprintf("%g ms", ms)
}

func writeLoadTable(w io.Writer, r *loadReport) {
	fmt.Fprintf(w, "machine: %s, %d cores, %d MB RAM, %s, git %s\n", r.Machine.CPU, r.Machine.Cores, r.Machine.RAMMB, r.Machine.GoVersion, r.Machine.GitVersion)
	fmt.Fprintf(w, "load: %.1f s of %d API clients, %d cloners and %d pushers on repository %s; server CPU %.1f s, peak RSS %.0f MB\n\n",
		r.Shape.Seconds, r.Shape.APIClients, r.Shape.Cloners, r.Shape.Pushers, r.Repo, r.ServerCPU, r.ServerPeakM)
	rows := [][]string{{"operation", "count", "per second", "p50", "p99", "errors", "server p50", "server p99"}}
	for i, k := range r.Kinds {
		server := []string{"≤ " + fmtBound(k.ServerP50), "≤ " + fmtBound(k.ServerP99)}
		if i == 2 {
			server = []string{"(as clones)", ""}
		}
		rows = append(rows, append([]string{k.Name, fmt.Sprint(k.Ops), fmt.Sprintf("%.1f", k.PerSec),
			fmt.Sprintf("%.1f ms", k.P50), fmt.Sprintf("%.1f ms", k.P99), fmt.Sprint(k.Errors)}, server...))
	}
	writeMarkdown(w, rows)
	fmt.Fprintln(w, "\nserver p50/p99: the server's own time per HTTP request, from its request duration histogram (bucket bounds; a clone or push is several git requests)")
	fmt.Fprintf(w, "\npushes acknowledged: %d; lost: %d\n", r.Pushes, r.LostPushes)
}
