package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/depot/depot/cmd/depot-bench/internal/procfs"
)

// The repository both servers serve, as OWNER/NAME.
const (
	benchOwner = "bench"
	benchRepo  = "repo"
)

// server is one running git server under test.
type server struct {
	name    string // as shown in the table: "C git" or "depot"
	key     string // in file and branch names: "cgit" or "depot"
	base    string // http://HOST:PORT
	url     string // the repository's URL with credentials
	repoDir string // the served bare repository on disk
	secret  string
	cmd     *exec.Cmd
	logs    *logTail
	done    chan struct{} // closed when the process exited
	// idle, if set, blocks until the server has no request in flight.
	idle func(ctx context.Context) error
	// mint, for depot, creates another token of the bench user with the
	// comma-separated scopes through the CLI.
	mint func(ctx context.Context, scopes string) (string, error)
	// metricsToken, for depot, reads its /metrics.
	metricsToken string
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// exited returns an error naming the server's last log lines if its
// process is gone.
func (s *server) exited() error {
	select {
	case <-s.done:
		return fmt.Errorf("%s server exited: %v; last log: %s", s.name, s.cmd.ProcessState, s.logs.String())
	default:
		return nil
	}
}

// settle waits until the server is idle, so that the CPU time read next
// includes all the work of the requests that just finished: for the CGI
// host until its children are reaped, then for both until two reads of the
// CPU time a few clock ticks apart agree.
func (s *server) settle(ctx context.Context) {
	if s.idle != nil {
		_ = s.idle(ctx)
	}
	deadline := time.Now().Add(2 * time.Second)
	last, err := procfs.CPUTime(s.pid())
	for err == nil && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(3 * procfs.ClockTick)
		var now time.Duration
		if now, err = procfs.CPUTime(s.pid()); now == last {
			return
		}
		last = now
	}
}

func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// logTail keeps the last lines a server wrote, for error messages.
type logTail struct {
	mu    sync.Mutex
	lines []string
}

func (l *logTail) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if len(l.lines) > 20 {
		l.lines = l.lines[len(l.lines)-20:]
	}
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, " / ")
}

// start runs cmd, reads its stderr until a line matches listen (whose
// first group is the address), and keeps draining it afterwards.
func (s *server) start(ctx context.Context, cmd *exec.Cmd, listen *regexp.Regexp) error {
	s.cmd = cmd
	s.logs = &logTail{}
	s.done = make(chan struct{})
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.logs.add(line)
			if m := listen.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() { _ = cmd.Wait(); pw.Close(); close(s.done) }()
	select {
	case a := <-addr:
		s.base = "http://" + a
		return nil
	case <-s.done:
		return s.exited()
	case <-time.After(30 * time.Second):
		s.stop()
		return fmt.Errorf("%s did not start listening: %s", s.name, s.logs.String())
	case <-ctx.Done():
		s.stop()
		return ctx.Err()
	}
}

func randomSecret() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

var cgiListenRE = regexp.MustCompile(`cgi-host listening addr=([0-9.:]+)`)

// startCGit re-executes the benchmark as the CGI host for git http-backend
// on a copy of src under work.
func startCGit(ctx context.Context, src, work string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(work, "cgit-root")
	s := &server{name: "C git", key: "cgit", repoDir: filepath.Join(root, benchOwner, benchRepo+".git"), secret: randomSecret()}
	if err := copyTree(ctx, src, s.repoDir); err != nil {
		return nil, err
	}
	home := filepath.Join(work, "cgit-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command(self, cgiHostMode, "--listen", "127.0.0.1:0", "--root", root, "--home", home, "--user", benchOwner)
	cmd.Env = append(os.Environ(), "DEPOT_BENCH_CGI_PASSWORD="+s.secret)
	if err := s.start(ctx, cmd, cgiListenRE); err != nil {
		return nil, err
	}
	s.url = fmt.Sprintf("http://%s:%s@%s/%s/%s.git", benchOwner, s.secret, strings.TrimPrefix(s.base, "http://"), benchOwner, benchRepo)
	s.idle = func(ctx context.Context) error {
		for i := 0; i < 500 && ctx.Err() == nil; i++ {
			res, err := http.Get(s.base + inflightPath)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(b) == "0" {
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
		return errors.New("cgi-host stayed busy")
	}
	return s, nil
}

var depotListenRE = regexp.MustCompile(`depot listening"? addr="?([0-9.:]+)"?`)

// startDepot runs bin serve on a fresh data directory under work holding a
// copy of src, and creates the user and token the clients use.
func startDepot(ctx context.Context, bin, src, work string) (*server, error) {
	data := filepath.Join(work, "depot-data")
	s := &server{name: "depot", key: "depot", repoDir: filepath.Join(data, "repos", benchOwner, benchRepo+".git")}
	if err := copyTree(ctx, src, s.repoDir); err != nil {
		return nil, err
	}
	s.metricsToken = randomSecret()
	env := append(os.Environ(), "DEPOT_DATA=", "DEPOT_LISTEN=", "DEPOT_ADMIN_PASSWORD="+randomSecret(), "DEPOT_METRICS_TOKEN="+s.metricsToken)
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data", data)
	cmd.Env = env
	if err := s.start(ctx, cmd, depotListenRE); err != nil {
		return nil, err
	}
	cli := func(stdin string, args ...string) (string, error) {
		c := exec.CommandContext(ctx, bin, append(args, "--data", data)...)
		c.Env = env
		c.Stdin = strings.NewReader(stdin)
		var errOut strings.Builder
		c.Stderr = &errOut
		out, err := c.Output()
		if err != nil {
			return "", fmt.Errorf("depot %s: %w: %s", strings.Join(args[:2], " "), err, strings.TrimSpace(errOut.String()))
		}
		return string(out), nil
	}
	if _, err := cli(randomSecret()+"\n", "user", "add", benchOwner, "--password-stdin"); err != nil {
		s.stop()
		return nil, err
	}
	s.mint = func(ctx context.Context, scopes string) (string, error) {
		out, err := cli("", "token", "create", "--user", benchOwner, "--scopes", scopes, "--description", "depot-bench")
		if err != nil {
			return "", err
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		secret := strings.TrimSpace(lines[len(lines)-1])
		if secret == "" {
			return "", errors.New("depot token create printed no token")
		}
		return secret, nil
	}
	secret, err := s.mint(ctx, "project:depot")
	if err != nil {
		s.stop()
		return nil, err
	}
	s.secret = secret
	s.url = fmt.Sprintf("http://%s:%s@%s/%s/%s.git", benchOwner, s.secret, strings.TrimPrefix(s.base, "http://"), benchOwner, benchRepo)
	return s, nil
}

// buildDepot builds ./cmd/depot of the module the benchmark runs in.
func buildDepot(ctx context.Context, work string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the depot module: run from its checkout or pass --depot-bin")
	}
	bin := filepath.Join(work, "depot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/depot")
	cmd.Dir = filepath.Dir(gomod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/depot: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return bin, nil
}
