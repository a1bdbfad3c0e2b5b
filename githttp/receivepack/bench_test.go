package receivepack

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/tokens"
)

// benchPack and benchTip replace the pack of BenchmarkServePush and
// BenchmarkPushProtection with a pack file and the commit to push as
// refs/heads/main, all of whose objects the pack holds:
//
//	go test ./githttp/receivepack -run XXX -bench PushProtection -benchtime 1x -count 3 \
//		-benchpack /tmp/big.pack -benchtip $(git -C big.git rev-parse master)
var (
	benchPack = flag.String("benchpack", "", "pack file for the push benchmarks")
	benchTip  = flag.String("benchtip", "", "commit of -benchpack to push")
)

// pushBody returns the request of a push of one branch into an empty
// repository: by default about 3,500 objects (700 commits touching three
// files each), or -benchpack.
func pushBody(b *testing.B) []byte {
	if *benchPack != "" {
		pack, err := os.ReadFile(*benchPack)
		if err != nil {
			b.Fatal(err)
		}
		body := pktline.AppendFlush(pktline.Append(nil, zero+" "+*benchTip+" refs/heads/main\x00report-status side-band-64k quiet\n"))
		return append(body, pack...)
	}
	home := b.TempDir()
	src := filepath.Join(home, "src")
	if out, err := runGit(b, home, home, nil, "init", "-q", "-b", "main", src); err != nil {
		b.Fatalf("git init: %v\n%s", err, out)
	}
	var stream strings.Builder
	for i := range 700 {
		fmt.Fprintf(&stream, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 8\ncommit %d\n", i+1, 1700000000+i, i%10)
		if i > 0 {
			fmt.Fprintf(&stream, "from :%d\n", i)
		}
		for f := range 3 {
			content := strings.Repeat(fmt.Sprintf("file %d line for commit %d\n", f, i), 20)
			fmt.Fprintf(&stream, "M 100644 inline dir%d/f%d.txt\ndata %d\n%s\n", (i+f)%7, f, len(content), content)
		}
	}
	run := func(stdin io.Reader, args ...string) []byte {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env, cmd.Stdin = src, gitEnv(home), stdin
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("git %s: %v", args[0], err)
		}
		return out
	}
	run(strings.NewReader(stream.String()), "fast-import", "--quiet")
	pack := run(strings.NewReader("main\n"), "pack-objects", "--stdout", "-q", "--revs")
	tip := strings.TrimSpace(string(run(nil, "rev-parse", "main")))
	body := pktline.AppendFlush(pktline.Append(nil, zero+" "+tip+" refs/heads/main\x00report-status side-band-64k quiet\n"))
	return append(body, pack...)
}

// BenchmarkServePush receives a pack into an empty repository (pushBody).
func BenchmarkServePush(b *testing.B) {
	benchPush(b, pushBody(b), Options{})
}

// BenchmarkPushProtection receives the same pack with push protection
// off and on, one after the other in each iteration (in turns, which
// first) so that both see the same machine, and reports the wall and CPU time of each and their
// ratios: the cost of searching every new blob for tokens. Run it with
// -count for medians.
func BenchmarkPushProtection(b *testing.B) {
	body := pushBody(b)
	store, err := tokens.Open(context.Background(), filepath.Join(b.TempDir(), "depot.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	on := Options{Leaks: &Leaks{Prefix: tokens.SecretPrefix, Len: tokens.SecretLen, Tokens: tokens.Leaks{Store: store}, Refuse: true, Revoke: true}}
	home := b.TempDir()
	var wall, cpu [2]time.Duration
	b.SetBytes(int64(len(body)))
	opts := []Options{{}, on}
	for i := 0; b.Loop(); i++ {
		for j := range opts {
			k := (i + j) % 2 // off first, then on first, …
			w, c := pushOnce(b, filepath.Join(home, fmt.Sprintf("r%d-%d.git", i, k)), body, opts[k])
			wall[k] += w
			cpu[k] += c
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(wall[0].Nanoseconds())/n, "off-ns/op")
	b.ReportMetric(float64(wall[1].Nanoseconds())/n, "on-ns/op")
	b.ReportMetric(float64(cpu[0].Nanoseconds())/n, "off-cpu-ns/op")
	b.ReportMetric(float64(cpu[1].Nanoseconds())/n, "on-cpu-ns/op")
	b.ReportMetric(float64(wall[1])/float64(wall[0]), "on/off-wall")
	b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "on/off-cpu")
}

func benchPush(b *testing.B, body []byte, opt Options) {
	home := b.TempDir()
	b.SetBytes(int64(len(body)))
	for i := 0; b.Loop(); i++ {
		pushOnce(b, filepath.Join(home, fmt.Sprintf("r%d.git", i)), body, opt)
	}
}

// pushOnce serves body into a new repository at repo, timing only Serve,
// and removes the repository.
func pushOnce(b *testing.B, repo string, body []byte, opt Options) (wall, cpu time.Duration) {
	b.StopTimer()
	defer b.StartTimer()
	for _, d := range []string{"objects/pack", "refs/heads", "refs/tags"} {
		os.MkdirAll(filepath.Join(repo, d), 0o755)
	}
	os.WriteFile(filepath.Join(repo, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	defer os.RemoveAll(repo)
	var out bytes.Buffer
	start, before := time.Now(), cpuTime()
	b.StartTimer()
	res, err := Serve(context.Background(), repo, bytes.NewReader(body), &out, opt)
	b.StopTimer()
	wall, cpu = time.Since(start), cpuTime()-before
	if err != nil || res.Updates[0].Err != "" {
		b.Fatalf("Serve = %+v, %v", res, err)
	}
	return wall, cpu
}
