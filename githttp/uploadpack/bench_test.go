package uploadpack

import (
	"bytes"
	"context"
	"fmt"
	"github.com/go-git/go-git/v5/plumbing"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/repos/git/packwrite"
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
	// 300 commits are 15 times the bound below: a walk of the whole
	// history fails it as surely as one of 1500 did, and builds in a
	// twentieth of the time.
	dir, commits := genRepo(t, 300)
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
// about 1000 commits (some 7000 objects), packed with deltas: Cold computes
// the object list each time, Cached takes it from the plan cache, as
// identical concurrent clones do.
func BenchmarkServeClone(b *testing.B) {
	dir, commits := genRepo(b, 1000)
	body := pkts("command=fetch", "0001", "want "+commits[len(commits)-1], "ofs-delta", "no-progress", "done", "0000")
	for _, cold := range []bool{true, false} {
		name := "Cached"
		if cold {
			name = "Cold"
		}
		b.Run(name, func(b *testing.B) {
			b.ResetTimer()
			for range b.N {
				if cold {
					plans = newPlanCache(planCacheBytes)
				}
				if err := Serve(context.Background(), dir, 2, strings.NewReader(body), io.Discard, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPackStream measures packwrite.Write over every object of the
// generated repository: Whole sends the single pack as stored, RefDelta
// rewrites each reused delta's header (no ofs-delta).
func BenchmarkPackStream(b *testing.B) {
	dir, _ := genRepo(b, 1000)
	r, err := openRepo(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.close()
	var ids []plumbing.Hash
	for _, p := range r.db.Packs() {
		for i := range p.Index.Count() {
			ids = append(ids, p.Index.Name(i))
		}
	}
	for _, tt := range []struct {
		name string
		opt  packwrite.Options
	}{{"Whole", packwrite.Options{OFSDelta: true}}, {"RefDelta", packwrite.Options{}}} {
		b.Run(tt.name, func(b *testing.B) {
			b.ResetTimer()
			for range b.N {
				if _, err := packwrite.Write(context.Background(), r.db, io.Discard, ids, tt.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNegotiate measures a v0 fetch one commit behind: negotiation,
// a short walk and a small pack.
func BenchmarkNegotiate(b *testing.B) {
	dir, commits := genRepo(b, 1000)
	tip, prev := commits[len(commits)-1], commits[len(commits)-2]
	body := pkts("want "+tip+" multi_ack_detailed side-band-64k ofs-delta no-progress", "0000", "have "+prev, "done")
	b.ResetTimer()
	for range b.N {
		plans = newPlanCache(planCacheBytes)
		if err := Serve(context.Background(), dir, 0, strings.NewReader(body), io.Discard, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdvertise measures the v0 ref advertisement of a repository with
// 4000 refs: 2000 in packed-refs (every tenth an annotated tag), 2000 loose.
func BenchmarkAdvertise(b *testing.B) {
	dir, commits := genRepo(b, 100)
	manyRefs(b, dir, commits, 4000)
	b.ResetTimer()
	for range b.N {
		if err := AdvertiseRefs(context.Background(), dir, io.Discard, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// manyRefs adds n refs to dir: half packed, half loose.
func manyRefs(tb testing.TB, dir string, commits []string, n int) {
	tb.Helper()
	g := newGit(tb)
	var in strings.Builder
	for i := range n / 2 {
		if i%10 == 0 {
			fmt.Fprintf(&in, "%s refs/tags/t%05d\n", commits[i%len(commits)], i)
			continue
		}
		fmt.Fprintf(&in, "update refs/heads/b%05d %s\n", i, commits[i%len(commits)])
	}
	var upd, tags []string
	for _, l := range strings.Split(strings.TrimSpace(in.String()), "\n") {
		if strings.HasPrefix(l, "update ") {
			upd = append(upd, l)
		} else {
			tags = append(tags, l)
		}
	}
	cmd := exec.Command("git", "update-ref", "--stdin")
	cmd.Dir, cmd.Env = dir, g.env
	cmd.Stdin = strings.NewReader(strings.Join(upd, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("update-ref: %v\n%s", err, out)
	}
	for _, t := range tags {
		f := strings.Fields(t)
		g.run(dir, "tag", "-a", "-m", "t", strings.TrimPrefix(f[1], "refs/tags/"), f[0])
	}
	g.run(dir, "pack-refs", "--all")
	var loose strings.Builder
	for i := n / 2; i < n; i++ {
		fmt.Fprintf(&loose, "update refs/heads/l%05d %s\n", i, commits[i%len(commits)])
	}
	cmd = exec.Command("git", "update-ref", "--stdin")
	cmd.Dir, cmd.Env = dir, g.env
	cmd.Stdin = strings.NewReader(loose.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("update-ref: %v\n%s", err, out)
	}
}
