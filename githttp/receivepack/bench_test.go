package receivepack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/githttp/pktline"
)

// BenchmarkServePush receives a pack of about 3,500 objects (700 commits
// touching three files each) into an empty repository.
func BenchmarkServePush(b *testing.B) {
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
	body = append(body, pack...)

	b.SetBytes(int64(len(pack)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		repo := filepath.Join(home, fmt.Sprintf("r%d.git", i))
		for _, d := range []string{"objects/pack", "refs/heads", "refs/tags"} {
			os.MkdirAll(filepath.Join(repo, d), 0o755)
		}
		os.WriteFile(filepath.Join(repo, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
		b.StartTimer()
		var out bytes.Buffer
		res, err := Serve(context.Background(), repo, bytes.NewReader(body), &out, Options{})
		if err != nil || res.Updates[0].Err != "" {
			b.Fatalf("Serve = %+v, %v", res, err)
		}
	}
}
