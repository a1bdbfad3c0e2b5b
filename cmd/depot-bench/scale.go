package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/depot/depot/repos"
	"github.com/depot/depot/repos/projects"
	"github.com/depot/depot/tokens"
	"github.com/depot/depot/tokens/sqlite"
)

// The shapes of the scale run (--scale): a user holding many
// repositories, one repository with many branches, many tokens over many
// users. The figures the issue of scale asks for are these sizes.
type scaleShape struct {
	Tokens   int `json:"tokens"`    // over Users users
	Users    int `json:"users"`     //
	Repos    int `json:"repos"`     // in the namespace of user "bench"
	Branches int `json:"branches"`  // of bench/refs
	Requests int `json:"requests"`  // per client and endpoint
	Clients  int `json:"clients_n"` // the concurrent run's clients
}

// scaleShapes are the sizes --scale takes: full is the issue's, small a
// smoke run for the tests.
var scaleShapes = map[string]scaleShape{
	"full":  {Tokens: 100_000, Users: 1_000, Repos: 10_000, Branches: 50_000, Requests: 200, Clients: 16},
	"small": {Tokens: 200, Users: 10, Repos: 30, Branches: 100, Requests: 10, Clients: 4},
}

// runScaleMode is depot-bench --scale: the API at scale, depot alone.
func runScaleMode(ctx context.Context, c *config, stdout, log io.Writer) error {
	shape, ok := scaleShapes[c.scale]
	if !ok {
		return fmt.Errorf("--scale must be full or small, not %q", c.scale)
	}
	work, err := os.MkdirTemp("", "depot-bench-scale-")
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Fprintf(log, "work directory %s kept\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	bin := c.depotBin
	if bin == "" {
		fmt.Fprintln(log, "building ./cmd/depot")
		if bin, err = buildDepot(ctx, work); err != nil {
			return err
		}
	}
	rep, err := runScale(ctx, bin, work, shape, log)
	if err != nil {
		return err
	}
	writeScaleTable(stdout, rep)
	for _, r := range rep.Results {
		if r.One.Errors+r.Many.Errors > 0 {
			return fmt.Errorf("%s: %d requests failed", r.Name, r.One.Errors+r.Many.Errors)
		}
	}
	if c.jsonPath != "" {
		return writeScaleJSON(c.jsonPath, rep)
	}
	return nil
}

// scaleEndpoint is one request the scale run times.
type scaleEndpoint struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// scaleResult is one endpoint's latencies with one client and with many.
type scaleResult struct {
	scaleEndpoint
	One  latency `json:"one_client"`
	Many latency `json:"many_clients"`
}

// latency summarises the requests of one run, in milliseconds.
type latency struct {
	P50    float64 `json:"p50_ms"`
	P95    float64 `json:"p95_ms"`
	RPS    float64 `json:"rps"`
	Errors int     `json:"errors"`
	Bytes  int     `json:"bytes"` // of one answer
}

type scaleReport struct {
	Machine machine       `json:"machine"`
	Shape   scaleShape    `json:"shape"`
	Setup   float64       `json:"setup_s"`
	Results []scaleResult `json:"results"`
}

// runScale builds the data directory of shape under work, starts the
// depot binary bin on it, and times each endpoint with one client and
// with shape.Clients at once.
func runScale(ctx context.Context, bin, work string, shape scaleShape, log io.Writer) (*scaleReport, error) {
	start := time.Now()
	data := filepath.Join(work, "scale-data")
	secret, err := populate(ctx, data, shape, log)
	if err != nil {
		return nil, fmt.Errorf("populate: %w", err)
	}
	rep := &scaleReport{Machine: machineFacts(), Shape: shape, Setup: time.Since(start).Seconds()}
	fmt.Fprintf(log, "scale: data ready in %.1fs\n", rep.Setup)

	s := &server{name: "depot", key: "depot"}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data", data)
	cmd.Env = append(os.Environ(), "DEPOT_DATA=", "DEPOT_LISTEN=", "DEPOT_ADMIN_PASSWORD="+randomSecret())
	if err := s.start(ctx, cmd, depotListenRE); err != nil {
		return nil, err
	}
	defer s.stop()

	deep := func(total, size int) int { return max(1, total/size) }
	endpoints := []scaleEndpoint{
		{"current_user", "/api/current_user"},
		{"tokens, first page by lastAccessTime", "/api/v1/auth/tokens?sort=lastAccessTime&pageSize=10"},
		{"tokens, last page by lastAccessTime", fmt.Sprintf("/api/v1/auth/tokens?sort=lastAccessTime&pageSize=10&pageNo=%d", deep(shape.Tokens, 10))},
		{"tokens, a user's by prefix", "/api/v1/auth/tokens?prefix=u0042&pageSize=10"},
		{"user/repos, first page", "/api/v1/user/repos?pageSize=10"},
		{"user/repos, last page", fmt.Sprintf("/api/v1/user/repos?pageSize=10&pageNo=%d", deep(shape.Repos, 10))},
		{"repository with many branches", "/api/v1/repos/bench/refs"},
		{"branches, first page", "/api/v1/repos/bench/refs/branches?pageSize=10"},
		{"branches, last page", fmt.Sprintf("/api/v1/repos/bench/refs/branches?pageSize=10&pageNo=%d", deep(shape.Branches, 10))},
		{"tags, first page", "/api/v1/repos/bench/refs/tags?pageSize=10"},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, ep := range endpoints {
		res := scaleResult{scaleEndpoint: ep}
		res.One = timeEndpoint(ctx, client, s.base+ep.Path, secret, 1, shape.Requests)
		res.Many = timeEndpoint(ctx, client, s.base+ep.Path, secret, shape.Clients, max(shape.Requests/4, 10))
		fmt.Fprintf(log, "scale: %-40s p50 %6.2f ms  p95 %6.2f ms | %d clients p50 %6.2f ms  p95 %6.2f ms  %6.0f rps\n",
			ep.Name, res.One.P50, res.One.P95, shape.Clients, res.Many.P50, res.Many.P95, res.Many.RPS)
		rep.Results = append(rep.Results, res)
	}
	return rep, nil
}

// timeEndpoint sends n requests from each of clients goroutines and
// returns the latencies' median and 95th percentile.
func timeEndpoint(ctx context.Context, c *http.Client, url, secret string, clients, n int) latency {
	var mu sync.Mutex
	var ds []time.Duration
	var out latency
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				t0 := time.Now()
				size, err := get(ctx, c, url, secret)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					out.Errors++
				} else {
					ds = append(ds, d)
					out.Bytes = size
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	if len(ds) > 0 {
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		out.P50 = ms(ds[len(ds)/2])
		out.P95 = ms(ds[min(len(ds)-1, len(ds)*95/100)])
		out.RPS = float64(len(ds)) / elapsed.Seconds()
	}
	return out
}

func get(ctx context.Context, c *http.Client, url, secret string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return int(n), err
}

// populate makes the data directory of shape through depot's own stores,
// as the server would, and returns the secret of an admin token that every
// request uses: user "bench" is a site admin, so the token list is every
// user's.
func populate(ctx context.Context, data string, shape scaleShape, log io.Writer) (string, error) {
	if err := os.RemoveAll(data); err != nil {
		return "", err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", err
	}
	db, err := sqlite.Open(ctx, filepath.Join(data, "depot.db"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	store, err := tokens.New(ctx, db)
	if err != nil {
		return "", err
	}
	defer store.Close()
	store.SetPasswordCost(bcrypt.MinCost)
	if err := store.CreateUser(ctx, &tokens.User{GlobalKey: "bench", Admin: true}, randomSecret()); err != nil {
		return "", err
	}
	secret, err := store.CreateToken(ctx, &tokens.Token{Username: "bench", Scopes: []string{"user", "user:token", "project", "project:depot"}})
	if err != nil {
		return "", err
	}
	perUser := max(1, shape.Tokens/max(1, shape.Users))
	for u := range shape.Users {
		name := fmt.Sprintf("u%04d", u)
		if err := store.CreateUser(ctx, &tokens.User{GlobalKey: name}, randomSecret()); err != nil {
			return "", err
		}
		for range perUser {
			if _, err := store.CreateToken(ctx, &tokens.Token{Username: name, Scopes: []string{"project:depot"}, Description: "scale"}); err != nil {
				return "", err
			}
		}
	}
	fmt.Fprintf(log, "scale: %d tokens over %d users\n", perUser*shape.Users+1, shape.Users+1)

	dir, err := repos.OpenDir(filepath.Join(data, "repos"))
	if err != nil {
		return "", err
	}
	recs := projects.New(db)
	for i := range shape.Repos {
		info := &repos.Info{Visibility: repos.Private}
		if _, err := dir.CreateWithRecord(ctx, recs, "bench", fmt.Sprintf("r%05d", i), repos.CreateOptions{}, info); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(log, "scale: %d repositories of bench\n", shape.Repos)
	refs, err := dir.CreateWithRecord(ctx, recs, "bench", "refs", repos.CreateOptions{}, &repos.Info{Visibility: repos.Private})
	if err != nil {
		return "", err
	}
	if err := manyBranches(ctx, refs.Path, shape.Branches); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "scale: bench/refs with %d branches and 100 tags\n", shape.Branches)
	return secret, nil
}

// manyBranches gives the empty repository at dir one commit and n
// branches (plus 100 annotated tags) on it, in packed-refs as a
// repository that has seen gc holds them.
func manyBranches(ctx context.Context, dir string, n int) error {
	git := func(stdin string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"--git-dir", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
			"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com",
			"GIT_AUTHOR_DATE=1700000000 +0000", "GIT_COMMITTER_DATE=1700000000 +0000")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return "", fmt.Errorf("git %s: %w: %s", args[0], err, ee.Stderr)
			}
			return "", err
		}
		return strings.TrimSpace(string(out)), nil
	}
	tree, err := git("", "hash-object", "-t", "tree", "-w", "--stdin")
	if err != nil {
		return err
	}
	commit, err := git("", "commit-tree", tree, "-m", "one")
	if err != nil {
		return err
	}
	var in strings.Builder
	fmt.Fprintf(&in, "create refs/heads/main %s\n", commit)
	for i := range n {
		fmt.Fprintf(&in, "create refs/heads/b%06d %s\n", i, commit)
	}
	if _, err := git(in.String(), "update-ref", "--stdin"); err != nil {
		return err
	}
	for i := range 100 {
		if _, err := git("", "tag", "-a", "-m", "release", fmt.Sprintf("v%03d", i), commit); err != nil {
			return err
		}
	}
	_, err = git("", "pack-refs", "--all")
	return err
}

func writeScaleTable(w io.Writer, r *scaleReport) {
	fmt.Fprintf(w, "machine: %s, %d cores, %d MB RAM, %s\n", r.Machine.CPU, r.Machine.Cores, r.Machine.RAMMB, r.Machine.GoVersion)
	fmt.Fprintf(w, "shape: %d tokens over %d users, %d repositories of one user, %d branches in one repository; %d requests with 1 client, %d each with %d clients\n\n",
		r.Shape.Tokens, r.Shape.Users, r.Shape.Repos, r.Shape.Branches, r.Shape.Requests, max(r.Shape.Requests/4, 10), r.Shape.Clients)
	rows := [][]string{{"request", "bytes", "p50 (1)", "p95 (1)", fmt.Sprintf("p50 (%d)", r.Shape.Clients), fmt.Sprintf("p95 (%d)", r.Shape.Clients), "rps", "errors"}}
	for _, res := range r.Results {
		rows = append(rows, []string{res.Name, fmt.Sprint(res.One.Bytes),
			fmt.Sprintf("%.2f ms", res.One.P50), fmt.Sprintf("%.2f ms", res.One.P95),
			fmt.Sprintf("%.2f ms", res.Many.P50), fmt.Sprintf("%.2f ms", res.Many.P95),
			fmt.Sprintf("%.0f", res.Many.RPS), fmt.Sprint(res.One.Errors + res.Many.Errors)})
	}
	writeMarkdown(w, rows)
}

func writeScaleJSON(path string, r *scaleReport) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
