package uploadpack

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/depot/depot/repos/git/object"
	"github.com/depot/depot/repos/git/odb"
	"github.com/go-git/go-git/v5/plumbing"
)

// genBranchyRepo builds a bare repository of n commits over three branches
// with merges, nested directories and annotated tags, from seed, and packs
// it with a bitmap (git repack -adb; lookupTable selects the optional
// commit lookup table).
func genBranchyRepo(tb testing.TB, seed uint64, n int, lookupTable bool) string {
	tb.Helper()
	g := newGit(tb)
	dir := filepath.Join(tb.TempDir(), "branchy.git")
	g.run(tb.TempDir(), "init", "-q", "--bare", "-b", "main", dir)
	rng := rand.New(rand.NewPCG(seed, seed))
	var s bytes.Buffer
	branches := []string{"main", "dev", "topic"}
	last := map[string]int{}
	for i := 1; i <= n; i++ {
		b := branches[rng.IntN(len(branches))]
		msg := fmt.Sprintf("commit %d\n", i)
		fmt.Fprintf(&s, "commit refs/heads/%s\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata %d\n%s",
			b, i, fixtureBase+int64(i)*60, len(msg), msg)
		if p, ok := last[b]; ok {
			fmt.Fprintf(&s, "from :%d\n", p)
		} else if i > 1 {
			fmt.Fprintf(&s, "from :%d\n", i-1)
		}
		if o := branches[rng.IntN(len(branches))]; o != b && last[o] != 0 && rng.IntN(8) == 0 {
			fmt.Fprintf(&s, "merge :%d\n", last[o])
		}
		for range 1 + rng.IntN(3) {
			f := rng.IntN(40)
			content := strings.Repeat(fmt.Sprintf("file %d at %d\n", f, i), 1+rng.IntN(30))
			fmt.Fprintf(&s, "M 100644 inline d%d/e%d/f%d.txt\ndata %d\n%s\n", f%4, f%7, f, len(content), content)
		}
		last[b] = i
		if i%40 == 0 {
			fmt.Fprintf(&s, "tag v%d\nfrom :%d\ntagger T <t@example.com> %d +0000\ndata 4\ntag\n", i, i, fixtureBase+int64(i)*60)
		}
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Env = g.env
	cmd.Stdin = &s
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("fast-import: %v\n%s", err, out)
	}
	// Tags of a tree and of a blob, annotated and not, as git.git has
	// (v2.6.11-tree): a clone of every ref wants them.
	g.run(dir, "tag", "-a", "-m", "a tree", "tree-annotated", "main~3^{tree}")
	g.run(dir, "tag", "tree-light", "dev^{tree}")
	blob := strings.Fields(g.run(dir, "ls-tree", "-r", "main~2"))[2]
	g.run(dir, "tag", "-a", "-m", "a blob", "blob-annotated", blob)
	g.run(dir, "-c", fmt.Sprintf("pack.writeBitmapLookupTable=%v", lookupTable), "repack", "-q", "-adb")
	return dir
}

// planSet lists the plan's objects, those of its bitmap set included.
func planSet(db *odb.DB, p *packPlan) []plumbing.Hash {
	var hs []plumbing.Hash
	if p.set != nil {
		pk := packBySum(db, p.setPack)
		for rank := range p.set.All() {
			hs = append(hs, pk.Index.Name(int(pk.ByOffset()[rank])))
		}
	}
	for _, o := range p.objects {
		hs = append(hs, o.hash)
	}
	slices.SortFunc(hs, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	return hs
}

func hashes(tb testing.TB, s string) []plumbing.Hash {
	tb.Helper()
	var hs []plumbing.Hash
	for _, f := range strings.Fields(s) {
		h, ok := object.ParseHex([]byte(f))
		if !ok {
			tb.Fatalf("bad id %q", f)
		}
		hs = append(hs, h)
	}
	return hs
}

// TestBitmapPlanMatchesWalk checks, over several repositories and want sets,
// that clones planned from the bitmap send exactly what the walk sends, and
// that fetches send a complete subset of it.
func TestBitmapPlanMatchesWalk(t *testing.T) {
	t.Parallel()
	g := newGit(t)
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("Seed", seed), func(t *testing.T) {
			t.Parallel()
			dir := genBranchyRepo(t, seed, 400, seed%2 == 0)
			r, err := openRepo(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			if _, bm := r.db.Bitmap(); bm == nil {
				t.Fatal("no bitmap after repack -adb")
			}
			rs, err := r.refs()
			if err != nil {
				t.Fatal(err)
			}
			commits := hashes(t, g.run(dir, "rev-list", "--all"))
			tips := hashes(t, g.run(dir, "for-each-ref", "--format=%(objectname)", "refs/heads"))
			tags := hashes(t, g.run(dir, "for-each-ref", "--format=%(objectname)", "refs/tags"))
			rng := rand.New(rand.NewPCG(seed, 7))
			pick := func(k int) []plumbing.Hash {
				var hs []plumbing.Hash
				for range k {
					hs = append(hs, commits[rng.IntN(len(commits))])
				}
				return hs
			}
			wantSets := map[string][]plumbing.Hash{
				"AllTips":   tips,
				"OneTip":    tips[:1],
				"Tags":      tags,
				"OldCommit": pick(1),
				"Random":    pick(4),
			}
			for name, wants := range wantSets {
				for _, filter := range []*filterSpec{nil, {blobNone: true, blobLimit: -1, treeDepth: -1}} {
					for _, includeTag := range []bool{false, true} {
						in := planInput{wants: wants, filter: filter, includeTag: includeTag, refs: rs}
						label := fmt.Sprintf("%s filter=%v tag=%v", name, filter != nil, includeTag)
						pb, ok, err := planBitmap(context.Background(), r, in)
						if err != nil || !ok {
							t.Fatalf("%s: planBitmap = %v, %v; want a plan", label, ok, err)
						}
						pw, err := planWalk(context.Background(), r, in)
						if err != nil {
							t.Fatal(err)
						}
						if b, w := planSet(r.db, pb), planSet(r.db, pw); !slices.Equal(b, w) {
							t.Errorf("%s: bitmap plan has %d objects, walk %d", label, len(b), len(w))
						}
					}
				}
				// A fetch: the bitmap sends no more than the walk, and with
				// what the haves reach, everything the wants reach.
				haves := pick(2)
				in := planInput{wants: wants, haves: haves, refs: rs}
				pb, ok, err := planBitmap(context.Background(), r, in)
				if err != nil || !ok {
					t.Fatalf("%s fetch: planBitmap = %v, %v", name, ok, err)
				}
				pw, err := planWalk(context.Background(), r, in)
				if err != nil {
					t.Fatal(err)
				}
				walk := map[plumbing.Hash]bool{}
				for _, h := range planSet(r.db, pw) {
					walk[h] = true
				}
				got := map[plumbing.Hash]bool{}
				for _, h := range planSet(r.db, pb) {
					got[h] = true
					if !walk[h] {
						t.Errorf("%s fetch: bitmap sends %s, the walk does not", name, h)
					}
				}
				revArgs := []string{"rev-list", "--objects", "--no-object-names"}
				for _, w := range wants {
					revArgs = append(revArgs, w.String())
				}
				revArgs = append(revArgs, "--not")
				for _, h := range haves {
					revArgs = append(revArgs, h.String())
				}
				// rev-list marks uninteresting only the trees of the have
				// commits its walk meets, so it may list what the haves
				// reach; the client has those, and they need not be sent.
				hasArgs := []string{"rev-list", "--objects", "--no-object-names"}
				for _, h := range haves {
					hasArgs = append(hasArgs, h.String())
				}
				clientHas := map[plumbing.Hash]bool{}
				for _, h := range hashes(t, g.run(dir, hasArgs...)) {
					clientHas[h] = true
				}
				for _, h := range hashes(t, g.run(dir, revArgs...)) {
					if !got[h] && !clientHas[h] {
						t.Errorf("%s fetch: bitmap plan lacks %s", name, h)
					}
				}
			}
		})
	}
}

