package indexpack

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/depot/depot/repos/git/packfile/packtest"
	"github.com/go-git/go-git/v5/plumbing"
)

// gitRepo makes a repository in a temporary directory and returns a
// function that runs git there.
func gitRepo(t testing.TB) (dir string, run func(stdin string, args ...string) string) {
	t.Helper()
	git := lookGit(t)
	dir = t.TempDir()
	run = func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return string(out)
	}
	run("", "init", "-q", "-b", "main", ".")
	return dir, run
}

// manyChains writes commits to run's repository that edit files
// independently, from commit first on: each file's versions become
// their own chain of deltas.
func manyChains(run func(string, ...string) string, files, first, commits int) {
	var s strings.Builder
	for c := first; c < first+commits; c++ {
		fmt.Fprintf(&s, "commit refs/heads/main\ncommitter T <t@example.com> %d +0000\ndata 9\ncommit %d\n", 1700000000+c, c%10)
		if c == first && first > 0 {
			s.WriteString("from refs/heads/main^0\n")
		}
		for f := range files {
			var text strings.Builder
			for line := range 150 {
				fmt.Fprintf(&text, "file %d line %d %s\n", f, line, strings.Repeat("v", (line*(c+1)+f)%11))
			}
			fmt.Fprintf(&s, "M 100644 inline d%d/f%d.txt\ndata %d\n%s\n", f%5, f, text.Len(), text.String())
		}
	}
	run(s.String(), "fast-import", "--quiet")
}

// TestParallelMatchesGit indexes, with several workers, a pack holding
// many independent chains of deltas (one per file, trees too) and
// compares the index byte for byte with git's, with bases in memory and
// with every base spilled, and gives every object and blob once to the
// workers' callbacks. Run with -race, it shows the workers share nothing
// unguarded.
func TestParallelMatchesGit(t *testing.T) {
	_, run := gitRepo(t)
	manyChains(run, 40, 0, 12)
	pack := []byte(run("main\n", "pack-objects", "--stdout", "-q", "--revs", "--depth=50", "--window=10"))
	git := lookGit(t)
	gitIdx := gitIndex(t, git, pack)
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(run("", "rev-list", "--objects", "main")), "\n") {
		want = append(want, strings.Fields(l)[0])
	}
	slices.Sort(want)
	for _, budget := range []int64{64 << 20, 0} {
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprintf("budget=%d/workers=%d", budget, workers), func(t *testing.T) {
				objs := &objectRecorders{}
				blobs := &blobRecorders{}
				b := NewBudget(budget)
				got := index(t, pack, Options{Budget: b, Workers: workers, Object: objs.new, Blobs: blobs.new})
				if got.err != nil {
					t.Fatal(got.err)
				}
				if !bytes.Equal(got.idx, gitIdx) {
					t.Fatalf("index differs from git's (%d and %d bytes)", len(got.idx), len(gitIdx))
				}
				if b.Free() != budget {
					t.Errorf("budget has %d bytes free after indexing; want %d", b.Free(), budget)
				}
				var seen []string
				for h, n := range objs.sum() {
					if n != 1 {
						t.Errorf("object %s given %d times; want once", h, n)
					}
					seen = append(seen, h.String())
				}
				rec := blobs.sum()
				if len(rec.bad) > 0 {
					t.Errorf("blob scanners: %v", rec.bad)
				}
				for h, n := range rec.got {
					if n != 1 {
						t.Errorf("blob %s given %d times; want once", h, n)
					}
					seen = append(seen, h.String())
				}
				slices.Sort(seen)
				if !slices.Equal(seen, want) {
					t.Errorf("callbacks were given %d objects; want the %d of the pack", len(seen), len(want))
				}
				if workers > 1 && len(objs.fns) < 2 {
					t.Errorf("%d object callbacks made for %d workers; want one for the first pass and one per worker", len(objs.fns), workers)
				}
			})
		}
	}
}

// objectRecorders makes an ObjectFunc for each goroutine that asks and
// counts the objects each was given.
type objectRecorders struct {
	mu  sync.Mutex
	fns []map[plumbing.Hash]int
}

func (rs *objectRecorders) new() ObjectFunc {
	got := map[plumbing.Hash]int{}
	rs.mu.Lock()
	rs.fns = append(rs.fns, got)
	rs.mu.Unlock()
	return func(h plumbing.Hash, typ plumbing.ObjectType, data []byte) error {
		if id := plumbing.ComputeHash(typ, data); id != h {
			return fmt.Errorf("object %s given the content of %s", h, id)
		}
		got[h]++
		return nil
	}
}

func (rs *objectRecorders) sum() map[plumbing.Hash]int {
	all := map[plumbing.Hash]int{}
	for _, got := range rs.fns {
		for h, n := range got {
			all[h] += n
		}
	}
	return all
}

