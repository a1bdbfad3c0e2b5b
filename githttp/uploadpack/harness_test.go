package uploadpack

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/depot/depot/githttp/pktline"
)

// testServer serves one bare repository over smart HTTP the way depot's
// githttp layer does, at URL (".../repo.git").
type testServer struct {
	URL  string
	dir  string
	hide []string // Options.HideRefs
	mu   sync.Mutex
	errs []error // errors Serve returned, in order
}

func newTestServer(tb testing.TB, repoDir string) *testServer {
	tb.Helper()
	ts := &testServer{dir: repoDir}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repo.git/info/refs", ts.infoRefs)
	mux.HandleFunc("POST /repo.git/git-upload-pack", ts.uploadPack)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	ts.URL = srv.URL + "/repo.git"
	return ts
}

func protocolVersion(r *http.Request) int {
	if strings.Contains(r.Header.Get("Git-Protocol"), "version=2") {
		return 2
	}
	return 0
}

func (ts *testServer) infoRefs(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("service") != "git-upload-pack" {
		http.Error(w, "dumb http not supported", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
	w.Header().Set("Cache-Control", "no-cache")
	p := pktline.NewWriter(w)
	p.Linef("# service=git-upload-pack")
	p.Flush()
	var err error
	if protocolVersion(r) == 2 {
		err = AdvertiseV2(r.Context(), ts.dir, w, ts.options())
	} else {
		err = AdvertiseRefs(r.Context(), ts.dir, w, ts.options())
	}
	ts.record(err)
}

// startWriter notes whether anything reached the client.
type startWriter struct {
	http.ResponseWriter
	started bool
}

func (s *startWriter) Write(b []byte) (int, error) {
	if len(b) > 0 && !s.started {
		s.started = true
		s.Header().Set("Content-Type", "application/x-git-upload-pack-result")
		s.Header().Set("Cache-Control", "no-cache")
	}
	return s.ResponseWriter.Write(b)
}

func (ts *testServer) uploadPack(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	sw := &startWriter{ResponseWriter: w}
	err := Serve(r.Context(), ts.dir, protocolVersion(r), body, sw, ts.options())
	ts.record(err)
	var pe *pktline.ProtocolError
	switch {
	case err == nil || sw.started:
	case errors.As(err, &pe):
		http.Error(w, pe.Msg, http.StatusBadRequest)
	default:
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func (ts *testServer) options() Options {
	return Options{Agent: "depot/test", HideRefs: ts.hide}
}

func (ts *testServer) record(err error) {
	if err == nil {
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.errs = append(ts.errs, err)
}

func (ts *testServer) errors() []error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]error(nil), ts.errs...)
}

// gitEnv isolates git from the machine's and the user's configuration.
func gitEnv(tb testing.TB) []string {
	tb.Helper()
	home := tb.TempDir()
	return append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=tester@example.com",
		"LC_ALL=C",
	)
}

// gitRunner runs the real git binary in a fixed environment.
type gitRunner struct {
	tb  testing.TB
	env []string
}

func newGit(tb testing.TB) *gitRunner {
	tb.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		tb.Fatalf("git binary not found: %v", err)
	}
	return &gitRunner{tb: tb, env: gitEnv(tb)}
}

// try runs git in dir with extra environment and returns stdout, stderr.
func (g *gitRunner) try(dir string, env []string, args ...string) (string, string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), g.env...), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// run runs git and fails the test on error; it returns trimmed stdout.
func (g *gitRunner) run(dir string, args ...string) string {
	g.tb.Helper()
	out, errOut, err := g.try(dir, nil, args...)
	if err != nil {
		g.tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return strings.TrimSpace(out)
}

// runEnv is run with extra environment; it returns stdout and stderr.
func (g *gitRunner) runEnv(dir string, env []string, args ...string) (string, string) {
	g.tb.Helper()
	out, errOut, err := g.try(dir, env, args...)
	if err != nil {
		g.tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return strings.TrimSpace(out), errOut
}

// commitAt commits everything in dir with both dates set to unix time ts.
func (g *gitRunner) commitAt(dir string, ts int64, msg string) {
	g.tb.Helper()
	date := fmt.Sprintf("@%d +0000", ts)
	g.runEnv(dir, []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}, "add", "-A")
	g.runEnv(dir, []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}, "commit", "-q", "-m", msg)
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// refsOf lists "<oid> <refname>" lines of dir's refs matching patterns.
func (g *gitRunner) refsOf(dir string, patterns ...string) string {
	g.tb.Helper()
	args := append([]string{"for-each-ref", "--format=%(objectname) %(refname)"}, patterns...)
	return g.run(dir, args...)
}
