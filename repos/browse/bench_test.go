package browse

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// benchRepo is a packed repository whose root holds 1,000 entries (900
// files, 100 directories), a README, a 1 MiB source file, and 4,000
// refs, the size issue 13 sets for the tree page; its last commit
// changes 50 files of 400 lines in a few places each.
func benchRepo(b *testing.B) *workRepo {
	b.Helper()
	g := newWorkRepo(b)
	var s strings.Builder
	blob := func(mark int, content string) {
		fmt.Fprintf(&s, "blob\nmark :%d\ndata %d\n%s\n", mark, len(content), content)
	}
	for i := range 900 {
		blob(i+1, numbered(1, 400, fmt.Sprint("file", i)))
	}
	blob(1001, "# Bench\n\nA [link](file-1.txt) and ![img](logo.png).\n\n"+strings.Repeat("Some *text* with `code`.\n\n", 50))
	unit := "// F prints n.\nfunc F(n int) string {\n\tif n > 10 {\n\t\treturn fmt.Sprintf(\"%d <big>\", n)\n\t}\n\treturn \"small\"\n}\n\n"
	blob(1002, "package big\n\n"+strings.Repeat(unit, (1<<20-20)/len(unit)))
	fmt.Fprintf(&s, "commit refs/heads/main\nmark :2000\ncommitter C <c@example.com> %d +0000\ndata 5\nfirst\n", t0)
	for i := range 900 {
		fmt.Fprintf(&s, "M 100644 :%d file-%d.txt\n", i+1, i)
	}
	for i := range 100 {
		fmt.Fprintf(&s, "M 100644 :%d dir-%d/inside.txt\n", i+1, i)
	}
	fmt.Fprintf(&s, "M 100644 :1001 README.md\nM 100644 :1002 big.go\n\n")
	for i := range 50 {
		content := numbered(1, 400, fmt.Sprint("file", i))
		for _, n := range []int{20, 150, 151, 300} {
			content = strings.Replace(content, fmt.Sprintf("file%d line %d\n", i, n), fmt.Sprintf("file%d changed %d\n", i, n), 1)
		}
		blob(3000+i, content+"appended\n")
	}
	fmt.Fprintf(&s, "commit refs/heads/main\nmark :2001\ncommitter C <c@example.com> %d +0000\ndata 6\nsecond\nfrom :2000\n", t0+60)
	for i := range 50 {
		fmt.Fprintf(&s, "M 100644 :%d file-%d.txt\n", 3000+i, i)
	}
	s.WriteString("\n")
	for i := range 4000 {
		kind := "heads/feature"
		if i%2 == 1 {
			kind = "tags/v"
		}
		fmt.Fprintf(&s, "reset refs/%s/%04d\nfrom :2000\n\n", kind, i)
	}
	g.gitIn([]byte(s.String()), "fast-import", "--quiet")
	g.git("gc", "-q")
	return g
}

func BenchmarkTreePage(b *testing.B) {
	g := benchRepo(b)
	links := Links{Tree: "/o/n/tree/main", Blob: "/o/n/blob/main", Raw: "/o/n/raw/main"}
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("resolve+tree+readme cached=%v", cached), func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if !cached {
					dropListings()
				}
				r, err := Open(g.dir)
				if err != nil {
					b.Fatal(err)
				}
				loc, err := r.Resolve("main")
				if err != nil {
					b.Fatal(err)
				}
				refs, _ := r.Refs() // the switcher's names
				if len(refs.Branches())+len(refs.Tags()) != 4001 {
					b.Fatal("refs")
				}
				list, err := r.Tree(loc.Commit, loc.Path)
				if err != nil || len(list) != 1002 {
					b.Fatal(len(list), err)
				}
				if rd, err := r.Readme(loc.Commit, loc.Path, links); err != nil || rd == nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
	r := g.open()
	commit := g.rev("main")
	b.Run("refs", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			r.refs = nil
			refs, err := r.Refs()
			if err != nil || len(refs.Branches())+len(refs.Tags()) != 4001 {
				b.Fatal(err)
			}
		}
	})
	b.Run("tree uncached", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			dropListings()
			if _, err := r.Tree(commit, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkBlobPage(b *testing.B) {
	g := benchRepo(b)
	commit := g.rev("main")
	b.Run("1MiB", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			r, err := Open(g.dir)
			if err != nil {
				b.Fatal(err)
			}
			blob, err := r.Blob(commit, "big.go")
			if err != nil {
				b.Fatal(err)
			}
			if h, err := blob.HTML(); err != nil || h == "" {
				b.Fatal(err)
			}
			r.Close()
		}
	})
	r := g.open()
	blob, err := r.Blob(commit, "big.go")
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{4 << 10, HighlightLimit} {
		src := blob.Content[:size]
		b.Run(fmt.Sprintf("highlight %dKiB uncached", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := Highlight("big.go", src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("highlight 32KiB cached", func(b *testing.B) {
		small := &Blob{Name: "big.go", ID: plumbing.NewHash(strings.Repeat("ef", 20)), Content: blob.Content[:HighlightLimit]}
		if _, err := small.HTML(); err != nil {
			b.Fatal(err)
		}
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := small.HTML(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCommitDiff(b *testing.B) {
	g := benchRepo(b)
	r := g.open()
	commit := g.rev("main")
	defer reportCPU(b)()
	for b.Loop() {
		cd, err := r.Commit(commit)
		if err != nil || len(cd.Files) != 50 {
			b.Fatal(err)
		}
	}
}

func BenchmarkHistory(b *testing.B) {
	g := benchRepo(b)
	r := g.open()
	commit := g.rev("main")
	for _, path := range []string{"", "file-1.txt"} {
		b.Run(fmt.Sprintf("path %q", path), func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := r.History(commit, path, 0, 50); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU reports the process's CPU time (user and system) per
// operation from now until the returned function runs: the machine that
// runs benchmarks is shared, so wall time per operation overstates the
// cost and CPU time is the figure to compare with the targets.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dropListings empties the cache of tree listings, for a first visit.
func dropListings() { listings = newLRU[plumbing.Hash, []Entry](listings.max, listings.cost) }
