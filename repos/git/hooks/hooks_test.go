package hooks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// newRepo returns a directory laid out as a bare repository's hooks need,
// with the hook called name holding script at mode (none when script is
// empty).
func newRepo(t *testing.T, name, script string, mode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if script != "" {
		if err := os.WriteFile(filepath.Join(dir, "hooks", name), []byte("#!/bin/sh\n"+script), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// syncBuffer is the Out of a running hook read by the test meanwhile.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRun(t *testing.T) {
	t.Setenv("DEPOT_TEST_SECRET", "hunter2")
	t.Setenv("GIT_OBJECT_DIRECTORY", "/server/objects")
	tests := []struct {
		name    string
		script  string
		mode    os.FileMode
		timeout time.Duration
		args    []string
		stdin   string
		env     []string
		check   func(t *testing.T, dir, out string, err error)
	}{
		{name: "Absent", check: func(t *testing.T, dir, out string, err error) {
			if err != nil || out != "" {
				t.Errorf("Run = %q, %v; want no output, nil", out, err)
			}
		}},
		{name: "NotExecutable", script: "echo ran; exit 1\n", mode: 0o644, check: func(t *testing.T, dir, out string, err error) {
			if err != nil || out != "" {
				t.Errorf("Run = %q, %v; want the hook ignored", out, err)
			}
		}},
		{name: "ArgsStdinBothStreams", script: "echo \"args $*\"; cat; echo oops >&2\n", mode: 0o755,
			args: []string{"refs/heads/main", "a", "b"}, stdin: "a b refs/heads/main\n",
			check: func(t *testing.T, dir, out string, err error) {
				want := "args refs/heads/main a b\na b refs/heads/main\noops\n"
				if err != nil || out != want {
					t.Errorf("Run = %q, %v; want %q, nil", out, err, want)
				}
			}},
		{name: "ExitStatus", script: "echo no; exit 3\n", mode: 0o755, check: func(t *testing.T, dir, out string, err error) {
			if err == nil || errors.Is(err, ErrTimeout) || out != "no\n" {
				t.Errorf("Run = %q, %v; want \"no\\n\" and an exit error", out, err)
			}
		}},
		{name: "CleanEnvironment", script: "pwd; env\n", mode: 0o755, env: []string{"GIT_PUSH_OPTION_COUNT=0"},
			check: func(t *testing.T, dir, out string, err error) {
				if err != nil {
					t.Fatalf("Run: %v\n%s", err, out)
				}
				lines := strings.Split(out, "\n")
				if lines[0] != dir {
					t.Errorf("working directory %q; want %q", lines[0], dir)
				}
				for _, want := range []string{"GIT_DIR=" + dir, "GIT_PUSH_OPTION_COUNT=0", "PATH=" + os.Getenv("PATH")} {
					if !strings.Contains(out, "\n"+want+"\n") {
						t.Errorf("environment lacks %s:\n%s", want, out)
					}
				}
				for _, leak := range []string{"hunter2", "DEPOT_TEST_SECRET", "/server/objects"} {
					if strings.Contains(out, leak) {
						t.Errorf("environment leaks %s:\n%s", leak, out)
					}
				}
			}},
		{name: "TimeoutKillsGroup", script: "sleep 30 & echo $! > child; sleep 30\n", mode: 0o755, timeout: 300 * time.Millisecond,
			check: func(t *testing.T, dir, out string, err error) {
				if !errors.Is(err, ErrTimeout) {
					t.Fatalf("Run = %v; want ErrTimeout", err)
				}
				b, rerr := os.ReadFile(filepath.Join(dir, "child"))
				pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
				if rerr != nil || perr != nil {
					t.Fatalf("child pid: %v %v", rerr, perr)
				}
				// The orphan is reaped by init soon after the kill: how
				// soon depends on the machine's load, so allow 10 s, a
				// third of what the child would live unkilled.
				for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("the hook's child %d outlived the timeout by 10 s", pid)
					}
				}
			}},
		{name: "BackgroundJobKeepsOutput", script: "sleep 3 & echo done\n", mode: 0o755, check: func(t *testing.T, dir, out string, err error) {
			if err != nil || out != "done\n" {
				t.Errorf("Run = %q, %v; want \"done\\n\", nil", out, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := newRepo(t, Update, tc.script, tc.mode)
			var out syncBuffer
			r := &Runner{Dir: dir, Timeout: tc.timeout, Out: &out}
			start := time.Now()
			err := r.Run(context.Background(), Update, tc.args, []byte(tc.stdin), tc.env)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Run took %v", d)
			}
			tc.check(t, dir, out.String(), err)
		})
	}
}

// TestRunCancel ends the context of a running hook, as a client that
// hangs up does: the hook is killed and the error says why.
func TestRunCancel(t *testing.T) {
	dir := newRepo(t, PreReceive, "echo started; sleep 30\n", 0o755)
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for !strings.Contains(out.String(), "started") {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	err := (&Runner{Dir: dir, Out: &out}).Run(ctx, PreReceive, nil, nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v; want context.Canceled", err)
	}
}

// TestRunStreams checks that output reaches Out while the hook runs: the
// hook waits for the test to see its first line before it exits.
func TestRunStreams(t *testing.T) {
	dir := newRepo(t, PreReceive, "echo first; while [ ! -e go-on ]; do sleep 0.05; done; echo second\n", 0o755)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- (&Runner{Dir: dir, Timeout: 10 * time.Second, Out: pw}).Run(context.Background(), PreReceive, nil, nil, nil)
		pw.Close()
	}()
	buf := make([]byte, 64)
	n, err := pr.Read(buf)
	if err != nil || string(buf[:n]) != "first\n" {
		t.Fatalf("first read = %q, %v; want \"first\\n\" while the hook runs", buf[:n], err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go-on"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(pr)
	if err := <-done; err != nil || string(rest) != "second\n" {
		t.Fatalf("Run = %v, then %q; want nil, \"second\\n\"", err, rest)
	}
}

func TestPushOptionEnv(t *testing.T) {
	tests := []struct {
		name       string
		negotiated bool
		opts       []string
		want       []string
	}{
		{"NotNegotiated", false, nil, nil},
		{"NegotiatedNone", true, nil, []string{"GIT_PUSH_OPTION_COUNT=0"}},
		{"Two", true, []string{"ci.skip", "a=b c"}, []string{"GIT_PUSH_OPTION_0=ci.skip", "GIT_PUSH_OPTION_1=a=b c", "GIT_PUSH_OPTION_COUNT=2"}},
		{"NUL", true, []string{"x\x00y"}, []string{"GIT_PUSH_OPTION_0=x", "GIT_PUSH_OPTION_COUNT=1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PushOptionEnv(tc.negotiated, tc.opts)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || (got == nil) != (tc.want == nil) {
				t.Errorf("PushOptionEnv(%v, %q) = %q; want %q", tc.negotiated, tc.opts, got, tc.want)
			}
		})
	}
}
