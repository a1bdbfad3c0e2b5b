package receivepack

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAtomicPushMatchesGit makes the same atomic push fail at depot and at
// C git's receive-pack (git http-backend): another push moves one of its
// refs between the advertisement and the push. Both must reject every ref
// with "atomic transaction failed", name the ref in a remote error line,
// and change nothing.
func TestAtomicPushMatchesGit(t *testing.T) {
	gitPath := mustLookGit(t)
	home := t.TempDir()
	git := func(dir string, args ...string) string {
		t.Helper()
		out, err := runGit(t, home, dir, nil, args...)
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(out)
	}
	root := t.TempDir()
	work := filepath.Join(home, "work")
	git(home, "init", "-q", "-b", "main", work)
	git(work, "commit", "-q", "--allow-empty", "-m", "c0")
	c0 := git(work, "rev-parse", "HEAD")
	git(work, "commit", "-q", "--allow-empty", "-m", "c1")
	c1 := git(work, "rev-parse", "HEAD")
	git(work, "commit", "-q", "--allow-empty", "-m", "c2")

	// race moves refs/heads/other of the repository about to be pushed to.
	race := func(r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
			repo := filepath.Join(root, filepath.Base(filepath.Dir(r.URL.Path)))
			git(repo, "update-ref", "refs/heads/other", c0)
		}
	}
	backend := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + home}}
	depot := func(w http.ResponseWriter, r *http.Request) {
		repo := filepath.Join(root, r.PathValue("repo"))
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "application/x-git-receive-pack-advertisement")
			w.Write([]byte("001f# service=git-receive-pack\n0000"))
			if err := AdvertiseRefs(r.Context(), repo, w, Options{}); err != nil {
				t.Errorf("AdvertiseRefs: %v", err)
			}
			return
		}
		w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
		if _, err := Serve(r.Context(), repo, r.Body, w, Options{}); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		race(r)
		if strings.HasPrefix(r.URL.Path, "/depot.git/") {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /{repo}/info/refs", depot)
			mux.HandleFunc("POST /{repo}/git-receive-pack", depot)
			mux.ServeHTTP(w, r)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	outputs := map[string][]string{}
	for _, name := range []string{"cgit.git", "depot.git"} {
		repo := filepath.Join(root, name)
		git(root, "init", "-q", "--bare", "-b", "main", repo)
		git(repo, "config", "http.receivepack", "true")
		git(work, "push", "-q", repo, c1+":refs/heads/main", c1+":refs/heads/other")
		out, err := runGit(t, home, work, nil, "push", "--porcelain", "--atomic", srv.URL+"/"+name, "HEAD:main", "HEAD:other", "HEAD:new")
		if err == nil {
			t.Fatalf("%s: atomic push over a moved ref succeeded:\n%s", name, out)
		}
		if !strings.Contains(out, "remote: error: cannot lock ref 'refs/heads/other'") {
			t.Errorf("%s: no remote error naming the ref:\n%s", name, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "!") || strings.HasPrefix(l, " ") || strings.HasPrefix(l, "*") {
				outputs[name] = append(outputs[name], l)
			}
		}
		if got, want := git(repo, "for-each-ref", "--format=%(objectname) %(refname)"), c1+" refs/heads/main\n"+c0+" refs/heads/other"; got != want {
			t.Errorf("%s: refs after the failed push:\n%s\nwant\n%s", name, got, want)
		}
	}
	want := []string{
		"!\tHEAD:refs/heads/main\t[remote rejected] (atomic transaction failed)",
		"!\tHEAD:refs/heads/other\t[remote rejected] (atomic transaction failed)",
		"!\tHEAD:refs/heads/new\t[remote rejected] (atomic transaction failed)",
	}
	for name, got := range outputs {
		if !slices.Equal(got, want) {
			t.Errorf("%s: git push --porcelain reports\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
