package receivepack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos/git/gitref"
)

// writeHook installs an executable shell script as the server
// repository's hook called name. Hooks are written while no other test
// starts processes (the tests that use it are not parallel), so that no
// child inherits the open file and makes running it fail with ETXTBSY.
func (e *env) writeHook(name, script string) {
	e.t.Helper()
	dir := filepath.Join(e.bare, "hooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		e.t.Fatal(err)
	}
}

// mustContain fails the test unless out holds every one of want.
func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

const zeroID = "0000000000000000000000000000000000000000"

// TestHooks pushes with the real git binary to a repository with real
// hook scripts. Every case starts from an empty server repository with
// hooks on, and ends with git fsck on it and no quarantine left.
func TestHooks(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		run  func(t *testing.T, e *env)
	}{
		{"PreReceiveRefuses", Options{Hooks: true}, func(t *testing.T, e *env) {
			c1 := e.commit(e.work, "first", map[string]string{"a.txt": "1\n"})
			e.git(e.work, "push", "-q", "origin", "main")
			e.writeHook("pre-receive", "echo 'policy: no pushes on Sunday' >&2\nexit 1\n")
			c2 := e.commit(e.work, "second", map[string]string{"a.txt": "2\n"})
			out, err := e.gitErr(e.work, "push", "origin", "main", "main:refs/heads/other")
			if err == nil {
				t.Fatalf("push succeeded despite pre-receive:\n%s", out)
			}
			mustContain(t, out, "remote: policy: no pushes on Sunday",
				"[remote rejected] main -> main (pre-receive hook declined)",
				"[remote rejected] main -> other (pre-receive hook declined)")
			if got := e.serverRef("refs/heads/main"); got != c1 {
				t.Errorf("server main = %q; want %q", got, c1)
			}
			if got := e.serverRef("refs/heads/other"); got != "" {
				t.Errorf("server other = %q; want none", got)
			}
			if _, err := e.gitErr(e.bare, "cat-file", "-e", c2); err == nil {
				t.Errorf("refused commit %s landed in the repository", c2)
			}
			clone := filepath.Join(e.home, "clone")
			e.git(e.home, "clone", "-q", e.url, clone)
			if got := e.git(clone, "rev-parse", "HEAD"); got != c1 {
				t.Errorf("clone HEAD = %q; want %q", got, c1)
			}
		}},
		{"PreReceiveReadsQuarantine", Options{Hooks: true}, func(t *testing.T, e *env) {
			e.commit(e.work, "first commit", map[string]string{"a.txt": "one\n"})
			e.git(e.work, "push", "-q", "origin", "main")
			// The second push is thin: its pack needs the first commit,
			// which the hook reads through the alternate.
			e.writeHook("pre-receive", `while read old new ref; do
	git log --oneline "$new" || exit 1
	git cat-file -p "$new:a.txt" || exit 1
done
case "$GIT_QUARANTINE_PATH" in "$GIT_DIR"/objects/incoming-*) echo quarantined;; esac
`)
			c2 := e.commit(e.work, "second commit", map[string]string{"a.txt": "two\n"})
			out := e.git(e.work, "push", "origin", "main")
			mustContain(t, out, "remote: "+c2[:7]+" second commit", "first commit", "remote: two", "remote: quarantined")
			if got := e.serverRef("refs/heads/main"); got != c2 {
				t.Errorf("server main = %q; want %q", got, c2)
			}
		}},
		{"PreReceiveEmptyPack", Options{Hooks: true}, func(t *testing.T, e *env) {
			// A branch at a commit the server has: the pack holds no
			// object, and git in the hook still reads the repository.
			c1 := e.commit(e.work, "first commit", nil)
			e.git(e.work, "push", "-q", "origin", "main")
			e.writeHook("pre-receive", "read old new ref\ngit log --oneline \"$new\" || exit 1\n")
			out := e.git(e.work, "push", "origin", "main:refs/heads/same")
			mustContain(t, out, "remote: "+c1[:7]+" first commit")
			if got := e.serverRef("refs/heads/same"); got != c1 {
				t.Errorf("server same = %q; want %q", got, c1)
			}
		}},
		{"UpdateRefusesOneRef", Options{Hooks: true}, func(t *testing.T, e *env) {
			e.writeHook("update", `if [ "$1" = refs/heads/blocked ]; then echo "no pushes to $1 ($2 -> $3)"; exit 1; fi
git cat-file -e "$3" || exit 1
`)
			c1 := e.commit(e.work, "first", nil)
			out, err := e.gitErr(e.work, "push", "origin", "main", "main:blocked")
			if err == nil {
				t.Fatalf("push succeeded despite the update hook:\n%s", out)
			}
			mustContain(t, out, "remote: no pushes to refs/heads/blocked ("+zeroID+" -> "+c1+")",
				"* [new branch]      main -> main", "[remote rejected] main -> blocked (hook declined)")
			if got := e.serverRef("refs/heads/main"); got != c1 {
				t.Errorf("server main = %q; want %q", got, c1)
			}
			if got := e.serverRef("refs/heads/blocked"); got != "" {
				t.Errorf("server blocked = %q; want none", got)
			}
		}},
		{"UpdateRefusesAtomic", Options{Hooks: true}, func(t *testing.T, e *env) {
			e.writeHook("update", `[ "$1" != refs/heads/blocked ]`+"\n")
			e.commit(e.work, "first", nil)
			out, err := e.gitErr(e.work, "push", "--atomic", "origin", "main", "main:blocked")
			if err == nil {
				t.Fatalf("atomic push succeeded despite the update hook:\n%s", out)
			}
			mustContain(t, out, "[remote rejected] main -> blocked (hook declined)", "[remote rejected] main -> main")
			for _, ref := range []string{"refs/heads/main", "refs/heads/blocked"} {
				if got := e.serverRef(ref); got != "" {
					t.Errorf("server %s = %q; want none", ref, got)
				}
			}
		}},
		{"PostReceiveGetsUpdatedRefs", Options{Hooks: true}, func(t *testing.T, e *env) {
			log := filepath.Join(e.home, "post-receive.log")
			e.writeHook("update", `[ "$1" != refs/heads/blocked ]`+"\n")
			// Its failure changes nothing: post-receive runs after the fact.
			e.writeHook("post-receive", "cat > '"+log+"'\necho post-receive ran\nexit 1\n")
			c1 := e.commit(e.work, "first", nil)
			out, _ := e.gitErr(e.work, "push", "origin", "main", "main:blocked")
			mustContain(t, out, "remote: post-receive ran", "* [new branch]      main -> main")
			b, err := os.ReadFile(log)
			if want := zeroID + " " + c1 + " refs/heads/main\n"; err != nil || string(b) != want {
				t.Errorf("post-receive stdin = %q, %v; want %q", b, err, want)
			}
			if got := e.serverRef("refs/heads/main"); got != c1 {
				t.Errorf("server main = %q; want %q", got, c1)
			}
		}},
		{"PushOptionsAndEnvironment", Options{Hooks: true, Actor: gitref.Actor{User: "tester", TokenID: "t-1", Addr: "10.1.2.3"}}, func(t *testing.T, e *env) {
			script := `echo "${0##*/}: count=${GIT_PUSH_OPTION_COUNT-unset} 0=$GIT_PUSH_OPTION_0 1=$GIT_PUSH_OPTION_1"
echo "${0##*/}: pwd=$(pwd) git_dir=$GIT_DIR"
echo "${0##*/}: user=$REMOTE_USER addr=$REMOTE_ADDR"
`
			e.writeHook("pre-receive", script)
			e.writeHook("post-receive", script)
			e.commit(e.work, "first", nil)
			out := e.git(e.work, "push", "-o", "ci.skip", "-o", "reviewer=a b", "origin", "main")
			for _, hook := range []string{"pre-receive", "post-receive"} {
				mustContain(t, out, "remote: "+hook+": count=2 0=ci.skip 1=reviewer=a b",
					"remote: "+hook+": pwd="+e.bare+" git_dir="+e.bare,
					"remote: "+hook+": user=tester addr=10.1.2.3")
			}
			e.commit(e.work, "second", nil)
			out = e.git(e.work, "push", "origin", "main")
			mustContain(t, out, "remote: pre-receive: count=unset")
		}},
		{"DeleteHasNoQuarantine", Options{Hooks: true}, func(t *testing.T, e *env) {
			c1 := e.commit(e.work, "first", nil)
			e.git(e.work, "push", "-q", "origin", "main", "main:gone")
			e.writeHook("pre-receive", "cat\necho \"quarantine=${GIT_QUARANTINE_PATH-none}\"\n")
			out := e.git(e.work, "push", "origin", ":gone")
			mustContain(t, out, "remote: "+c1+" "+zeroID+" refs/heads/gone", "remote: quarantine=none")
			if got := e.serverRef("refs/heads/gone"); got != "" {
				t.Errorf("server gone = %q; want deleted", got)
			}
		}},
		{"Timeout", Options{Hooks: true, HookTimeout: 500 * time.Millisecond}, func(t *testing.T, e *env) {
			e.writeHook("pre-receive", "echo thinking\nsleep 30\n")
			e.commit(e.work, "first", nil)
			start := time.Now()
			out, err := e.gitErr(e.work, "push", "origin", "main")
			if err == nil {
				t.Fatalf("push succeeded despite a hook killed at its limit:\n%s", out)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("push took %v; the hook should die after 500ms", d)
			}
			mustContain(t, out, "remote: thinking", "remote: error: pre-receive hook timed out", "(pre-receive hook declined)")
			if got := e.serverRef("refs/heads/main"); got != "" {
				t.Errorf("server main = %q; want none", got)
			}
		}},
		{"HooksOff", Options{}, func(t *testing.T, e *env) {
			ran := filepath.Join(e.home, "ran")
			for _, name := range []string{"pre-receive", "update", "post-receive"} {
				e.writeHook(name, "touch '"+ran+"'\necho "+name+" ran\nexit 1\n")
			}
			c1 := e.commit(e.work, "first", nil)
			out := e.git(e.work, "push", "origin", "main")
			if strings.Contains(out, " ran") {
				t.Errorf("a hook ran with hooks off:\n%s", out)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Error("a hook ran with hooks off")
			}
			if got := e.serverRef("refs/heads/main"); got != c1 {
				t.Errorf("server main = %q; want %q", got, c1)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.setOptions(tc.opt)
			tc.run(t, e)
			e.fsck()
		})
	}
}

