package uploadpack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// genRepo builds a bare repository whose main has n commits, each changing
// three of 60 files spread over 6 directories, packed with deltas. It
// returns the directory and main's commits, oldest first.
func genRepo(tb testing.TB, n int) (string, []string) {
	tb.Helper()
	g := newGit(tb)
	dir := filepath.Join(tb.TempDir(), "gen.git")
	g.run(tb.TempDir(), "init", "-q", "--bare", "-b", "main", dir)
	var script bytes.Buffer
	for i := 1; i <= n; i++ {
		msg := fmt.Sprintf("commit %d\n", i)
		fmt.Fprintf(&script, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata %d\n%s",
			i, fixtureBase+int64(i)*60, len(msg), msg)
		if i > 1 {
			fmt.Fprintf(&script, "from :%d\n", i-1)
		}
		for k := range 3 {
			file := (i*7 + k*13) % 60
			content := strings.Repeat(fmt.Sprintf("file %d line for commit %d\n", file, i), 20+file)
			fmt.Fprintf(&script, "M 100644 inline dir%d/file%d.txt\ndata %d\n%s\n", file%6, file, len(content), content)
		}
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Env = g.env
	cmd.Stdin = &script
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("fast-import: %v\n%s", err, out)
	}
	g.run(dir, "repack", "-q", "-a", "-d", "-f", "--window=10")
	commits := strings.Fields(g.run(dir, "rev-list", "--reverse", "main"))
	return dir, commits
}

// TestNegotiationStopsAtCommon checks that a fetch one commit behind parses a
// handful of commits, not the whole history.
func TestNegotiationStopsAtCommon(t *testing.T) {
	t.Parallel()
	dir, commits := genRepo(t, 1500)
	tip, prev := commits[len(commits)-1], commits[len(commits)-2]
	for _, tt := range []struct {
		name    string
		version int
		body    string
	}{
		{"V0", 0, pkts("want "+tip+" multi_ack_detailed side-band-64k ofs-delta", "0000", "have "+prev, "done")},
		{"V2", 2, pkts("command=fetch", "0001", "want "+tip, "have "+prev, "ofs-delta", "0000")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openRepo(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			var out bytes.Buffer
			s := newSession(context.Background(), r, strings.NewReader(tt.body), &out, Options{})
			if tt.version == 2 {
				err = s.serveV2()
			} else {
				err = s.serveV0()
			}
			if err = s.finish(err); err != nil {
				t.Fatal(err)
			}
			resp := decodeResponse(t, out.Bytes())
			if n := len(scanPack(t, resp.pack)); n < 2 || n > 8 {
				t.Errorf("pack has %d objects; want the new commit and its few changed objects", n)
			}
			if n := len(r.commits); n > 20 {
				t.Errorf("parsed %d commits of %d for a fetch one commit behind", n, len(commits))
			}
		})
	}
}

// BenchmarkServeClone measures a full v2 clone of a generated repository of
// about 1000 commits (some 7000 objects), packed with deltas.
func BenchmarkServeClone(b *testing.B) {
	dir, commits := genRepo(b, 1000)
	body := pkts("command=fetch", "0001", "want "+commits[len(commits)-1], "ofs-delta", "no-progress", "done", "0000")
	b.ResetTimer()
	for range b.N {
		if err := Serve(context.Background(), dir, 2, strings.NewReader(body), io.Discard, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
