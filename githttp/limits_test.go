package githttp_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/githttp"
	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos"
)

// packFiles lists what objects/ of owner/name holds beside loose objects:
// the packs and any quarantine a push left.
func (e *env) packFiles(owner, name string) []string {
	e.t.Helper()
	r, err := e.repos.Open(owner, name)
	if err != nil {
		e.t.Fatal(err)
	}
	var got []string
	for _, pat := range []string{"objects/pack/*", "objects/incoming-*", "objects/tmp*"} {
		m, _ := filepath.Glob(filepath.Join(r.Path, pat))
		got = append(got, m...)
	}
	return got
}

// commitRandom commits n random (incompressible) bytes in a new file.
func (e *env) commitRandom(wt, file string, n int) {
	e.t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(filepath.Join(wt, file), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.mustGit(wt, "add", file)
	e.mustGit(wt, "commit", "-qm", "add "+file)
}

// TestMaxPushSize: a push whose pack is over Limits.MaxPushBytes is
// refused with the reason in git's output and leaves nothing behind,
// whether git declares its length (a body within http.postBuffer) or
// streams it chunked; a push within the limit goes through.
func TestMaxPushSize(t *testing.T) {
	e := newEnv(t)
	e.gs.Limits.MaxPushBytes = 64 << 10
	tok := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "big", "tester", tok)
	url := e.url("tester", tok, "tester/big.git")
	before := e.serverRev("tester", "big", "main")
	files := e.packFiles("tester", "big")
	e.commitRandom(wt, "blob", 200<<10)
	for _, tc := range []struct{ name, postBuffer, proto string }{
		{"ContentLengthV0", "1048576", "0"},
		{"ChunkedV0", "16384", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.git(wt, "-c", "http.postBuffer="+tc.postBuffer, "-c", "protocol.version="+tc.proto, "push", url, "main")
			if err == nil {
				t.Fatalf("push over the limit succeeded:\n%s", out)
			}
			t.Logf("git push:\n%s", out)
			if !strings.Contains(out, "pack exceeds the maximum size of 65536 bytes") {
				t.Errorf("git does not show the reason:\n%s", out)
			}
			if got := e.serverRev("tester", "big", "main"); got != before {
				t.Errorf("main moved to %s", got)
			}
			if got := e.packFiles("tester", "big"); strings.Join(got, " ") != strings.Join(files, " ") {
				t.Errorf("objects/ holds %q after the refused push; want %q", got, files)
			}
		})
	}
	// Clients other than git: a pack declared too large is refused before
	// any of it arrives, and one that inflates past the limit is refused
	// too; without side-band the reason is in the report.
	old := e.serverRev("tester", "big", "main")
	cmds := pktline.AppendFlush(pktline.Append(nil, old+" "+e.revParse(wt, "main")+" refs/heads/main\x00report-status\n"))
	t.Run("DeclaredLength", func(t *testing.T) {
		// A raw connection: the body declares a gigabyte and stops after
		// the commands; the answer must come without the rest.
		conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /tester/big.git/git-receive-pack HTTP/1.1\r\nHost: depot\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/x-git-receive-pack-request\r\nContent-Length: %d\r\n\r\n", tok, len(cmds)+1<<30)
		conn.Write(append(cmds, "PACK"...))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer before the pack: %v", err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("reading the answer: %v (the server waited for the pack)", err)
		}
		if !strings.Contains(string(b), "unpack pack exceeds the maximum size of 65536 bytes") || !strings.Contains(string(b), "ng refs/heads/main unpacker error") {
			t.Errorf("answer = %q", b)
		}
	})
	t.Run("Gzip", func(t *testing.T) {
		var body bytes.Buffer
		zw := gzip.NewWriter(&body)
		zw.Write(cmds)
		zw.Write(append([]byte("PACK"), make([]byte, 200<<10)...))
		zw.Close()
		if body.Len() >= 64<<10 {
			t.Fatalf("compressed body of %d bytes is over the limit itself", body.Len())
		}
		res, b := e.do("POST", "/tester/big.git/git-receive-pack", &body,
			"Authorization", "Bearer "+tok, "Content-Type", "application/x-git-receive-pack-request", "Content-Encoding", "gzip")
		if res.StatusCode != http.StatusOK || !strings.Contains(b, "unpack pack exceeds the maximum size of 65536 bytes") {
			t.Errorf("answer = %d %q", res.StatusCode, b)
		}
	})
	if got := e.packFiles("tester", "big"); strings.Join(got, " ") != strings.Join(files, " ") {
		t.Errorf("objects/ holds %q after the refused pushes; want %q", got, files)
	}

	// A push within the limit goes through.
	e.mustGit(wt, "checkout", "-q", "-b", "small", "main~1")
	e.commitRandom(wt, "small", 1000)
	e.mustGit(wt, "push", url, "small")
	if got, want := e.serverRev("tester", "big", "small"), e.revParse(wt, "small"); got != want {
		t.Errorf("small = %s after a push within the limit; want %s", got, want)
	}
	e.fsck("tester", "big")
}