// TestParallelThin completes, with several workers, a thin pack git
// wrote (the history of many files since a commit the repository
// holds), and checks the completed pack and its index with git.
func TestParallelThin(t *testing.T) {
	_, run := gitRepo(t)
	manyChains(run, 30, 0, 4)
	old := strings.TrimSpace(run("", "rev-parse", "main"))
	manyChains(run, 30, 4, 6)
	thin := []byte(run("main\n^"+old+"\n", "pack-objects", "--stdout", "-q", "--revs", "--thin", "--depth=50"))
	// The repository holds old's objects only: what the server has.
	type object struct {
		typ  plumbing.ObjectType
		data []byte
	}
	have := map[plumbing.Hash]object{}
	var ids strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(run("", "rev-list", "--objects", old)), "\n") {
		ids.WriteString(strings.Fields(l)[0] + "\n")
	}
	batch := []byte(run(ids.String(), "cat-file", "--batch"))
	for len(batch) > 0 {
		// <id> SP <type> SP <size> LF <content> LF
		nl := bytes.IndexByte(batch, '\n')
		var id, typ string
		var size int
		if _, err := fmt.Sscan(string(batch[:nl]), &id, &typ, &size); err != nil {
			t.Fatal(err)
		}
		ot, err := plumbing.ParseObjectType(typ)
		if err != nil {
			t.Fatal(err)
		}
		have[plumbing.NewHash(id)] = object{ot, batch[nl+1 : nl+1+size]}
		batch = batch[nl+1+size+1:]
	}
	var calls int
	repo := func(h plumbing.Hash, max int64) (plumbing.ObjectType, []byte, bool, error) {
		calls++ // Base is called one at a time: -race says so
		o, ok := have[h]
		return o.typ, o.data, ok, nil
	}
	for _, budget := range []int64{64 << 20, 0} {
		t.Run(fmt.Sprintf("budget=%d", budget), func(t *testing.T) {
			got := index(t, thin, Options{Budget: NewBudget(budget), Workers: 4, Base: repo})
			if got.err != nil {
				t.Fatal(got.err)
			}
			if got.res.Thin == 0 {
				t.Fatal("no thin base appended; the test's pack is not thin")
			}
			completed, err := os.ReadFile(got.pack)
			if err != nil {
				t.Fatal(err)
			}
			if gitIdx := gitIndex(t, lookGit(t), completed); !bytes.Equal(got.idx, gitIdx) {
				t.Fatalf("index of the completed pack differs from git's (%d and %d bytes)", len(got.idx), len(gitIdx))
			}
			idxPath := strings.TrimSuffix(got.pack, ".pack") + ".idx"
			if err := os.WriteFile(idxPath, got.idx, 0o644); err != nil {
				t.Fatal(err)
			}
			run("", "verify-pack", idxPath)
		})
	}
}

// TestThinChainOrder resolves REF_DELTAs on a base that another
// REF_DELTA of the pack makes, on a base only the repository has,
// whichever of the two ids sorts first: the indexer must not give up on
// the base the repository lacks before the pack has made it.
func TestThinChainOrder(t *testing.T) {
	for _, seed := range []string{"a", "b", "c", "d"} {
		ext := strings.Repeat("a base only the repository has, "+seed+"\n", 40)
		mid := ext + "made by a delta on it\n"
		leaf := mid + "and one on that\n"
		entries := []packtest.Entry{
			{Type: plumbing.REFDeltaObject, RefBase: blob(mid), Data: packtest.Delta(int64(len(mid)), int64(len(leaf)), packtest.Copy{Off: 0, Size: int64(len(mid))}, "and one on that\n")},
			{Type: plumbing.REFDeltaObject, RefBase: blob(ext), Data: packtest.Delta(int64(len(ext)), int64(len(mid)), packtest.Copy{Off: 0, Size: int64(len(ext))}, "made by a delta on it\n")},
		}
		repo := func(h plumbing.Hash, max int64) (plumbing.ObjectType, []byte, bool, error) {
			if h != blob(ext) {
				return 0, nil, false, nil
			}
			return plumbing.BlobObject, []byte(ext), true, nil
		}
		for _, workers := range []int{1, 2} {
			got := index(t, packtest.Pack(entries...), Options{Base: repo, Workers: workers, Budget: NewBudget(1 << 20)})
			if got.err != nil {
				t.Fatalf("seed %s, %d workers (mid %s, ext %s): %v", seed, workers, blob(mid), blob(ext), got.err)
			}
			var ids []plumbing.Hash
			for _, o := range got.res.Objects {
				ids = append(ids, o.Hash)
			}
			if want := []plumbing.Hash{blob(leaf), blob(mid), blob(ext)}; !slices.Equal(ids, want) || got.res.Thin != 1 {
				t.Errorf("seed %s, %d workers: objects %v, %d thin; want %v, 1 thin", seed, workers, ids, got.res.Thin, want)
			}
		}
	}
	// A base neither the pack nor the repository has is named.
	missing := blob("nowhere")
	got := index(t, packtest.Pack(packtest.Entry{Type: plumbing.REFDeltaObject, RefBase: missing, Data: packtest.Delta(7, 1, "x")}),
		Options{Workers: 2, Budget: NewBudget(1 << 20), Base: func(plumbing.Hash, int64) (plumbing.ObjectType, []byte, bool, error) {
			return 0, nil, false, nil
		}})
	packErr(t, got.err, "delta base "+missing.String()+" is neither in the pack nor in the repository")
}
