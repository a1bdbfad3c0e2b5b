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
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/depot/depot/githttp/pktline"
)

// pushScale lists the numbers of refs already in the repository that
// TestPushScale pushes 5,000 new refs into, "0,50000"; empty runs it small.
var pushScale = flag.String("pushscale", "", "existing ref counts for TestPushScale, comma-separated")

// TestPushScale prints the server time of one push of 5,000 new branches
// (on 50 new commits) into repositories already holding -pushscale refs,
// in packed-refs as gc leaves them, against depot and against C git's
// receive-pack fed the same request.
//
//	go test ./githttp/receivepack -run TestPushScale -pushscale 0,50000 -v
//
// Without the flag it runs small, 200 new refs into 0 and into 200, so that
// every run checks what the measurement relies on: the push lands every
// ref, as C git's receive-pack does on the same request.
func TestPushScale(t *testing.T) {
	if *pushScale == "" {
		for _, n := range []int{0, 200} {
			t.Run(fmt.Sprintf("small/%d", n), func(t *testing.T) { measurePush(t, n, 200) })
		}
		return
	}
	for _, f := range strings.Split(*pushScale, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f, func(t *testing.T) { measurePush(t, n, 5000) })
	}
}

func measurePush(t *testing.T, existing, pushed int) {
	home := t.TempDir()
	git := func(dir string, stdin io.Reader, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env, cmd.Stdin = dir, gitEnv(home), stdin
		var errb bytes.Buffer
		cmd.Stderr = &errb
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", args[0], err, errb.Bytes())
		}
		return strings.TrimSpace(string(out))
	}
	// The source: 100 old commits, which the target holds, and 50 new.
	src := filepath.Join(home, "src.git")
	git(home, nil, "init", "-q", "--bare", "-b", "main", src)
	var script strings.Builder
	for i := 1; i <= 150; i++ {
		fmt.Fprintf(&script, "commit refs/heads/%s\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 3\nc%d\n",
			map[bool]string{true: "main", false: "next"}[i <= 100], i, 1700000000+i, i%10)
		if i > 1 {
			fmt.Fprintf(&script, "from :%d\n", i-1)
		}
		fmt.Fprintf(&script, "M 100644 inline f%d\ndata %d\n%d\n\n", i%7, len(strconv.Itoa(i))+1, i)
	}
	git(src, strings.NewReader(script.String()), "fast-import", "--quiet")
	old := strings.Fields(git(src, nil, "rev-list", "--reverse", "main"))
	fresh := strings.Fields(git(src, nil, "rev-list", "--reverse", "main..next"))

	target := filepath.Join(home, "target.git")
	git(home, nil, "clone", "-q", "--bare", "--single-branch", src, target)
	var upd strings.Builder
	for i := range existing {
		fmt.Fprintf(&upd, "create refs/heads/old/%06d %s\n", i, old[i%len(old)])
	}
	if existing > 0 {
		start := time.Now()
		git(target, strings.NewReader(upd.String()), "update-ref", "--stdin")
		git(target, nil, "pack-refs", "--all")
		t.Logf("%d existing refs made in %v", existing, time.Since(start).Round(time.Millisecond))
	}

	var body []byte
	for i := range pushed {
		line := fmt.Sprintf("%s %s refs/heads/new/%05d", zero, fresh[i%len(fresh)], i)
		if i == 0 {
			line += "\x00report-status side-band-64k quiet"
		}
		body = pktline.Append(body, line+"\n")
	}
	body = pktline.AppendFlush(body)
	body = append(body, git(src, strings.NewReader("next\n^main\n"), "pack-objects", "--stdout", "-q", "--revs")...)

	copyTarget := func(i int, who string) string {
		dir := filepath.Join(home, fmt.Sprintf("%s%d.git", who, i))
		if out, err := exec.Command("cp", "-a", target, dir).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
		return dir
	}
	var depotWall, depotCPU, cgitCPU time.Duration = -1, -1, -1
	for i := range 3 {
		dir := copyTarget(i, "depot")
		w0, c0 := time.Now(), cpuTime()
		res, err := Serve(context.Background(), dir, bytes.NewReader(body), io.Discard, Options{})
		wall, cpu := time.Since(w0), cpuTime()-c0
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
		for _, u := range res.Updates {
			if u.Err != "" {
				t.Fatalf("%s: %s", u.Name, u.Err)
			}
		}
		if got := strings.Count(git(dir, nil, "for-each-ref", "--format=x"), "x"); got != 1+existing+pushed {
			t.Fatalf("git for-each-ref lists %d refs after the push; want %d", got, 1+existing+pushed)
		}
		if depotWall < 0 || wall < depotWall {
			depotWall = wall
		}
		if depotCPU < 0 || cpu < depotCPU {
			depotCPU = cpu
		}
		os.RemoveAll(dir)

		dir = copyTarget(i, "cgit")
		cmd := exec.Command("git", "receive-pack", "--stateless-rpc", dir)
		var errb bytes.Buffer
		cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = gitEnv(home), bytes.NewReader(body), io.Discard, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("git receive-pack: %v\n%s", err, errb.Bytes())
		}
		if cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(); cgitCPU < 0 || cpu < cgitCPU {
			cgitCPU = cpu
		}
		os.RemoveAll(dir)
	}
	t.Logf("%d new refs into %d: depot %v wall, %v CPU; C git receive-pack %v CPU",
		pushed, existing, depotWall.Round(time.Millisecond), depotCPU.Round(time.Millisecond), cgitCPU.Round(time.Millisecond))
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
