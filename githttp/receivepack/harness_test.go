package receivepack

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/depot/depot/githttp/pktline"
)

// testServer serves bare repositories under root over smart HTTP:
// receive-pack through this package, upload-pack through the real
// git http-backend as a CGI (tests only).
type testServer struct {
	*httptest.Server
	root string
	opt  Options

	mu       sync.Mutex
	results  []*Result
	bodies   [][]byte
	serveErr []error
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	gitPath := mustLookGit(t)
	s := &testServer{root: t.TempDir()}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + s.root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + s.root},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{repo}/info/refs", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("service") != "git-receive-pack" {
			backend.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-git-receive-pack-advertisement")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write([]byte("001f# service=git-receive-pack\n0000"))
		if err := AdvertiseRefs(r.Context(), s.repoPath(r.PathValue("repo")), w, s.options()); err != nil {
			t.Errorf("AdvertiseRefs: %v", err)
		}
	})
	mux.HandleFunc("POST /{repo}/git-upload-pack", backend.ServeHTTP)
	mux.HandleFunc("POST /{repo}/git-receive-pack", func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		var rec bytes.Buffer
		w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
		res, err := Serve(r.Context(), s.repoPath(r.PathValue("repo")), io.TeeReader(body, &rec), w, s.options())
		s.mu.Lock()
		s.results = append(s.results, res)
		s.bodies = append(s.bodies, rec.Bytes())
		s.serveErr = append(s.serveErr, err)
		s.mu.Unlock()
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// setOptions changes the Options of the requests that follow. The race
// detector cannot see that a request which git sends afterwards comes
// later, hence the lock.
func (s *testServer) setOptions(opt Options) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opt = opt
}

func (s *testServer) options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opt
}

func (s *testServer) repoPath(name string) string {
	return filepath.Join(s.root, filepath.Base(name))
}

// last returns the result and request body of the latest push.
func (s *testServer) last(t testing.TB) (*Result, []byte) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.results) == 0 {
		t.Fatal("no push reached the server")
	}
	return s.results[len(s.results)-1], s.bodies[len(s.bodies)-1]
}

func mustLookGit(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is required: %v", err)
	}
	return p
}

// gitEnv is an isolated environment for the git binary.
func gitEnv(home string) []string {
	return append(os.Environ(),
		"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=tester@example.com",
		"GIT_PROTOCOL=", "LC_ALL=C",
	)
}

// runGit runs git in dir and returns its combined output.
func runGit(t testing.TB, home, dir string, extraEnv []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(gitEnv(home), extraEnv...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// env is a server repository plus a local working clone.
type env struct {
	t    *testing.T
	srv  *testServer
	home string
	bare string // server repository
	url  string
	work string // local repository pushing to url as origin
}

// newEnv starts a server with an empty bare repository "r.git" (HEAD on
// master, git's default) and a local repository with origin set to it.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, srv: newTestServer(t), home: t.TempDir()}
	e.bare = e.srv.repoPath("r.git")
	e.url = e.srv.URL + "/r.git"
	e.git(e.home, "init", "-q", "--bare", "-b", "master", e.bare)
	e.work = e.newClone("work")
	return e
}

// newClone makes a fresh local repository on branch main with origin set.
func (e *env) newClone(name string) string {
	dir := filepath.Join(e.home, name)
	e.git(e.home, "init", "-q", "-b", "main", dir)
	e.git(dir, "remote", "add", "origin", e.url)
	return dir
}

// git runs git in dir and fails the test on error.
func (e *env) git(dir string, args ...string) string {
	e.t.Helper()
	out, err := runGit(e.t, e.home, dir, nil, args...)
	if err != nil {
		e.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// gitErr runs git in dir and returns its output and error.
func (e *env) gitErr(dir string, args ...string) (string, error) {
	e.t.Helper()
	return runGit(e.t, e.home, dir, nil, args...)
}

// commit writes files in dir and commits them, returning the commit id.
func (e *env) commit(dir, msg string, files map[string]string) string {
	e.t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	e.git(dir, "add", "-A")
	e.git(dir, "commit", "-q", "--allow-empty", "-m", msg)
	return e.git(dir, "rev-parse", "HEAD")
}

// serverRef returns the value of ref in the server repository, or "".
func (e *env) serverRef(ref string) string {
	e.t.Helper()
	out, err := runGit(e.t, e.home, e.bare, nil, "rev-parse", "-q", "--verify", ref)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// fsck fails the test unless the server repository is fully consistent
// and no quarantine directory is left behind.
func (e *env) fsck() {
	e.t.Helper()
	fsckRepo(e.t, e.home, e.bare)
}

func fsckRepo(t testing.TB, home, bare string) {
	t.Helper()
	if out, err := runGit(t, home, bare, nil, "fsck", "--full", "--strict"); err != nil {
		t.Fatalf("git fsck --full --strict: %v\n%s", err, out)
	}
	left, _ := filepath.Glob(filepath.Join(bare, "objects", "incoming-*"))
	locks, _ := filepath.Glob(filepath.Join(bare, "refs", "heads", "*.lock"))
	if len(left)+len(locks) > 0 {
		t.Fatalf("left behind: %v %v", left, locks)
	}
}

// rawPush sends a hand-made request straight to Serve and returns the
// report lines (side-band demultiplexed when asked for).
func rawPush(t testing.TB, repo, caps string, cmds []string, pack []byte, opt Options) ([]string, *Result, error) {
	t.Helper()
	var body []byte
	for i, c := range cmds {
		if i == 0 {
			c += "\x00" + caps
		}
		body = pktline.Append(body, c+"\n")
	}
	body = pktline.AppendFlush(body)
	body = append(body, pack...)
	var out bytes.Buffer
	res, err := Serve(context.Background(), repo, bytes.NewReader(body), &out, opt)
	lines := parseReport(t, out.Bytes(), strings.Contains(caps, "side-band-64k"))
	return lines, res, err
}

// parseReport decodes a receive-pack response into its report lines.
func parseReport(t testing.TB, b []byte, sideband bool) []string {
	t.Helper()
	if sideband {
		var data []byte
		pr := pktline.NewReader(bytes.NewReader(b))
		for {
			kind, p, err := pr.Next()
			if err != nil || kind != pktline.Data {
				break
			}
			if len(p) > 0 && p[0] == pktline.BandData {
				data = append(data, p[1:]...)
			}
		}
		b = data
	}
	var lines []string
	pr := pktline.NewReader(bytes.NewReader(b))
	for {
		kind, p, err := pr.Next()
		if err != nil || kind != pktline.Data {
			break
		}
		lines = append(lines, strings.TrimSuffix(string(p), "\n"))
	}
	return lines
}
