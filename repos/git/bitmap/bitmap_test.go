package bitmap_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depot/depot/repos/git/bitmap"
	"github.com/depot/depot/repos/git/packfile"
	"github.com/go-git/go-git/v5/plumbing"
)

// fixture is a repository of n linear commits packed by git with a bitmap.
type fixture struct {
	dir    string
	pack   *packfile.Pack
	bmPath string
}

func git(tb testing.TB, dir string, stdin string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+tb.TempDir())
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func newFixture(tb testing.TB, n int, lookupTable bool) *fixture {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "r.git")
	git(tb, tb.TempDir(), "", "init", "-q", "--bare", dir)
	var s strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&s, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 2\nc\n", i, 1700000000+i)
		if i > 1 {
			fmt.Fprintf(&s, "from :%d\n", i-1)
		}
		body := strings.Repeat(fmt.Sprintf("line %d\n", i), 3)
		fmt.Fprintf(&s, "M 100644 inline a/f%d.txt\ndata %d\n%s\n", i%17, len(body), body)
	}
	git(tb, dir, s.String(), "fast-import", "--quiet")
	git(tb, dir, "", "-c", fmt.Sprintf("pack.writeBitmapLookupTable=%v", lookupTable), "repack", "-q", "-adb")
	packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		tb.Fatalf("%d packs", len(packs))
	}
	p, err := packfile.Open(packs[0])
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return &fixture{dir: dir, pack: p, bmPath: strings.TrimSuffix(packs[0], ".pack") + ".bitmap"}
}

func (f *fixture) open(tb testing.TB) *bitmap.Bitmap {
	tb.Helper()
	bm, err := bitmap.Open(f.bmPath, f.pack.Index.Count(), f.pack.Index.PackSum)
	if err != nil {
		tb.Fatal(err)
	}
	return bm
}

// TestReachableMatchesGit checks every stored commit bitmap, and the type
// bitmaps, against git rev-list and cat-file.
func TestReachableMatchesGit(t *testing.T) {
	for _, lt := range []bool{false, true} {
		t.Run(fmt.Sprint("LookupTable=", lt), func(t *testing.T) {
			f := newFixture(t, 300, lt)
			bm := f.open(t)
			if bm.Commits() == 0 {
				t.Fatal("no commit bitmaps")
			}
			checked := 0
			for pos := range f.pack.Index.Count() {
				if !bm.Has(pos) {
					continue
				}
				got := bitmap.NewSet(bm.Len())
				if err := bm.OrCommit(got, pos); err != nil {
					t.Fatal(err)
				}
				want := bitmap.NewSet(bm.Len())
				for _, id := range strings.Fields(git(t, f.dir, "", "rev-list", "--objects", "--no-object-names", f.pack.Index.Name(pos).String())) {
					h := plumbing.NewHash(id)
					i, ok := f.pack.Index.Find(h)
					if !ok {
						t.Fatalf("%s not in pack", h)
					}
					want.Add(f.pack.Rank(i))
				}
				if !equal(got, want) {
					t.Fatalf("commit %s: %d objects from the bitmap, git lists %d", f.pack.Index.Name(pos), got.Count(), want.Count())
				}
				if checked++; checked >= 20 {
					break
				}
			}
			commits, err := bm.Type(plumbing.CommitObject)
			if err != nil {
				t.Fatal(err)
			}
			if commits.Count() != 300 {
				t.Errorf("commit type bitmap has %d commits; want 300", commits.Count())
			}
		})
	}
}

func equal(a, b bitmap.Set) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestCorruptNeverPanics feeds truncated and mutated bitmap files to Parse
// and decodes whatever parses.
func TestCorruptNeverPanics(t *testing.T) {
	f := newFixture(t, 120, true)
	data, err := os.ReadFile(f.bmPath)
	if err != nil {
		t.Fatal(err)
	}
	n, sum := f.pack.Index.Count(), f.pack.Index.PackSum
	try := func(b []byte) {
		bm, err := bitmap.Parse(b, n, sum)
		if err != nil {
			return
		}
		for i := range bm.Commits() {
			_, _ = bm.Commit(i)
		}
		for _, t := range []plumbing.ObjectType{plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject} {
			_, _ = bm.Type(t)
		}
	}
	for l := 0; l < len(data); l += 1 + l/64 {
		try(data[:l])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		b := bytes.Clone(data)
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.Uint32())
		}
		try(b)
	}
	if _, err := bitmap.Parse(data, n, plumbing.ZeroHash); err == nil {
		t.Error("Parse accepted a bitmap of another pack")
	}
}

// BenchmarkReachable measures the decoding of the newest commit's bitmap,
// the work of a clone, on a repository of 3,000 commits.
func BenchmarkReachable(b *testing.B) {
	f := newFixture(b, 3000, true)
	bm := f.open(b)
	last := -1
	for pos := range f.pack.Index.Count() {
		if bm.Has(pos) {
			last = pos
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		s := bitmap.NewSet(bm.Len())
		if err := bm.OrCommit(s, last); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse measures opening a .bitmap file.
func BenchmarkParse(b *testing.B) {
	f := newFixture(b, 3000, true)
	data, err := os.ReadFile(f.bmPath)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bitmap.Parse(data, f.pack.Index.Count(), f.pack.Index.PackSum); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteRoundTrip writes sets of every shape (empty, full, runs,
// literals, ragged ends) and reads them back.
func TestWriteRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 63, 64, 65, 1000, 70000} {
		var entries []bitmap.WriteEntry
		var want []bitmap.Set
		for k := range 6 {
			s := bitmap.NewSet(n)
			for i := 0; i < n; i++ {
				switch {
				case k == 1:
					s.Add(i) // full
				case k == 2 && (i/500)%2 == 0:
					s.Add(i) // long runs
				case k >= 3 && rng.IntN(k) == 0:
					s.Add(i) // literals
				}
			}
			want = append(want, s)
			entries = append(entries, bitmap.WriteEntry{Pos: k % max(n, 1), Bits: s})
		}
		if n == 0 {
			entries = nil
		}
		var buf bytes.Buffer
		types := [4]bitmap.Set{want[0], want[1], want[2], want[3]}
		sum := plumbing.NewHash("0123456789012345678901234567890123456789")
		if err := bitmap.Write(&buf, sum, n, types, entries); err != nil {
			t.Fatal(err)
		}
		bm, err := bitmap.Parse(buf.Bytes(), n, sum)
		if err != nil {
			t.Fatalf("n=%d: Parse: %v", n, err)
		}
		for i, e := range entries {
			got, err := bm.Commit(i)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, e.Bits) {
				t.Errorf("n=%d entry %d: %d bits back, %d written", n, i, got.Count(), e.Bits.Count())
			}
		}
		for i, typ := range []plumbing.ObjectType{plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject} {
			got, err := bm.Type(typ)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, types[i]) {
				t.Errorf("n=%d type %s differs", n, typ)
			}
		}
	}
}