// waitQueued waits until n pack operations wait in the queue.
func (e *env) waitQueued(n int) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for e.gs.Queued() != n {
		if time.Now().After(deadline) {
			e.t.Fatalf("%d pack operations queued; want %d", e.gs.Queued(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gitAsync runs git in the background; the channel yields its output
// and error.
func (e *env) gitAsync(dir string, args ...string) <-chan error {
	e.t.Helper()
	done := make(chan error, 1)
	go func() {
		out, err := e.git(dir, args...)
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, out)
		} else if out != "" {
			err = &gitOutput{out}
		}
		done <- err
	}()
	return done
}

// gitOutput carries the output of a git that succeeded.
type gitOutput struct{ out string }

func (g *gitOutput) Error() string { return g.out }

// succeeded returns the output of a git run by gitAsync, failing the
// test if it failed.
func succeeded(t *testing.T, err error) string {
	t.Helper()
	var ok *gitOutput
	if err != nil && !errors.As(err, &ok) {
		t.Fatalf("git failed: %v", err)
	}
	if ok == nil {
		return ""
	}
	return ok.out
}

// TestPackQueue: with every pack slot taken, clones (protocol v0 and v2)
// and pushes wait in the queue, hearing where they stand as "remote:"
// lines, and finish once a slot frees; one that waits too long is told
// the server is busy.
func TestPackQueue(t *testing.T) {
	e := newEnv(t)
	e.gs.PackOps = githttp.PackOps{Max: 1, PerUser: 1, QueueTimeout: 20 * time.Second, Progress: 50 * time.Millisecond}
	tok := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "hello", "tester", tok)
	// The queued git is served through a server that counts the waiting
	// lines written to it, so that the slot is released once two went
	// out rather than after a sleep, which a loaded machine outlasted.
	lines := new(atomic.Int64)
	counted := httptest.NewServer(countLines(e.srv.Config.Handler, "waiting for a free slot", lines))
	defer counted.Close()
	url := strings.Replace(e.url("tester", tok, "tester/hello.git"), strings.TrimPrefix(e.srv.URL, "http://"), strings.TrimPrefix(counted.URL, "http://"), 1)
	e.commitRandom(wt, "more", 1000)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"CloneV0", []string{"-c", "protocol.version=0", "clone", "--progress", url, filepath.Join(t.TempDir(), "c")}},
		{"CloneV2", []string{"-c", "protocol.version=2", "clone", "--progress", url, filepath.Join(t.TempDir(), "c")}},
		{"Push", []string{"push", "--progress", url, "main"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := e.gs.HoldSlot("user someone-else")
			lines.Store(0)
			done := e.gitAsync(wt, tc.args...)
			e.waitQueued(1)
			for deadline := time.Now().Add(20 * time.Second); lines.Load() < 2; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					release()
					t.Fatalf("the server wrote %d waiting lines in 20 s; want 2 or more", lines.Load())
				}
			}
			release()
			out := succeeded(t, <-done)
			if n := strings.Count(out, "remote: depot: waiting for a free slot (next in line)"); n < 2 {
				t.Errorf("git showed %d waiting lines; want 2 or more:\n%s", n, out)
			}
		})
	}
	if got, want := e.serverRev("tester", "hello", "main"), e.revParse(wt, "main"); got != want {
		t.Errorf("main = %s after the queued push; want %s", got, want)
	}

	e.fsck("tester", "hello")
}

// countLines serves through h and adds to n how many times text appears
// in what h writes, each write taken alone.
func countLines(h http.Handler, text string, n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&countingWriter{ResponseWriter: w, text: []byte(text), n: n}, r)
	})
}

