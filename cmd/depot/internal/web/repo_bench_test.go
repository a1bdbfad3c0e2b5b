package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/depot/depot/repos/git/gc"
)

// benchRepo pushes tester/hello (private) as issue 13 sizes it, through
// depot's git handler: a root of 1,000 entries, one of them a 1 MB text
// file, and 4,000 refs (3,000 branches and 1,000 tags). It returns the
// fixture and a request for a path, signed in as tester.
func benchRepo(b *testing.B) (*fixture, func(path string) *http.Request) {
	b.Helper()
	f := newRepoFixture(b)
	w := f.work(b)
	files := map[string]string{"README.md": "# hello\n\nA repository with a large root.\n"}
	for i := range 998 {
		files[fmt.Sprintf("file%04d.go", i)] = fmt.Sprintf("package p\n\nconst N%d = %d\n", i, i)
	}
	var big strings.Builder
	for i := 0; big.Len() < 1<<20-100; i++ {
		fmt.Fprintf(&big, "%06d the quick brown fox jumps over the lazy dog, again and again and again.\n", i)
	}
	files["big.txt"] = big.String()
	head := w.commit("a large root", files)
	var refs strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&refs, "create refs/heads/branch/%04d %s\n", i, head)
	}
	for i := range 1000 {
		fmt.Fprintf(&refs, "create refs/tags/v%04d %s\n", i, head)
	}
	w.gitStdin(refs.String(), "update-ref", "--stdin")
	w.git("push", "-q", w.remote+"hello.git", "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
	// depot serve repacks after a push that leaves this many loose refs
	// (gc.Auto), packing them: the pages read one packed-refs file, not
	// 4,000 loose ones.
	repo, err := f.dir.Open("tester", "hello")
	if err != nil {
		b.Fatal(err)
	}
	if !gc.NeedsRepack(repo.Path) {
		b.Fatal("4,000 loose refs do not call for a repack")
	}
	if err := gc.Repack(context.Background(), repo.Path); err != nil {
		b.Fatal(err)
	}
	_, secret, err := f.store.CreateSession(context.Background(), "tester", "192.0.2.1", "bench")
	if err != nil {
		b.Fatal(err)
	}
	return f, func(path string) *http.Request {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = "192.0.2.1:1234"
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
		return req
	}
}

// BenchmarkTreePage renders /OWNER/NAME, the root of a repository with
// 4,000 refs and 1,000 entries, with its README, on the server side only
// (issue 13 asks for at most 5 ms):
// go test -run XXX -bench 'TreePage|BlobPage' ./cmd/depot/internal/web
func BenchmarkTreePage(b *testing.B) {
	f, req := benchRepo(b)
	for _, path := range []string{"/tester/hello", "/tester/hello/tree/branch/2999"} {
		b.Run(strings.ReplaceAll(path, "/", "_"), func(b *testing.B) {
			defer cpuPerOp(b)()
			for b.Loop() {
				w := httptest.NewRecorder()
				f.handler.ServeHTTP(w, req(path))
				if w.Code != 200 || !strings.Contains(w.Body.String(), "file0997.go") || !strings.Contains(w.Body.String(), "A repository with a large root.") {
					b.Fatalf("GET %s = %d", path, w.Code)
				}
			}
		})
	}
}

// BenchmarkBlobPage renders the page of a 1 MB text file (issue 13 asks
// for at most 50 ms), and its raw download.
func BenchmarkBlobPage(b *testing.B) {
	f, req := benchRepo(b)
	for _, path := range []string{"/tester/hello/blob/main/big.txt", "/tester/hello/raw/main/big.txt"} {
		b.Run(strings.ReplaceAll(path, "/", "_"), func(b *testing.B) {
			defer cpuPerOp(b)()
			for b.Loop() {
				w := httptest.NewRecorder()
				f.handler.ServeHTTP(w, req(path))
				if w.Code != 200 || w.Body.Len() < 1<<20-100 {
					b.Fatalf("GET %s = %d, %d bytes", path, w.Code, w.Body.Len())
				}
			}
		})
	}
}

// cpuPerOp reports the process's CPU time per operation beside the wall
// time: on a machine that other work shares, wall time measures the
// neighbours as much as the page. Call the function it returns after
// the loop.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
