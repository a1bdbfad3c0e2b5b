package gitref

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/repos/git/odb"
)

// gitStdin runs git in the git directory with stdin and fails the test
// on error.
func (f *fixture) gitStdin(stdin string, args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = f.home
	cmd.Env = append(os.Environ(), "GIT_DIR="+f.dir, "HOME="+f.home, "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=tester@example.com")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// newManyRefs makes a bare repository with two commits and n refs on the
// first, created with git update-ref --stdin: branches, some below a
// directory of their own, and tags. The first packed of them go to
// packed-refs, the rest stay loose. It returns the refs' names and the
// two commits.
func newManyRefs(t testing.TB, n, packed int) (f *fixture, names []string, c1, c2 plumbing.Hash) {
	t.Helper()
	f = newEmpty(t)
	tree := f.gitStdin("", "mktree")
	first := f.git("", "commit-tree", "-m", "first", tree)
	second := f.git("", "commit-tree", "-m", "second", "-p", strings.TrimSpace(first), tree)
	c1, c2 = plumbing.NewHash(strings.TrimSpace(first)), plumbing.NewHash(strings.TrimSpace(second))
	for i := range n {
		switch {
		case i == 0:
			names = append(names, "refs/heads/main")
		case i%7 == 0:
			names = append(names, fmt.Sprintf("refs/tags/v%05d", i))
		case i%5 == 0:
			names = append(names, fmt.Sprintf("refs/heads/team%d/b%05d", i%13, i))
		default:
			names = append(names, fmt.Sprintf("refs/heads/b%05d", i))
		}
	}
	create := func(names []string) {
		var in strings.Builder
		for _, name := range names {
			fmt.Fprintf(&in, "create %s %s\n", name, c1)
		}
		f.gitStdin(in.String(), "update-ref", "--stdin")
	}
	if n > 0 {
		create(names[:packed])
		f.git("", "pack-refs", "--all")
		create(names[packed:])
	}
	return f, names, c1, c2
}

// TestSnapshot reads a repository holding loose and packed refs, a loose
// ref shadowing a packed one, names that sort between a directory and
// its entries, and a symbolic ref, and checks the lookups against what
// git says.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	f, _, c1, c2 := newManyRefs(t, 0, 0)
	f.gitStdin(strings.Join([]string{
		"create refs/heads/a-b " + c1.String(),
		"create refs/heads/dir/x " + c1.String(),
		"create refs/tags/v1 " + c1.String(),
	}, "\n")+"\n", "update-ref", "--stdin")
	f.git("", "pack-refs", "--all")
	f.gitStdin(strings.Join([]string{
		"create refs/heads/main " + c1.String(),
		"create refs/heads/a.b " + c2.String(),
		"update refs/heads/dir/x " + c2.String(),
		"create refs/heads/dir/y/z " + c1.String(),
	}, "\n")+"\n", "update-ref", "--stdin")
	f.git("", "symbolic-ref", "refs/heads/sym", "refs/heads/main")

	s, err := ReadSnapshot(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("RefsAsGitListsThem", func(t *testing.T) {
		var got []string
		for _, r := range s.Refs() {
			if r.Target == "" {
				got = append(got, r.Hash.String()+" "+r.Name)
			}
		}
		want := strings.Replace(f.git("", "for-each-ref", "--format=%(objectname) %(refname)"),
			c1.String()+" refs/heads/sym\n", "", 1)
		if g := strings.Join(got, "\n") + "\n"; g != want {
			t.Errorf("Refs() =\n%s\nwant (git for-each-ref)\n%s", g, want)
		}
		if head, ok := s.Head(); !ok || head.Target != "refs/heads/main" {
			t.Errorf("Head() = %+v, %v; want refs/heads/main", head, ok)
		}
	})
	for _, tc := range []struct {
		name   string
		ref    string
		want   plumbing.Hash
		target string
		ok     bool
	}{
		{"Loose", "refs/heads/main", c1, "", true},
		{"Packed", "refs/heads/a-b", c1, "", true},
		{"LooseShadowsPacked", "refs/heads/dir/x", c2, "", true},
		{"Nested", "refs/heads/dir/y/z", c1, "", true},
		{"Symref", "refs/heads/sym", plumbing.ZeroHash, "refs/heads/main", true},
		{"MissingBetweenNeighbours", "refs/heads/a", plumbing.ZeroHash, "", false},
		{"Directory", "refs/heads/dir", plumbing.ZeroHash, "", false},
		{"PastTheEnd", "refs/zzz", plumbing.ZeroHash, "", false},
	} {
		t.Run("Get"+tc.name, func(t *testing.T) {
			r, ok := s.Get(tc.ref)
			if ok != tc.ok || r.Hash != tc.want || r.Target != tc.target {
				t.Errorf("Get(%q) = %+v, %v; want %v %q, %v", tc.ref, r, ok, tc.want, tc.target, tc.ok)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		prefix string
		want   []string
	}{
		{"Directory", "refs/heads/dir/", []string{"refs/heads/dir/x", "refs/heads/dir/y/z"}},
		{"PartOfAName", "refs/heads/a", []string{"refs/heads/a-b", "refs/heads/a.b"}},
		{"Exact", "refs/heads/main", []string{"refs/heads/main"}},
		{"Tags", "refs/tags/", []string{"refs/tags/v1"}},
		{"None", "refs/notes/", nil},
		{"Everything", "", []string{"refs/heads/a-b", "refs/heads/a.b", "refs/heads/dir/x", "refs/heads/dir/y/z",
			"refs/heads/main", "refs/heads/sym", "refs/tags/v1"}},
	} {
		t.Run("Prefix"+tc.name, func(t *testing.T) {
			var got []string
			for _, r := range s.Prefix(tc.prefix) {
				got = append(got, r.Name)
			}
			if !equalSlices(got, tc.want) {
				t.Errorf("Prefix(%q) = %q; want %q", tc.prefix, got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		ref  string
		want string // "" for no conflict
	}{
		{"ParentOfRef", "refs/heads/dir", "refs/heads/dir/x"},
		{"ParentOfDeepRef", "refs/heads/dir/y", "refs/heads/dir/y/z"},
		{"BelowRef", "refs/heads/main/x", "refs/heads/main"},
		{"DeepBelowRef", "refs/heads/dir/x/deeper/still", "refs/heads/dir/x"},
		{"BelowSymref", "refs/heads/sym/x", "refs/heads/sym"},
		{"NeighboursOnly", "refs/heads/a", ""},
		{"SiblingInDirectory", "refs/heads/dir/w", ""},
		{"New", "refs/heads/new", ""},
		{"Existing", "refs/heads/main", ""},
	} {
		t.Run("Conflict"+tc.name, func(t *testing.T) {
			got, ok := s.Conflict(tc.ref)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Conflict(%q) = %q, %v; want %q", tc.ref, got, ok, tc.want)
			}
		})
	}
}

// TestSnapshotDuringPackRefs lists the refs of a repository of thousands
// of refs in a loop while one goroutine creates refs, moves others,
// packs them all and deletes some, over and over, the way pushes and gc
// run at once. Every listing must hold every ref that existed before it
// began: the initial ones, and every ref created before the listing
// started, whether its loose file was pruned meanwhile or not.
func TestSnapshotDuringPackRefs(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	f, initial, c1, c2 := newManyRefs(t, 3000, 2500)
	t.Logf("setup %v", time.Since(t0))
	db, release, err := odb.Acquire(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	kept := func(i int) string { return fmt.Sprintf("refs/heads/kept/%03d/k%06d", i%97, i) }
	var created atomic.Int64 // kept(0..created-1) exist
	stop := make(chan struct{})
	var cycles, listings atomic.Int64

	readers := []struct {
		name string
		list func() (map[string]bool, error)
	}{
		{"ListRefs", func() (map[string]bool, error) {
			refs, err := ListRefs(f.dir)
			out := make(map[string]bool, len(refs))
			for name := range refs {
				out[name] = true
			}
			return out, err
		}},
		{"ReadSnapshot", func() (map[string]bool, error) {
			s, err := ReadSnapshot(f.dir)
			if err != nil {
				return nil, err
			}
			out := make(map[string]bool, s.Len())
			for _, r := range s.Refs() {
				out[r.Name] = true
			}
			return out, nil
		}},
		{"Branches", func() (map[string]bool, error) {
			bs, err := Branches(f.dir)
			out := make(map[string]bool, len(bs))
			for _, b := range bs {
				out[headsPrefix+b.Name] = true
			}
			return out, err
		}},
	}
	var wg sync.WaitGroup
	for _, rd := range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := int(created.Load())
				got, err := rd.list()
				if err != nil {
					t.Errorf("%s: %v", rd.name, err)
					return
				}
				listings.Add(1)
				missing := 0
				check := func(name string) {
					if (rd.name != "Branches" || strings.HasPrefix(name, headsPrefix)) && !got[name] {
						if missing++; missing <= 3 {
							t.Errorf("%s missed %s (cycle %d)", rd.name, name, cycles.Load())
						}
					}
				}
				for _, name := range initial {
					check(name)
				}
				for i := range n {
					check(kept(i))
				}
				if missing > 0 {
					return
				}
			}
		})
	}
	wg.Go(func() {
		// ReadRef of a ref that exists throughout, as a push's
		// compare-and-swap and the API read one.
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			n := int(created.Load())
			if n == 0 {
				continue
			}
			name := kept(i % n)
			if _, err := ReadRef(f.dir, name); err != nil {
				t.Errorf("ReadRef(%s): %v", name, err)
				return
			}
		}
	})

	rng := rand.New(rand.NewPCG(1, 2))
	values := map[string]plumbing.Hash{}
	for _, name := range initial {
		values[name] = c1
	}
	deadline := time.Now().Add(3 * time.Second)
	for cycle := 0; cycle < 200 && (cycle < 10 || time.Now().Before(deadline)) && !t.Failed(); cycle++ {
		for range 30 {
			name := kept(int(created.Load()))
			if err := UpdateRef(f.dir, name, plumbing.ZeroHash, c1); err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
			created.Add(1)
		}
		var transient []string
		for i := range 10 {
			name := fmt.Sprintf("refs/heads/gone/c%d/t%d", cycle, i)
			if err := UpdateRef(f.dir, name, plumbing.ZeroHash, c2); err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
			transient = append(transient, name)
		}
		for range 10 {
			name := initial[rng.IntN(len(initial))]
			next := c1
			if values[name] == c1 {
				next = c2
			}
			if err := UpdateRef(f.dir, name, values[name], next); err != nil {
				t.Fatalf("move %s: %v", name, err)
			}
			values[name] = next
		}
		if _, err := PackRefs(db); err != nil {
			t.Fatalf("PackRefs: %v", err)
		}
		tx := Begin(f.dir)
		for _, name := range transient {
			if err := tx.Update(name, c2, plumbing.ZeroHash); err != nil {
				t.Fatalf("delete %s: %v", name, err)
			}
		}
		if failed := tx.Commit(); len(failed) > 0 {
			t.Fatalf("delete: %v", failed)
		}
		tx.Close()
		cycles.Add(1)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d cycles of create, move, pack and delete; %d listings", cycles.Load(), listings.Load())
	if listings.Load() < 10 {
		t.Errorf("only %d listings ran; the test proves little", listings.Load())
	}
	// git agrees with what depot wrote.
	if got, want := strings.Count(f.showRef(), "\n"), len(initial)+int(created.Load()); got != want {
		t.Errorf("git show-ref lists %d refs; want %d", got, want)
	}
}