// countingWriter is countLines' ResponseWriter. It unwraps to the
// server's, so that http.ResponseController flushes and sets deadlines
// on the connection as it would without it.
type countingWriter struct {
	http.ResponseWriter
	text []byte
	n    *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(bytes.Count(p, c.text)))
	return c.ResponseWriter.Write(p)
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// TestPackQueueTimeout: a clone that waits past the queue timeout is
// told the server is busy, in protocol v0 and v2.
func TestPackQueueTimeout(t *testing.T) {
	e := newEnv(t)
	e.gs.PackOps = githttp.PackOps{Max: 1, QueueTimeout: 300 * time.Millisecond}
	tok := e.token("tester", auth.ScopeDepot)
	e.seed("tester", "hello", "tester", tok)
	release := e.gs.HoldSlot("user someone-else")
	defer release()
	for _, proto := range []string{"0", "2"} {
		out, err := e.git("", "-c", "protocol.version="+proto, "clone", e.url("tester", tok, "tester/hello.git"), filepath.Join(t.TempDir(), "c"))
		if err == nil || !strings.Contains(out, "server busy: no free slot for a pack") {
			t.Errorf("v%s clone = %v; want a server busy error:\n%s", proto, err, out)
		}
		t.Logf("v%s clone:\n%s", proto, out)
	}
}