// TestHookKeepAlive runs a hook that stays silent: while it runs, the
// client gets keepalives (empty band-1 packets, as from C git's
// receive.keepAlive) when it negotiated side-band, and nothing otherwise;
// the report that follows reads as before, and the real git client
// takes such a response.
func TestHookKeepAlive(t *testing.T) {
	tests := []struct {
		name     string
		caps     string
		sideband bool
	}{
		{"SideBand", "report-status side-band-64k", true},
		{"NoSideBand", "report-status", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c1 := e.commit(e.work, "first", nil)
			e.git(e.work, "push", "-q", "origin", "main", "main:gone")
			e.writeHook("pre-receive", "sleep 1\n")
			body := pktline.Append(nil, c1+" "+zeroID+" refs/heads/gone\x00"+tc.caps+"\n")
			body = pktline.AppendFlush(body)
			var out bytes.Buffer
			opt := Options{Hooks: true, keepAlive: 100 * time.Millisecond}
			if _, err := Serve(context.Background(), e.bare, bytes.NewReader(body), &out, opt); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			n := bytes.Count(out.Bytes(), []byte("0005\x01"))
			if tc.sideband && n < 3 || !tc.sideband && n != 0 {
				t.Errorf("%d keepalives during a silent second; want %v", n, tc.sideband)
			}
			want := []string{"unpack ok", "ok refs/heads/gone"}
			if got := parseReport(t, out.Bytes(), tc.sideband); !slices.Equal(got, want) {
				t.Errorf("report = %q; want %q", got, want)
			}
		})
	}
	t.Run("GitClient", func(t *testing.T) {
		e := newEnv(t)
		e.srv.setOptions(Options{Hooks: true, keepAlive: 50 * time.Millisecond})
		e.writeHook("pre-receive", "echo before\nsleep 1\necho after\n")
		c1 := e.commit(e.work, "first", nil)
		out := e.git(e.work, "push", "origin", "main")
		mustContain(t, out, "remote: before", "remote: after", "* [new branch]      main -> main")
		if got := e.serverRef("refs/heads/main"); got != c1 {
			t.Errorf("server main = %q; want %q", got, c1)
		}
		e.fsck()
	})
}

