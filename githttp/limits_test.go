package githttp_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/githttp/pktline"
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

	e.gs.Limits.MaxPushBytes = 1 << 20
	e.mustGit(wt, "push", url, "main")
	if got, want := e.serverRev("tester", "big", "main"), e.revParse(wt, "main"); got != want {
		t.Errorf("main = %s after a push within the limit; want %s", got, want)
	}
	e.fsck("tester", "big")
}