// TestPackQueuePerUser: a user at its own limit waits while another
// user's clone, behind it in the queue, goes ahead.
func TestPackQueuePerUser(t *testing.T) {
	e := newEnv(t)
	e.gs.PackOps = githttp.PackOps{Max: 2, PerUser: 1, QueueTimeout: 20 * time.Second, Progress: time.Second}
	tok := e.token("tester", auth.ScopeDepot)
	e.seed("tester", "hello", "tester", tok)
	admin := e.token("admin", auth.ScopeDepot)

	release := e.gs.HoldSlot("user tester") // tester's one slot
	waiting := e.gitAsync("", "clone", e.url("tester", tok, "tester/hello.git"), filepath.Join(t.TempDir(), "mine"))
	select {
	case err := <-waiting:
		t.Fatalf("tester's clone: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	e.waitQueued(1)
	// Another user passes tester in the queue, and so does an anonymous
	// client (git tries without credentials first when it may).
	e.mustGit("", "clone", e.url("admin", admin, "tester/hello.git"), filepath.Join(t.TempDir(), "theirs"))
	if err := e.projects.SaveRepoInfo(t.Context(), "tester", "hello", &repos.Info{Visibility: repos.Public}); err != nil {
		t.Fatal(err)
	}
	e.mustGit("", "clone", e.url("", "", "tester/hello.git"), filepath.Join(t.TempDir(), "anon"))
	if n := e.gs.Queued(); n != 1 {
		t.Errorf("%d queued after the other clones; want tester's 1", n)
	}
	select {
	case err := <-waiting:
		t.Fatalf("tester's clone did not wait for tester's slot: %v", err)
	default:
	}
	release()
	succeeded(t, <-waiting)
}

// smallWindowClient is an HTTP client whose sockets take little data
// ahead of the reader, so that a response waits for the reader as it
// would over a slow network.
func smallWindowClient() *http.Client {
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// TestStallTimeout: a transfer that keeps moving outlives the stall
// timeout many times over; one whose client stops reading, or stops
// sending its push, is dropped once it has moved nothing for that long.
func TestStallTimeout(t *testing.T) {
	const stall = 400 * time.Millisecond
	e := newEnv(t)
	e.gs.StallTimeout = stall
	tok := e.token("tester", auth.ScopeDepot)
	wt := e.seed("tester", "big", "tester", tok)
	first := e.revParse(wt, "main")
	e.commitRandom(wt, "blob", 1<<20)
	e.mustGit(wt, "push", e.url("tester", tok, "tester/big.git"), "main")
	head := e.revParse(wt, "main")

	// A server whose sockets buffer little, so that its writes wait for
	// the reader as they would over a slow network.
	srv := httptest.NewUnstartedServer(e.srv.Config.Handler)
	srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if tc, ok := c.(*net.TCPConn); ok && st == http.StateNew {
			tc.SetWriteBuffer(16 << 10)
		}
	}
	srv.Start()
	defer srv.Close()
	fetch := func(t *testing.T) *http.Response {
		t.Helper()
		body := pktline.Append(nil, "want "+head+" side-band-64k ofs-delta\n")
		body = pktline.AppendFlush(body)
		body = pktline.Append(body, "done\n")
		req, _ := http.NewRequest("POST", srv.URL+"/tester/big.git/git-upload-pack", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
		res, err := smallWindowClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	t.Run("SlowReaderFinishes", func(t *testing.T) {
		res := fetch(t)
		start := time.Now()
		var n int64
		buf := make([]byte, 64<<10)
		var last []byte
		for {
			m, err := io.ReadFull(res.Body, buf)
			n += int64(m)
			if m > 0 {
				last = append(last[:0], buf[max(0, m-4):m]...)
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				t.Fatalf("after %d bytes in %v: %v", n, time.Since(start), err)
			}
			time.Sleep(stall / 4)
		}
		took := time.Since(start)
		if n < 1<<20 || string(last) != "0000" {
			t.Fatalf("read %d bytes ending %q; want the whole pack and its flush", n, last)
		}
		if took < 2*stall {
			t.Errorf("the slow read took %v, not over twice the stall timeout: it proves nothing", took)
		}
		t.Logf("%d bytes in %v with a stall timeout of %v", n, took, stall)
	})
	t.Run("StalledReaderCut", func(t *testing.T) {
		res := fetch(t)
		time.Sleep(3 * stall)
		n, err := io.Copy(io.Discard, res.Body)
		if err == nil {
			t.Fatalf("a reader that stalled for %v read all %d bytes; want the response cut", 3*stall, n)
		}
		if n >= 1<<20 {
			t.Errorf("read %d bytes after the stall", n)
		}
	})

	// Pushes: the pack of the two commits, into a new branch.
	cmd := exec.Command("git", "pack-objects", "--stdout", "--revs")
	cmd.Dir = wt
	cmd.Stdin = strings.NewReader(head + "\n^" + first + "\n")
	pack, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	push := func(t *testing.T, branch string, body io.Reader) (string, time.Duration) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.srv.URL+"/tester/big.git/git-receive-pack", body)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-git-receive-pack-request")
		start := time.Now()
		res, err := (&http.Client{Timeout: 20 * stall}).Do(req)
		if err != nil {
			return err.Error(), time.Since(start)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b), time.Since(start)
	}
	cmds := func(branch string) []byte {
		return pktline.AppendFlush(pktline.Append(nil, strings.Repeat("0", 40)+" "+head+" refs/heads/"+branch+"\x00report-status\n"))
	}
	t.Run("SlowWriterFinishes", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			pw.Write(cmds("slow"))
			for p := pack; len(p) > 0; p = p[min(len(p), 128<<10):] {
				time.Sleep(stall / 4)
				if _, err := pw.Write(p[:min(len(p), 128<<10)]); err != nil {
					return
				}
			}
			pw.Close()
		}()
		out, took := push(t, "slow", pr)
		if !strings.Contains(out, "ok refs/heads/slow") {
			t.Fatalf("slow push answered %q", out)
		}
		if took < 2*stall {
			t.Errorf("the slow push took %v, not over twice the stall timeout: it proves nothing", took)
		}
	})
	t.Run("StalledWriterCut", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		// Without a stall timeout the server would wait for ever.
		giveUp := time.AfterFunc(20*stall, func() { pw.CloseWithError(errors.New("the server waited for ever")) })
		defer giveUp.Stop()
		go func() {
			pw.Write(cmds("stalled"))
			pw.Write(pack[:len(pack)/2]) // and then nothing
		}()
		out, took := push(t, "stalled", pr)
		if !strings.Contains(out, "unpack the client stopped sending the pack") || !strings.Contains(out, "ng refs/heads/stalled") {
			t.Errorf("stalled push answered %q; want it refused", out)
		}
		if took > 10*stall {
			t.Errorf("the stalled push was answered after %v", took)
		}
		t.Logf("stalled push answered after %v: %q", took, out)
	})
	if got := e.serverRev("tester", "big", "refs/heads/stalled"); got != "" {
		t.Errorf("refs/heads/stalled = %q", got)
	}
	if got := e.packFiles("tester", "big"); len(got) != 6 { // the seed's pack and the slow push's, each with its .idx and .rev
		t.Errorf("objects/ holds %q", got)
	}
}
