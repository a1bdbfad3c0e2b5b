package githttp_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/githttp"
)

// TestHooks pushes through the whole handler to a repository holding a
// pre-receive hook that refuses the push once the client has shown its
// first line. The refusal proves both that the hook ran and that its
// output reached the client while it ran: had the output waited for the
// hook to end, the hook would have given up waiting and let the push in.
func TestHooks(t *testing.T) {
	tests := []struct {
		name    string
		hooks   githttp.Hooks
		wantRan bool
	}{
		{"Off", githttp.Hooks{}, false},
		{"On", githttp.Hooks{Enabled: true, Timeout: time.Minute}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.gs.Hooks = tc.hooks
			tok := e.token("tester", auth.ScopeDepot)
			wt := e.seed("tester", "hello", "tester", tok)
			r, err := e.repos.Open("tester", "hello")
			if err != nil {
				t.Fatal(err)
			}
			goOn := filepath.Join(t.TempDir(), "go-on")
			script := `#!/bin/sh
read old new ref
echo "checking $ref"
i=0
while [ ! -e '` + goOn + `' ]; do
	i=$((i+1))
	if [ $i -gt 200 ]; then echo "gave up waiting"; exit 0; fi
	sleep 0.05
done
echo "refused by policy"
exit 1
`
			if err := os.MkdirAll(filepath.Join(r.Path, "hooks"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(r.Path, "hooks", "pre-receive"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			before := strings.TrimSpace(e.mustGit("", "--git-dir", r.Path, "rev-parse", "refs/heads/main"))
			os.WriteFile(filepath.Join(wt, "README"), []byte("changed\n"), 0o644)
			e.mustGit(wt, "commit", "-qam", "second")

			out, pushErr := e.pushWatching(wt, e.url("tester", tok, "tester/hello.git"), "remote: checking refs/heads/main", goOn)
			after := strings.TrimSpace(e.mustGit("", "--git-dir", r.Path, "rev-parse", "refs/heads/main"))
			if !tc.wantRan {
				if pushErr != nil || strings.Contains(out, "checking") || after == before {
					t.Fatalf("push with hooks off: %v, main %s -> %s\n%s", pushErr, before, after, out)
				}
				return
			}
			if pushErr == nil || after != before {
				t.Fatalf("push = %v, main %s -> %s; want refused and unchanged\n%s", pushErr, before, after, out)
			}
			for _, want := range []string{"remote: checking refs/heads/main", "remote: refused by policy", "(pre-receive hook declined)"} {
				if !strings.Contains(out, want) {
					t.Errorf("push output lacks %q:\n%s", want, out)
				}
			}
			e.fsck("tester", "hello")
		})
	}
}

// pushWatching pushes main from wt to url and creates the file signal as
// soon as git prints a line starting with watch. It returns everything
// git printed and how it exited.
func (e *env) pushWatching(wt, url, watch, signal string) (string, error) {
	e.t.Helper()
	cmd := exec.Command("git", "push", url, "main")
	cmd.Dir = wt
	cmd.Env = append(os.Environ(), "HOME="+e.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if strings.HasPrefix(line, watch) {
			if err := os.WriteFile(signal, nil, 0o644); err != nil {
				e.t.Error(err)
			}
		}
	}
	return out.String(), cmd.Wait()
}