// hangUp is the response writer of a client that goes away as soon as a
// hook says "started".
type hangUp struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (h *hangUp) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("started")) {
		h.cancel()
	}
	return h.Buffer.Write(p)
}

// TestHookHangUp: when the client goes away, a pre-receive hook is killed
// and nothing is updated, while post-receive, which runs once the refs
// have changed, still runs to its end.
func TestHookHangUp(t *testing.T) {
	tests := []struct {
		name     string
		hook     string
		wantDone bool // the hook ran to its end
		wantRef  bool // refs/heads/gone still exists
	}{
		{"PreReceiveKilled", "pre-receive", false, true},
		{"PostReceiveFinishes", "post-receive", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c1 := e.commit(e.work, "first", nil)
			e.git(e.work, "push", "-q", "origin", "main", "main:gone")
			done := filepath.Join(e.home, "done")
			e.writeHook(tc.hook, "echo started\nsleep 1\ntouch '"+done+"'\n")
			body := pktline.Append(nil, c1+" "+zeroID+" refs/heads/gone\x00report-status side-band-64k\n")
			body = pktline.AppendFlush(body)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &hangUp{cancel: cancel}
			Serve(ctx, e.bare, bytes.NewReader(body), w, Options{Hooks: true})
			if ctx.Err() == nil {
				t.Fatalf("the hook never said it started:\n%q", w.String())
			}
			if _, err := os.Stat(done); (err == nil) != tc.wantDone {
				t.Errorf("hook ran to its end: %v; want %v", err == nil, tc.wantDone)
			}
			if got := e.serverRef("refs/heads/gone"); (got != "") != tc.wantRef {
				t.Errorf("refs/heads/gone = %q after the hang-up; want it kept: %v", got, tc.wantRef)
			}
		})
	}
}
