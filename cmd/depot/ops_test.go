package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gitEnv runs the real git client with a home of its own.
type gitEnv struct {
	t    *testing.T
	home string
}

func newGitEnv(t *testing.T) *gitEnv { return &gitEnv{t: t, home: t.TempDir()} }

func (g *gitEnv) run(dir string, args ...string) (string, error) {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+g.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (g *gitEnv) must(dir string, args ...string) string {
	g.t.Helper()
	out, err := g.run(dir, args...)
	if err != nil {
		g.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return out
}

// commit writes name in the work tree wt and commits it.
func (g *gitEnv) commit(wt, name, content string) {
	g.t.Helper()
	if err := os.WriteFile(filepath.Join(wt, name), []byte(content), 0o644); err != nil {
		g.t.Fatal(err)
	}
	g.must(wt, "add", name)
	g.must(wt, "commit", "-qm", "add "+name)
}

// depotUser creates a user with a token of scopes on the data directory,
// through the CLI, and returns the token.
func depotUser(t *testing.T, data, user, scopes string) string {
	t.Helper()
	if out, errOut, code := cli(t, user+"-password\n", "user", "add", user, "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add: %d %s %s", code, out, errOut)
	}
	out, errOut, code := cli(t, "", "token", "create", "--user", user, "--scopes", scopes, "--data", data)
	if code != 0 {
		t.Fatalf("token create: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

var metricsListenRE = regexp.MustCompile(`depot metrics listening"? addr="?([0-9.:]+)"?`)

// waitLog waits for re in the server's log and returns its first group.
func (s *liveServer) waitLog(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.stderr.String()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("log lacks %s:\n%s", re, s.stderr)
	return ""
}

// scrape GETs url with header pairs and returns the status, the
// Content-Type and the body.
func scrape(t *testing.T, url string, header ...string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

// sample returns the value of the series named exactly series (name and
// labels, as Prometheus's text format writes them), or -1.
func sample(body, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			return -1
		}
		return v
	}
	return -1
}

// TestMetricsAndHealth runs the binary with metrics on their own address
// and behind a token, drives it with the real git client and the API, and
// reads the counts back from /metrics; then checks health, readiness (a
// missing repositories directory is not ready), the slow-request log and
// that no secret reaches the log. A server without the metrics flags
// keeps /metrics off.
func TestMetricsAndHealth(t *testing.T) {
	data := t.TempDir()
	const metricsToken = "metrics-secret-1"
	s := startServerFlags(t, data, []string{"--metrics-listen", "127.0.0.1:0", "--slow-request", "1ns"},
		"DEPOT_METRICS_TOKEN="+metricsToken)
	opsURL := "http://" + s.waitLog(t, metricsListenRE)
	tok := depotUser(t, data, "tester", "user,project:depot")
	if _, errOut, code := cli(t, "", "repo", "create", "tester/app", "--data", data); code != 0 {
		t.Fatalf("repo create: %s", errOut)
	}
	g := newGitEnv(t)
	host := strings.TrimPrefix(s.url, "http://")
	u := "http://tester:" + tok + "@" + host + "/tester/app.git"
	wt := filepath.Join(g.home, "wt")
	g.must("", "init", "-q", "-b", "main", wt)
	g.commit(wt, "README", "hello\n")
	g.must(wt, "push", "-q", u, "main")
	clone := filepath.Join(g.home, "clone")
	g.must("", "clone", "-q", u, clone)
	g.commit(wt, "NEWS", "news\n")
	g.must(wt, "push", "-q", u, "main")
	g.must(clone, "fetch", "-q", "origin")
	if out, err := g.run("", "ls-remote", "http://tester:dpt_wrong@"+host+"/tester/app.git"); err == nil {
		t.Fatalf("ls-remote with a wrong token worked: %s", out)
	}
	if code, _ := s.get(t, "/api/current_user", "Authorization", "Bearer "+tok); code != 200 {
		t.Fatalf("current_user = %d", code)
	}
	if code, _ := s.get(t, "/api/no-such-endpoint"); code != 404 {
		t.Fatalf("/api/no-such-endpoint = %d", code)
	}

	for _, tc := range []struct {
		name, url string
		header    []string
		status    int
	}{
		{"MainWithoutToken", s.url + "/metrics", nil, 401},
		{"MainWrongToken", s.url + "/metrics", []string{"Authorization", "Bearer nope"}, 401},
		{"MainBasicToken", s.url + "/metrics", []string{"Authorization", "Basic " + metricsToken}, 401},
		{"OpsWithoutToken", opsURL + "/metrics", nil, 401},
		{"Main", s.url + "/metrics", []string{"Authorization", "Bearer " + metricsToken}, 200},
		{"Ops", opsURL + "/metrics", []string{"Authorization", "Bearer " + metricsToken}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := scrape(t, tc.url, tc.header...)
			if code != tc.status {
				t.Fatalf("GET %s = %d %s", tc.url, code, body)
			}
			if code != 200 {
				if !strings.Contains(body, `"code":401`) {
					t.Errorf("refusal is not the JSON error: %s", body)
				}
				return
			}
			if !strings.HasPrefix(ctype, "text/plain") {
				t.Errorf("Content-Type %q", ctype)
			}
		})
	}

	_, _, body := scrape(t, s.url+"/metrics", "Authorization", "Bearer "+metricsToken)
	for _, c := range []struct {
		series string
		min    float64
	}{
		{`depot_git_operations_total{op="push",result="ok"}`, 2},
		{`depot_git_operations_total{op="clone",result="ok"}`, 1},
		{`depot_git_operations_total{op="fetch",result="ok"}`, 1},
		{`depot_git_objects_total{op="push"}`, 6},
		{`depot_git_objects_total{op="clone"}`, 3},
		{`depot_git_bytes_total{direction="received",op="push"}`, 100},
		{`depot_git_bytes_total{direction="sent",op="clone"}`, 100},
		{`depot_git_operation_duration_seconds_count{op="clone"}`, 1},
		{`depot_http_requests_total{class="git",code="200"}`, 6},
		{`depot_http_requests_total{class="git",code="401"}`, 1},
		{`depot_http_requests_total{class="api",code="200"}`, 1},
		{`depot_http_requests_total{class="unmatched",code="404"}`, 1},
		{`depot_http_requests_total{class="ops",code="401"}`, 3},
		{`depot_http_request_duration_seconds_count{class="git"}`, 7},
		{`depot_auth_failures_total{via="request"}`, 1},
		{`depot_auth_limited_total{via="sign_in"}`, 0},
		{`depot_repacks_total{result="ok"}`, 0},
		{`depot_open_repositories`, 1},
		{`depot_delta_base_cache_bytes`, 0},
		{`depot_pack_plan_cache_entries`, 1},
		{`depot_packed_refs_cache_repositories`, 0},
		{`go_goroutines`, 1},
		{`process_resident_memory_bytes`, 1},
	} {
		if v := sample(body, c.series); v < c.min {
			t.Errorf("%s = %v; want at least %v", c.series, v, c.min)
		}
	}
	hits, misses := sample(body, "depot_token_cache_hits_total"), sample(body, "depot_token_cache_misses_total")
	if hits < 0 || misses < 1 || hits+misses < 8 {
		t.Errorf("token cache: %v hits, %v misses; want every token lookup counted (8 or more)", hits, misses)
	}
	// OpenMetrics carries the request ids as the latency's exemplars.
	_, ctype, om := scrape(t, s.url+"/metrics", "Authorization", "Bearer "+metricsToken,
		"Accept", "application/openmetrics-text; version=1.0.0")
	if !strings.HasPrefix(ctype, "application/openmetrics-text") || !regexp.MustCompile(`depot_http_request_duration_seconds_bucket\{class="git".*# \{request_id="[0-9a-f]{16}"\}`).MatchString(om) {
		t.Errorf("OpenMetrics (%s) lacks request id exemplars:\n%.2000s", ctype, om)
	}

	// Health and readiness, on both addresses, without credentials.
	for _, base := range []string{s.url, opsURL} {
		if code, _, body := scrape(t, base+"/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
			t.Errorf("%s/healthz = %d %s", base, code, body)
		}
		if code, _, body := scrape(t, base+"/readyz"); code != 200 || !strings.Contains(body, `"database":"ok"`) {
			t.Errorf("%s/readyz = %d %s", base, code, body)
		}
	}
	reposDir := filepath.Join(data, "repos")
	if err := os.Rename(reposDir, reposDir+".away"); err != nil {
		t.Fatal(err)
	}
	code, _, rbody := scrape(t, s.url+"/readyz")
	if err := os.Rename(reposDir+".away", reposDir); err != nil {
		t.Fatal(err)
	}
	if code != 503 || !strings.Contains(rbody, `"code":503`) || !strings.Contains(rbody, `"repositories directory":"failing"`) || strings.Contains(rbody, data) {
		t.Errorf("/readyz without the repositories directory = %d %s; want 503 naming the check, not the path", code, rbody)
	}
	if code, _, body := scrape(t, s.url+"/readyz"); code != 200 {
		t.Errorf("/readyz once the directory is back = %d %s", code, body)
	}

	log := s.stderr.String()
	if !regexp.MustCompile(`level=warning msg="slow request".*request_id=[0-9a-f]{16}`).MatchString(log) {
		t.Errorf("no slow request logged with its id (--slow-request 1ns):\n%.3000s", log)
	}
	if !strings.Contains(log, "readiness check failed") {
		t.Errorf("the failed readiness check is not logged:\n%.3000s", log)
	}
	for _, secret := range []string{tok, metricsToken} {
		if strings.Contains(log, secret) {
			t.Fatalf("log leaks a secret:\n%s", log)
		}
	}

	// Without --metrics-token and --metrics-listen, /metrics is off.
	plain := startServer(t, t.TempDir())
	if code, body := plain.get(t, "/metrics"); code != 404 || !strings.Contains(body, "--metrics-token") {
		t.Errorf("/metrics without the flags = %d %s; want 404 saying how to turn it on", code, body)
	}
	if code, _ := plain.get(t, "/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
}
