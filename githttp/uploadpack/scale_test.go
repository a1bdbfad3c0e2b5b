package uploadpack

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// refScale lists the ref counts TestRefScale measures, "5000,50000"; empty
// skips the measurement, which takes minutes and prints figures rather
// than checking them.
var refScale = flag.String("refscale", "", "ref counts for TestRefScale, comma-separated")

// refScaleCache keeps the generated repositories of TestRefScale between
// runs, so that figures before and after a change read the same bytes.
var refScaleCache = flag.String("refscale.cache", "", "directory keeping TestRefScale's repositories")

// genManyRefs builds a bare repository of n commits in one line, each on
// its own ref: every tenth an annotated tag, the others branches, all in
// packed-refs and the objects in one bitmapped pack, as gc leaves them.
func genManyRefs(tb testing.TB, n int) string {
	tb.Helper()
	g := newGit(tb)
	dir := filepath.Join(tb.TempDir(), "refs.git")
	if *refScaleCache != "" {
		dir = filepath.Join(*refScaleCache, fmt.Sprintf("refs-%d.git", n))
		if _, err := os.Stat(filepath.Join(dir, "packed-refs")); err == nil {
			return dir
		}
		os.RemoveAll(dir)
	}
	g.run(tb.TempDir(), "init", "-q", "--bare", "-b", "main", dir)
	var script bytes.Buffer
	for i := 1; i <= n; i++ {
		msg := fmt.Sprintf("commit %d\n", i)
		content := fmt.Sprintf("content %d\n", i)
		fmt.Fprintf(&script, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata %d\n%s",
			i, fixtureBase+int64(i)*60, len(msg), msg)
		if i > 1 {
			fmt.Fprintf(&script, "from :%d\n", i-1)
		}
		fmt.Fprintf(&script, "M 100644 inline f%d.txt\ndata %d\n%s\n", i%10, len(content), content)
	}
	for i := 1; i < n; i++ { // main is the n-th ref
		if i%10 == 0 {
			fmt.Fprintf(&script, "tag t%06d\nfrom :%d\ntagger T <t@example.com> %d +0000\ndata 4\ntag\n\n",
				i, i, fixtureBase+int64(i)*60)
			continue
		}
		fmt.Fprintf(&script, "reset refs/heads/b%06d\nfrom :%d\n\n", i, i)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir, cmd.Env, cmd.Stdin = dir, g.env, &script
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("fast-import: %v\n%s", err, out)
	}
	g.run(dir, "repack", "-q", "-a", "-d", "-b")
	g.run(dir, "pack-refs", "--all")
	return dir
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// recorded is one request of a client: a POST body, or the v0 ref
// advertisement (a GET of info/refs) when advertise is set.
type recorded struct {
	version   int
	body      []byte
	advertise bool
}

// TestRefScale prints the server time of a clone, a full ls-remote and an
// ls-remote of one ref, for repositories of -refscale refs, against depot
// and against C git's upload-pack fed the same requests.
//
//	go test ./githttp/uploadpack -run TestRefScale -refscale 5000,50000 -v
//
// Without the flag it runs at 300 refs, so that every run checks what the
// measurement relies on: depot and C git answer the same requests.
func TestRefScale(t *testing.T) {
	if *refScale == "" {
		t.Run("small", func(t *testing.T) { measureRefScale(t, 300) })
		return
	}
	for _, f := range strings.Split(*refScale, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f, func(t *testing.T) { measureRefScale(t, n) })
	}
}