// TestBitmapPlanBeyondPack checks that a clone of the repacked repository
// is sent as the stored pack, and that commits pushed after the repack,
// outside the bitmapped pack, are walked down to it: clones and fetches of
// them match the walk.
func TestBitmapPlanBeyondPack(t *testing.T) {
	t.Parallel()
	g := newGit(t)
	dir := genBranchyRepo(t, 9, 120, true)
	r, err := openRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := r.refs()
	if err != nil {
		t.Fatal(err)
	}
	all := hashes(t, g.run(dir, "for-each-ref", "--format=%(objectname)"))
	p, ok, err := planBitmap(context.Background(), r, planInput{wants: all, refs: rs})
	if err != nil || !ok {
		t.Fatalf("planBitmap = %v, %v", ok, err)
	}
	if pk, _ := r.db.Bitmap(); len(p.objects) != 0 || p.setCount != pk.Index.Count() {
		t.Errorf("a clone of all refs plans %d of the pack's %d objects and %d beyond it; want the whole pack", p.setCount, pk.Index.Count(), len(p.objects))
	}
	r.close()
	oldMain := hashes(t, g.run(dir, "rev-parse", "refs/heads/main"))

	// Commits written after the repack live outside the bitmapped pack.
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Env = g.env
	cmd.Stdin = strings.NewReader("commit refs/heads/main\ncommitter T <t@example.com> 1700000000 +0000\ndata 4\nnew\nfrom refs/heads/main^0\n" +
		"M 100644 inline new.txt\ndata 4\nnew\nM 100644 inline d1/e2/g.txt\ndata 4\ngee\n\n" +
		"commit refs/heads/main\ncommitter T <t@example.com> 1700000060 +0000\ndata 4\nnew\n" +
		"M 100644 inline new.txt\ndata 5\nnewr\n\ntag vnew\nfrom refs/heads/main\ntagger T <t@example.com> 1700000060 +0000\ndata 2\nt\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fast-import: %v\n%s", err, out)
	}
	r, err = openRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if rs, err = r.refs(); err != nil {
		t.Fatal(err)
	}
	head := hashes(t, g.run(dir, "rev-parse", "refs/heads/main"))
	for _, tt := range []struct {
		name string
		in   planInput
	}{
		{"Clone", planInput{wants: head, refs: rs, includeTag: true}},
		{"BlobNone", planInput{wants: head, refs: rs, filter: &filterSpec{blobNone: true, blobLimit: -1, treeDepth: -1}}},
		{"Fetch", planInput{wants: head, haves: oldMain, refs: rs}},
	} {
		pb, ok, err := planBitmap(context.Background(), r, tt.in)
		if err != nil || !ok {
			t.Fatalf("%s: planBitmap = %v, %v; want a plan", tt.name, ok, err)
		}
		pw, err := planWalk(context.Background(), r, tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if b, w := planSet(r.db, pb), planSet(r.db, pw); !slices.Equal(b, w) {
			t.Errorf("%s: bitmap plan has %d objects, walk %d", tt.name, len(b), len(w))
		}
	}
}