func measureRefScale(t *testing.T, n int) {
	start := time.Now()
	dir := genManyRefs(t, n)
	t.Logf("%d refs: generated in %v", n, time.Since(start).Round(time.Millisecond))
	newGit(t).run(dir, "config", "uploadpack.allowAnySHA1InWant", "true")
	newGit(t).run(dir, "config", "uploadpack.allowRefInWant", "true")
	g := newGit(t)
	for _, op := range []struct {
		name    string
		version int
		args    []string
	}{
		{"clone", 2, []string{"clone", "-q", "--bare"}},
		{"ls-remote", 2, []string{"ls-remote"}},
		{"clone v0", 0, []string{"clone", "-q", "--bare"}},
		{"ls-remote v0", 0, []string{"ls-remote"}},
		// What git fetch origin b000007 asks first: ls-refs with
		// ref-prefix lines (git ls-remote sends none for a pattern).
		{"ls-refs-prefix", 2, nil},
	} {
		var bodies []recorded
		if op.args == nil {
			bodies = []recorded{{version: 2, body: []byte(pkts("command=ls-refs", "0001", "peel", "symrefs", "unborn",
				"ref-prefix b000007", "ref-prefix refs/b000007", "ref-prefix refs/tags/b000007",
				"ref-prefix refs/heads/b000007", "ref-prefix refs/remotes/b000007", "0000"))}}
		} else {
			bodies = captureRequests(t, g, dir, op.version, op.args)
		}
		depot := replay(t, bodies, func(b recorded) time.Duration {
			c0 := cpuTime()
			var err error
			if b.advertise {
				err = AdvertiseRefs(context.Background(), dir, io.Discard, Options{})
			} else {
				err = Serve(context.Background(), dir, b.version, bytes.NewReader(b.body), io.Discard, Options{})
			}
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
			return cpuTime() - c0
		}, func() { plans = newPlanCache(planCacheBytes) })
		cgit := replay(t, bodies, func(b recorded) time.Duration {
			cmd := exec.Command("git", "upload-pack", "--stateless-rpc", dir)
			if b.advertise {
				cmd = exec.Command("git", "upload-pack", "--stateless-rpc", "--advertise-refs", dir)
			}
			cmd.Env = g.env
			if b.version == 2 {
				cmd.Env = append(cmd.Env, "GIT_PROTOCOL=version=2")
			}
			var errb bytes.Buffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(b.body), io.Discard, &errb
			if err := cmd.Run(); err != nil {
				t.Fatalf("git upload-pack: %v\n%s", err, errb.Bytes())
			}
			return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}, func() {})
		t.Logf("%d refs, %-13s (%d requests): depot %v CPU, C git %v CPU (%.2fx)", n, op.name, len(bodies),
			depot.Round(time.Millisecond), cgit.Round(time.Millisecond), float64(depot)/float64(cgit))
	}
}

// captureRequests runs git with args and protocol version against a
// server for dir (the URL goes where "URL" is, else last) and returns the
// upload-pack requests it sent: the POST bodies and, in v0, the ref
// advertisement (in v2 the client asks for ls-refs in a POST).
func captureRequests(t *testing.T, g *gitRunner, dir string, version int, args []string) []recorded {
	t.Helper()
	var mu sync.Mutex
	var bodies []recorded
	ts := newTestServer(t, dir)
	inner := http.NewServeMux()
	inner.HandleFunc("GET /repo.git/info/refs", func(w http.ResponseWriter, r *http.Request) {
		if protocolVersion(r) == 0 {
			mu.Lock()
			bodies = append(bodies, recorded{advertise: true})
			mu.Unlock()
		}
		ts.infoRefs(w, r)
	})
	inner.HandleFunc("POST /repo.git/git-upload-pack", func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Error(err)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		r.Header.Del("Content-Encoding")
		mu.Lock()
		bodies = append(bodies, recorded{version: protocolVersion(r), body: b})
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		ts.uploadPack(w, r)
	})
	srv := httptest.NewServer(inner)
	defer srv.Close()
	url := srv.URL + "/repo.git"
	args = slices.Clone(args)
	if i := slices.Index(args, "URL"); i >= 0 {
		args[i] = url
	} else {
		args = append(args, url)
	}
	if args[0] == "clone" {
		args = append(args, filepath.Join(t.TempDir(), "clone.git"))
	}
	g.run(t.TempDir(), append([]string{"-c", fmt.Sprintf("protocol.version=%d", version), "-c", "http.postBuffer=1048576000"}, args...)...)
	if errs := ts.errors(); len(errs) > 0 {
		t.Fatalf("server errors: %v", errs)
	}
	return bodies
}

// replay runs every request through serve, three times after reset, and
// returns the least total time.
func replay(t *testing.T, bodies []recorded, serve func(recorded) time.Duration, reset func()) time.Duration {
	t.Helper()
	best := time.Duration(-1)
	for range 3 {
		reset()
		var total time.Duration
		for _, b := range bodies {
			total += serve(b)
		}
		if best < 0 || total < best {
			best = total
		}
	}
	return best
}

// BenchmarkLsRefs answers a v2 ls-refs for every ref (All) and for one
// (Prefix) in a repository of the first -refscale refs (default 5,000).
func BenchmarkLsRefs(b *testing.B) {
	n := 5000
	if *refScale != "" {
		n, _ = strconv.Atoi(strings.Split(*refScale, ",")[0])
	}
	dir := genManyRefs(b, n)
	for _, tc := range []struct {
		name string
		body string
	}{
		{"All", pkts("command=ls-refs", "0001", "peel", "symrefs", "unborn", "ref-prefix HEAD", "ref-prefix refs/heads/", "ref-prefix refs/tags/", "0000")},
		{"Prefix", pkts("command=ls-refs", "0001", "peel", "symrefs", "ref-prefix refs/heads/b000007", "0000")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if err := Serve(context.Background(), dir, 2, strings.NewReader(tc.body), io.Discard, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
